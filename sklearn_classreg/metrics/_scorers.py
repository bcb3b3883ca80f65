"""scikit-learn scorers for the per-class and worst-class metrics.

A scorer is called as ``scorer(estimator, X, y, sample_weight=None)``; it
takes the estimator's ``predict_proba`` and ``classes_``, so folds that lack
a class are scored correctly (the probabilities keep their columns).

Under scikit-learn's metadata routing (``enable_metadata_routing=True``) a
scorer takes ``sample_weight`` only when asked to, as scikit-learn's own
scorers do: ``scorer.set_score_request(sample_weight=True)``; weights passed
to a scorer that did not ask raise ``UnsetMetadataPassedError``.
"""

from sklearn.utils.metadata_routing import (
    UNCHANGED,
    MetadataRequest,
    _raise_for_params,
    _routing_enabled,
)

from . import _classwise

__all__ = [
    "ClasswiseScorer",
    "make_classwise_scorer",
    "worst_class_accuracy_scorer",
    "worst_k_recall_scorer",
    "worst_pairwise_accuracy_scorer",
    "balanced_accuracy_scorer",
    "neg_deviance_scorer",
]


class ClasswiseScorer:
    """Score an estimator with a function of (y_true, y_proba, labels=...).

    Parameters
    ----------
    score_func : callable
        ``score_func(y_true, y_proba, labels=..., sample_weight=..., **kwargs)``.
    greater_is_better : bool, default=True
        When False the score is negated, so that larger is always better, as
        scikit-learn's model selection expects.
    **kwargs
        Passed to `score_func` (e.g. ``k`` for `worst_k_recall`).
    """

    def __init__(self, score_func, *, greater_is_better=True, **kwargs):
        self.score_func = score_func
        self.greater_is_better = greater_is_better
        self.kwargs = kwargs
        self._sample_weight_request = None  # routing: unrequested until set

    def __call__(self, estimator, X, y, sample_weight=None, **kwargs):
        _raise_for_params(kwargs, self, None)
        y_proba = estimator.predict_proba(X)
        score = self.score_func(
            y, y_proba, labels=estimator.classes_, sample_weight=sample_weight, **self.kwargs
        )
        return score if self.greater_is_better else -score

    def set_score_request(self, *, sample_weight=UNCHANGED):
        """Whether the scorer takes ``sample_weight`` under metadata routing.

        As scikit-learn's scorers: True (take it), False (do not), None
        (unrequested: passing weights raises), or an alias string. Only with
        ``sklearn.set_config(enable_metadata_routing=True)``. It changes this
        scorer: call it on a copy (``make_classwise_scorer`` or
        ``copy.deepcopy``) rather than on a shared module-level scorer.

        Parameters
        ----------
        sample_weight : bool, None or str, default=UNCHANGED
            Whether ``sample_weight`` is given to the scorer.

        Returns
        -------
        self
        """
        if not _routing_enabled():
            raise RuntimeError(
                "set_score_request is only available when metadata routing is enabled: "
                "sklearn.set_config(enable_metadata_routing=True)."
            )
        if sample_weight is not UNCHANGED:
            self._sample_weight_request = sample_weight
        return self

    def get_metadata_routing(self):
        """The scorer's metadata request: ``sample_weight`` for ``score``.

        Returns
        -------
        sklearn.utils.metadata_routing.MetadataRequest
        """
        request = MetadataRequest(owner=type(self).__name__)
        request.score.add_request(param="sample_weight", alias=self._sample_weight_request)
        return request

    def _routing_repr(self):
        return repr(self)

    def __repr__(self):
        sign = "" if self.greater_is_better else ", greater_is_better=False"
        options = "".join(f", {key}={value!r}" for key, value in self.kwargs.items())
        return f"make_classwise_scorer({self.score_func.__name__}{sign}{options})"


def make_classwise_scorer(score_func, *, greater_is_better=True, **kwargs):
    """A scorer from a function of (y_true, y_proba, labels=..., sample_weight=...).

    Parameters
    ----------
    score_func : callable
        ``score_func(y_true, y_proba, labels=..., sample_weight=..., **kwargs)``
        returning a float, like the functions of this module.
    greater_is_better : bool, default=True
        False for a loss: the scorer then returns its negative, as
        scikit-learn's scorers do.
    **kwargs
        Further keyword arguments of `score_func` (e.g. ``k``).

    Returns
    -------
    ClasswiseScorer
        ``scorer(estimator, X, y, sample_weight=None)`` for GridSearchCV,
        cross_validate or ClassWiseRegularizationCV.

    Examples
    --------
    >>> from sklearn_classreg.metrics import make_classwise_scorer, worst_k_recall
    >>> scorer = make_classwise_scorer(worst_k_recall, k=3)
    >>> scorer
    make_classwise_scorer(worst_k_recall, k=3)
    """
    return ClasswiseScorer(score_func, greater_is_better=greater_is_better, **kwargs)


def _mean_deviance(y_true, y_proba, *, labels=None, sample_weight=None):
    return _classwise.global_scores(y_true, y_proba, labels=labels, sample_weight=sample_weight)[
        "deviance"
    ]


def _balanced_accuracy(y_true, y_proba, *, labels=None, sample_weight=None):
    return _classwise.global_scores(y_true, y_proba, labels=labels, sample_weight=sample_weight)[
        "balanced_accuracy"
    ]


_mean_deviance.__name__ = "deviance"
_balanced_accuracy.__name__ = "balanced_accuracy"

worst_class_accuracy_scorer = make_classwise_scorer(_classwise.worst_class_accuracy)
worst_k_recall_scorer = make_classwise_scorer(_classwise.worst_k_recall, k=5)
worst_pairwise_accuracy_scorer = make_classwise_scorer(_classwise.worst_pairwise_accuracy)
balanced_accuracy_scorer = make_classwise_scorer(_balanced_accuracy)
neg_deviance_scorer = make_classwise_scorer(_mean_deviance, greater_is_better=False)
