"""Shared test setup: hypothesis profiles and fixtures.

Profiles: "dev" (the default, 40 examples per property) and "ci" (15 examples),
chosen automatically when the environment has CI=true. Neither has a deadline:
the first call of a test pays numpy's warm-up, which says nothing about speed.
Pick one explicitly with HYPOTHESIS_PROFILE=dev|ci.
"""
from __future__ import annotations

import os
import shutil
import tempfile

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


@pytest.fixture
def column_major_layers(monkeypatch):
    """nn.Layer makes its weights column-major in this test, whatever numpy's BLAS (autograd.blas)."""
    from autograd import blas
    monkeypatch.setattr(blas, "weight_order", lambda: "F")


@pytest.fixture(params=["F", "C"], ids=["column-major", "row-major"])
def weight_order(request, monkeypatch):
    """The test runs twice: nn.Layer's new weights column-major, then row-major (autograd.blas)."""
    from autograd import blas
    monkeypatch.setattr(blas, "weight_order", lambda: request.param)
    return request.param


# ---- the real-browser tests (marked `browser`; `make browser` installs chromium)

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--no-first-run", "--disable-component-update",
         "--disable-sync", "--window-size=1400,900"]


def _browser_missing() -> str:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{path} is missing: install Debian's {package} (make browser does it)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed: pip install selenium"
    return ""


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through selenium, pointed at local paths (nothing downloaded)."""
    reason = _browser_missing()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="tracegrad-chromium-")
    options = Options()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
