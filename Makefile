# twaron: make demo | make test | make install
# `install` is idempotent: it re-runs only when pyproject.toml (or this Makefile) changes.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 >/dev/null 2>&1 && echo python3.11 || echo python3)
VENV := .venv
BUILD := .build
STAMP := $(BUILD)/install.stamp
DEB_PACKAGES := busybox-static musl-tools util-linux make gcc dpkg-dev zip strace python3 python3-dev mmdebstrap
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: all install bytecode demo test lint clean distclean

all: test

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' \
	    || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "twaron needs Python >= 3.11, got " + sys.version'
	@[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q -e '.[test]'
	@# BusyBox's upstream test suites (twaron test busybox): a deb-src entry if missing,
	@# then `apt-get source busybox`, cached under .build/busybox-suite/.
	$(VENV)/bin/python -m twaron.testsuite.sources >/dev/null \
	  || echo 'warning: BusyBox sources not fetched; twaron test busybox will retry'
	@mkdir -p $(BUILD) && touch $@

# Where PYTHONDONTWRITEBYTECODE is set (this project's machines set it), every import would
# compile twaron from source again: ~0.5 s of each `twaron` start. compileall writes the
# .pyc files anyway and skips those that are up to date.
bytecode: install
	@$(VENV)/bin/python -m compileall -q -j 0 twaron >/dev/null

demo: install bytecode
	$(VENV)/bin/twaron run -- sh -c 'echo hello from twaron; uname -a; ls /bin | head -5'

test: install bytecode
	$(VENV)/bin/python -m pytest -n auto --dist worksteal --durations=25 $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check twaron tests

clean:
	rm -rf $(BUILD) .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) *.egg-info
