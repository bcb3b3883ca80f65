"""GPU benchmark: the torch backend against torch.optim.LBFGS and scikit-learn's array API.

Run on a machine with a CUDA GPU, from the repository root::

    python benchmarks/bench_gpu.py                 # small and ImageNet-sized problems
    python benchmarks/bench_gpu.py --device cpu --quick   # smoke test anywhere

Problems are generated on the device (frozen-feature-like: class means in a
low-dimensional latent space, a random linear map, a ReLU), float32:

* small: 100,000 x 512, 100 classes;
* imagenet: 1,281,167 x 2048, 1000 classes (about 10 GB).

Measured, medians of --repeats runs: time per loss+gradient against the
device's own two-GEMM floor (X @ W^T and R^T @ X); a full fit at C=1, tol
1e-6; a 10-point warm-started C path. Peers: torch.optim.LBFGS (strong Wolfe,
history 10) on the same scaled objective, and scikit-learn's
LogisticRegression(solver="lbfgs") with ``array_api_dispatch=True`` on the
same device tensors (skipped with a note where scikit-learn cannot). All fits
are brought to the same final objective (relative gap <= 1e-6 to the best,
evaluated in float64 on the device). Writes ``benchmarks/results/gpu.csv``
and ``gpu.md``.
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("SCIPY_ARRAY_API", "1")  # before SciPy is imported

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import TorchLBFGS, machine_description, markdown_table, write_csv

from sklearn_classreg import ClassWiseRegularizedLogisticRegression, regularization_path
from sklearn_classreg._objective._datafit import MULTINOMIAL
from sklearn_classreg._objective._torch import TorchLogisticObjective

SIZES = {
    "tiny": (4_000, 64, 10),  # --quick
    "small": (100_000, 512, 100),
    "imagenet": (1_281_167, 2048, 1000),
}
RESULTS = Path(__file__).parent / "results"
GAP = 1e-6
MAX_ITER = 10_000


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(on_device, function, *args, **kwargs):
    """(value, seconds) of function(*args, **kwargs), synchronising `on_device`."""
    synchronize(on_device)
    start = time.perf_counter()
    value = function(*args, **kwargs)
    synchronize(on_device)
    return value, time.perf_counter() - start


def make_problem(size, device, seed=0):
    """Frozen-feature-like float32 data generated on the device, in row blocks."""
    n, d, K = SIZES[size]
    generator = torch.Generator(device=device).manual_seed(seed)
    latent_dim = min(d, max(8, K))
    means = torch.randn(K, latent_dim, generator=generator, device=device) * 0.6
    mixing = torch.randn(latent_dim, d, generator=generator, device=device) / latent_dim**0.5
    y = torch.randint(0, K, (n,), generator=generator, device=device)
    X = torch.empty(n, d, device=device)
    for start in range(0, n, 65_536):
        stop = min(n, start + 65_536)
        latent = means[y[start:stop]] + torch.randn(
            stop - start, latent_dim, generator=generator, device=device
        )
        block = latent @ mixing
        block += torch.randn(block.shape, generator=generator, device=device)
        X[start:stop] = block.clamp_(min=0)
    return X, y


class Referee:
    """The scaled objective in float64 on the device, for every method alike."""

    def __init__(self, X, y, C):
        K = int(y.max()) + 1
        self.objective = TorchLogisticObjective(
            X.double() if X.numel() * 8 < 0.3 * _free_bytes(X.device) else X,
            y.cpu().numpy(),
            np.ones(len(y)),
            datafit=MULTINOMIAL,
            C=np.full(K, C),
            label_smoothing=np.zeros(K),
            device=X.device,
        )
        self.best = np.inf

    def value(self, W, b):
        coef = torch.cat([torch.as_tensor(W).reshape(-1), torch.as_tensor(b).reshape(-1)])
        value = self.objective.loss(coef.to(self.objective.device, self.objective.dtype))
        self.best = min(self.best, value)
        return value

    def gap(self, value):
        return (value - self.best) / abs(self.best)


def _free_bytes(device):
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    return 16 * 2**30


# ---------------------------------------------------------------- methods
def fit_ours(X, y, C, tol):
    model = ClassWiseRegularizedLogisticRegression(
        C=C, tol=tol, max_iter=MAX_ITER, backend="torch", device=X.device
    )
    _, seconds = timed(X.device, model.fit, X, y)
    return seconds, int(model.n_iter_[0]), model.coef_, model.intercept_


def fit_torch_lbfgs(X, y, C, tol, W0=None, b0=None):
    K, d = int(y.max()) + 1, X.shape[1]
    W = (
        torch.zeros(K, d, device=X.device, dtype=X.dtype) if W0 is None else W0.clone()
    ).requires_grad_()
    b = (
        torch.zeros(K, device=X.device, dtype=X.dtype) if b0 is None else b0.clone()
    ).requires_grad_()
    peer = TorchLBFGS(W, b, X, y, C, tol, MAX_ITER)
    _, seconds = timed(X.device, peer.step)
    return seconds, peer.n_iter, W.detach(), b.detach()


def fit_sklearn_array_api(X, y, C, tol):
    import sklearn
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, tol=tol, max_iter=MAX_ITER)
    with sklearn.config_context(array_api_dispatch=True), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, seconds = timed(X.device, model.fit, X, y)
    return seconds, int(np.ravel(model.n_iter_)[0]), model.coef_, model.intercept_


METHODS = {
    "ours (torch backend, lbfgs)": fit_ours,
    "torch.optim.LBFGS": fit_torch_lbfgs,
    "sklearn lbfgs, array_api_dispatch": fit_sklearn_array_api,
}


# --------------------------------------------------------------- sections
def per_evaluation(size, X, y, C, repeats):
    n, d = X.shape
    K = int(y.max()) + 1
    W = torch.randn(K, d, device=X.device) * 0.01
    b = torch.zeros(K, device=X.device)
    Z = torch.empty(n, K, device=X.device)
    G = torch.empty(K, d, device=X.device)

    def floor():
        torch.matmul(X, W.T, out=Z)
        torch.matmul(Z.T, X, out=G)

    objective = TorchLogisticObjective(
        X,
        y.cpu().numpy(),
        np.ones(n),
        datafit=MULTINOMIAL,
        C=np.full(K, C),
        label_smoothing=np.zeros(K),
        device=X.device,
    )
    coef = torch.cat([W.reshape(-1), b])
    W_t, b_t = W.clone().requires_grad_(), b.clone().requires_grad_()

    def torch_eval():
        W_t.grad = b_t.grad = None
        loss = torch.nn.functional.cross_entropy(X @ W_t.T + b_t, y)
        (loss + (W_t * W_t).sum() / (2 * C * n)).backward()

    rows = []
    for name, function in (
        ("two GEMMs (floor)", floor),
        ("ours loss_gradient", lambda: objective.loss_gradient(coef)),
        ("torch cross_entropy + backward", torch_eval),
    ):
        function()
        seconds = float(np.median([timed(X.device, function)[1] for _ in range(max(repeats, 5))]))
        rows.append(
            {"section": "per evaluation", "size": size, "method": name, "seconds": seconds}
        )
    for row in rows:
        row["ratio to floor"] = row["seconds"] / rows[0]["seconds"]
    return rows


def full_fits(size, X, y, C, tol, repeats):
    """Each method to the same objective: float32 at tol, tol/10, then float64 (as on CPU)."""
    referee = Referee(X, y, C)
    attempts = [
        (torch.float32, tol),
        (torch.float32, tol / 10),
        (torch.float64, tol),
        (torch.float64, tol / 10),
        (torch.float64, tol / 100),
    ]
    rows = []
    for name, method in METHODS.items():
        chosen = None
        for dtype, attempt_tol in attempts:
            data = X if dtype == X.dtype else X.to(dtype)
            try:
                seconds, n_iter, W, b = method(data, y, C, attempt_tol)
            except Exception as error:  # e.g. scikit-learn without array API support here
                rows.append(
                    {
                        "section": "full fit",
                        "size": size,
                        "method": name,
                        "note": f"failed: {type(error).__name__}: {str(error)[:120]}",
                    }
                )
                break
            value = referee.value(W, b)
            chosen = (data, attempt_tol, [(seconds, n_iter, value)])
            if referee.gap(value) <= GAP:
                break
        if chosen is None:
            continue
        data, attempt_tol, runs = chosen
        for _ in range(repeats - 1):
            seconds, n_iter, W, b = method(data, y, C, attempt_tol)
            runs.append((seconds, n_iter, referee.value(W, b)))
        for repeat, (seconds, n_iter, value) in enumerate(runs):
            rows.append(
                {
                    "section": "full fit",
                    "size": size,
                    "method": name,
                    "repeat": repeat,
                    "seconds": seconds,
                    "n_iter": n_iter,
                    "tol": attempt_tol,
                    "dtype": str(data.dtype).replace("torch.", ""),
                    "objective": value,
                }
            )
        print(f"  {size} {name}: {np.median([r[0] for r in runs]):.2f} s", flush=True)
    for row in rows:
        if "objective" in row:
            row["gap"] = referee.gap(row["objective"])
    return rows


def paths(size, X, y, tol, repeats, n_points=10):
    Cs = np.logspace(-2, 1, n_points)
    rows = []

    def ours():
        _, seconds = timed(
            X.device,
            regularization_path,
            X,
            y,
            Cs,
            tol=tol,
            max_iter=MAX_ITER,
            backend="torch",
            device=X.device,
        )
        return seconds

    def torch_loop():
        W = b = None
        total = 0.0
        for C in Cs:
            seconds, _, W, b = fit_torch_lbfgs(X, y, C, tol, W, b)
            total += seconds
        return total

    for name, run in (
        ("ours regularization_path", ours),
        ("torch.optim.LBFGS warm loop", torch_loop),
    ):
        for repeat in range(repeats):
            rows.append(
                {
                    "section": f"{n_points}-point path",
                    "size": size,
                    "method": name,
                    "repeat": repeat,
                    "seconds": run(),
                }
            )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["small", "imagenet"], choices=list(SIZES))
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--quick", action="store_true", help="tiny problem, one repeat")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.repeats = ["tiny"], 1
    device = torch.device(args.device)
    rows = []
    for size in args.sizes:
        X, y = make_problem(size, device)
        print(f"{size}: X {tuple(X.shape)} on {device}", flush=True)
        rows += per_evaluation(size, X, y, args.C, args.repeats)
        rows += full_fits(size, X, y, args.C, args.tol, args.repeats)
        rows += paths(size, X, y, args.tol, args.repeats)
        del X, y
        if device.type == "cuda":
            torch.cuda.empty_cache()

    write_csv(rows, args.out / "gpu.csv")
    summary = []
    for key in dict.fromkeys((r["section"], r["size"], r["method"]) for r in rows):
        group = [r for r in rows if (r["section"], r["size"], r["method"]) == key]
        entry = dict(zip(("section", "size", "method"), key, strict=True))
        timed_rows = [r for r in group if "seconds" in r]
        if timed_rows:
            entry["median s"] = f"{np.median([r['seconds'] for r in timed_rows]):.4g}"
            dtypes = {r["dtype"] for r in timed_rows if "dtype" in r}
            if dtypes:
                entry["dtype"] = ", ".join(sorted(dtypes))
            for column in ("ratio to floor", "n_iter", "tol", "gap"):
                values = [r[column] for r in timed_rows if column in r]
                if values:
                    entry[column] = (
                        f"{(max(values) if column == 'gap' else np.median(values)):.3g}"
                    )
        entry["note"] = "; ".join(r["note"] for r in group if "note" in r)
        summary.append(entry)
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    text = (
        "# GPU benchmark\n\n"
        f"`python benchmarks/bench_gpu.py {' '.join(argv or sys.argv[1:])}` on {device_name}.\n\n"
        f"Host: {machine_description()}.\n\n"
        + markdown_table(
            summary,
            [
                "section",
                "size",
                "method",
                "median s",
                "ratio to floor",
                "n_iter",
                "tol",
                "gap",
                "note",
            ],
        )
        + "\n"
    )
    (args.out / "gpu.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
