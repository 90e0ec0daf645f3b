"""One lab run opened in the Lab scope: what it is (station, status, build with its layers,
lots and set-points, protocol, outcome figures: a row of the lab's `lab_runs` view), and
its notes and tags with who wrote them on which station. A note or a tag typed here is
handed to the Lab scope (`note_requested`, `tag_requested`), which writes it to the lab as
this station off the GUI thread and shows the lab's answer."""
from __future__ import annotations

import math

from PySide6 import QtCore, QtWidgets

from gui import theme
from gui.browser_detail import demoted
from notebook.export import md

# the outcome figures of lab_runs, with their words and units, in the order shown
OUTCOMES = (("r_int_ohm_cm2", "interfacial resistance R_int", "Ω·cm²", "{:.4g}"),
            ("t_short_h", "time to short", "h", "{:.3g}"),
            ("n_cycles", "complete cycles", "", "{:d}"),
            ("capacity_first_mah", "capacity, first cycle", "mAh", "{:.4g}"),
            ("capacity_n_mah", "capacity, last complete cycle", "mAh", "{:.4g}"),
            ("retention_pct", "retention", "%", "{:.1f}"),
            ("ce_avg_pct", "average Coulombic efficiency", "%", "{:.2f}"),
            ("energy_wh_kg", "energy", "Wh/kg (stack)", "{:.4g}"))


def figure(value: object, fmt: str) -> str | None:
    """`value` formatted, or None when there is no figure (None, NaN)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        return fmt.format(int(value) if fmt == "{:d}" else float(value))
    except (TypeError, ValueError):
        return str(value)


def when(value: object) -> str:
    return "" if not value else str(value)[:16].replace("T", " ")


def run_markdown(row: dict) -> str:
    """A lab_runs row as the details pane's Markdown."""
    station = row.get("station") or "?"
    lines = [f"# Run {row.get('local_id')} of station {md(station)}: {md(row.get('status') or '')}", "",
             f"- started {when(row.get('started_utc'))} UTC"
             + (f", ended {when(row.get('ended_utc'))} UTC" if row.get("ended_utc") else ""),
             f"- {int(row.get('n_samples') or 0):,} samples, {int(row.get('n_events') or 0)} event(s)"]
    if row.get("protocol"):
        version = f" v{row['protocol_version']}" if row.get("protocol_version") else ""
        lines.append(f"- protocol {md(row['protocol'])}{version}")
    if row.get("source"):
        lines.append(f"- imported from {md(row['source'])}")
    if row.get("message"):
        lines.append(f"- {md(row['message'])}")
    if row.get("tags"):
        lines.append(f"- tags: {md(row['tags'])}")
    lines.append(f"- lab id {row.get('uuid')}")
    lines += ["", "## Outcome figures", ""]
    shown = []
    for key, label, unit, fmt in OUTCOMES:
        text = figure(row.get(key), fmt)
        if text is None:
            continue
        if key == "retention_pct" and row.get("retention_cycle"):
            label = f"retention at cycle {row['retention_cycle']}"
        shown.append(f"- {label}: {text} {unit}".rstrip())
    if shown:
        lines += shown
        if row.get("computed_utc"):
            lines.append(f"- computed by its station {when(row['computed_utc'])} UTC")
    else:
        lines.append("- none yet (a station computes them when a run has ended, and sends them with the run)")
    name = row.get("build_name") or ""
    lines += ["", f"## Build {md(name)}" + (f" ({md(row['template'])})" if row.get("template") else ""), ""]
    if row.get("build_uuid") is None:
        lines.append("- no build is recorded for this run")
    else:
        if row.get("description"):
            lines.append(f"- {md(row['description'])}")
        if row.get("layers"):
            lines.append(f"- layers, bottom to top: {md(row['layers'])}")
        if row.get("lots"):
            lines.append(f"- lots: {md(row['lots'])}")
        if row.get("electrolyte_lot"):
            lines.append(f"- electrolyte lot: {md(row['electrolyte_lot'])}")
        if row.get("has_interlayer") is not None:
            lines.append(f"- interlayer: {figure(row.get('interlayer_um'), '{:g}')} µm"
                         if row.get("has_interlayer") else "- no interlayer")
        setpoints = [f"{label} {text} {unit}" for key, label, unit in
                     (("area_cm2", "area", "cm²"), ("stack_pressure_mpa", "stack pressure", "MPa"),
                      ("densification_pressure_mpa", "densification pressure", "MPa"),
                      ("temperature_c", "temperature", "°C"))
                     if (text := figure(row.get(key), "{:g}")) is not None]
        if setpoints:
            lines.append("- " + ", ".join(setpoints))
        if row.get("operator"):
            lines.append(f"- operator {md(row['operator'])}")
        if row.get("build_tags"):
            lines.append(f"- build tags: {md(row['build_tags'])}")
    return demoted("\n".join(lines), 1)


