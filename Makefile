# Set-up and everyday commands. Every target bootstraps .venv from the pinned
# requirements first, so `make run` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-all smoke bench package clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "SolidStack needs Python 3.11 or newer")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "Could not create $(VENV): install the venv module (Debian: apt-get install python3-venv)"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

run: $(STAMP)
	$(PY) main.py

test: $(STAMP)
	$(PY) -m pytest

smoke: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) main.py --smoke docs/smoke.png

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

package: $(STAMP)
	$(PY) -m PyInstaller --noconfirm --clean build.spec

clean:
	rm -rf build dist .pytest_cache
