"""numpydoc validation of every public object's docstring (as skglm and celer do).

Every class and function exported by a public module, and every public method
or property it defines, has a docstring whose Parameters match its signature
(each documented, with a type, none unknown, in order) and which says what it
returns.
"""

import dataclasses
import importlib
import inspect
import pkgutil

import pytest
from numpydoc.docscrape import ClassDoc
from numpydoc.validate import validate

import sklearn_classreg

# numpydoc's codes held here: GL02/GL08 (docstring present and closed),
# PR01-PR06/PR10 (parameters: documented, known, ordered, typed, spelled),
# RT01/RT02 (a Returns section, its type first), SS06 (a one-line summary).
CHECKED = {
    "GL02", "GL08", "PR01", "PR02", "PR03", "PR04", "PR05", "PR06", "PR10",
    "RT01", "RT02", "SS06",
}  # fmt: skip


def _public_modules():
    yield sklearn_classreg
    for info in pkgutil.walk_packages(sklearn_classreg.__path__, "sklearn_classreg."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            yield importlib.import_module(info.name)


def public_objects():
    """(dotted name, object) of every exported class and function, and their members."""
    found = {}
    for module in _public_modules():
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            qualified = f"{obj.__module__}.{obj.__qualname__}"
            found[qualified] = obj
            if inspect.isclass(obj):
                for member, value in vars(obj).items():
                    if not member.startswith("_") and (
                        inspect.isfunction(value)
                        or isinstance(value, (property, classmethod, staticmethod))
                    ):
                        found[f"{qualified}.{member}"] = value
    return sorted(found.items())


def test_the_public_objects_are_found():
    names = {name.rsplit(".", 1)[-1] for name, _ in public_objects()}
    assert {"ClassWiseRegularizedLogisticRegression", "fit", "regularization_path"} <= names
    assert len(public_objects()) > 80


@pytest.mark.parametrize("name, obj", public_objects(), ids=[n for n, _ in public_objects()])
def test_docstring(name, obj):
    errors = [(code, message) for code, message in validate(name)["errors"] if code in CHECKED]
    if dataclasses.is_dataclass(obj):
        # a record: its public fields are documented as Parameters or Attributes
        errors = [(code, message) for code, message in errors if code != "PR01"]
        doc = ClassDoc(obj)
        documented = {p.name for section in ("Parameters", "Attributes") for p in doc[section]}
        public = {f.name for f in dataclasses.fields(obj) if not f.name.startswith("_")}
        errors += [("PR01", f"field {f!r} is not documented") for f in public - documented]
    assert not errors, "\n".join(f"{code}: {message}" for code, message in errors)
