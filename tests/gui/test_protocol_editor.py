"""The protocol editor as an operator uses it: presets, editing fields in their units,
adding, removing, reordering and nesting steps, validation messages at the step and
field that is wrong, JSON save and load; and the run panel starting what it holds."""
from __future__ import annotations

import json

import pytest
from PySide6 import QtCore
from PySide6.QtTest import QTest

import cell
from acquisition.protocol import PRESETS, preset
from gui import theme
from gui.protocol_editor import ERROR_STYLE, ProtocolEditor
from gui.protocol_editor_model import ProtocolDraft, parse_problem
from gui.run_panel import RunPanel


@pytest.fixture
def editor(qtbot):
    widget = ProtocolEditor()
    qtbot.addWidget(widget)
    widget.resize(1000, 650)
    widget.show()
    return widget


def kinds(program) -> list:
    return [(s["kind"], kinds(s["steps"])) if s["kind"] == "loop" else s["kind"] for s in program]


def test_a_preset_loads_as_a_tree_of_its_loops_and_steps(editor):
    editor.load_preset("rate-test")
    tree = editor.tree
    assert tree.topLevelItemCount() == 4
    first = tree.topLevelItem(0)
    assert first.text(0) == "1  Loop" and first.text(1) == "× 3, 4 steps, each pass a cycle"
    assert first.child(0).text(0) == "1.1  Constant current (charge)"
    assert first.child(0).text(1) == "+0.1 C, up to 15 h, stop above 4.25 V, a sample every 10 s"
    assert editor.protocol() == PRESETS["rate-test"]
    assert editor.status.text() == "Ready to run: 16 steps in 4 loops"


def test_fields_are_edited_in_their_units(editor):
    editor.load_preset("plate-strip-0.16")
    editor.select((0, 0))
    fields = editor.fields
    assert fields["current"].main.suffix() == " mA/cm²" and fields["current"].value() == 0.16
    assert fields["duration_s"].unit.currentText() == "h" and fields["duration_s"].main.value() == 1.0
    fields["current"].main.setValue(0.8)
    fields["duration_s"].unit.setCurrentIndex(fields["duration_s"].unit.findText("min"))
    fields["duration_s"].main.setValue(30.0)
    fields["unit"].main.setCurrentIndex(fields["unit"].main.findData("mA"))
    assert fields["current"].main.suffix() == " mA"
    fields["v_max"].enabled.setChecked(True)
    fields["v_max"].main.setValue(0.05)
    step = editor.draft.get((0, 0))
    assert step == {"kind": "cc", "label": "plate", "current": 0.8, "unit": "mA", "duration_s": 1800.0,
                    "sample_interval_s": 1.0, "v_max": 0.05}
    assert editor.tree.topLevelItem(0).child(0).text(1).startswith("+0.8 mA, up to 30 min, stop above 0.05 V")
    fields["v_max"].enabled.setChecked(False)           # a cut-off that is not wanted is left out
    assert "v_max" not in editor.draft.get((0, 0))
    protocol = editor.protocol()
    assert protocol.version == 2 and "edited from 1" in editor.version.text()
    assert protocol.expand(cell.from_template("sym-agc"))[0].current_a == pytest.approx(0.8e-3)


def test_steps_are_added_removed_reordered_and_nested(editor):
    editor.load_preset("gitt")                          # loop(pulse, rest)
    editor.select((0,))
    editor.add_step("eis")                              # a loop selected: into it, at its end
    assert kinds(editor.draft.program) == [("loop", ["cc", "rest", "eis"])]
    assert editor.selected_path() == (0, 2)
    click = QtCore.Qt.MouseButton.LeftButton
    QTest.mouseClick(editor.up_button, click)
    assert kinds(editor.draft.program) == [("loop", ["cc", "eis", "rest"])] and editor.selected_path() == (0, 1)
    QTest.mouseClick(editor.unwrap_button, click)   # out of the loop, just after it
    assert kinds(editor.draft.program) == [("loop", ["cc", "rest"]), "eis"] and editor.selected_path() == (1,)
    editor.add_step("pressure")                         # a step selected: after it
    QTest.mouseClick(editor.wrap_button, click)
    assert kinds(editor.draft.program) == [("loop", ["cc", "rest"]), "eis", ("loop", ["pressure"])]
    editor.fields["repeat"].main.setValue(4)
    assert editor.draft.get((2,))["repeat"] == 4
    editor.select((0, 1))
    QTest.mouseClick(editor.remove_button, click)
    assert kinds(editor.draft.program) == [("loop", ["cc"]), "eis", ("loop", ["pressure"])]
    assert editor.tree.topLevelItem(2).child(0).text(0) == "3.1  Stack pressure"
    assert editor.protocol() is not None


