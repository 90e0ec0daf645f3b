"""The build form: template, area, stack-pressure set-point (with the fixture force),
operator and notes, the derived figures live, and validation at the field."""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

import cell
from cell.templates import template_title
from cell.validation import errors, validate


class BuilderPanel(QtWidgets.QGroupBox):
    changed = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__("1  Build the cell", parent)
        form = QtWidgets.QFormLayout(self)
        self.template = QtWidgets.QComboBox()
        for name in cell.template_names():
            self.template.addItem(f"{name}  ({template_title(name)})", name)
        self.area = self._spin(0.01, 1000.0, 1.0, " cm²", 3)
        self.pressure = self._spin(0.0, 1000.0, 5.0, " MPa", 2)
        self.force = QtWidgets.QLabel()
        self.operator = QtWidgets.QLineEdit()
        self.operator.setPlaceholderText("name or initials")
        self.notes = QtWidgets.QLineEdit()
        self.notes.setPlaceholderText("lot numbers, observations…")
        self.figures = QtWidgets.QLabel()
        self.figures.setWordWrap(True)
        self.problems = QtWidgets.QLabel()
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #b00020;")
        form.addRow("Template", self.template)
        form.addRow("Cell area", self.area)
        form.addRow("Stack pressure", self.pressure)
        form.addRow("", self.force)
        form.addRow("Operator", self.operator)
        form.addRow("Notes", self.notes)
        form.addRow(self.figures)
        form.addRow(self.problems)
        for signal in (self.template.currentIndexChanged, self.area.valueChanged, self.pressure.valueChanged,
                       self.operator.textChanged, self.notes.textChanged):
            signal.connect(self._refresh)
        self._refresh()

    @staticmethod
    def _spin(lo: float, hi: float, value: float, suffix: str, decimals: int) -> QtWidgets.QDoubleSpinBox:
        spin = QtWidgets.QDoubleSpinBox()
        spin.setRange(lo, hi)
        spin.setDecimals(decimals)
        spin.setValue(value)
        spin.setSuffix(suffix)
        return spin

    def select_template(self, name: str) -> None:
        index = self.template.findData(name)
        if index < 0:
            raise KeyError(name)
        self.template.setCurrentIndex(index)

    def stack(self) -> cell.Stack:
        return cell.from_template(
            self.template.currentData(), area_cm2=self.area.value(), stack_pressure_mpa=self.pressure.value(),
            operator=self.operator.text().strip(), notes=self.notes.text().strip())

    def issues(self) -> list[cell.Issue]:
        return validate(self.stack())

    def _refresh(self) -> None:
        stack = self.stack()
        f = cell.figures(stack)
        self.force.setText(f"= {f.force_n:,.0f} N on the fixture")
        lines = [f"Stack {f.stack_thickness_um:.0f} µm, {f.areal_mass_mg_cm2:.2f} mg/cm²",
                 f"Capacity {f.capacity_mAh_cm2:.2f} mAh/cm² ({f.capacity_mAh:.3f} mAh); 1C = {f.one_c_mA_cm2:.2f} mA/cm²"]
        if f.wh_per_kg is not None:
            lines.append(f"Projected {f.wh_per_kg:.0f} Wh/kg, {f.wh_per_l:.0f} Wh/L at {f.avg_voltage_v:.2f} V")
        self.figures.setText("\n".join(lines))
        issues = validate(stack)
        self.problems.setText("\n".join(("⚠ " if i.severity == "warning" else "✖ ") + i.message for i in issues))
        bad_fields = {i.field for i in errors(issues)}
        self.area.setStyleSheet("background: #ffd7d7;" if "area_cm2" in bad_fields else "")
        self.pressure.setStyleSheet("background: #ffd7d7;" if "stack_pressure_mpa" in bad_fields else "")
        self.changed.emit()
