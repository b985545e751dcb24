# Two commands for a fresh clone:
#   make demo   install what is needed, then run the whole pipeline on the embedded demo outlets
#   make test   install what is needed (with test tools), then run the test suite
PYTHON ?= python3
VENV   := .venv
UV     := $(VENV)/bin/uv

.PHONY: demo test install install-dev chromium lint bench clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==0.13.8

# --inexact keeps uv itself in the venv; --frozen installs exactly what uv.lock pins
install: $(UV)
	$(UV) sync --frozen --inexact --quiet

install-dev: $(UV)
	$(UV) sync --frozen --inexact --quiet --extra dev

demo: install
	$(VENV)/bin/mediawatch run

# Browser tests use Debian's Chromium (never `playwright install`, which downloads).
chromium:
	@test -x /usr/bin/chromium -a -d /usr/share/fonts/opentype/noto || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-core fonts-noto-cjk >/dev/null; }

test: install-dev chromium
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q

lint: install-dev
	$(VENV)/bin/ruff check .

bench: install-dev
	$(VENV)/bin/python bench/bench_pipeline.py

clean:
	rm -rf data/mediawatch.duckdb data/briefs data/work data/prefect
