"""An executor for tests that must see whether work was submitted at all."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor


class SpyExecutor(ThreadPoolExecutor):
    """A one-worker executor that counts the work submitted to it."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.submitted = 0

    def submit(self, fn, /, *args, **kwargs):
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)
