"""Scan-first work at the station: a barcode scanner types a code and presses Enter.

- The scan field in the status bar (F2 puts the cursor there) takes a scan or a typed
  code. A scanner's burst (keystrokes under SCAN_GAP_S apart, then Enter) is caught
  anywhere in the window that is not a text field, so a scan needs no click first; in a
  text field (a cell id, a lot) it goes into that field, as the operator meant.
- What the code is comes from notebook/scan.py: a cell id opens that build in the builder
  and offers to run it; a known lot fills the selected sheet's lot (and material); an
  operator's badge ("OP:CW", or a known operator's name) sets the session's operator,
  kept in StationSettings until another badge or choice, and shown in the status bar,
  where the operator can also be chosen from a list."""
from __future__ import annotations

import time

from PySide6 import QtCore, QtGui, QtWidgets

from gui.builder_wizard import LAYERS, RECORD
from notebook import NotebookError
from notebook.scan import Scan, classify, known_operators

SCAN_GAP_S = 0.05      # a scanner sends a character every few ms; a person types >= 80 ms apart
SCAN_MIN_CHARS = 2     # initials on a badge
ENTER_KEYS = (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter)
MAX_REMEMBERED_OPERATORS = 12


def is_text_input(widget: QtWidgets.QWidget | None) -> bool:
    """A widget where typed characters are the operator's text (a scan goes into it)."""
    if isinstance(widget, QtWidgets.QComboBox):
        return widget.isEditable()
    return isinstance(widget, (QtWidgets.QLineEdit, QtWidgets.QAbstractSpinBox, QtWidgets.QTextEdit,
                               QtWidgets.QPlainTextEdit))


class ScanField(QtWidgets.QLineEdit):
    """Where a scan lands when the cursor is put there (F2): Enter hands it on."""
    scanned = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setPlaceholderText("Scan: cell id, lot, badge (F2)")
        self.setToolTip("Scan or type a cell id (opens the build), a material lot (fills the selected sheet) "
                        "or an operator badge, then Enter")
        self.setClearButtonEnabled(True)
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance(self.placeholderText()) + 40)
        self.returnPressed.connect(self._hand_on)

    def _hand_on(self) -> None:
        text = self.text()
        self.clear()
        if text.strip():
            self.scanned.emit(text)


class ScannerListener(QtCore.QObject):
    """Catches a scanner's burst ending in Enter typed into `window` outside a text field.
    The burst's characters still reach the focused widget (they cannot be known to be a
    scan until the Enter); the Enter is taken."""
    scanned = QtCore.Signal(str)

    def __init__(self, window: QtWidgets.QWidget):
        super().__init__(window)
        self._window = window
        self._buffer = ""
        self._last = 0.0

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() != QtCore.QEvent.Type.KeyPress:
            return False
        # The first receiver only: a key a child ignores is offered to its parents again.
        focus = QtWidgets.QApplication.focusWidget()
        if watched is not focus or focus is None or focus.window() is not self._window:
            return False
        if is_text_input(focus):
            self._buffer = ""
            return False
        now = time.monotonic()
        fast = now - self._last <= SCAN_GAP_S
        if event.key() in ENTER_KEYS:
            code, self._buffer = self._buffer, ""
            if fast and len(code) >= SCAN_MIN_CHARS:
                self.scanned.emit(code)
                return True
            return False
        text = event.text()
        if text and text.isprintable():
            self._buffer = (self._buffer if fast else "") + text
            self._last = now
        elif event.key() not in (QtCore.Qt.Key.Key_Shift, QtCore.Qt.Key.Key_CapsLock, QtCore.Qt.Key.Key_AltGr):
            self._buffer = ""        # an arrow, a function key: not a scan
        return False


