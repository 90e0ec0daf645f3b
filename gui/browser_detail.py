"""One run or one build opened in the browser: what it is (the run with its protocol and
the build sheet of its cell), its events, its notes and tags, which can be added here,
and for an imported run its cell figures (gui/browser_basis.py). A run's protocol reads
as its steps, a line each (the protocol editor's wording); the stored JSON definition is
behind a "Show definition" link. Notes are only ever
added; tags can be added and removed. A notebook opened read-only shows everything and
offers no editing."""
from __future__ import annotations

import json
import re

from PySide6 import QtCore, QtWidgets

from gui import theme
from gui.browser_basis import CellFiguresForm
from gui.protocol_editor_model import path_text, summary, title
from notebook import Notebook, NotebookError
from notebook.basis import FIGURES, describes_cell, given_figures
from notebook.export import build_sheet, md


def demoted(markdown: str, levels: int = 2) -> str:
    """Headings `levels` smaller: a document's title reads as a heading in a side pane."""
    return re.sub(r"^(#+) ", lambda m: "#" * min(6, len(m.group(1)) + levels) + " ", markdown, flags=re.MULTILINE)


DEFINITION_LINK = "#definition"     # the link that shows or hides a protocol's JSON


def protocol_lines(definition: object) -> list[str]:
    """A stored protocol definition as Markdown list lines, a step each, loops indenting
    their steps: "1.1 Constant current (plate): +0.16 mA/cm², up to 1 h, ...". A definition
    that holds no step program (an import keeps only its file's format) says so."""
    if not isinstance(definition, dict) or not isinstance(definition.get("program"), list):
        if isinstance(definition, dict) and "format" in definition:
            return [f"- the steps the imported file recorded ({md(definition['format'])}); no program is stored"]
        return ["- no step program is stored with this run"]
    lines = []
    limit = definition.get("voltage_limit_v")
    if isinstance(limit, (int, float)) and not isinstance(limit, bool):
        lines.append(f"- voltage limit (compliance) {limit:g} V")

    def walk(specs: list, path: tuple[int, ...]) -> None:
        for k, spec in enumerate(specs):
            here = (*path, k)
            indent = "  " * len(path)
            if not isinstance(spec, dict):
                lines.append(f"{indent}- {path_text(here)} unreadable step {md(repr(spec)[:40])}")
                continue
            lines.append(f"{indent}- {path_text(here)} {md(title(spec))}: {md(summary(spec))}")
            if spec.get("kind") == "loop" and isinstance(spec.get("steps"), list):
                walk(spec["steps"], here)

    walk(definition["program"], ())
    return lines or ["- an empty program"]


def run_markdown(notebook: Notebook, run_id: int, definition: bool = False) -> str:
    """The run's details; `definition`: its protocol's stored JSON too."""
    run = notebook.run(run_id)
    protocol = notebook.protocol(run_id)
    version = f" v{protocol['version']}" if protocol["version"] else ""
    lines = [f"# Run {run_id}: {run['status']}", "",
             f"- started {run['started_utc']}" + (f", ended {run['ended_utc']}" if run["ended_utc"] else ""),
             f"- {run['n_samples']:,} samples"]
    if run["message"] and run["message"] != f"imported from {run['source']}":   # the next line says that
        lines.append(f"- {md(run['message'])}")
    if run["source"]:
        provenance = notebook.provenance(run_id, run)
        imported = provenance.get("import", {})
        lines.append(f"- imported from {md(run['source'])} ({md(imported.get('format', ''))}); "
                     f"steps {md(imported.get('steps', ''))}")
        if not describes_cell(notebook.build(run["build_id"])):
            given = given_figures(provenance)
            lines.append("- cell figures: " + ", ".join(
                f"{label} {given[name]:g} {unit}" if name in given else f"{label} unknown"
                for name, (label, unit) in FIGURES.items()))
    lines += ["", f"## Protocol {md(protocol['name'])}{version}", "", *protocol_lines(protocol["definition"]), "",
              f"[{'Hide' if definition else 'Show'} definition]({DEFINITION_LINK})", ""]
    if definition:   # a paragraph: it wraps
        lines += [md(json.dumps(protocol["definition"], separators=(", ", ": "))), ""]
    sheet = build_sheet(notebook, run["build_id"]).replace("# ", "# Build: ", 1)
    return demoted("\n".join(lines) + "\n" + demoted(sheet, 1))


