"""``svsim info``: what this install can do (build, threads, vector
instructions, memory, extras), as text or JSON."""

from __future__ import annotations

import argparse
import json
import os
import platform
from typing import Any

import numpy as np

import svsim
from svsim import engine
from svsim._qiskit_types import HAVE_QISKIT
from svsim.backend import BACKEND_NAME
from svsim.cli.common import EXIT_OK, _format_bytes, _version_of


def _info() -> dict[str, Any]:
    build = svsim.build_info()
    available = engine.available_memory_bytes()
    limit_mb = engine.default_max_memory_mb()
    max_qubits = {}
    for precision in build.get("precisions", ("single", "double")):
        n = engine.max_qubits_for(limit_mb, precision)
        max_qubits[precision] = {
            "qubits": n,
            "statevector_bytes": engine.state_bytes(n, precision) if n > 0 else 0,
        }
    extras = {
        name: _version_of(dist)
        for name, dist in (
            ("qiskit", "qiskit"),
            ("stim", "stim"),
            ("tqdm", "tqdm"),
            ("matplotlib", "matplotlib"),
            ("distributed", "distributed"),
        )
    }
    return {
        "version": svsim.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(terse=True),
        "cpu_count": os.cpu_count(),
        "build": {k: (list(v) if isinstance(v, tuple) else v) for k, v in build.items()},
        "memory": {"available_bytes": available, "limit_bytes": limit_mb << 20},
        "max_qubits": max_qubits,
        "backend": {
            "name": BACKEND_NAME,
            "qiskit_backend_v2": HAVE_QISKIT,
            "methods": ["statevector", *(["stabilizer"] if extras["stim"] else [])],
        },
        "extras": extras,
    }


def _cmd_info(args: argparse.Namespace) -> int:
    info = _info()
    if args.json:
        print(json.dumps(info, indent=2))
        return EXIT_OK
    build = info["build"]
    simd = build.get("simd", "?")
    cpu_simd = build.get("cpu_simd")
    simd_text = simd if cpu_simd in (None, simd) else f"{simd} (this CPU: {cpu_simd})"
    mem = info["memory"]
    lines = [
        f"svsim {info['version']} (Python {info['python']}, numpy {info['numpy']}, "
        f"{info['platform']})",
        f"  build       {build.get('max_threads', '?')} threads (svsim's thread pool), "
        f"SIMD {simd_text}, precisions {', '.join(build.get('precisions', ()))}",
        f"  memory      {_format_bytes(mem['available_bytes'])} available; default limit "
        f"{_format_bytes(mem['limit_bytes'])} (80%)",
    ]
    for precision, fit in info["max_qubits"].items():
        lines.append(
            f"  max qubits  {fit['qubits']:>2} in {precision} precision "
            f"({_format_bytes(fit['statevector_bytes'])} statevector)"
        )
    backend = info["backend"]
    kind = "a Qiskit BackendV2" if backend["qiskit_backend_v2"] else "numpy only (no Qiskit)"
    lines.append(
        f"  backend     BasicSimulator ({backend['name']!r}), {kind}; methods "
        f"{', '.join(backend['methods'])}"
        + ("" if "stabilizer" in backend["methods"] else " (stabilizer: pip install stim)")
    )
    extras = ", ".join(
        f"{name} {version}" if version else f"{name} (not installed)"
        for name, version in info["extras"].items()
    )
    lines.append(f"  optional    {extras}")
    print("\n".join(lines))
    return EXIT_OK
