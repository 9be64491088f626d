"""Shared test setup: hypothesis profiles and fixtures.

Profiles: "dev" (the default, 40 examples per property) and "ci" (15 examples),
chosen automatically when the environment has CI=true. Neither has a deadline:
the first call of a test pays numpy's warm-up, which says nothing about speed.
Pick one explicitly with HYPOTHESIS_PROFILE=dev|ci.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from autograd import mode

settings.register_profile("dev", max_examples=40, deadline=None)
settings.register_profile(
    "ci", max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI", "").lower() == "true" else "dev")
)


@pytest.fixture
def rng():
    """A seeded generator: every test that draws random numbers sees the same ones."""
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _modes_are_restored():
    """No test may leave no_grad() or detect_anomaly() switched on for the next one."""
    yield
    assert mode.MODE.grad_enabled, "a test left gradient recording switched off"
    assert not mode.MODE.anomaly, "a test left detect_anomaly() switched on"