def note_text(note: dict) -> str:
    """A note as listed: its text, then when, who and on which station."""
    who = ", ".join(str(part) for part in (when(note.get("created_utc")), note.get("author"), note.get("station"))
                    if part)
    on = " (on its build)" if note.get("build_uuid") and not note.get("run_uuid") else ""
    return f"{note.get('text', '')}{on}   ({who})"


def tag_text(tag: dict) -> str:
    on = " (build)" if tag.get("build_uuid") and not tag.get("run_uuid") else ""
    station = f"   ({tag['station']})" if tag.get("station") else ""
    return f"{tag.get('tag', '')}{on}{station}"


class LabRunDetail(QtWidgets.QWidget):
    note_requested = QtCore.Signal(str, str)    # run uuid, text: the Lab scope writes it to the lab
    tag_requested = QtCore.Signal(str, str)     # run uuid, tag

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.uuid: str | None = None
        self.text = QtWidgets.QTextBrowser()
        self.notes_label = QtWidgets.QLabel("Notes")
        self.notes = QtWidgets.QListWidget()
        self.notes.setWordWrap(True)
        self.notes.setMaximumHeight(100)
        self.note_text = QtWidgets.QLineEdit(placeholderText="Write a note for the lab and press Enter")
        self.add_note = QtWidgets.QPushButton("Add note")
        self.tags = QtWidgets.QListWidget()
        self.tags.setMaximumHeight(64)
        self.tag_text = QtWidgets.QLineEdit(placeholderText="New tag")
        self.add_tag = QtWidgets.QPushButton("Add tag")
        self.problem = QtWidgets.QLabel()
        self.problem.setWordWrap(True)
        annotate = QtWidgets.QWidget()
        form = QtWidgets.QGridLayout(annotate)
        form.setContentsMargins(0, 0, 0, 0)
        form.addWidget(self.notes_label, 0, 0, 1, 2)
        form.addWidget(self.notes, 1, 0, 1, 2)
        form.addWidget(self.note_text, 2, 0)
        form.addWidget(self.add_note, 2, 1)
        form.addWidget(QtWidgets.QLabel("Tags"), 3, 0, 1, 2)
        form.addWidget(self.tags, 4, 0, 1, 2)
        form.addWidget(self.tag_text, 5, 0)
        form.addWidget(self.add_tag, 5, 1)
        form.addWidget(self.problem, 6, 0, 1, 2)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        splitter.addWidget(self.text)
        splitter.addWidget(annotate)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.note_text.returnPressed.connect(self._note)
        self.add_note.clicked.connect(self._note)
        self.tag_text.returnPressed.connect(self._tag)
        self.add_tag.clicked.connect(self._tag)
        self.show_nothing()

    def show_nothing(self, why: str | None = None) -> None:
        self._retarget(None)
        self.text.setMarkdown(why or "Select a run to see it here.")
        self.notes.clear()
        self.tags.clear()
        self._enable(False)

    def show_row(self, row: dict) -> None:
        """The run of `row` (lab_runs); its notes and tags follow (show_annotations)."""
        self._retarget(str(row["uuid"]))
        bar = self.text.verticalScrollBar()
        where = bar.value()
        self.text.setMarkdown(run_markdown(row))
        bar.setValue(where)
        self.notes_label.setText(f"Notes on run {row.get('local_id')} of {row.get('station')}, from every station")

    def show_loading(self) -> None:
        self.notes.clear()
        self.notes.addItem("loading…")
        self.tags.clear()

    def show_annotations(self, notes: list[dict], tags: list[dict]) -> None:
        self.notes.clear()
        for note in notes:
            self.notes.addItem(note_text(note))
        self.tags.clear()
        for tag in tags:
            self.tags.addItem(tag_text(tag))
        self._enable(self.uuid is not None)

    def set_problem(self, text: str) -> None:
        theme.set_style(self.problem, "color: {error};" if text else "")
        self.problem.setText(text)

    def set_note(self, text: str) -> None:
        theme.set_style(self.problem, "")
        self.problem.setText(text)

    def _retarget(self, uuid: str | None) -> None:
        """A note typed for one run never goes to another."""
        if uuid != self.uuid:
            self.note_text.clear()
            self.tag_text.clear()
            self.problem.clear()
        self.uuid = uuid

    def _enable(self, on: bool) -> None:
        for widget in (self.note_text, self.add_note, self.tag_text, self.add_tag):
            widget.setEnabled(on)

    def _note(self) -> None:
        text = self.note_text.text().strip()
        if self.uuid is None:
            return
        if not text:
            self.set_problem("A note needs some text; nothing was written to the lab.")
            return
        self.note_requested.emit(self.uuid, text)

    def _tag(self) -> None:
        tag = self.tag_text.text().strip()
        if self.uuid is None:
            return
        if not tag or "," in tag:
            self.set_problem("A tag is a word or a few, without commas; nothing was written to the lab.")
            return
        self.tag_requested.emit(self.uuid, tag)
