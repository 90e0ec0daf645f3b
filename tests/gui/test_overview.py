"""Several channels at once in the station: the overview's tiles (state, cycle,
voltage, alarm), selecting a channel, acknowledging its alarm, pause/resume/stop from
the run panel, the alarm policy, and per-run alarm thresholds that reach the engine."""
from __future__ import annotations

import json
import time

from PySide6 import QtCore, QtWidgets

import cell
from acquisition.protocol import preset
from gui import theme
from gui.thresholds import ThresholdDialog, ThresholdEditor
from notebook import Notebook

LEFT = QtCore.Qt.MouseButton.LeftButton


def start(window, channel: int, template: str, protocol, speed: str, on_trip: str = "stop") -> None:
    window.builder.select_template(template)
    panel = window.run_panel
    panel.channel.setCurrentIndex(panel.channel.findData(channel))
    panel.set_protocol(protocol)
    panel.speed.setCurrentIndex(panel.speed.findData(speed))
    panel.on_trip.setCurrentIndex(panel.on_trip.findData(on_trip))
    assert window.start_run(), window.status_label.text()


def confirm_stop(qtbot, panel) -> None:
    """Press Stop and answer Yes to its question (gui/confirm.py)."""
    def press_yes():
        box = QtWidgets.QApplication.activeModalWidget()
        if box is None:
            QtCore.QTimer.singleShot(20, press_yes)
        else:
            box.yes.click()
    QtCore.QTimer.singleShot(0, press_yes)
    qtbot.mouseClick(panel.stop, LEFT)


def test_two_runs_at_once_with_the_alarm_in_the_overview(qtbot, window, db_path):
    start(window, 1, "sym-agc", preset("plate-strip-0.16", cycles=2, half_cycle_h=0.05), "max")
    start(window, 2, "sym-bare", preset("plate-strip-0.16"), "36000")
    tiles = window.overview.tiles
    assert window.monitor.feed is window.feeds[2] and tiles[2]._selected and not tiles[1]._selected
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=60000)
    qtbot.waitUntil(lambda: tiles[1].status.state == "completed" and tiles[2].status.state == "shorted",
                    timeout=60000)
    assert tiles[1].figures.text().startswith("cycle 2 · ") and not tiles[1].alarm.isVisible()
    assert tiles[2].status.alarming and tiles[2].alarm.text() == "⚠ hard short — acknowledge!"
    alarm_red = theme.color("alarm")
    assert alarm_red in tiles[2].styleSheet() and alarm_red not in tiles[1].styleSheet()
    assert tiles[3].state.text() == "idle"
    (row,) = window.banner.rows.values()
    assert row.text.text().startswith("<b>Channel 2</b> · run #2") and "hard short" in row.text.text()
    # a click on a tile shows that channel
    qtbot.mouseClick(tiles[1], LEFT)
    assert window.channel == 1 and window.monitor.feed is window.feeds[1]
    assert window.run_panel.channel_index() == 1 and window.run_panel.start.isEnabled()
    assert "run #1" in window.monitor.heading.text() and "completed" in window.monitor.heading.text()
    # no new run on a channel whose alarm nobody has acknowledged
    window.select_channel(2)
    assert not window.start_run()
    assert "Acknowledge the alarm on channel 2" in window.status_label.text()
    run_id = window.session.engine.run_id
    qtbot.mouseClick(row.ack, LEFT)
    assert not window.banner.isVisible()
    assert tiles[2].alarm.text() == "⚠ hard short (acknowledged)" and alarm_red not in tiles[2].styleSheet()
    with Notebook(db_path, read_only=True) as nb:
        assert nb.events(run_id)[0]["acknowledged_utc"] is not None
        assert {r["run_id"]: r["status"] for r in nb.runs()} == {1: "completed", 2: "shorted"}


