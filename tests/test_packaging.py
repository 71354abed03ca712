"""The installed package as a distribution: its version, its type information."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest
import svsim

PACKAGE = Path(svsim.__file__).parent


def test_version_is_the_distributions():
    # _version.py is the one source; the build writes it into the metadata.
    assert svsim.__version__ == importlib.metadata.version("svsim")
    assert svsim.build_info()["version"] == svsim.__version__


def test_type_information_is_installed():
    assert (PACKAGE / "py.typed").is_file()
    assert (PACKAGE / "_core.pyi").is_file()


def test_core_stubs_are_current(tmp_path):
    """The checked-in stubs are what pybind11-stubgen makes of the built module
    now; regenerate them with tools/gen_stubs.sh when this fails."""
    pytest.importorskip("pybind11_stubgen", reason="needs pybind11-stubgen (svsim[test])")
    subprocess.run(
        [sys.executable, "-m", "pybind11_stubgen", "svsim._core", "--output-dir", str(tmp_path)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    fresh = (tmp_path / "svsim" / "_core.pyi").read_text()
    installed = (PACKAGE / "_core.pyi").read_text()
    assert installed == fresh, "python/svsim/_core.pyi is stale: run tools/gen_stubs.sh"
