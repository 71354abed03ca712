import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# The tests import their dense reference as a plain module; svsim itself comes
# from the installed package, never from the source tree.
sys.path.insert(0, str(Path(__file__).parent))

# `ci` runs by default; `pytest --hypothesis-profile=long` is the pre-release run.
settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci")


@pytest.fixture
def slow_polls(monkeypatch):
    """A backend's own worker that polls for held calls does so a minute apart: a
    held call stays held until a test runs or releases it."""
    from svsim import executors

    monkeypatch.setattr(executors, "POLL_S", 60.0)
