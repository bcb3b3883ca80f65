"""Newton-CG's conjugate-gradient tolerance: no tighter than tol needs, against superlinear.

Run from the repository root::

    python benchmarks/bench_newton_forcing.py S 1.0          # a minute
    python benchmarks/bench_newton_forcing.py M 1.0          # about four minutes
    python benchmarks/bench_newton_forcing.py omniglot 0.1

One process; for each rule, a default-solver fit (``solver="newton-cg"``) to a certified
relative gap of 1e-4 and of 1e-6, the two rules alternating twice (``--repeats``). The rule
is ``NewtonCG.loosen_to_tol``: True (the default) stops each conjugate gradient at the looser
of min(0.5, sqrt(||g||)) and 0.1 sqrt(tol / gap); False at the superlinear forcing alone.
Prints one line per fit: problem, C, rule, tol, seconds, iterations, certified gap.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import make_problem

from sklearn_classreg import ClassWiseRegularizedLogisticRegression as Model
from sklearn_classreg._solvers import NewtonCG


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problem", choices=["S", "M", "L", "omniglot"])
    parser.add_argument("C", type=float)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    X, y = make_problem(args.problem)
    Model(solver="newton-cg", max_iter=2).fit(X[:500], y[:500] % 5)  # compile outside
    setup = NewtonCG.setup
    for loosen in (True, False) * args.repeats:

        def with_rule(self, objective, x0, loosen=loosen):
            self.loosen_to_tol = loosen
            return setup(self, objective, x0)

        NewtonCG.setup = with_rule
        for tol in (1e-4, 1e-6):
            start = time.perf_counter()
            model = Model(solver="newton-cg", tol=tol, C=args.C).fit(X, y)
            seconds = time.perf_counter() - start
            rule = "to tol" if loosen else "superlinear"
            print(
                f"{args.problem} C={args.C:g} {rule:11} tol={tol:g} {seconds:6.1f} s "
                f"{model.n_iter_[0]:4d} iterations, gap {model.gap_:.2g}",
                flush=True,
            )
    NewtonCG.setup = setup


if __name__ == "__main__":
    main()
