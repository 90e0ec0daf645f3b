"""Fixtures of the GUI tests: the station's main window on a fresh notebook."""
from __future__ import annotations

import pytest

from gui.main_window import MainWindow
from notebook import Notebook


@pytest.fixture
def window(qtbot, db_path):
    nb = Notebook(db_path)
    win = MainWindow(nb)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.shutdown()
    nb.close()
