"""Sphinx extension: the performance page's tables and plots, made at build time.

Reads the published benchmark results (``bench_results`` in conf.py, by default
``bench/published/results.json``) and writes, with the bench suite's own report
functions (:func:`svsim.bench.write_markdown`, :func:`svsim.bench.write_plots`),
``_generated/bench/results.md``, ``_generated/bench/plots/*.png`` and
``_generated/bench/about.md`` (the run's date, machine and load) and
``_generated/bench/plots.md`` (the figures), which ``performance.md`` includes.
Nothing here formats a figure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError


def _about(results: dict[str, Any]) -> str:
    meta = results["meta"]
    machine = meta["machine"]
    load = meta.get("loadavg_start"), meta.get("loadavg_end")
    lines = [
        f"- **Run** {meta['started']} (the machine's local time), {meta['elapsed_s']} s: "
        f"`{meta['command']}`",
        f"- **Machine** {machine.get('Model name', '?')}, {machine.get('cores', '?')} cores, "
        f"{machine.get('memory_gib', '?')} GiB, {machine.get('platform', '?')}",
        "- **Load average** (1, 5, 15 min) at the start "
        + (", ".join(f"{x:g}" for x in load[0]) if load[0] else "unknown")
        + ", at the end "
        + (", ".join(f"{x:g}" for x in load[1]) if load[1] else "unknown"),
        "",
    ]
    return "\n".join(lines)


def _plots(plots: list[Path], out: Path) -> str:
    lines: list[str] = []
    for plot in plots:
        lines += [
            f"```{{figure}} /{plot.relative_to(out.parent.parent).as_posix()}",
            f":alt: {plot.stem}: time against qubits",
            "",
            f"{plot.stem}",
            "```",
            "",
        ]
    return "\n".join(lines)


def generate(app: Sphinx) -> None:
    from svsim.bench import write_markdown, write_plots

    source = Path(app.config.bench_results)
    if not source.is_file():
        raise ExtensionError(f"bench_report: no published results at {source}")
    results = json.loads(source.read_text())
    out = Path(app.srcdir) / "_generated" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    text = write_markdown(results, out / "results.md")
    # The page has its own title: drop the report's, keep its sections.
    body = text.split("\n", 1)[1] if text.startswith("# ") else text
    (out / "results.md").write_text(body)
    plots = sorted(write_plots(results, out / "plots"))
    (out / "about.md").write_text(_about(results))
    (out / "plots.md").write_text(_plots(plots, out))


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("bench_results", "", "env")
    app.connect("builder-inited", generate)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
