"""The cell builder: a guided, four-step stack-assembly wizard.

1 Start: a template of the paper, an empty stack, or a copy of a saved build.
2 Layers: add, remove, reorder sheets; thickness, areal mass and lot of each.
3 Set-points: area, stack pressure (MPa, with the fixture force in N), the fixture's
  pressure limit, densification pressure, temperature.
4 Record: cell id, operator, notes; save the build to the notebook; save or print its
  label (a QR code of the cell id: gui/label.py).

Beside the steps, always visible: the stack picture (to scale in thickness), the derived
figures and the problems. A problem is shown at its field (red for errors, amber for
warnings) and is a link that takes the operator there; errors block saving, warnings do
not. Every edit is one undo step (gui/builder_model.py).

Made for a barcode scanner, which types a code and presses Enter: Enter in a field goes
to the next one (a second scan never appends to the first), Enter on the last field of a
step does the step's action (Next ▶; in Record, Ctrl+Enter in the notes saves), Enter on
a focused button presses it, Enter in the template or build list starts from it. A build
saved without a cell id gets one by the lab's pattern (StationSettings cell_id_pattern,
cell/ids.py); the session's operator (StationSettings operator) fills new builds."""
from __future__ import annotations

import datetime as dt
import html
import sqlite3
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

import cell
from cell.figures import C_RATES
from cell.ids import next_cell_id
from cell.validation import Issue, errors, layer_of
from gui import theme
from gui.builder_layers import LayerEditor
from gui.builder_model import (ERROR_BG, ERROR_TEXT, MUTED_TEXT, OK_TEXT, WARNING_BG, WARNING_TEXT, BuildDocument,
                               color_style)
from gui.builder_picture import StackPicture
from gui.layout import FittingScrollArea
from gui.settings import SCHEMA, StationSettings
from notebook import Notebook, NotebookError
from notebook.labels import DEFAULT_SIZE, SIZES, label_text
from notebook.scan import lots_by_material, taken_cell_ids

ENTER_KEYS = (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter)
STEPS = ("Start", "Layers", "Set-points", "Record")
START, LAYERS, SETPOINTS, RECORD = range(4)
ERROR_STYLE = f"background: {{{ERROR_BG}}};"      # templates for gui.theme.set_style
WARNING_STYLE = f"background: {{{WARNING_BG}}};"


def page_of(field: str) -> int:
    """The wizard step where `field` is edited."""
    if field.startswith("layers"):
        return LAYERS
    if field in ("name", "operator", "notes"):
        return RECORD
    return SETPOINTS


def _spin(lo: float, hi: float, decimals: int, suffix: str) -> QtWidgets.QDoubleSpinBox:
    # Bounds wider than plausible on purpose: validation names a bad value at the field
    # instead of the spin box clamping it silently.
    spin = QtWidgets.QDoubleSpinBox()
    spin.setRange(lo, hi)
    spin.setDecimals(decimals)
    spin.setSuffix(suffix)
    spin.setKeyboardTracking(True)
    spin.setMinimumWidth(130)
    return spin


def _note(text: str = "") -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    label.setWordWrap(True)
    theme.set_style(label, color_style(MUTED_TEXT))
    return label


