"""``python -m svsim``: the same as the ``svsim`` command."""

from __future__ import annotations

import sys

from svsim.cli import main

if __name__ == "__main__":
    sys.exit(main())
