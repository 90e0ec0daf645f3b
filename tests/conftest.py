"""Shared test set-up: GUI tests run offscreen; real files come from tests/data (copied from
../shared/data with their licences, tests/data/PROVENANCE.md), so a bare clone passes."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# Before anything imports Qt: tests never need a display.
os.environ["QT_QPA_PLATFORM"] = "offscreen"

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


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "notebook.sqlite"


@pytest.fixture
def window(qtbot, db_path):
    """The station's main window on a fresh notebook (GUI tests)."""
    from gui.main_window import MainWindow
    from notebook import Notebook
    nb = Notebook(db_path)
    win = MainWindow(nb)
    qtbot.addWidget(win)
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
