"""Alarm thresholds of one run: every detector that will watch the cell in the
builder (acquisition.alarms.default_settings picks them by cell type) with each of its
thresholds, in units, starting from the defaults. What the operator changes becomes
the run's `detector_overrides` {kind: {threshold: value}}; the engine stores the
settings it ran with in the run's provenance. An impossible combination is refused
with the detector's own message before a run can start."""
from __future__ import annotations

from dataclasses import fields

from PySide6 import QtCore, QtWidgets

from acquisition.alarms import default_settings, settings_for
from cell import Stack
from gui import theme

DETECTOR_NAMES = {
    "hard_short": "Hard short (Li | Li: polarisation collapses)",
    "soft_short": "Soft short (charge without voltage rise, or past the theoretical capacity)",
    "sudden_drop": "Sudden voltage drop during charge",
    "voltage_limit": "Voltage window",
    "pressure_drift": "Stack pressure drift from the set-point",
}
# threshold -> (label, unit shown, display = value x scale, decimals)
THRESHOLDS = {
    "collapse_fraction": ("Trip below", "% of baseline |V/I|", 100.0, 1),
    "hold_samples": ("Held for", "samples", 1.0, 0),
    "settle_s": ("Ignore after a current change", "s", 1.0, 1),
    "min_current_a": ("Rest below", "µA", 1e6, 3),
    "baseline_samples": ("Arm after", "settled samples", 1.0, 0),
    "baseline_weight": ("Baseline weight of a sample", "%", 100.0, 2),
    "capacity_mAh": ("Theoretical capacity", "mAh", 1.0, 4),
    "window_fraction": ("Judge the rise over", "% of capacity", 100.0, 2),
    "min_rise_v": ("Least rise", "mV", 1e3, 2),
    "overcharge_fraction": ("Trip above", "% of capacity in one step", 100.0, 1),
    "drop_v": ("Trip on a drop of", "mV", 1e3, 1),
    "v_min": ("Lowest voltage", "V", 1.0, 3),
    "v_max": ("Highest voltage", "V", 1.0, 3),
    "tolerance_mpa": ("Tolerance", "MPa", 1.0, 2),
    "hold_readings": ("Held for", "readings", 1.0, 0),
}
_SUFFIX_UNITS = {"_s": ("s", 1.0), "_v": ("V", 1.0), "_a": ("A", 1.0), "_mpa": ("MPa", 1.0), "_mAh": ("mAh", 1.0)}


def describe_threshold(name: str) -> tuple[str, str, float, int]:
    """(label, unit, scale, decimals) of a threshold; unknown ones from their suffix."""
    if name in THRESHOLDS:
        return THRESHOLDS[name]
    for suffix, (unit, scale) in _SUFFIX_UNITS.items():
        if name.endswith(suffix):
            return name[: -len(suffix)].replace("_", " ").capitalize(), unit, scale, 4
    return name.replace("_", " ").capitalize(), "", 1.0, 4


