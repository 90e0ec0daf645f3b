"""The protocol editor: a StepList as a tree of steps and loops, a form with units for
the selected step, and StepList's validation messages shown at the step and field they
name. Presets of the paper's experiments load with one click; protocols are saved and
loaded as JSON. The run panel starts what this editor holds.

The document and its edits are gui/protocol_editor_model.py (no Qt); this module only
shows it and turns clicks and keystrokes into those edits.
"""
from __future__ import annotations

from pathlib import Path as FilePath

from PySide6 import QtCore, QtGui, QtWidgets

from acquisition.protocol import PRESETS, UNITS, StepList
from gui import theme
from gui.layout import FlowLayout, labelled
from gui.protocol_editor_model import (KIND_NAMES, UNIT_TEXT, Path, Problem, ProtocolDraft, path_text, summary,
                                       title)

PATH_ROLE = QtCore.Qt.ItemDataRole.UserRole
ERROR_STYLE = "background: {error_bg}; border: 1px solid {error};"   # a gui.theme.set_style template


# -- field editors: one value each, in the unit the label shows --
class _Field(QtWidgets.QWidget):
    edited = QtCore.Signal()

    def __init__(self) -> None:
        super().__init__()
        self.layout_ = QtWidgets.QHBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.main: QtWidgets.QWidget | None = None

    def mark(self, message: str | None) -> None:
        theme.set_style(self.main, ERROR_STYLE if message else "")
        self.main.setToolTip(message or "")


class _Text(_Field):
    def __init__(self) -> None:
        super().__init__()
        self.main = QtWidgets.QLineEdit()
        self.layout_.addWidget(self.main)
        self.main.textEdited.connect(self.edited)

    def value(self) -> str:
        return self.main.text()

    def set_value(self, value) -> None:
        self.main.setText("" if value is None else str(value))


class _Number(_Field):
    """A number shown as value x scale with a unit; optional ones have a tick box
    (unticked: the field is left out, e.g. no voltage cut-off)."""

    def __init__(self, suffix: str, decimals: int, lo: float, hi: float, scale: float = 1.0,
                 integer: bool = False, optional: bool = False) -> None:
        super().__init__()
        self.scale = scale
        self.integer = integer
        self.enabled = None
        if optional:
            self.enabled = QtWidgets.QCheckBox()
            self.enabled.setToolTip("Tick to use this limit")
            self.layout_.addWidget(self.enabled)
            self.enabled.toggled.connect(self._on_toggle)
        if integer:
            self.main = QtWidgets.QSpinBox(minimum=int(lo), maximum=int(hi))
        else:
            self.main = QtWidgets.QDoubleSpinBox(minimum=lo, maximum=hi, decimals=decimals)
        self.main.setSuffix(suffix)
        self.main.setKeyboardTracking(True)
        self.layout_.addWidget(self.main, 1)
        self.main.valueChanged.connect(self.edited)

    def _on_toggle(self, on: bool) -> None:
        self.main.setEnabled(on)
        self.edited.emit()

    def value(self):
        if self.enabled is not None and not self.enabled.isChecked():
            return None
        return int(self.main.value()) if self.integer else round(self.main.value() / self.scale, 12)

    def set_value(self, value) -> None:
        present = isinstance(value, (int, float)) and not isinstance(value, bool)
        if self.enabled is not None:
            self.enabled.setChecked(present)
            self.main.setEnabled(present)
        if present:
            self.main.setValue(value * self.scale)


class _Duration(_Field):
    """Seconds, entered in s, min or h."""
    UNITS = (("s", 1.0), ("min", 60.0), ("h", 3600.0))

    def __init__(self) -> None:
        super().__init__()
        self.main = QtWidgets.QDoubleSpinBox(minimum=0.0, maximum=1e7, decimals=3)
        self.unit = QtWidgets.QComboBox()
        for text, factor in self.UNITS:
            self.unit.addItem(text, factor)
        self.layout_.addWidget(self.main, 1)
        self.layout_.addWidget(self.unit)
        self.main.valueChanged.connect(self.edited)
        self.unit.currentIndexChanged.connect(self.edited)

    def value(self) -> float:
        return round(self.main.value() * self.unit.currentData(), 9)

    def set_value(self, value) -> None:
        value = float(value) if isinstance(value, (int, float)) else 0.0
        k = 2 if value >= 3600 and value % 360 == 0 else 1 if value >= 60 and value % 6 == 0 else 0
        self.unit.blockSignals(True)
        self.unit.setCurrentIndex(k)
        self.unit.blockSignals(False)
        self.main.setValue(value / self.UNITS[k][1])


