"""The one table of metric names: their direction and how the studies pair them.

Every module that selects, signs, validates or describes a metric by name
reads this table, so that a new metric is added in one place.

* Per-class metrics (`CLASS_METRICS`) give one score per class; the
  ``by_sample`` ones are means over samples, so that their gains can be
  resampled sample by sample (`SAMPLE_METRICS`): recall and deviance over the
  class's own samples, the one-vs-all accuracy (Balestriero et al., 2022) over
  all samples.
* Global metrics (`GLOBAL_METRICS`) give one score per model; "score" stands
  for a user's scorer (greater is better). The ``by_sample`` ones are
  weighted sums over samples of their partner's per-sample quantity, so that
  two values can be compared sample by sample (the study's paired test).
* A per-class metric's ``partner`` is the global metric a study chooses the
  global value by; a global metric's is the per-class metric classes are
  chosen by (the deviance pairs with itself; every other with recall).
"""

from typing import NamedTuple

__all__ = [
    "CLASS_METRICS",
    "CLASS_METRIC_INFO",
    "GLOBAL_METRICS",
    "GLOBAL_METRIC_INFO",
    "SAMPLE_METRICS",
    "SCORING_METRICS",
    "Metric",
]


class Metric(NamedTuple):
    """What the library knows of a metric name.

    Attributes
    ----------
    direction : {1, -1}
        +1 when larger is better, -1 when smaller is better.
    partner : str
        See the module docstring.
    by_sample : bool
        A per-class metric: a mean over samples (resampled by the
        bootstrap). A global metric: a weighted sum over samples of its
        partner's per-sample quantity.
    description : str
        How reports name its mean over classes.
    """

    direction: int
    partner: str
    by_sample: bool = False
    description: str = ""


CLASS_METRIC_INFO = {
    "recall": Metric(1, "accuracy", True, "mean per-class recall"),
    "precision": Metric(1, "accuracy", False, "mean per-class precision"),
    "one_vs_all_accuracy": Metric(1, "accuracy", True, "mean one-vs-all accuracy"),
    "deviance": Metric(
        -1,
        "deviance",
        True,
        "mean per-class deviance (nats, lower is better; gains are reductions)",
    ),
}
GLOBAL_METRIC_INFO = {
    "accuracy": Metric(1, "recall", True),
    "balanced_accuracy": Metric(1, "recall", True),
    "deviance": Metric(-1, "deviance", True),
    "worst_class_accuracy": Metric(1, "recall"),
    "worst_k_recall": Metric(1, "recall"),
    "worst_pairwise_accuracy": Metric(1, "recall"),
    "score": Metric(1, "recall"),  # a user's scorer (greater is better)
}

# name -> +1 (larger is better) or -1
CLASS_METRICS = {name: metric.direction for name, metric in CLASS_METRIC_INFO.items()}
GLOBAL_METRICS = {name: metric.direction for name, metric in GLOBAL_METRIC_INFO.items()}
SAMPLE_METRICS = tuple(name for name, metric in CLASS_METRIC_INFO.items() if metric.by_sample)

# A `scoring` of the CV estimator -> the global metric it selects by: scikit-learn's
# names, with the deviance under its scorer's name and as the default (None).
SCORING_METRICS = {
    None: "deviance",
    "neg_log_loss": "deviance",
    **{name: name for name in GLOBAL_METRICS if name not in ("deviance", "score")},
}
