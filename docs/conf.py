"""Sphinx configuration of svsim's documentation site.

Why Sphinx: autodoc reads the docstrings of the installed package (with the
Google-style sections that napoleon understands), MyST lets the pages stay
Markdown like the rest of the repository, and furo is a well-kept theme.
Build with ``bash .ci/docs`` (warnings are errors).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import svsim
from sphinx.application import Sphinx

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

project = "svsim"
author = "the svsim developers"
copyright = "2026, the svsim developers"
release = svsim.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "bench_report",  # docs/_ext/bench_report.py: the performance page's tables and plots
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
# README.md says how to build the site; _generated/ holds what bench_report writes,
# which the performance page includes.
exclude_patterns = ["README.md", "_generated", "_build"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# Code fences without a language are plain text (command lines, diagrams).
highlight_language = "none"

html_theme = "furo"
html_title = f"svsim {release}"

# The API page names public classes as ``svsim.X``; autodoc then documents
# what the docstrings hold, in source order, without Qiskit's inherited members.
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False

# The published benchmark results the performance page is made from.
bench_results = str(DOCS.parent / "bench" / "published" / "results.json")


# Docstrings write kets as plain text (``|0>``, ``|01>``), which reST would read as
# the start of a substitution; show them as code instead.
_KET = re.compile(r"(?<![`\w])\|([0-9+\-]+)>")


def _kets_as_code(
    app: Sphinx, what: str, name: str, obj: object, options: object, lines: list[str]
) -> None:
    lines[:] = [_KET.sub(r"``|\1>``", line) for line in lines]


def setup(app: Sphinx) -> None:
    app.connect("autodoc-process-docstring", _kets_as_code)
