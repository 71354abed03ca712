"""Run svsim's benchmark suite: ``python bench/run.py --quick --out bench/out``.

The same as ``svsim bench``; ``--help`` lists the options, bench/README.md explains them.
"""

from __future__ import annotations

import sys

from svsim.bench import main

if __name__ == "__main__":
    sys.exit(main(prog="bench/run.py"))
