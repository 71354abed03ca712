"""The machine a benchmark runs on: its description (CPU, caches, memory, svsim's
build) and the physical floor, the time of one copy of a state-sized buffer."""

from __future__ import annotations

import contextlib
import math
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cores": os.cpu_count(),
    }
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("Model name", "CPU(s)", "Thread(s) per core", "L2 cache", "L3 cache"):
                info[key] = value.strip()
            if key == "Flags":
                flags = value.split()
                info["simd"] = [f for f in ("avx2", "avx512f", "fma") if f in flags]
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    info["memory_gib"] = round(int(line.split()[1]) / (1 << 20), 1)
    with contextlib.suppress(Exception):
        import svsim

        info["svsim_build"] = {k: str(v) for k, v in svsim.build_info().items()}
    return info


def available_memory() -> int:
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    return 8 << 30


def _copy_seconds(src: np.ndarray, dst: np.ndarray, threads: int, pool: Any) -> float:
    """One timed copy of ``src`` into ``dst`` on ``threads`` threads (numpy releases the GIL)."""
    if threads <= 1:
        start = time.perf_counter()
        np.copyto(dst, src)
        return time.perf_counter() - start
    bounds = np.linspace(0, src.size, threads + 1).astype(int)
    start = time.perf_counter()
    futures = [
        pool.submit(np.copyto, dst[a:b], src[a:b])
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    for f in futures:
        f.result()
    return time.perf_counter() - start


def measure_floor(
    sizes: Iterable[int], precisions: Iterable[str], threads: Iterable[int], repeats: int = 5
) -> list[dict[str, Any]]:
    """The copy time of a state-sized, pre-touched buffer (read + write: one pass).

    For ``T`` threads the buffer is split in ``T`` slices copied at once; the
    figure is the faster of that and a plain ``np.copyto``.  Small buffers are
    copied many times per repeat so that each repeat lasts at least a millisecond.
    """
    records = []
    thread_list = sorted(set(threads))
    with ThreadPoolExecutor(max(thread_list)) as pool:
        for precision in precisions:
            dtype = np.complex128 if precision == "double" else np.complex64
            for n in sorted(set(sizes)):
                src = np.ones(1 << n, dtype=dtype)
                dst = np.zeros_like(src)
                nbytes = src.nbytes
                inner = max(1, int(1e-3 / max(nbytes / 20e9, 1e-9)))
                for t in thread_list:
                    samples = []
                    for attempt in range(repeats + 1):
                        best = math.inf
                        for way in {1, t}:
                            total = sum(_copy_seconds(src, dst, way, pool) for _ in range(inner))
                            best = min(best, total / inner)
                        if attempt:  # the first is a warm-up
                            samples.append(best)
                    median = statistics.median(samples)
                    records.append(
                        {
                            "n": n,
                            "precision": precision,
                            "threads": t,
                            "bytes_moved": 2 * nbytes,
                            "repeats_s": samples,
                            "pass_s": median,
                            "gbps": 2 * nbytes / median / 1e9,
                        }
                    )
                del src, dst
    return records
