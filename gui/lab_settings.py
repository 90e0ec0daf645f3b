"""The lab settings dialog: the station's name and UUID, its lab URL (kept in the notebook,
never with a password: the notebook refuses one, and the dialog shows why), "Test connection"
(connects on a thread of its own and reads the store's schema version; libpq's error in
words, without a password) and "Sync now". Opened from the status bar's lab state and from
the Lab menu. On a desk station (a LabProbe, no notebook) it shows the URL it was given and
"Retry now" in place of saving and syncing."""
from __future__ import annotations

from concurrent.futures import Future

import psycopg
from psycopg.conninfo import conninfo_to_dict
from PySide6 import QtCore, QtWidgets

from gui import theme
from gui.lab_link import LabProbe, StationLink, check_connection, run_in_thread
from lab.connection import LabError, redact
from notebook import NotebookError

URL_HINT = "postgresql://station_NAME@HOST:5432/DATABASE  (or service=NAME)"
PASSWORD_NOTE = ("The password never goes in the URL: libpq reads it from ~/.pgpass (or PGPASSFILE), "
                 "a service file or PGPASSWORD.")
POLL_MS = 100


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a lab URL (empty, or not something libpq parses), else None."""
    text = url.strip()
    if not text:
        return "the lab URL is empty: give postgresql://ROLE@HOST:PORT/DATABASE or service=NAME"
    try:
        conninfo_to_dict(text)
    except psycopg.Error:
        return (f"{redact(text)!r} is not a PostgreSQL URL (postgresql://ROLE@HOST:PORT/DATABASE) or "
                "connection string (key=value, or service=NAME)")
    return None


def _selectable(text: str) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class LabSettingsDialog(QtWidgets.QDialog):
    def __init__(self, link: StationLink | LabProbe, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.link = link
        self.station_mode = isinstance(link, StationLink)
        self.setWindowTitle("Lab settings")
        self.setMinimumWidth(560)
        form = QtWidgets.QFormLayout()
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        if self.station_mode:
            identity = link.identity
            self.station_name = _selectable(identity.name or "(unnamed)")
            self.station_uuid = _selectable(identity.uuid or "(none yet)")
            form.addRow("Station", self.station_name)
            form.addRow("Station UUID", self.station_uuid)
        self.url = QtWidgets.QLineEdit(link.url or "")
        self.url.setPlaceholderText(URL_HINT)
        self.url.setClearButtonEnabled(True)
        self.url.setReadOnly(not self.station_mode)      # a desk station reads the URL it was started with
        form.addRow("Lab URL", self.url)
        note = QtWidgets.QLabel(PASSWORD_NOTE)
        note.setWordWrap(True)
        theme.set_style(note, "color: {muted};")
        form.addRow("", note)
        self.state = _selectable(link.text())
        form.addRow("Lab state", self.state)
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setMinimumHeight(self.fontMetrics().lineSpacing() * 3)
        self.message.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)

        self.test = QtWidgets.QPushButton("Test connection")
        self.test.clicked.connect(self.test_connection)
        self.save = QtWidgets.QPushButton("Save")
        self.save.clicked.connect(self.save_url)
        self.sync = QtWidgets.QPushButton("Sync now" if self.station_mode else "Retry now")
        self.sync.clicked.connect(self.sync_now)
        close = QtWidgets.QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.test)
        buttons.addWidget(self.sync)
        buttons.addStretch(1)
        if self.station_mode:
            buttons.addWidget(self.save)
        else:
            self.save.hide()
        buttons.addWidget(close)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message, 1)
        layout.addLayout(buttons)
        self._pending: Future | None = None
        self._poll = QtCore.QTimer(self, interval=POLL_MS)
        self._poll.timeout.connect(self._check)
        self._poll.start()
        self.url.textEdited.connect(lambda _text: self.say(""))

    # -- what it says --
    def say(self, text: str, role: str = "") -> None:
        self.message.setText(text)
        theme.set_style(self.message, f"color: {{{role}}};" if role else "")

    def message_role(self) -> str:
        template = self.message.property("themeStyle") or ""
        return template.removeprefix("color: {").removesuffix("};")

    # -- actions --
    def save_url(self) -> bool:
        """Store the URL in the notebook and sync to it; a refusal is shown and changes nothing."""
        if not self.station_mode:
            return False
        text = self.url.text().strip()
        problem = url_problem(text)
        if problem is None:
            try:
                self.link.set_url(text)
            except NotebookError as exc:      # the notebook's refusal: a password, a read-only notebook
                problem = str(exc)
        if problem is not None:
            self.say(f"Not saved: {redact(problem)}", "error")
            return False
        self.say(f"Saved: this station syncs to {redact(text)}.", "ok")
        self._check()
        return True

    def test_connection(self) -> None:
        """Connect with the URL in the field (saved or not) on a thread of its own."""
        if self._pending is not None:
            return
        text = self.url.text().strip()
        problem = url_problem(text)
        if problem is not None:
            self.say(problem, "error")
            return
        self.test.setEnabled(False)
        self.say(f"Connecting to {redact(text)}…", "muted")
        self._pending = run_in_thread(lambda: check_connection(text))

    def sync_now(self) -> None:
        if self.station_mode:
            if self.link.sync_now():
                self.say("Syncing now: the status bar follows it.", "muted")
            else:
                self.say("Nothing to sync to: save a lab URL first.", "error")
        else:
            self.link.wake()
            self.say("Trying the lab store again now.", "muted")

    def testing(self) -> bool:
        return self._pending is not None

    def _check(self) -> None:
        self.state.setText(self.link.text())
        future = self._pending
        if future is None or not future.done():
            return
        self._pending = None
        self.test.setEnabled(True)
        try:
            found = future.result()
        except LabError as exc:
            self.say(f"Connection failed: {redact(str(exc))}", "error")
        else:
            self.say(found[0].upper() + found[1:] + ".", "ok")

    def done(self, result: int) -> None:  # noqa: D401 (Qt's name)
        self._poll.stop()     # a test still going ends by itself on its daemon thread
        super().done(result)
