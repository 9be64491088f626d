"""Package list for setuptools (metadata is in pyproject.toml): autograd, nn and tracegrad as they
are, and the repo's demos/ shipped as `tracegrad.demos`, so the wheel claims no top-level `demos`."""
from setuptools import find_packages, setup

PACKAGES = find_packages(include=["autograd", "autograd.*", "nn", "nn.*", "tracegrad", "tracegrad.*"])
setup(packages=PACKAGES + ["tracegrad.demos"], package_dir={"tracegrad.demos": "demos"})