class ThresholdEditor(QtWidgets.QWidget):
    changed = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.stack: Stack | None = None
        self.defaults: dict = {}
        self.editors: dict[tuple[str, str], QtWidgets.QAbstractSpinBox] = {}
        self._box = QtWidgets.QWidget()
        self._box_layout = QtWidgets.QVBoxLayout(self._box)
        self.problem = QtWidgets.QLabel()
        self.problem.setWordWrap(True)
        theme.set_style(self.problem, "color: {error};")
        self.reset = QtWidgets.QPushButton("Back to the defaults")
        self.reset.clicked.connect(self._reset)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self._box)
        layout.addWidget(self.problem)
        layout.addWidget(self.reset, 0, QtCore.Qt.AlignmentFlag.AlignLeft)

    def set_stack(self, stack: Stack, overrides: dict | None = None) -> None:
        """The detectors of `stack`, with `overrides` applied where they still fit."""
        self.stack = stack
        self.defaults = default_settings(stack)
        while self._box_layout.count():
            item = self._box_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.editors.clear()
        for kind, settings in self.defaults.items():
            group = QtWidgets.QGroupBox(DETECTOR_NAMES.get(kind, kind.replace("_", " ")))
            form = QtWidgets.QFormLayout(group)
            for f in fields(settings):
                label, unit, scale, decimals = describe_threshold(f.name)
                default = getattr(settings, f.name)
                if isinstance(default, int) and not isinstance(default, bool):
                    editor = QtWidgets.QSpinBox(minimum=-1_000_000, maximum=1_000_000)
                else:
                    editor = QtWidgets.QDoubleSpinBox(minimum=-1e9, maximum=1e9, decimals=decimals)
                editor.setSuffix(f" {unit}" if unit else "")
                editor.setProperty("scale", scale)
                editor.setValue(default * scale)
                value = (overrides or {}).get(kind, {}).get(f.name)
                if value is not None:
                    editor.setValue(value * scale)
                editor.setToolTip(f"{kind}.{f.name}; default {default * scale:g} {unit}".rstrip())
                editor.valueChanged.connect(self._on_edit)
                self.editors[(kind, f.name)] = editor
                form.addRow(label, editor)
            self._box_layout.addWidget(group)
        self._on_edit()

    def overrides(self) -> dict:
        """{kind: {threshold: value}} of the thresholds that differ from the defaults."""
        out: dict = {}
        for (kind, name), editor in self.editors.items():
            default = getattr(self.defaults[kind], name)
            value = editor.value() / editor.property("scale")
            if isinstance(default, int):
                value = int(round(value))
            if not _same(value, default, editor):
                out.setdefault(kind, {})[name] = value
        return out

    def problem_text(self) -> str:
        """Why these thresholds cannot run, or ''."""
        if self.stack is None:
            return ""
        try:
            settings_for(self.stack, self.overrides())
        except ValueError as exc:
            return str(exc)
        return ""

    def _on_edit(self) -> None:
        changed = self.overrides()
        for (kind, name), editor in self.editors.items():
            font = editor.font()
            font.setBold(name in changed.get(kind, {}))    # what differs from the defaults stands out
            editor.setFont(font)
        self.problem.setText(self.problem_text())
        self.changed.emit()

    def _reset(self) -> None:
        if self.stack is not None:
            self.set_stack(self.stack)


def _same(value: float, default: float, editor: QtWidgets.QAbstractSpinBox) -> bool:
    """Equal at the precision the field shows (a default of 1e-7 A shown as 0.100 µA)."""
    if isinstance(editor, QtWidgets.QSpinBox):
        return value == default
    step = 10.0 ** -editor.decimals() / editor.property("scale")
    return abs(value - default) < step / 2


def overrides_text(overrides: dict) -> str:
    """The run panel's one-line account of the thresholds."""
    if not overrides:
        return "default thresholds"
    parts = []
    for kind, values in overrides.items():
        for name, value in values.items():
            label, unit, scale, decimals = describe_threshold(name)
            parts.append(f"{kind.replace('_', ' ')}: {label.lower()} {value * scale:.{decimals}f} {unit}".rstrip())
    return "changed: " + "; ".join(parts)


class ThresholdDialog(QtWidgets.QDialog):
    """The editor in a dialog: OK keeps the thresholds for the next run, if they can run."""

    def __init__(self, stack: Stack, overrides: dict | None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Alarm thresholds for the next run")
        self.editor = ThresholdEditor()
        self.editor.set_stack(stack, overrides)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.editor)
        note = QtWidgets.QLabel(f"Detectors watching {stack.describe()}. A trip makes the cell safe at once; "
                                "changed thresholds are in bold and are stored with the run.")
        note.setWordWrap(True)
        self.buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                                  | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.editor.changed.connect(self._on_change)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.buttons)
        self.resize(560, 620)
        self._on_change()

    def _on_change(self) -> None:
        self.buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok).setEnabled(not self.editor.problem_text())