def test_pause_resume_and_stop_from_the_run_panel(qtbot, window):
    start(window, 4, "sym-agc", preset("plate-strip-0.16"), "600")
    panel, buffer = window.run_panel, window.manager.channel(4).buffer
    qtbot.waitUntil(lambda: len(buffer) > 20, timeout=20000)
    qtbot.mouseClick(panel.pause, LEFT)
    qtbot.waitUntil(lambda: window.overview.tiles[4].status.state == "paused", timeout=20000)
    qtbot.waitUntil(lambda: panel.pause.text() == "Resume", timeout=20000)
    assert panel.stop.isEnabled() and not panel.start.isEnabled()
    held = len(buffer)
    time.sleep(0.3)
    QtWidgets.QApplication.processEvents()
    assert len(buffer) == held                       # paused: the source is safe, nothing is taken
    qtbot.mouseClick(panel.pause, LEFT)
    qtbot.waitUntil(lambda: len(buffer) > held + 5, timeout=20000)
    qtbot.waitUntil(lambda: panel.pause.text() == "Pause", timeout=20000)
    confirm_stop(qtbot, panel)
    qtbot.waitUntil(lambda: window.overview.tiles[4].status.state == "aborted", timeout=20000)
    assert panel.start.isEnabled() and not panel.pause.isEnabled()


def test_an_alarm_can_pause_instead_of_stop(qtbot, window):
    start(window, 1, "sym-bare", preset("plate-strip-0.16"), "36000", on_trip="pause")
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=60000)
    qtbot.waitUntil(lambda: window.overview.tiles[1].status.state == "paused", timeout=20000)
    assert window.overview.tiles[1].status.alarming and window.run_panel.pause.text() == "Resume"
    confirm_stop(qtbot, window.run_panel)
    qtbot.waitUntil(lambda: window.overview.tiles[1].status.state == "shorted", timeout=20000)


def test_alarm_thresholds_are_edited_per_run_and_stored_with_it(qtbot, window, db_path):
    editor = ThresholdEditor()
    qtbot.addWidget(editor)
    editor.set_stack(cell.from_template("sym-bare"))
    assert set(editor.defaults) == {"hard_short", "voltage_limit", "pressure_drift"}
    collapse = editor.editors[("hard_short", "collapse_fraction")]
    assert collapse.value() == 25.0 and collapse.suffix() == " % of baseline |V/I|"
    assert editor.overrides() == {}
    collapse.setValue(30.0)
    assert editor.overrides() == {"hard_short": {"collapse_fraction": 0.3}} and collapse.font().bold()
    window.run_panel.set_overrides(editor.overrides())
    assert window.run_panel.thresholds_text.text() == "changed: hard short: trip below 30.0 % of baseline |V/I|"
    start(window, 3, "sym-bare", preset("plate-strip-0.16", cycles=1, half_cycle_h=0.05), "max")
    qtbot.waitUntil(lambda: window.run_panel.start.isEnabled(), timeout=30000)
    with Notebook(db_path, read_only=True) as nb:
        provenance = json.loads(nb.run(window.session.engine.run_id)["provenance_json"])
    assert provenance["detectors"]["hard_short"]["collapse_fraction"] == 0.3
    assert provenance["detectors"]["voltage_limit"] == {"v_min": -0.5, "v_max": 0.5, "hold_samples": 2}


def test_impossible_thresholds_cannot_be_kept(qtbot):
    dialog = ThresholdDialog(cell.from_template("full-agc"), {"soft_short": {"min_rise_v": 0.01}})
    qtbot.addWidget(dialog)
    editor = dialog.editor
    assert editor.editors[("soft_short", "min_rise_v")].value() == 10.0          # mV, from the override
    ok = dialog.buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok)
    assert ok.isEnabled()
    editor.editors[("voltage_limit", "v_min")].setValue(4.5)                    # above v_max 4.4 V
    assert not ok.isEnabled() and "v_min must be below v_max" in editor.problem.text()
    qtbot.mouseClick(editor.reset, LEFT)
    assert editor.overrides() == {} and ok.isEnabled()
