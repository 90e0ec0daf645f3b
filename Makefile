# Set-up and everyday commands. Every target bootstraps .venv from the pinned
# requirements first, so `make run` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-all corpus smoke bench soak package check-package icons install-desktop uninstall-desktop clean

$(STAMP): requirements.txt requirements-dev.txt $(wildcard requirements-parquet.txt requirements-mpr.txt)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "SolidStack needs Python 3.11 or newer")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "Could not create $(VENV): install the venv module (Debian: apt-get install python3-venv)"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

run: $(STAMP)
	$(PY) main.py

test: $(STAMP)
	$(PY) -m pytest

# The long variants too: SIGKILL at a dozen seeded points of a run, and the like.
test-long: $(STAMP)
	$(PY) -m pytest --long -m long

# Every real instrument file in tests/data and ../shared/data (when it is there) through import
# and analysis: a table of format, points, cycles, integrated charge against the counter, verdict.
corpus: $(STAMP)
	$(PY) benchmarks/corpus.py

smoke: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) main.py --smoke docs/smoke.png

bench: $(STAMP) .venv-navani/.installed
	$(PY) -m pip install --quiet -r requirements-bench.txt  # libraries the benchmarks compare against
	$(PY) benchmarks/run_all.py

# navani (compared against in bench_analysis.py) needs numpy < 2 and pandas < 3: its own venv.
.venv-navani/.installed: requirements-bench-navani.txt
	@test -x .venv-navani/bin/python || $(PYTHON) -m venv .venv-navani
	.venv-navani/bin/python -m pip install --quiet -r requirements-bench-navani.txt
	@touch $@

# Eight simulated full cells, 500 cycles each, at once: memory, notebook, analysis checks.
soak: $(STAMP)
	$(PY) benchmarks/soak.py

package: $(STAMP)
	$(PY) -m PyInstaller --noconfirm --clean build.spec

# The frozen build's --self-check and headless --smoke, as CI runs them.
check-package: $(STAMP)
	$(PY) packaging/check_frozen.py

# Re-render packaging/solidstack.png and .ico after editing resources/solidstack.svg.
icons: $(STAMP)
	$(PY) packaging/make_icons.py

# Menu entry and icon for the current user, starting the build in dist/ (or SOLIDSTACK=...).
DATA_HOME ?= $(or $(XDG_DATA_HOME),$(HOME)/.local/share)
SOLIDSTACK ?= $(CURDIR)/dist/solidstack/solidstack
DESKTOP_FILES := applications/solidstack.desktop icons/hicolor/scalable/apps/solidstack.svg \
	icons/hicolor/256x256/apps/solidstack.png

install-desktop:
	@test -x "$(SOLIDSTACK)" || { echo "No packaged station at $(SOLIDSTACK): run 'make package' first, or set SOLIDSTACK=/path/to/solidstack"; exit 1; }
	install -d "$(DATA_HOME)/applications" "$(DATA_HOME)/icons/hicolor/scalable/apps" "$(DATA_HOME)/icons/hicolor/256x256/apps"
	sed 's|^Exec=solidstack$$|Exec="$(SOLIDSTACK)"|' packaging/solidstack.desktop > "$(DATA_HOME)/applications/solidstack.desktop"
	install -m 644 resources/solidstack.svg "$(DATA_HOME)/icons/hicolor/scalable/apps/solidstack.svg"
	install -m 644 packaging/solidstack.png "$(DATA_HOME)/icons/hicolor/256x256/apps/solidstack.png"
	@command -v update-desktop-database >/dev/null && update-desktop-database -q "$(DATA_HOME)/applications" || true
	@echo "SolidStack is in the applications menu ($(DATA_HOME)/applications/solidstack.desktop)."

uninstall-desktop:
	rm -f $(addprefix "$(DATA_HOME)"/,$(DESKTOP_FILES))

clean:
	rm -rf build dist .pytest_cache
