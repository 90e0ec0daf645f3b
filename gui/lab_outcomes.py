"""The station's Outcomes tab, and the wiring of the lab into the main window.

The tab shows gui.outcomes_view.OutcomesView over either the lab's runs (every station's
`lab_runs` rows, lab.query.LabReader) or this station's own (lab.outcomes.outcome_rows over
the notebook, which needs no lab). Rows are read on a thread: a lab query waits on the
network, and this station's outcome figures are computed from its runs (impedance fits,
cycle tables). Runs selected in the view (in its table, a group or the plot) go to the
Notebook browser's Compare, or one to Analysis: fetched from the lab first in Lab scope.

`add_outcomes_tab(window)` is the main window's one line: it adds the tab after the
Notebook tab and routes lab runs fetched by the browser's Lab scope to the window's
Analysis view and replay windows."""
from __future__ import annotations

import sqlite3

from PySide6 import QtCore, QtGui, QtWidgets

from gui import theme
from gui.lab_tasks import LabTasks
from gui.layout import ElidedLabel
from gui.outcomes_view import OutcomesView
from notebook import Notebook
from notebook.station import lab_url


def notebook_lab_url(notebook: Notebook) -> str | None:
    """The notebook's lab URL; None also for one opened read-only from before schema v5
    (no station table)."""
    try:
        return lab_url(notebook.conn)
    except sqlite3.OperationalError:
        return None


def local_rows(path) -> list[dict]:
    """This station's runs with their outcome figures, read through a connection of the
    task's own (lab.outcomes.outcome_rows)."""
    from lab.outcomes import outcome_rows
    with Notebook(path, read_only=True) as nb:
        return outcome_rows(nb.conn)


def lab_rows(url: str) -> list[dict]:
    """Every run of the lab (lab_runs rows, UUIDs as text), newest first."""
    from lab.query import LabReader
    with LabReader(url) as reader:
        return reader.runs(limit=None)


