"""Waiting for a backend's own worker thread to reach a state the tests start from."""

from __future__ import annotations

import time

from svsim.executors import DaemonThreadExecutor


def wait_idle_and_polling(executor: DaemonThreadExecutor, wait: float) -> None:
    """Return once the single worker has let go of its last call (it clears its busy
    flag just after the call's future is done) and polls for held calls again; at
    most ``wait`` seconds."""
    line = executor._line
    deadline = time.monotonic() + wait
    while (line.busy or not line.polling) and time.monotonic() < deadline:
        time.sleep(0.001)
    assert not line.busy and line.polling
