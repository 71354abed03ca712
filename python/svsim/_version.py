"""svsim's version: the one place it is written.

The build reads it from here (``[tool.scikit-build.metadata.version]`` in
pyproject.toml), so the wheel's metadata and ``svsim.__version__`` cannot differ.
"""

__version__ = "0.1.0"