class BuilderWizard(QtWidgets.QWidget):
    changed = QtCore.Signal()
    saved = QtCore.Signal(int)

    def __init__(self, notebook: Notebook, settings: StationSettings | None = None,
                 parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.notebook = notebook
        self.settings = settings      # None: the defaults, no session operator (a wizard on its own)
        self.doc = BuildDocument(cell.from_template(cell.template_names()[0], operator=self.session_operator()), self)
        self._saved: list[tuple[int, cell.Stack]] = []   # builds saved in this session
        self._syncing = False
        self._fields: dict[str, tuple[QtWidgets.QWidget, QtWidgets.QLabel]] = {}

        self.pages = QtWidgets.QStackedWidget()
        self.pages.addWidget(self._start_page())
        self.layers = LayerEditor(self.doc)
        self.pages.addWidget(self.layers)
        self.pages.addWidget(self._setpoints_page())
        self.pages.addWidget(self._record_page())
        self.picture = StackPicture()
        self.problems = QtWidgets.QLabel()
        self.problems.setWordWrap(True)
        self.problems.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.problems.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
        self.problems.linkActivated.connect(self.go_to_field)
        self.back = QtWidgets.QPushButton("◀ Back")
        self.next = QtWidgets.QPushButton()
        self.back.clicked.connect(lambda: self.go_to_step(self.pages.currentIndex() - 1))
        self.next.clicked.connect(self._on_next)
        self._history_buttons()
        self._enter_moves_on()
        if settings is not None:
            settings.changed.connect(self._on_setting)

        left = QtWidgets.QVBoxLayout()
        left.addLayout(self._steps())
        # the step's page scrolls when the window is short (glove mode, a small panel PC):
        # the steps above and Back/Next below stay in view
        self.pages_area = QtWidgets.QScrollArea()
        self.pages_area.setWidget(self.pages)
        self.pages_area.setWidgetResizable(True)
        self.pages_area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        left.addWidget(self.pages_area, 1)
        problems_box = QtWidgets.QScrollArea()
        problems_box.setWidget(self.problems)
        problems_box.setWidgetResizable(True)
        problems_box.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        problems_box.setMaximumHeight(110)
        # QScrollArea paints its own background: let the page's show through.
        self.problems.setAutoFillBackground(False)
        problems_box.viewport().setAutoFillBackground(False)
        left.addWidget(problems_box)
        nav = QtWidgets.QHBoxLayout()
        nav.addWidget(self.back)
        nav.addStretch(1)
        nav.addWidget(self.undo_button)
        nav.addWidget(self.redo_button)
        nav.addStretch(1)
        nav.addWidget(self.next)
        left.addLayout(nav)
        # A fixed width for the picture and figures: the column must not jump when a page
        # or a figure's text changes; extra width goes to the steps (the layer table).
        right = QtWidgets.QWidget()
        right.setFixedWidth(420)
        right_layout = QtWidgets.QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.picture, 1)
        right_layout.addWidget(self._figures_box())
        # the column scrolls when the window is short, rather than push Back/Next out of view
        right_area = FittingScrollArea(right)
        right_area.setFixedWidth(right_area.minimumSizeHint().width())
        layout = QtWidgets.QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addWidget(right_area)

        self.doc.changed.connect(self._on_doc_changed)
        self.layers.selection_changed.connect(self.picture.set_selected)
        self.picture.layer_clicked.connect(self._on_picture_click)
        self._refresh_saved_lists()
        self.go_to_step(START)
        self._on_doc_changed()
        self._enter_presses_buttons()

    # -- construction --
    def _steps(self) -> QtWidgets.QHBoxLayout:
        row = QtWidgets.QHBoxLayout()
        self.step_group = QtWidgets.QButtonGroup(self)
        self.step_buttons: list[QtWidgets.QToolButton] = []
        for n, name in enumerate(STEPS):
            button = QtWidgets.QToolButton()
            button.setCheckable(True)
            button.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setText(f"{n + 1}  {name}")
            self.step_group.addButton(button, n)
            self.step_buttons.append(button)
            row.addWidget(button)
        self.step_group.idClicked.connect(self.go_to_step)
        row.addStretch(1)
        return row

    def _history_buttons(self) -> None:
        history = self.doc.undo_stack
        self.undo_button, self.redo_button = QtWidgets.QToolButton(), QtWidgets.QToolButton()
        for button, arrow, verb, key, do, can, what in (
                (self.undo_button, "↶", "Undo", QtGui.QKeySequence.StandardKey.Undo, history.undo,
                 history.canUndoChanged, history.undoTextChanged),
                (self.redo_button, "↷", "Redo", QtGui.QKeySequence.StandardKey.Redo, history.redo,
                 history.canRedoChanged, history.redoTextChanged)):
            # Own actions, not createUndoAction: its text grows with the command's and
            # would make the button jump in width; the command is named in the tooltip.
            action = QtGui.QAction(f"{arrow} {verb}", self)
            action.setShortcut(key)
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.setEnabled(False)
            action.triggered.connect(do)
            can.connect(action.setEnabled)
            what.connect(lambda command, action=action, verb=verb: action.setToolTip(
                f"{verb}: {command}" if command else f"nothing to {verb.lower()}"))
            self.addAction(action)
            button.setDefaultAction(action)

    def _start_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        self.start_choice = QtWidgets.QButtonGroup(page)
        self.from_template = QtWidgets.QRadioButton("From a template (the paper's configurations)")
        self.from_empty = QtWidgets.QRadioButton("From an empty stack, sheet by sheet")
        self.from_build = QtWidgets.QRadioButton("As a copy of a saved build: same sheets, lots and set-points")
        for n, radio in enumerate((self.from_template, self.from_empty, self.from_build)):
            self.start_choice.addButton(radio, n)
        self.from_template.setChecked(True)
        self.template_list = QtWidgets.QListWidget()
        for name in cell.template_names():
            item = QtWidgets.QListWidgetItem(f"{name}  —  {cell.template_title(name)}")
            item.setData(QtCore.Qt.ItemDataRole.UserRole, name)
            self.template_list.addItem(item)
        self.template_list.setCurrentRow(0)
        self.build_list = QtWidgets.QTreeWidget()
        self.build_list.setHeaderLabels(["Build", "Saved (UTC)", "Cell id", "Stack", "Operator", "Runs"])
        self.build_list.setRootIsDecorated(False)
        self.build_list.setAlternatingRowColors(True)
        self.template_list.itemDoubleClicked.connect(lambda _: self.start())
        self.build_list.itemDoubleClicked.connect(lambda *_: self.start())
        self.template_list.currentRowChanged.connect(lambda _: self.from_template.setChecked(True))
        self.build_list.currentItemChanged.connect(lambda *_: self.from_build.setChecked(True))
        layout = QtWidgets.QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.from_template)
        layout.addWidget(self.template_list, 3)
        layout.addWidget(self.from_empty)
        layout.addWidget(self.from_build)
        layout.addWidget(self.build_list, 2)
        layout.addWidget(_note("Begin with this replaces the stack being edited; Undo brings it back."))
        return page

    def _field(self, grid: QtWidgets.QGridLayout, row: int, label: str, name: str, widget: QtWidgets.QWidget,
               note: QtWidgets.QLabel | None = None) -> int:
        """A labelled field at `row` of `grid` with its problem message below it."""
        message = QtWidgets.QLabel()
        message.setWordWrap(True)
        message.hide()
        grid.addWidget(QtWidgets.QLabel(label), row, 0)
        grid.addWidget(widget, row, 1)
        if note is not None:
            grid.addWidget(note, row, 2)
        grid.addWidget(message, row + 1, 1, 1, 2)
        self._fields[name] = (widget, message)
        return row + 2

    def _setpoints_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(page)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setColumnStretch(2, 1)
        self.area = _spin(0.0, 100000.0, 3, " cm²")
        self.pressure = _spin(0.0, 100000.0, 2, " MPa")
        self.force = QtWidgets.QLabel()
        self.fixture_limit = _spin(0.0, 100000.0, 1, " MPa")
        self.densification = _spin(0.0, 100000.0, 1, " MPa")
        self.densification_force = QtWidgets.QLabel()
        self.temperature = _spin(-273.0, 1000.0, 1, " °C")
        row = self._field(grid, 0, "Cell area", "area_cm2", self.area)
        row = self._field(grid, row, "Stack pressure", "stack_pressure_mpa", self.pressure, self.force)
        row = self._field(grid, row, "Fixture limit", "fixture_limit_mpa", self.fixture_limit,
                          _note("rated maximum of the fixture used"))
        row = self._field(grid, row, "Densification", "densification_pressure_mpa", self.densification,
                          self.densification_force)
        row = self._field(grid, row, "Temperature", "temperature_c", self.temperature)
        grid.addWidget(_note("Force = pressure × area: 1 MPa on 1 cm² is 100 N. The paper presses its "
                             "cells at 375 MPa, runs them at 5 MPa, full cells at 60 °C."), row, 0, 1, 3)
        grid.setRowStretch(row + 1, 1)
        self._spins = {"area_cm2": self.area, "stack_pressure_mpa": self.pressure,
                       "fixture_limit_mpa": self.fixture_limit, "densification_pressure_mpa": self.densification,
                       "temperature_c": self.temperature}
        for name, spin in self._spins.items():
            spin.valueChanged.connect(lambda value, name=name: self._edit(name, value))
        return page

    def _record_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(page)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setColumnStretch(1, 1)
        self.cell_name = QtWidgets.QLineEdit()
        self.cell_name.setPlaceholderText("the cell's own id, e.g. CW-031")
        self.operator = QtWidgets.QLineEdit()
        self.operator.setPlaceholderText("name or initials")
        self.notes = QtWidgets.QPlainTextEdit()
        self.notes.setPlaceholderText("observations while assembling…")
        self.notes.setTabChangesFocus(True)
        self.notes.setMaximumHeight(90)
        row = self._field(grid, 0, "Cell id", "name", self.cell_name)
        row = self._field(grid, row, "Operator", "operator", self.operator)
        row = self._field(grid, row, "Notes", "notes", self.notes)
        self.summary = QtWidgets.QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.save_status = QtWidgets.QLabel()
        self.save_status.setWordWrap(True)
        grid.addWidget(self.summary, row, 0, 1, 2)
        grid.addWidget(self.save_status, row + 1, 0, 1, 2)
        grid.addLayout(self._label_row(), row + 2, 0, 1, 2)
        grid.setRowStretch(row + 3, 1)
        self.cell_name.textChanged.connect(lambda text: self._edit("name", text))
        self.operator.textChanged.connect(lambda text: self._edit("operator", text))
        self.notes.textChanged.connect(lambda: self._edit("notes", self.notes.toPlainText()))
        return page

    def _label_row(self) -> QtWidgets.QHBoxLayout:
        """Save or print the saved build's label, in one of the label stock's sizes."""
        self.label_size = QtWidgets.QComboBox()
        for name, (w, h) in SIZES.items():
            self.label_size.addItem(f"{w:g} × {h:g} mm", name)
        self.label_size.setCurrentIndex(self.label_size.findData(DEFAULT_SIZE))
        self.label_size.setToolTip("62 × 29 mm: 62 mm continuous tape; 25 × 50 mm: a holder's or vial's label")
        self.save_label_button = QtWidgets.QPushButton("Save label…")
        self.print_label_button = QtWidgets.QPushButton("Print label…")
        self.save_label_button.clicked.connect(lambda: self.save_label())
        self.print_label_button.clicked.connect(self.print_label)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Label"))
        row.addWidget(self.label_size)
        row.addWidget(self.save_label_button)
        row.addWidget(self.print_label_button)
        row.addStretch(1)
        return row

    def _enter_moves_on(self) -> None:
        """Enter goes to the next field; on a step's last field it does the step's action."""
        spins = list(self._spins.values())
        self._enter_next: dict[QtCore.QObject, object] = {
            spin: (lambda nxt=nxt: self._focus(nxt)) for spin, nxt in zip(spins, spins[1:])}
        self._enter_next[spins[-1]] = self._on_next
        self._enter_next[self.cell_name] = lambda: self._focus(self.operator)
        self._enter_next[self.operator] = lambda: self._focus(self.notes)
        self._enter_next[self.template_list] = self._start_from_list
        self._enter_next[self.build_list] = self._start_from_list
        for widget in self._enter_next:
            widget.installEventFilter(self)
        save = QtGui.QShortcut(QtGui.QKeySequence("Ctrl+Return"), self.notes, context=QtCore.Qt.ShortcutContext.WidgetShortcut)
        save.activated.connect(self._on_next)

    def _enter_presses_buttons(self) -> None:
        """A focused push button takes Enter (autoDefault, off outside a dialog); the step,
        history and start-choice buttons through the filter. Called once all are in place."""
        for button in self.findChildren(QtWidgets.QAbstractButton):
            if isinstance(button, QtWidgets.QPushButton):
                button.setAutoDefault(True)
            else:
                button.installEventFilter(self)

    @staticmethod
    def _focus(widget: QtWidgets.QWidget) -> None:
        widget.setFocus(QtCore.Qt.FocusReason.TabFocusReason)
        if isinstance(widget, (QtWidgets.QLineEdit, QtWidgets.QAbstractSpinBox)):
            widget.selectAll()        # the next scan replaces what the field holds

    def _start_from_list(self) -> None:
        (self.from_template if self.focusWidget() is self.template_list else self.from_build).setChecked(True)
        self.start()

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if (event.type() == QtCore.QEvent.Type.KeyPress and event.key() in ENTER_KEYS
                and not event.modifiers() & ~QtCore.Qt.KeyboardModifier.KeypadModifier):
            action = self._enter_next.get(watched)
            if action is not None:
                if isinstance(watched, QtWidgets.QAbstractSpinBox):
                    watched.interpretText()   # what was typed counts before moving on
                action()
                return True
            if isinstance(watched, QtWidgets.QAbstractButton) and watched.isEnabled():
                watched.click()
                return True
        return super().eventFilter(watched, event)

    def _figures_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Derived figures")
        grid = QtWidgets.QGridLayout(box)
        self.figure_values: dict[str, QtWidgets.QLabel] = {}
        rows = (("stack", "Stack"), ("capacity", "Capacity"), ("basis", "limited by"), ("force", "Fixture"),
                ("press", "Press"), ("energy", "Projected"))
        for r, (key, label) in enumerate(rows):
            value = QtWidgets.QLabel()
            value.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(QtWidgets.QLabel(label), r, 0, QtCore.Qt.AlignmentFlag.AlignTop)
            grid.addWidget(value, r, 1, 1, 6)
            self.figure_values[key] = value
        self.avg_voltage = QtWidgets.QDoubleSpinBox()
        self.avg_voltage.setRange(0.1, 10.0)
        self.avg_voltage.setDecimals(2)
        self.avg_voltage.setSingleStep(0.05)
        self.avg_voltage.setValue(3.70)
        self.avg_voltage.setSuffix(" V")
        self.avg_voltage.setToolTip("average discharge voltage for the Wh/kg and Wh/L projection")
        r = len(rows)
        grid.addWidget(QtWidgets.QLabel("at average"), r, 0)
        grid.addWidget(self.avg_voltage, r, 1, 1, 2)
        # C-rate currents: one column per rate, per cm² and for the whole cell.
        self.rate_labels: dict[tuple[str, str], QtWidgets.QLabel] = {}
        grid.addWidget(QtWidgets.QLabel("Current"), r + 1, 0)
        for c, (rate, _) in enumerate(C_RATES):
            header = QtWidgets.QLabel(rate)
            header.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
            theme.set_style(header, color_style(MUTED_TEXT))
            grid.addWidget(header, r + 1, c + 1)
            for k, unit in enumerate(("mA_cm2", "mA")):
                value = QtWidgets.QLabel()
                value.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
                grid.addWidget(value, r + 2 + k, c + 1)
                self.rate_labels[(rate, unit)] = value
        grid.addWidget(QtWidgets.QLabel("mA/cm²"), r + 2, 0)
        grid.addWidget(QtWidgets.QLabel("mA"), r + 3, 0)
        self.avg_voltage.valueChanged.connect(lambda _: self._show_figures())
        return box

    # -- the document -> widgets --
    def _on_doc_changed(self) -> None:
        self._sync_widgets()
        self._show_figures()
        self._show_issues()
        self.picture.show_stack(self.doc.stack, self.doc.issues, self.layers.selected_layer())
        self._show_summary()
        self.changed.emit()

    def _sync_widgets(self) -> None:
        stack = self.doc.stack
        self._syncing = True
        try:
            for name, spin in self._spins.items():
                if spin.value() != getattr(stack, name):
                    spin.setValue(getattr(stack, name))
            for edit, value in ((self.cell_name, stack.name), (self.operator, stack.operator)):
                if edit.text() != value:
                    edit.setText(value)
            if self.notes.toPlainText() != stack.notes:
                self.notes.setPlainText(stack.notes)
        finally:
            self._syncing = False

    def _show_figures(self) -> None:
        f = cell.figures(self.doc.stack, self.avg_voltage.value())
        stack = self.doc.stack
        v = self.figure_values
        v["stack"].setText(f"{f.stack_thickness_um:.1f} µm · {f.areal_mass_mg_cm2:.2f} mg/cm²")
        v["capacity"].setText(f"{f.capacity_mAh_cm2:.3f} mAh/cm² · {f.capacity_mAh:.3f} mAh (theoretical)")
        v["basis"].setText({"cathode": f"the cathode: {f.active_mass_mg_cm2 or 0:.2f} mg/cm² active",
                            "Li foil": "the thinnest Li foil", "none": "— (no rated electrode)"}[f.capacity_basis])
        v["force"].setText(f"{f.force_n:,.0f} N at {stack.stack_pressure_mpa:g} MPa")
        v["press"].setText(f"{f.densification_force_n:,.0f} N at {stack.densification_pressure_mpa:g} MPa")
        if f.wh_per_kg is not None:
            v["energy"].setText(f"{f.wh_per_kg:.1f} Wh/kg · {f.wh_per_l:.1f} Wh/L\n"
                                f"from {f.delivered_mAh_cm2:.3f} mAh/cm² delivered")
        else:
            v["energy"].setText("— (needs a cathode)")
        for rate, values in f.c_rates().items():
            self.rate_labels[(rate, "mA_cm2")].setText(f"{values['mA_cm2']:.3f}")
            self.rate_labels[(rate, "mA")].setText(f"{values['mA']:.3f}")
        self.force.setText(f"= {f.force_n:,.0f} N on the fixture")
        self.densification_force.setText(f"= {f.densification_force_n:,.0f} N on the press")

    def _show_issues(self) -> None:
        issues = self.doc.issues
        for name, (widget, message) in self._fields.items():
            here = [i for i in issues if i.field == name]
            worst = "error" if any(i.severity == "error" for i in here) else "warning" if here else None
            theme.set_style(widget, {"error": ERROR_STYLE, "warning": WARNING_STYLE}.get(worst, ""))
            message.setText("\n".join(("✖ " if i.severity == "error" else "⚠ ") + i.message for i in here))
            theme.set_style(message, color_style(ERROR_TEXT if worst == "error" else WARNING_TEXT))
            message.setVisible(bool(here))
        if issues:
            lines = []
            for issue in sorted(issues, key=lambda i: i.severity != "error"):
                color, mark = (ERROR_TEXT, "✖") if issue.severity == "error" else (WARNING_TEXT, "⚠")
                lines.append(f'<a href="{html.escape(issue.field)}" style="text-decoration:none">'
                             f'<span style="color:{theme.color(color)}">{mark} {html.escape(issue.message)}</span></a>')
            self.problems.setText("<br>".join(lines))
        else:
            self.problems.setText(f'<span style="color:{theme.color(OK_TEXT)}">✓ No problems: the build can be saved.</span>')
        per_step = [0] * len(STEPS)
        for issue in errors(issues):
            per_step[page_of(issue.field)] += 1
        for n, button in enumerate(self.step_buttons):
            button.setText(f"{n + 1}  {STEPS[n]}" + (f"  ✖{per_step[n]}" if per_step[n] else ""))
            button.setToolTip(f"{per_step[n]} error(s) to fix in this step" if per_step[n] else "")

    def _show_summary(self) -> None:
        stack = self.stack()
        origin = f"started from template {stack.template}" if stack.template != cell.CUSTOM else "built from scratch"
        if stack.based_on_build is not None:
            origin += f", a copy of build #{stack.based_on_build}"
        missing = [f"{n + 1} {stack.label(layer)}" for n, layer in enumerate(stack.layers) if not layer.lot]
        lots = f"Lots recorded for {len(stack.layers) - len(missing)} of {len(stack.layers)} sheets"
        lots += f" (none for {', '.join(missing)})." if missing else "."
        self.summary.setText(f"{stack.describe()}\n{origin.capitalize()}.\n{lots}")
        saved = self.saved_build_id
        for button in (self.save_label_button, self.print_label_button):
            button.setEnabled(saved is not None)
            button.setToolTip("" if saved is not None else "save the build first: the label carries its cell id")
        if saved is not None:
            self.save_status.setText(f"✓ Saved as build #{saved}" + (f", cell id {self.stack().name}." if self.stack().name else "."))
            theme.set_style(self.save_status, color_style(OK_TEXT))
        elif self._saved:
            self.save_status.setText(f"Changed since build #{self._saved[-1][0]} was saved: saving makes a new build.")
            theme.set_style(self.save_status, "")
        else:
            self.save_status.setText("Not saved yet.")
            theme.set_style(self.save_status, "")

    # -- widgets -> the document --
    def _edit(self, name: str, value) -> None:
        if not self._syncing:
            self.doc.set_setting(name, value)

    def _on_picture_click(self, index: int) -> None:
        if self.pages.currentIndex() != LAYERS:
            self.go_to_step(LAYERS)
        self.layers.select_layer(index)

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        # Runs started elsewhere change the builds' run counts: the Start step's list is
        # read again whenever the builder comes into view.
        if self.pages.currentIndex() == START:
            self._refresh_saved_lists()
        super().showEvent(event)

    # -- navigation --
    def go_to_step(self, step: int) -> None:
        step = min(max(step, 0), len(STEPS) - 1)
        if step == START:
            self._refresh_saved_lists()
        self.pages.setCurrentIndex(step)
        self.step_buttons[step].setChecked(True)
        self.back.setEnabled(step > START)
        self.next.setText({START: "Begin with this ▶", RECORD: "Save build"}.get(step, "Next ▶"))   # not "Start": that runs

    def _on_next(self) -> None:
        step = self.pages.currentIndex()
        if step == START:
            self.start()
        elif step == RECORD:
            self.save()
        else:
            by_enter = self.focusWidget() in self._enter_next
            self.go_to_step(step + 1)
            if by_enter:     # moved on by Enter in a field: the next step's first field takes the next entry
                self._focus(self.cell_name if step + 1 == RECORD else self.area)

    def go_to_field(self, field: str) -> None:
        """Show the step where `field` is edited and put the cursor on it."""
        self.go_to_step(page_of(field))
        layer = layer_of(field)
        if layer is not None:
            self.layers.edit_cell(layer, field.split(".")[-1])
        elif field in self._fields:
            self._fields[field][0].setFocus()

    # -- starting a cell --
    def start(self) -> bool:
        """Apply the choice of the Start step and go on to the layers."""
        choice = self.start_choice.checkedId()
        if choice == 0:
            item = self.template_list.currentItem()
            if item is None:
                return False
            self.select_template(item.data(QtCore.Qt.ItemDataRole.UserRole))
        elif choice == 1:
            self.start_empty()
        else:
            item = self.build_list.currentItem()
            if item is None:
                return False
            self.start_from_build(int(item.data(0, QtCore.Qt.ItemDataRole.UserRole)))
        self.go_to_step(LAYERS)
        return True

    def session_operator(self) -> str:
        return str(self._setting("operator")).strip()

    def _setting(self, name: str):
        return self.settings.value(name) if self.settings is not None else SCHEMA[name].default

    def _on_setting(self, name: str, value) -> None:
        # A new operator (a badge scanned) takes over the build being edited, not a saved one.
        if name == "operator" and value and self.saved_build_id is None and self.doc.stack.operator != value:
            self.doc.set_setting("operator", value)

    def _carry_over(self) -> dict:
        # The fixture and the operator do not change between two cells of a session.
        return {"fixture_limit_mpa": self.doc.stack.fixture_limit_mpa,
                "operator": self.session_operator() or self.doc.stack.operator}

    def select_template(self, name: str) -> None:
        """Start the cell from template `name` (KeyError for an unknown one)."""
        stack = cell.from_template(name, **self._carry_over())
        row = cell.template_names().index(name)
        with QtCore.QSignalBlocker(self.template_list):
            self.template_list.setCurrentRow(row)
        self.from_template.setChecked(True)
        self.doc.load(stack, f"start from template {name}")

    def start_empty(self) -> None:
        self.from_empty.setChecked(True)
        self.doc.load(cell.empty_stack(**self._carry_over()), "start from an empty stack")

    def start_from_build(self, build_id: int) -> None:
        """Start the next cell as a copy of saved build `build_id`."""
        stack = self.notebook.clone_build(build_id)
        self.doc.load(stack.with_changes(operator=self.session_operator() or stack.operator),
                      f"start from a copy of build #{build_id}")

    def open_build(self, build_id: int) -> cell.Stack:
        """Show saved build `build_id` itself (not a copy): runs started now point at it.
        NotebookError if there is no such build."""
        stack = self.notebook.build(build_id)
        self.doc.load(stack, f"open build #{build_id}")
        self._saved.append((build_id, self.stack()))
        self._show_summary()
        self.changed.emit()
        return stack

    def _refresh_saved_lists(self) -> None:
        """Saved builds to copy and lots to suggest, as the notebook has them now."""
        self.layers.set_known_lots(lots_by_material(self.notebook))
        current = self.build_list.currentItem()
        keep = current.data(0, QtCore.Qt.ItemDataRole.UserRole) if current else None
        with QtCore.QSignalBlocker(self.build_list):
            self.build_list.clear()
            for b in self.notebook.builds():
                item = QtWidgets.QTreeWidgetItem([f"#{b['build_id']}", b["created_utc"][:16].replace("T", " "),
                                                  b["name"], b["description"], b["operator"], str(b["n_runs"])])
                item.setData(0, QtCore.Qt.ItemDataRole.UserRole, b["build_id"])
                self.build_list.addTopLevelItem(item)
                if b["build_id"] == keep:
                    self.build_list.setCurrentItem(item)
        for column in range(self.build_list.columnCount()):
            self.build_list.resizeColumnToContents(column)
        self.from_build.setEnabled(self.build_list.topLevelItemCount() > 0)

    # -- the build --
    def stack(self) -> cell.Stack:
        """The stack as it would be saved (text fields trimmed)."""
        s = self.doc.stack
        return s.with_changes(name=s.name.strip(), operator=s.operator.strip(), notes=s.notes.strip())

    def issues(self) -> list[Issue]:
        return self.doc.issues

    @property
    def saved_build_id(self) -> int | None:
        """The notebook id of the build on screen, None if it is not saved as it is.
        Undoing back to a build saved earlier in the session finds that build again."""
        stack = self.stack()
        return next((build_id for build_id, saved in reversed(self._saved) if saved == stack), None)

    def stack_to_save(self) -> cell.Stack:
        """The stack as it is saved: with a cell id by the lab's pattern if it has none
        (the editor is not changed). ValueError for a pattern that cannot make one."""
        stack = self.stack()
        if stack.name:
            return stack
        name = next_cell_id(str(self._setting("cell_id_pattern")), stack.operator,
                            dt.datetime.now(dt.timezone.utc).date(), taken_cell_ids(self.notebook))
        return stack.with_changes(name=name)

    def adopt(self, build_id: int, stack: cell.Stack) -> None:
        """`stack` (from stack_to_save) was saved as `build_id` by someone else (a run
        starting): the editor shows its cell id and knows it is saved."""
        if self.doc.stack.name != stack.name:
            self.doc.set_setting("name", stack.name)
        self._saved.append((build_id, self.stack()))
        self._refresh_saved_lists()
        self._show_summary()
        self.saved.emit(build_id)
        self.changed.emit()

    def save(self) -> int | None:
        """Record the build in the notebook; None, with the reason shown, if it cannot be."""
        problems = errors(self.doc.issues)
        if problems:
            self.save_status.setText(f"Not saved: fix the {len(problems)} problem(s) marked ✖ first.")
            theme.set_style(self.save_status, color_style(ERROR_TEXT))
            self.go_to_field(problems[0].field)
            return None
        if self.saved_build_id is not None:
            return self.saved_build_id
        try:
            stack = self.stack_to_save()
            build_id = self.notebook.save_build(stack)
        except (NotebookError, sqlite3.Error, ValueError) as exc:
            self.save_status.setText(f"Not saved: {exc}")
            theme.set_style(self.save_status, color_style(ERROR_TEXT))
            return None
        self.adopt(build_id, stack)
        return build_id

    # -- the label --
    def _label(self):
        build_id = self.saved_build_id
        if build_id is None:
            self.save_status.setText("Save the build first: its label carries the cell id it is saved with.")
            theme.set_style(self.save_status, color_style(ERROR_TEXT))
            return None
        return label_text(self.notebook, build_id)

    def save_label(self, path: str | Path | None = None) -> Path | None:
        """Write the saved build's label as PNG or PDF (asks where if `path` is None)."""
        label = self._label()
        if label is None:
            return None
        if path is None:
            path, _ = QtWidgets.QFileDialog.getSaveFileName(
                self, "Save the label", str(Path(self.notebook.path).parent / f"label-{label.code.lstrip('#')}.png"),
                "PNG image (*.png);;PDF (*.pdf)")
            if not path:
                return None
        from gui.label import save_label   # segno and the painter: loaded when a label is made
        try:
            save_label(label, SIZES[self.label_size.currentData()], Path(path))
        except (OSError, ValueError) as exc:
            self.save_status.setText(f"Label not saved: {exc}")
            theme.set_style(self.save_status, color_style(ERROR_TEXT))
            return None
        self.save_status.setText(f"✓ Label of {label.code} saved: {path}")
        theme.set_style(self.save_status, color_style(OK_TEXT))
        return Path(path)

    def print_label(self) -> bool:
        label = self._label()
        if label is None:
            return False
        from gui.label import print_label
        return print_label(self, label, SIZES[self.label_size.currentData()])
