"""The build as the run side sees it: a compact summary of the cell in the builder
(stack, area, pressure and force, 1C current), whether it is saved and valid, and the
button that saves it. Shown beside the run panel so an operator starting a run sees
which cell the run will point at."""
from __future__ import annotations

from PySide6 import QtWidgets

import cell
from cell.validation import errors
from gui import theme
from gui.builder_model import ERROR_TEXT, OK_TEXT, color_style
from gui.builder_wizard import BuilderWizard


class BuildSummary(QtWidgets.QGroupBox):
    def __init__(self, builder: BuilderWizard, parent: QtWidgets.QWidget | None = None):
        super().__init__("1  Cell to run", parent)
        self.builder = builder
        self.text = QtWidgets.QLabel()
        self.text.setWordWrap(True)
        self.state = QtWidgets.QLabel()
        self.state.setWordWrap(True)
        self.edit = QtWidgets.QPushButton("Edit in the builder")
        self.save = QtWidgets.QPushButton("Save build to notebook")
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.edit)
        buttons.addWidget(self.save)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(self.state)
        layout.addLayout(buttons)
        builder.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        stack = self.builder.stack()
        f = cell.figures(stack)
        name = f"{stack.name}: " if stack.name else ""
        # No-break spaces keep each value with its unit when the line wraps.
        self.text.setText(f"{name}{stack.describe()}\n"
                          f"{stack.area_cm2:g}\u00a0cm² · {stack.stack_pressure_mpa:g}\u00a0MPa = {f.force_n:,.0f}\u00a0N · "
                          f"{stack.temperature_c:g}\u00a0°C · 1C = {f.one_c_mA:.3f}\u00a0mA")
        problems = errors(self.builder.issues())
        saved = self.builder.saved_build_id
        if problems:
            self.state.setText(f"✖ {len(problems)} problem(s) to fix in the builder")
            theme.set_style(self.state, color_style(ERROR_TEXT))
        elif saved is not None:
            self.state.setText(f"✓ Build #{saved} in the notebook; runs will point at it")
            theme.set_style(self.state, color_style(OK_TEXT))
        else:
            self.state.setText("Valid, not saved yet: saved as a new build when the run starts")
            theme.set_style(self.state, "")
        self.save.setEnabled(saved is None)
