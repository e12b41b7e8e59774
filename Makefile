# Everything a fresh machine needs: `make demo` runs the main job, `make test` the tests.
# Both create .venv, install the project into it, and install the Debian packages it uses.

PYTHON_BASE ?= python3
VENV := .venv
PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
DEBIAN_PACKAGES := espeak-ng

.PHONY: demo test test-all benchmarks weights debian-packages clean

$(INSTALLED): setup.py
	$(PYTHON_BASE) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e ".[dev]"
	touch $@

debian-packages:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else \
		echo "Debian packages missing:$$missing. Install them with: sudo apt-get install -y$$missing"; \
		exit 1; \
	fi

weights: $(INSTALLED) debian-packages
	$(PYTHON) -m speech_embedding.weights fetch

demo: weights
	$(PYTHON) -m speech_embedding.demo

test: weights
	$(PYTHON) -m pytest -m "not slow"

test-all: weights
	$(PYTHON) -m pytest

benchmarks: weights
	$(PYTHON) -m benchmarks.speech_embedding

clean:
	rm -rf $(VENV) build *.egg-info