class _Choice(_Field):
    def __init__(self, choices: dict[str, str], default: str | None = None) -> None:
        super().__init__()
        self.default = default       # what a step without the field means
        self.main = QtWidgets.QComboBox()
        for data, text in choices.items():
            self.main.addItem(text, data)
        self.layout_.addWidget(self.main, 1)
        self.main.currentIndexChanged.connect(self.edited)

    def value(self) -> str:
        return self.main.currentData()

    def set_value(self, value) -> None:
        value = self.default if value is None and self.default is not None else value
        k = self.main.findData(value)
        if k < 0:   # a value from a file that is not a choice: shown, so validation can name it
            self.main.addItem(f"{value!r} (not valid)", value)
            k = self.main.count() - 1
        self.main.setCurrentIndex(k)


class _Flag(_Field):
    def __init__(self, text: str, default: bool = True) -> None:
        super().__init__()
        self.default = default       # what a step without the field means
        self.main = QtWidgets.QCheckBox(text)
        self.layout_.addWidget(self.main)
        self.main.toggled.connect(self.edited)

    def value(self) -> bool:
        return self.main.isChecked()

    def set_value(self, value) -> None:
        self.main.setChecked(self.default if value is None else bool(value))


def _seconds() -> _Number:
    return _Number(" s", 3, 0.0, 1e6)


FIELDS = {
    "cc": (("label", "Label", _Text),
           ("current", "Current", lambda: _Number("", 4, -1e4, 1e4)),
           ("unit", "Current in", lambda: _Choice({u: UNIT_TEXT[u] for u in UNITS})),
           ("duration_s", "Longest duration", _Duration),
           ("v_min", "Stop below", lambda: _Number(" V", 4, -10.0, 10.0, optional=True)),
           ("v_max", "Stop above", lambda: _Number(" V", 4, -10.0, 10.0, optional=True)),
           ("q_max_mAh", "Stop at charge", lambda: _Number(" mAh", 4, 0.0, 1e5, optional=True)),
           ("sample_interval_s", "A sample every", _seconds)),
    "rest": (("label", "Label", _Text),
             ("duration_s", "Duration", _Duration),
             ("sample_interval_s", "A sample every", _seconds)),
    "eis": (("label", "Label", _Text),
            ("every_cycles", "Every", lambda: _Number(" cycles", 0, 1, 100000, integer=True, optional=True)),
            ("f_start_hz", "From", lambda: _Number(" Hz", 3, 0.0, 1e9)),
            ("f_stop_hz", "To", lambda: _Number(" Hz", 3, 0.0, 1e9)),
            ("points", "Points", lambda: _Number("", 0, 0, 100000, integer=True, optional=True)),
            ("points_per_decade", "Or points a decade", lambda: _Number("", 1, 0.0, 100.0, optional=True)),
            ("time_budget_s", "Time budget", lambda: _Number(" s", 0, 0.0, 1e6, optional=True)),
            ("mode", "Mode", lambda: _Choice({"potentiostatic": "Potentiostatic (V)",
                                              "galvanostatic": "Galvanostatic (A)"}, default="potentiostatic")),
            ("amplitude_v", "Amplitude", lambda: _Number(" mV", 2, 0.0, 10000.0, scale=1e3, optional=True)),
            ("amplitude_a", "Amplitude (current)", lambda: _Number(" µA", 1, 0.0, 1e6, scale=1e6, optional=True)),
            ("dc_bias_v", "DC bias", lambda: _Number(" V", 4, -40.0, 40.0, optional=True)),
            ("bias_at_rest", "Bias", lambda: _Flag("at the rest voltage", default=False))),
    "pressure": (("label", "Label", _Text),
                 ("mpa", "Set-point", lambda: _Number(" MPa", 2, 0.0, 1000.0)),
                 ("ramp_mpa_s", "Ramp", lambda: _Number(" MPa/s", 3, 0.0, 100.0))),
    "temperature": (("label", "Label", _Text),
                    ("celsius", "Set-point", lambda: _Number(" °C", 1, -40.0, 150.0)),
                    ("tolerance_c", "Within", lambda: _Number(" °C", 1, 0.0, 20.0)),
                    ("timeout_s", "Wait at most", _Duration)),
    "loop": (("repeat", "Repeat", lambda: _Number(" ×", 0, 0, 1000000, integer=True)),
             ("counts_cycles", "Cycles", lambda: _Flag("each pass is a new cycle"))),
}


