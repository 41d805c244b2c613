# Two commands on a fresh machine with Python 3.11:
#   make demo   set up .venv and run the Gyeonggi demo end to end
#   make test   set up .venv with the dev tools, then lint, type-check and run the whole suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check --quiet

.PHONY: demo test install install-dev lint typecheck pytest postgres-binaries spark-runtime browser-runtime bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# Re-install only when the project's dependency files change.
$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/ansim demo

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy

# The governance tests start a throwaway PostgreSQL server themselves; they need its binaries.
# A fresh machine may lack them: install Debian's package (its binaries land in
# /usr/lib/postgresql/<version>/bin, where the test fixture looks).
postgres-binaries:
	@if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "installing Debian's postgresql package for the PostgreSQL tests"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql; \
	fi

# The conformance suite (tests/conformance) runs on Spark too: it needs the spark extra and
# Java. A fresh machine may lack Java: install Debian's headless runtime.
$(VENV)/.installed-spark: pyproject.toml constraints.txt | $(VENV)/.installed-dev
	$(PIP) install -c constraints.txt -e '.[dev,spark]'
	touch $@

spark-runtime: $(VENV)/.installed-spark
	@if ! command -v java >/dev/null 2>&1; then \
		echo "installing Debian's default-jre-headless for the Spark tests"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends default-jre-headless; \
	fi

# The browser tests (tests/browser) drive Debian's Chromium through Playwright; nothing is
# downloaded at run time. A fresh machine may lack it: install Debian's package.
browser-runtime:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
		echo "installing Debian's chromium and Korean fonts for the browser tests"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-noto-cjk fontconfig; \
	fi

pytest: install-dev postgres-binaries spark-runtime browser-runtime
	$(BIN)/pytest

test: lint typecheck pytest

bench: install-dev
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) ansim-demo .pytest_cache .mypy_cache .ruff_cache
