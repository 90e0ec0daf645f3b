"""The protocol editor's "EIS every N cycles" step, as an operator adds it to a cycling
loop and sets it: the form's fields write the step, the tree says what it does, and the
protocol it makes runs the sweep in the cycles asked."""
from __future__ import annotations

import pytest

import cell
from acquisition.protocol import EisStep
from gui.protocol_editor import ProtocolEditor


@pytest.fixture
def editor(qtbot):
    widget = ProtocolEditor()
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    widget.show()
    return widget


def test_an_eis_every_n_cycles_step_is_added_and_set_in_the_form(editor):
    editor.load_preset("cycling-c3-500")
    editor.select((0,))
    editor.add_step("eis-every")                        # into the selected loop, at its end
    item = editor.tree.topLevelItem(0).child(4)
    assert item.text(0) == "1.5  EIS every 25 cycles (eis)"
    assert item.text(1) == "1 MHz → 50.12 mHz (within 10 min), 74 points, 10 mV, at the rest voltage"
    assert editor.fields["bias_at_rest"].main.isChecked()
    assert editor.fields["mode"].main.currentData() == "potentiostatic"
    editor.fields["every_cycles"].main.setValue(100)
    editor.fields["time_budget_s"].main.setValue(60.0)  # a minute: the low end rises to ~1 Hz
    assert editor.tree.topLevelItem(0).child(4).text(0) == "1.5  EIS every 100 cycles (eis)"
    assert editor.problems == []
    protocol = editor.protocol()
    sweeps = [s for s in protocol.expand(cell.from_template("full-agc")) if isinstance(s, EisStep)]
    assert [s.cycle for s in sweeps] == [100, 200, 300, 400, 500]
    # By hand, 60 s at 5 periods a point (10 ms at least) from 1 MHz at 10 a decade: the 34
    # points down to 501 Hz take 0.34 s; points k = 34..K then take 5e-6 x sum 10^(k/10) s,
    # about 5e-6 x 4.86 x 10^(K/10) <= 59.66 s, so K = 63: 64 points, down to 10^-0.3 Hz.
    assert (sweeps[0].points, round(sweeps[0].f_stop_hz, 3)) == (64, 0.501)


def test_a_galvanostatic_step_without_a_current_is_named_at_its_field(editor):
    editor.load_preset("cycling-c3-500-eis")
    editor.select((0, 4))
    editor.fields["mode"].main.setCurrentIndex(editor.fields["mode"].main.findData("galvanostatic"))
    where = {(p.path, p.field) for p in editor.problems}
    # a current sweep has no voltage amplitude, no bias at rest, and needs its current
    assert where == {((0, 4), "amplitude_a"), ((0, 4), "amplitude_v"), ((0, 4), "bias_at_rest")}
    editor.fields["amplitude_v"].enabled.setChecked(False)
    editor.fields["bias_at_rest"].main.setChecked(False)
    editor.fields["amplitude_a"].enabled.setChecked(True)
    editor.fields["amplitude_a"].main.setValue(50.0)     # µA
    assert editor.problems == []
    (sweep, *_) = [s for s in editor.protocol().expand(cell.from_template("full-agc")) if isinstance(s, EisStep)]
    assert (sweep.mode, sweep.amplitude_a, sweep.amplitude_v) == ("galvanostatic", pytest.approx(50e-6), 0.0)