class ProtocolEditor(QtWidgets.QWidget):
    changed = QtCore.Signal()       # the draft changed (an edit, or another protocol loaded)
    loaded = QtCore.Signal(str)     # another protocol loaded: the preset's name, or "" for a file

    def __init__(self, parent=None):
        super().__init__(parent)
        self.draft = ProtocolDraft.from_preset(next(iter(PRESETS)))
        self.fields: dict[str, _Field] = {}
        self.problems: list[Problem] = []
        self._items: dict[Path, QtWidgets.QTreeWidgetItem] = {}
        self._selected: Path | None = None

        self.presets = QtWidgets.QToolButton()
        self.presets.setText("Presets")
        self.presets.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        presets_menu = QtWidgets.QMenu(self.presets)
        for name in PRESETS:
            presets_menu.addAction(name, lambda name=name: self.load_preset(name))
        self.presets.setMenu(presets_menu)
        self.open_button = QtWidgets.QPushButton("Open…")
        self.save_button = QtWidgets.QPushButton("Save as…")
        self.name = QtWidgets.QLineEdit()
        self.voltage_limit = QtWidgets.QDoubleSpinBox(minimum=0.0, maximum=1000.0, decimals=2, suffix=" V")
        self.voltage_limit.setToolTip("The source's compliance: never exceeded, whatever a step asks")
        self.version = QtWidgets.QLabel()
        # one row when wide, wrapped when narrow (gui/layout.py)
        top_bar = QtWidgets.QWidget()
        top = FlowLayout(top_bar)
        top.addWidget(self.presets)
        top.addWidget(self.open_button)
        top.addWidget(self.save_button)
        self.name.setMinimumWidth(self.name.fontMetrics().averageCharWidth() * 28)
        top.addWidget(labelled("Name", self.name, stretch=True))
        top.addWidget(labelled("Voltage limit", self.voltage_limit))
        top.addWidget(self.version)

        self.tree = QtWidgets.QTreeWidget()
        self.tree.setHeaderLabels(["Step", "What it does"])
        self.tree.setColumnWidth(0, 240)
        self.tree.setRootIsDecorated(True)
        self.add_button = QtWidgets.QToolButton()
        self.add_button.setText("Add step")
        self.add_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        add_menu = QtWidgets.QMenu(self.add_button)
        for kind, text in KIND_NAMES.items():
            add_menu.addAction(text, lambda kind=kind: self.add_step(kind))
        self.add_button.setMenu(add_menu)
        self.add_button.setToolTip("After the selected step; into the selected loop")
        self.remove_button = QtWidgets.QPushButton("Remove")
        self.up_button = QtWidgets.QPushButton("Up")
        self.down_button = QtWidgets.QPushButton("Down")
        self.wrap_button = QtWidgets.QPushButton("Wrap in loop")
        self.unwrap_button = QtWidgets.QPushButton("Out of loop")
        buttons = FlowLayout()
        for button in (self.add_button, self.remove_button, self.up_button, self.down_button,
                       self.wrap_button, self.unwrap_button):
            buttons.addWidget(button)
        left = QtWidgets.QWidget()
        left_layout = QtWidgets.QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.tree, 1)
        left_layout.addLayout(buttons)

        self.form_title = QtWidgets.QLabel("Select a step")
        self.form_title.setStyleSheet("font-weight: bold;")
        self.form_box = QtWidgets.QWidget()
        self.form = QtWidgets.QFormLayout(self.form_box)
        self.step_problems = QtWidgets.QLabel()
        self.step_problems.setWordWrap(True)
        theme.set_style(self.step_problems, "color: {error};")
        right = QtWidgets.QWidget()
        right_layout = QtWidgets.QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.form_title)
        right_layout.addWidget(self.form_box)
        right_layout.addWidget(self.step_problems)
        right_layout.addStretch(1)
        right.setMinimumWidth(320)

        split = QtWidgets.QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self.problem_list = QtWidgets.QListWidget()
        self.problem_list.setMaximumHeight(110)
        self.status = QtWidgets.QLabel()

        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(top_bar)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.problem_list)

        self.tree.currentItemChanged.connect(self._on_current)
        self.remove_button.clicked.connect(self.remove_step)
        self.up_button.clicked.connect(lambda: self._restructure(lambda p: self.draft.move(p, -1)))
        self.down_button.clicked.connect(lambda: self._restructure(lambda p: self.draft.move(p, +1)))
        self.wrap_button.clicked.connect(lambda: self._restructure(self.draft.wrap))
        self.unwrap_button.clicked.connect(lambda: self._restructure(self.draft.unwrap))
        self.name.textEdited.connect(lambda text: self._edit_protocol("name", text))
        self.voltage_limit.valueChanged.connect(lambda value: self._edit_protocol("voltage_limit_v", value))
        self.problem_list.itemClicked.connect(self._on_problem_clicked)
        self.open_button.clicked.connect(self._ask_open)
        self.save_button.clicked.connect(self._ask_save)
        self._show_draft()

    # -- what the run panel asks --
    def protocol(self) -> StepList | None:
        """The protocol to run, or None while it has problems."""
        return None if self.problems else self.draft.steplist()

    # -- loading and saving --
    def load_preset(self, name: str) -> None:
        self.set_draft(ProtocolDraft.from_preset(name), source=name)

    def load(self, protocol: StepList, source: str = "") -> None:
        self.set_draft(ProtocolDraft.from_steplist(protocol), source)

    def set_draft(self, draft: ProtocolDraft, source: str = "") -> None:
        self.draft = draft
        self._selected = None
        self._show_draft()
        self.loaded.emit(source)
        self.changed.emit()

    def load_file(self, path: FilePath) -> None:
        """A protocol JSON file; ValueError (with the file named) if it is not one."""
        path = FilePath(path)
        try:
            draft = ProtocolDraft.from_json(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"{path.name}: {exc}") from None
        self.set_draft(draft)
        self.status.setText(f"Opened {path}")

    def save_file(self, path: FilePath) -> None:
        """Write the protocol as JSON; ValueError while it has problems."""
        protocol = self.draft.steplist()
        FilePath(path).write_text(protocol.to_json(), encoding="utf-8")
        self.draft.version, self.draft.edited = protocol.version, False
        self._show_protocol_fields()
        self.status.setText(f"Saved version {protocol.version} to {path}")

    def _ask_open(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open a protocol", "", "Protocol (*.json)")
        if path:
            try:
                self.load_file(FilePath(path))
            except ValueError as exc:
                QtWidgets.QMessageBox.warning(self, "Not a protocol", str(exc))

    def _ask_save(self) -> None:
        if self.problems:
            QtWidgets.QMessageBox.warning(self, "Not saved", "Fix the problems listed first.")
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save the protocol", f"{self.draft.name}.json",
                                                        "Protocol (*.json)")
        if path:
            self.save_file(FilePath(path).with_suffix(".json"))

    # -- structure --
    def selected_path(self) -> Path | None:
        return self._selected

    def select(self, path: Path | None) -> None:
        item = self._items.get(path) if path is not None else None
        self.tree.setCurrentItem(item)
        if item is None:
            self._on_current(None, None)

    def add_step(self, kind: str) -> Path:
        return self._restructure(lambda p: self.draft.add(kind, p), allow_none=True)

    def remove_step(self) -> None:
        if self._selected is not None:
            self._restructure(self.draft.remove)

    def _restructure(self, edit, allow_none: bool = False) -> Path | None:
        if self._selected is None and not allow_none:
            return None
        path = edit(self._selected)
        self._rebuild_tree()
        self._validate()
        self._show_version()
        self.select(path)
        self.changed.emit()
        return path

    # -- showing the draft --
    def _show_draft(self) -> None:
        self._show_protocol_fields()
        self._rebuild_tree()
        self._validate()
        paths = self.draft.paths()
        self.select(paths[0] if paths else None)

    def _show_protocol_fields(self) -> None:
        for widget in (self.name, self.voltage_limit):
            widget.blockSignals(True)
        self.name.setText(self.draft.name)
        self.voltage_limit.setValue(self.draft.voltage_limit_v)
        for widget in (self.name, self.voltage_limit):
            widget.blockSignals(False)
        self._show_version()

    def _show_version(self) -> None:
        version = self.draft.version
        self.version.setText(f"version {version + 1} (edited from {version})" if self.draft.edited
                             else f"version {version}")

    def _rebuild_tree(self) -> None:
        self.tree.blockSignals(True)
        self.tree.clear()
        self._items.clear()
        for path in self.draft.paths():
            parent = self._items.get(path[:-1]) if len(path) > 1 else self.tree.invisibleRootItem()
            item = QtWidgets.QTreeWidgetItem(parent)
            item.setData(0, PATH_ROLE, list(path))
            self._items[path] = item
            self._label(path)
        self.tree.expandAll()
        self.tree.blockSignals(False)

    def _label(self, path: Path) -> None:
        spec = self.draft.get(path)
        item = self._items[path]
        item.setText(0, f"{path_text(path)}  {title(spec)}")
        item.setText(1, summary(spec))

    def _validate(self) -> None:
        self.problems = self.draft.problems()
        warn = self.style().standardIcon(QtWidgets.QStyle.StandardPixmap.SP_MessageBoxWarning)
        marked = {p.path: [] for p in self.problems}
        for p in self.problems:
            marked[p.path].append(p)
        for path, item in self._items.items():
            here = marked.get(path, [])
            for column in (0, 1):
                # unmarked: no colour of its own, so the text follows the theme's palette
                item.setData(column, QtCore.Qt.ItemDataRole.ForegroundRole, theme.qcolor("error") if here else None)
            item.setIcon(0, warn if here else QtGui.QIcon())
            item.setToolTip(0, "\n".join(f"{p.field or 'step'}: {p.message}" for p in here))
        self.problem_list.clear()
        for p in self.problems:
            entry = QtWidgets.QListWidgetItem(warn, f"{p.where()}: {p.message}")
            entry.setData(PATH_ROLE, list(p.path) if p.path is not None else None)
            self.problem_list.addItem(entry)
        self.problem_list.setVisible(bool(self.problems))
        n = len(self.problems)
        self.status.setText(f"{n} problem{'s' if n != 1 else ''}: the protocol cannot run until fixed" if n
                            else f"Ready to run: {self._count()}")
        theme.set_style(self.status, "color: {error};" if n else "color: {ok};")
        theme.set_style(self.name, ERROR_STYLE if (None in marked and any(p.field == "name" for p in marked[None])) else "")
        theme.set_style(self.voltage_limit, ERROR_STYLE if (None in marked and any(p.field == "voltage_limit_v"
                                                                                    for p in marked[None])) else "")
        self._mark_fields()

    def _count(self) -> str:
        kinds = [self.draft.get(p).get("kind") for p in self.draft.paths()]
        loops = kinds.count("loop")
        steps = len(kinds) - loops
        return f"{steps} step{'s' if steps != 1 else ''}" + (f" in {loops} loop{'s' if loops != 1 else ''}" if loops else "")

    def _mark_fields(self) -> None:
        here = [p for p in self.problems if p.path is not None and p.path == self._selected]
        by_field = {p.field: p.message for p in here}
        for key, editor in self.fields.items():
            editor.mark(by_field.get(key))
        self.step_problems.setText("\n".join(f"{p.field or 'this step'}: {p.message}" for p in here))

    # -- the selected step's form --
    def _on_current(self, item, _previous) -> None:
        self._selected = tuple(item.data(0, PATH_ROLE)) if item is not None else None
        for button in (self.remove_button, self.up_button, self.down_button, self.wrap_button):
            button.setEnabled(self._selected is not None)
        self.unwrap_button.setEnabled(self._selected is not None and len(self._selected) > 1)
        self._build_form()

    def _build_form(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields = {}
        if self._selected is None:
            self.form_title.setText("Select a step, or add one")
            self.step_problems.clear()
            return
        spec = self.draft.get(self._selected)
        self.form_title.setText(f"Step {path_text(self._selected)}: {title(spec)}")
        for key, label, make in FIELDS.get(spec.get("kind"), ()):
            editor = make()
            editor.set_value(spec.get(key))
            editor.edited.connect(lambda key=key: self._on_field(key))
            self.fields[key] = editor
            self.form.addRow(label, editor)
        self._unit_suffix()
        self._mark_fields()

    def _unit_suffix(self) -> None:
        if "current" in self.fields and "unit" in self.fields:
            unit = self.fields["unit"].value()
            self.fields["current"].main.setSuffix(" " + UNIT_TEXT.get(unit, str(unit)))

    def _on_field(self, key: str) -> None:
        path = self._selected
        self.draft.set(path, key, self.fields[key].value())
        if key == "unit":
            self._unit_suffix()
        self._label(path)
        self._validate()
        self._show_version()
        self.changed.emit()

    def _edit_protocol(self, key: str, value) -> None:
        self.draft.set_protocol_field(key, value)
        self._validate()
        self._show_version()     # not the fields: re-setting the name would move the cursor
        self.changed.emit()

    def _on_problem_clicked(self, entry: QtWidgets.QListWidgetItem) -> None:
        path = entry.data(PATH_ROLE)
        if path is not None:
            self.select(tuple(path))
