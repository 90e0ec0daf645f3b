"""The lab state in the status bar: a flat button showing the text a station's SyncWorker
(or a desk station's probe) gives, "lab: synced", "lab: 2 runs / 5,000 samples behind",
"lab: offline since 14:02", "lab: not set up", in the theme's ok / warning / error / muted
colour, with the lab URL (never a password) and the last error in its tooltip. Clicking it
opens the lab settings. `LabControls` puts it in a window's status bar, with a Lab menu
(settings, sync or retry now) and the settings dialog (gui/lab_settings.py).

It reads its source (gui/lab_link.py: StationLink or LabProbe) on a 1 s timer; the source
answers from a snapshot its own thread keeps, so the GUI thread never waits on the network."""
from __future__ import annotations

from typing import Protocol

from PySide6 import QtCore, QtWidgets

from gui import theme
from gui.lab_link import LabProbe, StationLink

POLL_MS = 1000


class LabSource(Protocol):
    def text(self) -> str: ...
    def role(self) -> str: ...
    def details(self) -> str: ...


class LabStatusButton(QtWidgets.QToolButton):
    """The status bar's lab state; `clicked` opens the lab settings (the window connects it)."""

    def __init__(self, source: LabSource, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.source = source
        self.setObjectName("labStatus")
        self.setAutoRaise(True)              # flat in the status bar, a button under the pointer
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.setAccessibleName("Lab status")
        self._role = ""
        self.timer = QtCore.QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    def set_source(self, source: LabSource) -> None:
        self.source = source
        self.refresh()

    def refresh(self) -> None:
        text = self.source.text()
        if text != self.text():
            self.setText(text)
            self.updateGeometry()       # "lab: synced" and "lab: 12 runs / 3 M samples behind" differ in width
        role = self.source.role()
        if role != self._role:
            self._role = role
            theme.set_style(self, f"QToolButton#labStatus {{{{ color: {{{role}}}; }}}}")
        self.setToolTip(self.source.details())

    def role(self) -> str:
        """The theme role the text is shown in (ok, warning, error, muted)."""
        return self._role

    def stop(self) -> None:
        self.timer.stop()


class LabControls(QtCore.QObject):
    """A window's lab pieces: the status bar's lab state, a Lab menu (settings, sync now)
    and the settings dialog, for a station's StationLink or a desk station's LabProbe.
    `shutdown()` stops the timer, closes the dialog and stops the link's thread, bounded."""

    def __init__(self, window: QtWidgets.QMainWindow, source: StationLink | LabProbe):
        super().__init__(window)
        self.window = window
        self.source = source
        self.dialog = None
        self.button = LabStatusButton(source)
        self.button.clicked.connect(self.open_settings)
        # a glove's gap from its neighbour (the operator's box): the status bar lays out its
        # widgets itself, with a spacing of its own that glove mode cannot widen
        holder = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(holder)
        row.setContentsMargins(theme.GLOVE_GAP_PX, 0, 0, 0)
        row.addWidget(self.button)
        window.statusBar().addPermanentWidget(holder)
        self.menu = window.menuBar().addMenu("&Lab")
        self.menu.addAction("Lab &settings…").triggered.connect(self.open_settings)
        now = self.menu.addAction("Sync &now" if isinstance(source, StationLink) else "&Retry now")
        now.triggered.connect(self.sync_now)

    def open_settings(self):
        """The lab settings dialog (one per window), shown and raised; returned for tests."""
        from gui.lab_settings import LabSettingsDialog     # psycopg comes with it: only when asked
        if self.dialog is None:
            self.dialog = LabSettingsDialog(self.source, self.window)
            self.dialog.finished.connect(self._closed)
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        return self.dialog

    def _closed(self, _result: int) -> None:
        dialog, self.dialog = self.dialog, None
        if dialog is not None:
            dialog.deleteLater()

    def sync_now(self) -> None:
        if isinstance(self.source, StationLink):
            if not self.source.sync_now():
                self.open_settings()        # nothing to sync to: the place to set it up
        else:
            self.source.wake()
        self.button.refresh()

    def shutdown(self) -> None:
        self.button.stop()
        if self.dialog is not None:
            self.dialog.done(0)
        self.source.stop()
