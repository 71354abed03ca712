"""The Python examples of the README and the documentation pages run, and
print what their comments say.

Each ```python block of README.md and docs/*.md is run as it stands; a
``print(...)`` line with a trailing ``  # text`` comment must print exactly
``text``, so an example's output cannot go stale.  Blocks that use Qiskit
(they name it, or read OpenQASM through it) need the ``qiskit`` extra.  The
MPI example of docs/cluster.md runs under ``mpiexec`` in tests/test_mpi.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = [
    (page.relative_to(ROOT).as_posix(), index, code)
    for page in PAGES
    for index, code in enumerate(
        re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.DOTALL)
    )
]
NEEDS_QISKIT = ("qiskit", "from_qasm", "from_qiskit")


def test_the_pages_have_python_examples() -> None:
    pages = {page for page, _, _ in BLOCKS}
    assert {"docs/getting-started.md", "docs/jobs.md", "docs/qiskit.md"} <= pages
    assert len(BLOCKS) >= 8


def test_the_readme_links_to_pages_that_exist() -> None:
    links = re.findall(r"\]\((docs/[^)#]+)", (ROOT / "README.md").read_text())
    assert links
    for link in links:
        assert (ROOT / link).is_file(), link


@pytest.mark.parametrize(
    ("page", "index", "code"), BLOCKS, ids=[f"{page}-{index}" for page, index, _ in BLOCKS]
)
def test_example_prints_what_its_comments_say(page: str, index: int, code: str) -> None:
    if any(word in code for word in NEEDS_QISKIT):
        pytest.importorskip("qiskit", reason="needs the qiskit extra: pip install '.[qiskit]'")
    prints = [line for line in code.splitlines() if line.startswith("print(")]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"{page} block {index}", "exec"), {"__name__": "docs_example"})
    printed = out.getvalue().splitlines()
    assert len(printed) == len(prints), printed  # one line per print
    for line, shown in zip(prints, printed, strict=True):
        if "  # " in line:
            assert shown == line.split("  # ", 1)[1].strip(), line


def test_the_published_bench_results_make_the_performance_tables(tmp_path: Path) -> None:
    """docs/_ext/bench_report.py builds the performance page from this file with
    svsim.bench's own report; it must hold what the page states."""
    from svsim.bench import write_markdown

    results = json.loads((ROOT / "bench" / "published" / "results.json").read_text())
    meta = results["meta"]
    assert meta["started"] and meta["machine"].get("cores")
    assert meta["loadavg_start"] and meta["loadavg_end"]
    assert results["check_failures"] == 0
    text = write_markdown(results, tmp_path / "results.md")
    assert "## Headline" in text and "## Circuit families" in text
