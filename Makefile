# tracegrad: a fresh clone needs only `make demo` and `make test`.
#
# Installs go into .venv; stamp files make repeated runs fast. A stamp is
# redone when pyproject.toml or constraints.txt changes. Every pip install
# passes -c constraints.txt: this machine's exact pins (torch==2.13.0, the CPU
# wheel; never a CUDA build), kept out of the package's own metadata.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PIP     = $(BIN)/python -m pip
PIPFLAGS = --quiet --no-input --disable-pip-version-check -c constraints.txt
# Run with the venv's bin first on PATH, so subprocesses find the venv's tools
RUN     = PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python

.PHONY: all demo demos notebook test oracle browser bench clean venv docs install-check notebook-check ddp-check

# `make demo` runs the flagship; `make demo DEMO=neuron` (or DEMO=all) another one
DEMO ?= flagship

all: test

venv: $(VENV)/.stamp-venv

$(VENV)/.stamp-venv:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install $(PIPFLAGS) --upgrade pip
	touch $@

$(VENV)/.stamp-demo: pyproject.toml constraints.txt $(VENV)/.stamp-venv
	$(PIP) install $(PIPFLAGS) -e '.[demo]'
	touch $@

$(VENV)/.stamp-test: pyproject.toml constraints.txt $(VENV)/.stamp-venv
	$(PIP) install $(PIPFLAGS) -e '.[test,demo]'
	touch $@

$(VENV)/.stamp-oracle: pyproject.toml constraints.txt $(VENV)/.stamp-test
	$(PIP) install $(PIPFLAGS) -e '.[test,demo,torch]'
	touch $@

$(VENV)/.stamp-bench: pyproject.toml constraints.txt $(VENV)/.stamp-venv
	$(PIP) install $(PIPFLAGS) -e '.[bench,torch]'
	touch $@

$(VENV)/.stamp-jupyter: pyproject.toml $(VENV)/.stamp-venv
	$(PIP) install $(PIPFLAGS) -e '.[demo,jupyter]'
	touch $@

demo: $(VENV)/.stamp-demo
	$(RUN) -m demos $(DEMO)

# the list of demos (run one with `.venv/bin/python -m demos NAME` or `make demo DEMO=NAME`)
demos: $(VENV)/.stamp-demo
	$(RUN) -m demos

# the notebook tour, in Jupyter from the venv (progress bars drawn with ipywidgets)
notebook: $(VENV)/.stamp-jupyter
	$(BIN)/jupyter notebook demos/tour.ipynb

test: $(VENV)/.stamp-test
	$(RUN) -m pytest -q

# pytest exits 5 when the marker selects no test; that is not a failure here
# (the full suite already ran under `make test`).
oracle: $(VENV)/.stamp-oracle
	$(RUN) -m pytest -q -m oracle || [ $$? -eq 5 ]

browser: $(VENV)/.stamp-test
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  SUDO=; \
	  if [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; fi; \
	  echo "installing Debian chromium and chromium-driver"; \
	  $$SUDO apt-get update && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; \
	fi
	$(RUN) -m pytest -q -m browser || [ $$? -eq 5 ]

# API reference (pdoc) of tracegrad, autograd (with viz) and nn, into docs/api/
docs: $(VENV)/.stamp-test
	rm -rf docs/api
	$(RUN) -m pdoc -o docs/api --docformat markdown tracegrad autograd autograd.viz nn

# The wheel and sdist built, installed into fresh venvs beside HIPS autograd (both
# orders), the console script, mypy on a user file, pip check.
install-check: $(VENV)/.stamp-test
	$(RUN) -m pytest -q -m install || [ $$? -eq 5 ]

# draw() and player() in JupyterLab, trusted and untrusted, in headless Chromium
notebook-check: $(VENV)/.stamp-test
	$(RUN) -m pytest -q -m notebook || [ $$? -eq 5 ]

# a 2-process PyTorch DDP training (gloo, 127.0.0.1) against a single-process run
ddp-check: $(VENV)/.stamp-oracle
	$(RUN) -m pytest -q -m ddp || [ $$? -eq 5 ]

bench: $(VENV)/.stamp-bench
	@for f in benchmarks/*.py; do \
	  [ -f "$$f" ] || continue; \
	  case "$${f##*/}" in _*|conftest.py|test_*) continue ;; esac; \
	  echo "== $$f"; \
	  $(RUN) "$$f" || exit 1; \
	done

clean:
	rm -rf $(VENV) out build dist docs/api .pytest_cache .hypothesis *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