def test_problems_are_shown_at_the_step_and_field_that_is_wrong(editor, qtbot):
    editor.load_preset("rate-test")
    editor.select((1, 2))
    editor.fields["current"].main.setValue(0.0)         # a "constant current" of nothing
    editor.select((3,))
    editor.add_step("loop")                             # an empty loop inside loop 4
    editor.name.clear()
    editor.name.textEdited.emit("")
    assert editor.protocol() is None
    where = [(p.path, p.field) for p in editor.problems]
    assert where == [(None, "name"), ((1, 2), "current"), ((3, 4), "steps")]
    wrong = editor.tree.topLevelItem(1).child(2)
    assert wrong.foreground(0).color().name() == theme.color("error") and "needs a current" in wrong.toolTip(0)
    assert editor.tree.topLevelItem(1).child(1).toolTip(0) == ""
    assert editor.name.styleSheet() == theme.css(ERROR_STYLE)
    assert editor.problem_list.count() == 3
    assert "3 problems" in editor.status.text()
    # a click on a problem goes to its step; the field is marked and the message is beside it
    qtbot.mouseClick(editor.problem_list.viewport(), QtCore.Qt.MouseButton.LeftButton,
                     pos=editor.problem_list.visualItemRect(editor.problem_list.item(1)).center())
    assert editor.selected_path() == (1, 2)
    assert editor.fields["current"].main.styleSheet() == theme.css(ERROR_STYLE)
    assert editor.fields["duration_s"].main.styleSheet() == ""
    assert "current: a constant-current step needs a current" in editor.step_problems.text()
    editor.fields["current"].main.setValue(-0.2)        # fixed: the mark goes
    assert editor.fields["current"].main.styleSheet() == "" and len(editor.problems) == 2


def test_save_and_load_json(editor, tmp_path):
    editor.load_preset("plate-strip-0.16")
    editor.select((0,))
    editor.fields["repeat"].main.setValue(7)
    path = tmp_path / "mine.json"
    editor.save_file(path)
    saved = json.loads(path.read_text())
    assert saved["version"] == 2 and saved["program"][0]["repeat"] == 7
    assert editor.version.text() == "version 2"         # the file is that version now
    editor.load_preset("eis")
    editor.load_file(path)
    assert editor.protocol().program[0]["repeat"] == 7 and editor.protocol().version == 2
    # a file with problems opens, its problems at their steps, ready to be fixed
    saved["program"][0]["steps"][1]["duration_s"] = -5
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(saved))
    editor.load_file(bad)
    assert [(p.path, p.field) for p in editor.problems] == [((0, 1), "duration_s")]
    with pytest.raises(ValueError, match="cannot be saved|must be above 0"):
        editor.save_file(tmp_path / "never.json")
    assert not (tmp_path / "never.json").exists()
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    with pytest.raises(ValueError, match="garbage.json: protocol file is not valid JSON"):
        editor.load_file(garbage)


def test_validation_messages_map_to_paths():
    assert parse_problem("steps[0].steps[1].current: must be a number").path == (0, 1)
    assert parse_problem("steps[2].steps: needs at least one step").field == "steps"
    assert parse_problem("voltage_limit_v: must be 0.02 to 210 V, got 300").path is None
    draft = ProtocolDraft.from_steplist(preset("plate-strip-0.16"))
    draft.voltage_limit_v = 300
    assert [p.field for p in draft.problems()] == ["voltage_limit_v"]


def test_the_run_panel_follows_the_editor(qtbot, editor):
    panel = RunPanel(editor, lambda: cell.from_template("sym-agc"))
    qtbot.addWidget(panel)
    panel.protocol.setCurrentIndex(panel.protocol.findData("plate-strip-0.16"))
    assert panel.summary.text() == "100 steps, 50 cycles, at most 100.0 h on this cell"
    assert "0.16 mA/cm²" in panel.note.text()
    editor.select((0,))
    editor.fields["repeat"].main.setValue(2)
    assert panel.protocol.currentText() == "plate-strip-0.16 v2 (edited)"
    assert panel.summary.text() == "4 steps, 2 cycles, at most 4.0 h on this cell"
    assert panel.protocol_value().program[0]["repeat"] == 2
    editor.fields["repeat"].main.setValue(0)
    assert not panel.start.isEnabled() and "1 problem" in panel.summary.text()
    with pytest.raises(ValueError, match=r"step 1 · repeat: must be at least 1"):
        panel.protocol_value()
    panel.protocol.setCurrentIndex(panel.protocol.findData("rate-test"))   # a preset replaces the draft
    assert panel.start.isEnabled() and "C-rates need a full cell" in panel.summary.text()