class OperatorButton(QtWidgets.QPushButton):
    """The session's operator in the status bar; a click lists the operators to choose from."""
    chosen = QtCore.Signal(str)

    def __init__(self, names, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self._names = names           # () -> the operators to offer, most recent first
        self.setMenu(QtWidgets.QMenu(self))
        self.menu().aboutToShow.connect(self._fill_menu)
        self.setToolTip("who operates the station: scan your badge, or choose here")

    def show_operator(self, name: str) -> None:
        self.setText(f"Operator: {name or '—'}")

    def _fill_menu(self) -> None:
        menu = self.menu()
        menu.clear()
        for name in self._names():
            menu.addAction(name, lambda name=name: self.chosen.emit(name))
        if not menu.isEmpty():
            menu.addSeparator()
        menu.addAction("Someone else…", self._ask)
        menu.addAction("Nobody (sign out)", lambda: self.chosen.emit(""))

    def _ask(self) -> None:
        name, ok = QtWidgets.QInputDialog.getText(self, "Operator", "Name or initials:")
        if ok and name.strip():
            self.chosen.emit(name.strip())


class ScanDesk(QtCore.QObject):
    """The station's scan field, scanner listener and operator, wired to its main window
    (gui/main_window.py): the builder, the tabs, the run panel and the status line."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.settings = window.settings
        self.last: Scan | None = None
        self.field = ScanField()
        self.field.scanned.connect(self.handle)
        self.run_button = QtWidgets.QPushButton()
        self.run_button.hide()
        self.run_button.clicked.connect(self.run_scanned)
        self.operator_button = OperatorButton(self.operator_choices)
        self.operator_button.chosen.connect(lambda name: self.set_operator(name, how="chosen"))
        self.operator_button.show_operator(self.operator())
        bar = window.statusBar()
        bar.addPermanentWidget(self.run_button)
        bar.addPermanentWidget(self.field)
        bar.addPermanentWidget(self.operator_button)
        shortcut = QtGui.QShortcut(QtGui.QKeySequence("F2"), window)
        shortcut.activated.connect(self.focus_field)
        self.listener = ScannerListener(window)
        self.listener.scanned.connect(self.handle)
        QtWidgets.QApplication.instance().installEventFilter(self.listener)
        self.settings.changed.connect(self._on_setting)

    def focus_field(self) -> None:
        self.field.setFocus(QtCore.Qt.FocusReason.ShortcutFocusReason)
        self.field.selectAll()

    # -- the operator --
    def operator(self) -> str:
        return str(self.settings.value("operator")).strip()

    def operator_choices(self) -> list[str]:
        remembered = [n for n in str(self.settings.value("operators")).split(",") if n.strip()]
        return list(dict.fromkeys(remembered + known_operators(self.window.notebook)))

    def set_operator(self, name: str, how: str = "badge") -> None:
        """`name` operates the station from now on, also after a restart ('' signs out)."""
        name = " ".join(name.replace(",", " ").split())
        if name:
            others = [n for n in str(self.settings.value("operators")).split(",") if n and n != name]
            self.settings.set("operators", ",".join([name, *others][:MAX_REMEMBERED_OPERATORS]))
        self.settings.set("operator", name)
        self.window.set_status(f"Operator: {name} ({how}); kept until another badge is scanned or an operator chosen."
                               if name else "Nobody is named as the operator now.")

    def _on_setting(self, name: str, value) -> None:
        if name == "operator":
            self.operator_button.show_operator(str(value))

    # -- a scan --
    def handle(self, text: str) -> Scan:
        """Do what the scanned code means; the status line says what was done."""
        scan = classify(self.window.notebook, text, str(self.settings.value("badge_prefix")))
        self.last = scan
        self.run_button.hide()
        {"cell": self._cell, "lot": self._lot, "operator": self._operator, "unknown": self._unknown}[scan.kind](scan)
        return scan

    def _cell(self, scan: Scan) -> None:
        builder = self.window.builder
        try:
            stack = builder.open_build(scan.build_id)
        except NotebookError as exc:
            self.window.set_status(f"Scanned {scan.text}: build #{scan.build_id} cannot be opened: {exc}")
            return
        builder.go_to_step(RECORD)
        self.window.tabs.setCurrentWidget(builder)
        more = f" ({scan.builds} builds carry this id: the newest is shown)" if scan.builds > 1 else ""
        channel = self.window.run_panel.channel_index()
        name = scan.value or scan.text
        self.run_button.setText(f"▶ Run {name}")
        self.run_button.setToolTip(f"start the run panel's protocol on channel {channel} with build #{scan.build_id}")
        self.run_button.show()
        self.window.set_status(f"Cell {name} opened: build #{scan.build_id}, {stack.describe()}{more}. "
                               f"▶ Run {name} starts it on channel {channel}.")

    def run_scanned(self) -> bool:
        """The offer after a cell scan: start the run panel's protocol on that build."""
        self.run_button.hide()
        return self.window.start_run()

    def _lot(self, scan: Scan) -> None:
        builder = self.window.builder
        what = f"lot {scan.value}" + (f" ({scan.material})" if scan.material else "")
        self.window.tabs.setCurrentWidget(builder)
        builder.go_to_step(LAYERS)
        index = builder.layers.scan_lot(scan.value, scan.material)
        if index is None:
            self.window.set_status(f"Scanned {what}: select the sheet it belongs to in the Layers step, then scan it again.")
            return
        layer = builder.stack().layers[index]
        self.window.set_status(f"Scanned {what}: sheet {index + 1} ({builder.stack().label(layer)}) has it now.")

    def _operator(self, scan: Scan) -> None:
        self.set_operator(scan.value, how="badge scanned")

    def _unknown(self, scan: Scan) -> None:
        prefix = str(self.settings.value("badge_prefix"))
        badge = f" or an operator badge ({prefix}NAME)" if prefix else ""
        self.window.set_status(f"Scanned {scan.text!r}: not a cell id, lot{badge} this notebook knows. A new lot goes "
                               "into its sheet's Lot field; a new cell id into the Record step's Cell id.")