class OutcomesTab(QtWidgets.QWidget):
    """The Outcomes view with its scope ("This station" or "Lab"), Refresh, and the
    actions on the runs selected in it."""
    compare_requested = QtCore.Signal(str, list)    # scope, rows selected (lab_runs columns)
    analysis_requested = QtCore.Signal(str, dict)   # scope, the row selected

    def __init__(self, notebook: Notebook, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.notebook = notebook
        self.tasks = LabTasks(self)
        self.scope_station = QtWidgets.QRadioButton("This station")
        self.scope_lab = QtWidgets.QRadioButton("Lab")
        self.refresh_button = QtWidgets.QPushButton("Refresh")
        self.compare_button = QtWidgets.QPushButton("Compare selected")
        self.analysis_button = QtWidgets.QPushButton("Open in Analysis")
        self.state = ElidedLabel()
        self.view = OutcomesView()
        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("Runs of"))
        top.addWidget(self.scope_station)
        top.addWidget(self.scope_lab)
        top.addWidget(self.refresh_button)
        top.addWidget(self.state, 1)
        top.addWidget(self.compare_button)
        top.addWidget(self.analysis_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        self.selected: list[str] = []
        self._shown_scope: str | None = None
        self._asked = False
        has_lab = notebook_lab_url(notebook) is not None
        (self.scope_lab if has_lab else self.scope_station).setChecked(True)
        self.scope_lab.toggled.connect(lambda _on: self.refresh())
        self.refresh_button.clicked.connect(self.refresh)
        self.view.runs_selected.connect(self._on_selected)
        self.compare_button.clicked.connect(self._compare)
        self.analysis_button.clicked.connect(self._analyse)
        self._update()

    def scope(self) -> str:
        return "lab" if self.scope_lab.isChecked() else "station"

    @property
    def busy(self) -> bool:
        return self.tasks.busy()

    def refresh(self) -> None:
        """Read the runs of the chosen scope again, on a thread."""
        self._asked = True
        url = notebook_lab_url(self.notebook)
        self.scope_lab.setEnabled(url is not None)
        scope = self.scope()
        if scope == "lab" and url is None:
            self.scope_station.setChecked(True)      # toggling refreshes
            return
        if scope == "lab":
            from lab.connection import redact
            self.state.setText(f"loading the lab's runs from {redact(url)}…")
            work = lambda _report: lab_rows(url)        # noqa: E731
        else:
            self.state.setText("computing this station's outcomes…")
            path = self.notebook.path
            work = lambda _report: local_rows(path)     # noqa: E731
        self.tasks.run("rows", work, lambda rows: self._show(scope, rows), self._failed)

    def _show(self, scope: str, rows: list[dict]) -> None:
        previous, self._shown_scope = self._shown_scope, scope
        self.view.set_rows(rows)
        where = "the lab" if scope == "lab" else "this station"
        stations = len({row.get("station") for row in rows})
        self.state.setText(f"{len(rows)} run(s) of {where}" + (f", {stations} station(s)" if scope == "lab" else ""))
        present = {str(row.get("uuid")) for row in rows}
        self._on_selected([u for u in self.selected if u in present] if scope == previous else [])

    def _failed(self, why: str) -> None:
        theme.set_style(self.state, "color: {error};")
        self.state.setText(f"Could not read the runs: {why}")

    def _on_selected(self, uuids: list) -> None:
        self.selected = [str(u) for u in uuids]
        self._update()

    def _update(self) -> None:
        theme.set_style(self.state, "")
        n = len(self.selected)
        self.compare_button.setEnabled(n >= 2)
        self.analysis_button.setEnabled(n == 1)
        self.compare_button.setText(f"Compare selected ({n})" if n >= 2 else "Compare selected")

    def selected_rows(self) -> list[dict]:
        rows = {str(row.get("uuid")): row for row in self.view.visible_rows()}
        return [rows[u] for u in self.selected if u in rows]

    def _compare(self) -> None:
        rows = self.selected_rows()
        if len(rows) >= 2:
            self.compare_requested.emit(self._shown_scope or self.scope(), rows)

    def _analyse(self) -> None:
        rows = self.selected_rows()
        if len(rows) == 1:
            self.analysis_requested.emit(self._shown_scope or self.scope(), rows[0])

    def showEvent(self, event: QtGui.QShowEvent) -> None:  # noqa: N802 (Qt's name)
        if not self._asked:
            self.refresh()          # read when first shown: a station that never looks pays nothing
        super().showEvent(event)


# -- the main window's wiring --
def open_in_analysis(window, path: str, run_id: int) -> None:
    """A lab run fetched into the cache notebook at `path`: the Analysis view shows it."""
    window.analysis.show_run(path, run_id)
    window.tabs.setCurrentWidget(window.analysis)


def open_replay(window, path: str, run_id: int) -> None:
    """A fetched lab run replayed in its own window on a read-only connection (a replay
    never writes), closed with the station like any replay."""
    from gui.replay_window import ReplayWindow
    reader = Notebook(path, read_only=True)
    replay = ReplayWindow(reader, run_id, speed=1000.0, settings=window.settings)
    window.replays.append((replay, reader))
    replay.show()


def _compare(window, scope: str, rows: list[dict]) -> None:
    browser = window.browser
    if scope == "lab":
        if not browser.set_scope("lab"):
            return
        browser.lab.compare_rows(rows)
    else:
        browser.set_scope("station")
        browser.filters.reset()
        browser.select_runs([int(row["local_id"]) for row in rows])
        browser.compare_selected()
    window.tabs.setCurrentWidget(browser)


def _analyse(window, scope: str, row: dict) -> None:
    if scope == "lab":
        browser = window.browser
        if browser.set_scope("lab"):
            browser.lab.open_rows_in_analysis([row])
    else:
        window.analyse_run(int(row["local_id"]))


def add_outcomes_tab(window) -> OutcomesTab:
    """The Outcomes tab, after the Notebook tab of `window` (a MainWindow), and the routes
    of lab runs from the browser's Lab scope to the window's Analysis view and replays."""
    tab = OutcomesTab(window.notebook)
    window.tabs.addTab(tab, "Outcomes")
    window.tabs.tabBar().moveTab(window.tabs.indexOf(tab), window.tabs.indexOf(window.browser) + 1)
    browser = window.browser
    browser.lab_author = window.operator_name
    browser.lab_analysis_requested.connect(lambda path, run_id: open_in_analysis(window, path, run_id))
    browser.lab_replay_requested.connect(lambda path, run_id: open_replay(window, path, run_id))
    tab.compare_requested.connect(lambda scope, rows: _compare(window, scope, rows))
    tab.analysis_requested.connect(lambda scope, row: _analyse(window, scope, row))
    return tab
