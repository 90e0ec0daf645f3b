"""The cell figures of an imported run, on its details in the browser: link the run to a
saved build, or give it the area and masses its file does not hold (notebook.basis).
A value that is not a positive number, or a refused change, is shown in one line and
nothing is written."""
from __future__ import annotations

import math

from PySide6 import QtCore, QtWidgets

from gui import theme
from notebook import Notebook, NotebookError
from notebook.basis import FIGURES, cell_builds, describes_cell, give_figures, given_figures, link_build


class CellFiguresForm(QtWidgets.QWidget):
    """Shown for one run (show_run); `changed` after a link or figures were stored."""
    changed = QtCore.Signal()

    def __init__(self, notebook: Notebook, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.notebook = notebook
        self.run_id: int | None = None
        self.state = QtWidgets.QLabel()
        self.state.setWordWrap(True)
        self.builds = QtWidgets.QComboBox()
        self.builds.setMinimumContentsLength(24)
        self.link = QtWidgets.QPushButton("Link to build")
        self.fields = {name: QtWidgets.QLineEdit(placeholderText="unknown") for name in FIGURES}
        self.save = QtWidgets.QPushButton("Save figures")
        self.problem = QtWidgets.QLabel()
        self.problem.setWordWrap(True)
        theme.set_style(self.problem, "color: {error};")

        layout = QtWidgets.QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.state, 0, 0, 1, 3)
        layout.addWidget(QtWidgets.QLabel("Saved build"), 1, 0)
        layout.addWidget(self.builds, 1, 1)
        layout.addWidget(self.link, 1, 2)
        for row, (name, (label, unit)) in enumerate(FIGURES.items(), 2):
            layout.addWidget(QtWidgets.QLabel(f"{label.capitalize()} ({unit})"), row, 0)
            layout.addWidget(self.fields[name], row, 1)
        layout.addWidget(self.save, 2 + len(FIGURES) - 1, 2)
        layout.addWidget(self.problem, 2 + len(FIGURES), 0, 1, 3)
        layout.setRowStretch(3 + len(FIGURES), 1)

        self.link.clicked.connect(self._link)
        self.save.clicked.connect(self._save)
        for field in self.fields.values():
            field.returnPressed.connect(self._save)
        self.show_run(None)

    def show_run(self, run_id: int | None) -> None:
        """Fill the form for run `run_id` (None: nothing shown, nothing editable)."""
        self.run_id = run_id
        self.problem.clear()
        self.builds.clear()
        for field in self.fields.values():
            field.clear()
        if run_id is None:
            self.state.setText("Select a run.")
            self._enable(link=False, give=False)
            return
        run = self.notebook.run(run_id)
        provenance = self.notebook.provenance(run_id, run)
        imported = "import" in provenance
        placeholder = not describes_cell(self.notebook.build(run["build_id"]))
        for build in cell_builds(self.notebook):
            if build["build_id"] != run["build_id"]:
                name = f" {build['name']}" if build["name"] else ""
                self.builds.addItem(f"#{build['build_id']}{name}: {build['description']}", build["build_id"])
        given = given_figures(provenance)
        for name, value in given.items():
            self.fields[name].setText(f"{value:g}")
        if not imported:
            self.state.setText(f"Run {run_id} was recorded on build {run['build_id']}, which gives its area and masses.")
        elif not placeholder:
            self.state.setText(f"Run {run_id} is linked to build {run['build_id']}, which gives its area and masses; "
                               "it can be linked to another build.")
        else:
            unknown = [FIGURES[name][0] for name in FIGURES if name not in given]
            self.state.setText(f"Run {run_id} was imported from a file that does not describe the cell"
                               + (f": {', '.join(unknown)} unknown." if unknown else ".")
                               + " Link it to a saved build, or give the figures you know.")
        writable = not self.notebook.read_only
        self._enable(link=writable and imported and self.builds.count() > 0, give=writable and imported and placeholder)

    def _enable(self, link: bool, give: bool) -> None:
        self.builds.setEnabled(link)
        self.link.setEnabled(link)
        for widget in (*self.fields.values(), self.save):
            widget.setEnabled(give)

    def _done(self, action) -> bool:
        try:
            action()
        except NotebookError as exc:
            self.problem.setText(str(exc))
            return False
        self.show_run(self.run_id)
        self.changed.emit()
        return True

    def _link(self) -> None:
        build_id = self.builds.currentData()
        if self.run_id is not None and build_id is not None:
            self._done(lambda: link_build(self.notebook, self.run_id, build_id))

    def _save(self) -> None:
        """Store the figures typed in; an empty box leaves that figure as it was."""
        if self.run_id is None:
            return
        values = {}
        for name, field in self.fields.items():
            text = field.text().strip().replace(",", ".")
            if not text:
                continue
            label, unit = FIGURES[name]
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            if not (math.isfinite(value) and value > 0):
                self.problem.setText(f"The {label} must be a positive number of {unit}, not {field.text()!r}; "
                                     "nothing was saved.")
                return
            values[name] = value
        self._done(lambda: give_figures(self.notebook, self.run_id, **values))
