"""Sphinx configuration: `make docs` builds docs/_build/html with warnings as errors, running the
gallery's examples (docs/examples/*.py) as it builds."""

import os
import sys
import warnings

from sklearn.exceptions import ConvergenceWarning

from corrnet import __version__

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # gallery_order, beside this file

project = "corrnet"
author = "the corrnet developers"
copyright = "2026, the corrnet developers (MIT licence)"
release = version = __version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
# docs/data/ holds the examples' data
exclude_patterns = ["_build", "data", "examples/README.rst"]
templates_path = ["_templates"]
html_theme = "furo"
html_title = f"corrnet {version}"
myst_heading_anchors = 3
myst_enable_extensions: list[str] = []  # no $math$: the pages read offline, without MathJax
# the moved README pages link to files of the repository (results tables, scripts): not documents
suppress_warnings = ["myst.xref_missing", "myst.header"]
numpydoc_show_class_members = False
numpydoc_validation_checks: set[str] = set()
autodoc_member_order = "bysource"
autosummary_generate = True

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "gallery_order.ExampleOrder",  # docs/gallery_order.py
    "download_all_examples": False,
    "remove_config_comments": True,
}
os.environ.setdefault("CORRNET_DOCS", "1")
warnings.filterwarnings("ignore", category=UserWarning, message="Matplotlib is currently using agg")
# the examples fix their epochs to keep the build short; a fit stopped before converging is expected there
warnings.filterwarnings("ignore", category=ConvergenceWarning)
