"""The package's floors (DESIGN.md): every import, lazy ones included, points down.

__main__ -> cli -> report -> plotting -> model_selection, feature_extraction, onnx
-> linear_model -> _objective, _solvers, metrics, datasets -> _utils.
Solvers import no objective and the objective imports no solver.
"""

import ast
from pathlib import Path

import pytest

import sklearn_classreg

PACKAGE = Path(sklearn_classreg.__file__).parent
FLOORS = {
    "_utils": 0,
    "_objective": 1,
    "_solvers": 1,
    "metrics": 1,
    "datasets": 1,
    "linear_model": 2,
    "model_selection": 3,
    "feature_extraction": 3,
    "onnx": 3,
    "plotting": 4,
    "report": 5,
    "cli": 6,
    "__init__": 6,
    "__main__": 7,
}
# Imports between packages of one floor that the design allows (one way only).
SIDEWAYS = {("model_selection", "feature_extraction")}


def _part(path):
    """The top-level part of the package a file belongs to ("linear_model", "cli"...)."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imported_parts(path):
    """(line, part of this package) of every import in a file, lazy ones included."""
    # the file's package as dotted parts, e.g. ["sklearn_classreg", "linear_model"]
    package = ["sklearn_classreg", *path.relative_to(PACKAGE).parts[:-1]]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules = [node.module]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - (node.level - 1)]
            if node.module:
                modules = [".".join([*base, node.module])]
            else:  # `from .. import x`: x is a module of base
                modules = [".".join([*base, alias.name]) for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] == "sklearn_classreg" and len(parts) > 1:
                yield node.lineno, parts[1]


def _files():
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path):
    own = _part(path)
    wrong = [
        f"line {line}: {own} imports {part}"
        for line, part in _imported_parts(path)
        if part != own
        and part in FLOORS
        and FLOORS[part] >= FLOORS[own]
        and (own, part) not in SIDEWAYS
    ]
    assert not wrong, wrong


def test_solvers_and_objective_do_not_import_each_other():
    for own, other in (("_solvers", "_objective"), ("_objective", "_solvers")):
        for path in (PACKAGE / own).rglob("*.py"):
            assert other not in {part for _, part in _imported_parts(path)}, path


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    fake = PACKAGE / "linear_model" / "_upward_for_test.py"
    monkeypatch.setattr(Path, "read_text", lambda self: "from ..plotting import x\n")
    assert list(_imported_parts(fake)) == [(1, "plotting")]
