"""``python -m svsim.cli``: the same as the ``svsim`` command."""

import sys

from svsim.cli import main

if __name__ == "__main__":
    sys.exit(main())
