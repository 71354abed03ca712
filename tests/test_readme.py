"""The README's Python examples run, and print what their comments say.

Each ```python block of the README is run as it stands; a ``print(...)`` line
with a trailing ``  # text`` comment must print exactly ``text``, so an example's
output cannot go stale.  Blocks that use Qiskit need the ``qiskit`` extra.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_the_readme_has_python_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_prints_what_its_comments_say(index):
    code = BLOCKS[index]
    if "qiskit" in code:
        pytest.importorskip("qiskit", reason="needs the qiskit extra: pip install '.[qiskit]'")
    prints = [line for line in code.splitlines() if line.startswith("print(")]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"README.md block {index}", "exec"), {"__name__": "readme"})
    printed = out.getvalue().splitlines()
    assert len(printed) == len(prints), printed  # one line per print
    for line, shown in zip(prints, printed, strict=True):
        if "  # " in line:
            assert shown == line.split("  # ", 1)[1].strip(), line
