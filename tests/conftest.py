"""Shared test set-up: GUI tests run offscreen; real files come from tests/data (copied from
the project's shared data folder with their licences, tests/data/PROVENANCE.md), so a bare
clone passes. Also the fixtures and helpers several test packages use, among them where
dQ/dV must peak for the simulated NMC full cell (ocv_peak_voltages, ir_drop_v)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from pgserver import lab_store, pg_database, pg_server, two_stations  # noqa: F401  (a throwaway PostgreSQL server: tests/pgserver.py)

# Before anything imports Qt: tests never need a display.
os.environ["QT_QPA_PLATFORM"] = "offscreen"
# Nothing a test does lands in the tester's own notebook or settings (platformdirs and
# gui.app.settings_path follow XDG_DATA_HOME on Linux).
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="solidstack-test-home-")

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = ROOT / "tests" / "data"


def pytest_addoption(parser):
    parser.addoption("--hardware", action="store_true", help="also run tests that need real instruments")
    parser.addoption("--long", action="store_true", help="also run the long variants (make test-long)")


def pytest_collection_modifyitems(config, items):
    skips = {}
    if not config.getoption("--hardware"):
        skips["hardware"] = pytest.mark.skip(reason="needs real instruments: run with --hardware")
    if not config.getoption("--long"):
        skips["long"] = pytest.mark.skip(reason="a long variant: run with --long (make test-long)")
    for item in items:
        for keyword, skip in skips.items():
            if keyword in item.keywords:
                item.add_marker(skip)


class QuietListener:
    """A run listener (acquisition.engine.RunListener) that ignores everything: tests
    subclass it and override the one callback they use."""

    def on_batch(self, samples) -> None:
        pass

    def on_event(self, event) -> None:
        pass

    def on_status(self, status, message) -> None:
        pass

    def on_spectrum(self, spectrum) -> None:
        pass


def table_counts(db_path) -> dict[str, int]:
    """Rows in every table of a notebook, read through a plain read-only connection: equal
    before and after a refused import means it left nothing behind."""
    import sqlite3
    conn = sqlite3.connect(f"{Path(db_path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()


def refused_import(db_path, path, **options) -> Exception:
    """The FormatError that importing `path` into the notebook at db_path raises, after
    checking that the refusal is one line and left every table as it was."""
    from notebook import Notebook
    from notebook.formats import FormatError
    from notebook.importer import import_file
    with Notebook(db_path) as nb:
        before = table_counts(db_path)
        with pytest.raises(FormatError) as caught:
            import_file(nb, path, **options)
        assert table_counts(db_path) == before
    assert "\n" not in str(caught.value)
    return caught.value


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "notebook.sqlite"


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where a test saves its screenshots: the test's own folder, so that a test run never
    rewrites the project's files; SOLIDSTACK_SHOTS=docs makes them anew for docs/."""
    folder = os.environ.get("SOLIDSTACK_SHOTS")
    return Path(folder).resolve() if folder else tmp_path


@pytest.fixture
def window(qtbot, db_path):
    """The station's main window on a fresh notebook (GUI tests)."""
    from gui.main_window import MainWindow
    from notebook import Notebook
    nb = Notebook(db_path)
    win = MainWindow(nb)
    # shut down before pytest-qt closes it: closing with runs going or alarms latched asks first
    qtbot.addWidget(win, before_close_func=lambda w: w.shutdown())
    win.show()
    yield win
    win.shutdown()
    nb.close()


@pytest.fixture(scope="module")
def shorted_run(tmp_path_factory):
    """(notebook path, run id, its alarm): the paper's asymmetric cell run to its short."""
    import cell
    from acquisition.protocol import preset
    from acquisition.session import prepare_run
    from notebook import Notebook
    path = tmp_path_factory.mktemp("shorted") / "notebook.sqlite"
    with Notebook(path) as nb:
        session = prepare_run(nb, cell.from_template("asym-agc"), preset("plate-strip-0.16"), speed="max", seed=1)
        try:
            assert session.engine.run() == "shorted"
        finally:
            session.close()
        return path, session.engine.run_id, nb.events(session.engine.run_id)[0]


# -- where dQ/dV must peak for the simulated NMC full cell, worked out from the model's
# open-circuit curve (instruments/sim/full_cell.py) and a series resistance added up by hand
# from the template's layers, not by the analysis under test. On charge the cell sits I x R
# above its OCV and on discharge I x R below it; the surface offset shifts the charge state,
# not the voltage at which OCV(s) is flattest, so each peak of dQ/dV = 1 / (dV/ds) sits at an
# OCV peak voltage +- I x R.
NMC_ONE_C_A_CM2 = 9.412 * 0.85 * 0.2 / 1000      # 1.60004 mA/cm2


def ocv_peak_voltages():
    """Voltages of the local maxima of dQ/dV of the open-circuit curve, lowest first."""
    import numpy as np
    from instruments.sim.full_cell import ocv
    s = np.linspace(0.0, 1.0, 200_001)
    v = ocv(s)
    dq_dv = 1.0 / np.gradient(v, s)
    inner = (dq_dv[1:-1] > dq_dv[:-2]) & (dq_dv[1:-1] >= dq_dv[2:])
    return v[1:-1][inner]


def ir_drop_v(c_rate: float, cycle: int) -> float:
    """I x R at `c_rate` in `cycle` of full-agc (the model ages once per discharge-then-charge):
    LPSCl 40 um at 0.6 mS/cm, the Li | Ag-C interface, and the cathode's interfacial
    resistance, which grows with the square root of the cycles completed."""
    from instruments.sim.full_cell import R_CATHODE_OHM_CM2, R_GROWTH_PER_SQRT_CYCLE
    r_cathode = R_CATHODE_OHM_CM2 * (1 + R_GROWTH_PER_SQRT_CYCLE * (cycle - 1) ** 0.5)
    return c_rate * NMC_ONE_C_A_CM2 * (40e-4 / 0.6e-3 + 0.58 + r_cathode)
