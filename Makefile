# Everything a fresh machine needs: `make demo` runs the main job, `make test` the tests.
# Both create .venv, install the project into it, and install the Debian packages they use.

PYTHON_BASE ?= python3
VENV := .venv
PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
# espeak-ng speaks every synthesized dataset; Kokoro (its voices come from the npm package
# kokoro-js) also speaks wake-word training phrases, and Festival's ked_diphone when asked
# (`--engines`); flite and Festival's kal_diphone are the held-out evaluation voices; the recorder's browser test needs Chromium;
# the micro_speech tests compile the C arrays they write with gcc.
DEMO_DEBIAN_PACKAGES := espeak-ng
# npm comes with most Node.js installs (NodeSource's nodejs conflicts with Debian's npm): Debian's
# only where there is none.
NPM_DEBIAN_PACKAGE := $(if $(shell command -v npm),,npm)
WAKEWORD_DEBIAN_PACKAGES := festival festvox-kdlpc16k festvox-kallpc16k flite $(NPM_DEBIAN_PACKAGE)
TEST_DEBIAN_PACKAGES := $(DEMO_DEBIAN_PACKAGES) $(WAKEWORD_DEBIAN_PACKAGES) chromium chromium-driver gcc
# Opt-in voices of wakeword.train (Debian contrib and non-free): `make voices-opt-in`.
OPT_IN_DEBIAN_PACKAGES := mbrola mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1 mbrola-af1 mbrola-de1 \
	mbrola-de2 mbrola-de4 mbrola-fr1 mbrola-fr4 mbrola-gr2 mbrola-hu1 mbrola-nl2 mbrola-pl1 \
	mbrola-ro1 mbrola-sw1 mbrola-sw2 rhvoice rhvoice-english libttspico-utils festvox-rablpc16k festvox-don

.PHONY: demo test test-all test-numerics benchmarks weights web voices-opt-in clean

# $(call debian,packages): installs what is missing, or says how when not root.
define debian
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else \
			echo "Debian packages missing:$$missing. Install them with: sudo apt-get install -y$$missing"; \
			exit 1; \
		fi; \
	fi
endef

$(INSTALLED): setup.py
	$(PYTHON_BASE) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e ".[dev,beam]"
	touch $@

# The recorder's live page runs LiteRT.js (npm @litertjs/core, pinned by the lock file), which the
# recorder serves itself with its WebAssembly: `npm ci` installs it beside the page, once.
WEB := recorder/web
WEB_INSTALLED := $(WEB)/node_modules/.package-lock.json

$(WEB_INSTALLED): $(WEB)/package-lock.json
	$(call debian,$(NPM_DEBIAN_PACKAGE))
	cd $(WEB) && npm ci --no-audit --no-fund
	touch $@

web: $(WEB_INSTALLED)

weights: $(INSTALLED)
	$(call debian,$(DEMO_DEBIAN_PACKAGES))
	$(PYTHON) -m speech_embedding.weights fetch

demo: weights
	$(PYTHON) -m speech_commands.demo

test: weights web
	$(call debian,$(TEST_DEBIAN_PACKAGES))
	$(PYTHON) -m pytest -m "not slow"

test-all: weights web
	$(call debian,$(TEST_DEBIAN_PACKAGES))
	$(PYTHON) -m pytest

# The tests marked `numerics` under each oneDNN mode, oneDNN held to older instruction sets
# too, so one CPU runs the kernels others would (tests/README.md#numerics).
NUMERICS_MODES := TF_ENABLE_ONEDNN_OPTS=0 TF_ENABLE_ONEDNN_OPTS=1 \
	TF_ENABLE_ONEDNN_OPTS=1,ONEDNN_MAX_CPU_ISA=AVX2 TF_ENABLE_ONEDNN_OPTS=1,ONEDNN_MAX_CPU_ISA=SSE41

test-numerics: weights web
	$(call debian,$(TEST_DEBIAN_PACKAGES))
	status=0; for mode in $(NUMERICS_MODES); do \
		echo "== $$mode"; \
		env $$(echo $$mode | tr , ' ') $(PYTHON) -m pytest -m "numerics and not slow" || status=1; \
	done; exit $$status

# Each benchmark prints its figure, its comparator's (same run, same threads) and the ratio.
BENCHMARKS := speech_embedding streaming vggish speech_commands speaker_embedding export corpus wakeword memory

benchmarks: weights
	$(PYTHON) -m pip install --quiet -e ".[dev,bench]"
	for benchmark in $(BENCHMARKS); do $(PYTHON) -m benchmarks.$$benchmark || exit 1; done

voices-opt-in:
	sed -e 's/^Components:.*/Components: contrib non-free/' /etc/apt/sources.list.d/debian.sources \
		> /etc/apt/sources.list.d/contrib-nonfree.sources
	$(call debian,$(OPT_IN_DEBIAN_PACKAGES))

clean:
	rm -rf $(VENV) build *.egg-info $(WEB)/node_modules