class DetailView(QtWidgets.QWidget):
    """Shows a run (show_run) or a build (show_build); notes and tags go to what is shown."""
    changed = QtCore.Signal()    # a note or tag was added or removed: lists may need refreshing

    def __init__(self, notebook: Notebook, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.notebook = notebook
        self.target: dict[str, int] = {}          # {"run_id": n} or {"build_id": n}
        self.text = QtWidgets.QTextBrowser()
        self.text.setOpenLinks(False)
        self.text.anchorClicked.connect(self._on_link)
        self.show_definition = False              # a run's protocol JSON shown under its steps
        self.events = QtWidgets.QTableWidget(0, 4)
        self.events.setHorizontalHeaderLabels(["Time (h)", "Event", "Severity", "Message"])
        self.events.horizontalHeader().setStretchLastSection(True)
        self.events.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.notes = QtWidgets.QListWidget()
        self.notes.setWordWrap(True)
        self.notes.setMaximumHeight(120)
        self.note_text = QtWidgets.QLineEdit(placeholderText="Write a note and press Enter")
        self.add_note = QtWidgets.QPushButton("Add note")
        self.tags = QtWidgets.QListWidget()
        self.tags.setMaximumHeight(90)
        self.tag_text = QtWidgets.QLineEdit(placeholderText="New tag")
        self.add_tag = QtWidgets.QPushButton("Add tag")
        self.remove_tag = QtWidgets.QPushButton("Remove tag")
        self.problem = QtWidgets.QLabel()
        theme.set_style(self.problem, "color: {error};")

        annotate = QtWidgets.QWidget()
        form = QtWidgets.QGridLayout(annotate)
        form.setContentsMargins(0, 0, 0, 0)
        self.notes_label = QtWidgets.QLabel("Notes")
        form.addWidget(self.notes_label, 0, 0, 1, 2)
        form.addWidget(self.notes, 1, 0, 1, 2)
        form.addWidget(self.note_text, 2, 0)
        form.addWidget(self.add_note, 2, 1)
        form.addWidget(QtWidgets.QLabel("Tags"), 3, 0, 1, 2)
        form.addWidget(self.tags, 4, 0, 1, 2)
        form.addWidget(self.tag_text, 5, 0)
        tag_buttons = QtWidgets.QHBoxLayout()
        tag_buttons.addWidget(self.add_tag)
        tag_buttons.addWidget(self.remove_tag)
        form.addLayout(tag_buttons, 5, 1)
        form.addWidget(self.problem, 6, 0, 1, 2)

        self.figures = CellFiguresForm(notebook)
        self.lower = QtWidgets.QTabWidget()
        self.lower.addTab(annotate, "Notes and tags")
        self.lower.addTab(self.events, "Events")
        self.lower.addTab(self.figures, "Cell figures")
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        splitter.addWidget(self.text)
        splitter.addWidget(self.lower)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self.note_text.returnPressed.connect(self._add_note)
        self.add_note.clicked.connect(self._add_note)
        self.tag_text.returnPressed.connect(self._add_tag)
        self.add_tag.clicked.connect(self._add_tag)
        self.remove_tag.clicked.connect(self._remove_tag)
        self.figures.changed.connect(self._figures_changed)
        if notebook.read_only:
            for widget in (self.note_text, self.add_note, self.tag_text, self.add_tag, self.remove_tag):
                widget.setEnabled(False)
                widget.setToolTip("The notebook is open read-only")
        self.show_nothing()

    def show_nothing(self, why: str | None = None) -> None:
        """Nothing shown, nothing editable (`why`: what the operator is told instead)."""
        self._retarget({})
        self.text.setMarkdown(why or "Select a run or a build to see it here.")
        self.events.setRowCount(0)
        self.notes.clear()
        self.tags.clear()
        self.figures.show_run(None)
        self._enable(False)

    def _retarget(self, target: dict[str, int]) -> None:
        """A note or tag typed for one run or build is never added to another."""
        if target != self.target:
            self.note_text.clear()
            self.tag_text.clear()
            self.problem.clear()
        self.target = target

    def show_run(self, run_id: int) -> None:
        self._retarget({"run_id": run_id})
        self.text.setMarkdown(run_markdown(self.notebook, run_id, self.show_definition))
        events = self.notebook.events(run_id)
        self.events.setRowCount(len(events))
        for row, e in enumerate(events):
            for col, value in enumerate((f"{e['t_s'] / 3600:.3f}", e["kind"], e["severity"], e["message"])):
                self.events.setItem(row, col, QtWidgets.QTableWidgetItem(value))
        self.lower.setTabText(1, f"Events ({len(events)})")
        self.notes_label.setText(f"Notes on run {run_id} (notes on its build are in the sheet above)")
        self.figures.show_run(run_id)
        self._show_annotations()

    def show_build(self, build_id: int) -> None:
        self._retarget({"build_id": build_id})
        self.text.setMarkdown(demoted(build_sheet(self.notebook, build_id)))
        self.events.setRowCount(0)
        self.lower.setTabText(1, "Events")
        self.notes_label.setText(f"Notes on build {build_id}")
        self.figures.show_run(None)
        self._show_annotations()

    def _show_annotations(self) -> None:
        self.notes.clear()
        for note in self.notebook.notes(**self.target):
            by = f", {note['author']}" if note["author"] else ""
            self.notes.addItem(f"{note['text']}   ({note['created_utc'][:16].replace('T', ' ')}{by})")
        self.tags.clear()
        self.tags.addItems(self.notebook.tags(**self.target))
        self.problem.clear()
        self._enable(True)

    def _enable(self, on: bool) -> None:
        editable = on and not self.notebook.read_only
        for widget in (self.note_text, self.add_note, self.tag_text, self.add_tag, self.remove_tag):
            widget.setEnabled(editable)

    def _edit(self, action) -> bool:
        """Run one annotation; a refusal (empty note, comma in a tag) is shown, not raised."""
        try:
            action()
        except NotebookError as exc:
            self.problem.setText(str(exc))
            return False
        self._show_annotations()
        if "build_id" in self.target:   # a build's notes and tags are part of its sheet
            self.text.setMarkdown(demoted(build_sheet(self.notebook, self.target["build_id"])))
        self.changed.emit()
        return True

    def _figures_changed(self) -> None:
        """The run was linked or given figures: its sheet and the lists change."""
        if "run_id" in self.target:
            self.text.setMarkdown(run_markdown(self.notebook, self.target["run_id"], self.show_definition))
        self.changed.emit()

    def _on_link(self, url: QtCore.QUrl) -> None:
        if url.toString() == DEFINITION_LINK and "run_id" in self.target:
            self.toggle_definition()

    def toggle_definition(self) -> None:
        """Show or hide the run's protocol as stored (JSON), where the operator is reading."""
        self.show_definition = not self.show_definition
        if "run_id" in self.target:
            bar = self.text.verticalScrollBar()
            where = bar.value()
            self.text.setMarkdown(run_markdown(self.notebook, self.target["run_id"], self.show_definition))
            bar.setValue(where)

    def _add_note(self) -> None:
        if self.target and self._edit(lambda: self.notebook.add_note(self.note_text.text(), **self.target)):
            self.note_text.clear()

    def _add_tag(self) -> None:
        if self.target and self._edit(lambda: self.notebook.add_tag(self.tag_text.text(), **self.target)):
            self.tag_text.clear()

    def _remove_tag(self) -> None:
        item = self.tags.currentItem()
        if self.target and item is not None:
            self._edit(lambda: self.notebook.remove_tag(item.text(), **self.target))
