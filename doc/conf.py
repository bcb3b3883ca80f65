"""Sphinx configuration: pydata theme, numpydoc, sphinx-gallery, MyST for benchmark tables."""

import os
import re

import sklearn_classreg

project = "sklearn_classreg"
author = "sklearn_classreg developers"
copyright = "2026, sklearn_classreg developers"
release = version = sklearn_classreg.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
# No intersphinx: the build must work offline.
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.md"]
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
html_theme = "pydata_sphinx_theme"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_title = f"sklearn_classreg {version}"

FAST = os.environ.get("SKLEARN_CLASSREG_FAST", "1") != "0"
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",  # gpu_backend.py is shown, not run
    "abort_on_example_error": True,
    "download_all_examples": False,
    "reference_url": {"sklearn_classreg": None},
    "matplotlib_animations": False,
    "remove_config_comments": True,
}

# Methods inherited from scikit-learn (score, set_fit_request, ...) cite labels and glossary
# terms of scikit-learn's own docs, which this offline build cannot resolve: keep their text,
# drop the cross-reference.
_SKLEARN_ROLES = re.compile(r":(?:ref|term):`(?:([^`<]*?)\s*<[^`>]*>|([^`]*))`")


def _plain_sklearn_references(app, what, name, obj, options, lines):
    if getattr(obj, "__module__", "") and obj.__module__.startswith("sklearn."):
        lines[:] = [_SKLEARN_ROLES.sub(lambda m: m.group(1) or m.group(2), line) for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _plain_sklearn_references)
