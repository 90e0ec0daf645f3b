"""Alarms in the notebook: which are still unacknowledged (what the station shows again after
a restart), acknowledging one run's alarms with who and when and nothing else, and an event
recorded about a run after it finished (the station closing it)."""
from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest

import cell
from notebook import Notebook, NotebookError
from notebook.writer import RunWriter


def run_with_events(db_path, events: list[tuple[str, str]]) -> int:
    """A finished run holding events (kind, severity), one second apart."""
    with Notebook(db_path) as nb:
        build_id = nb.save_build(cell.from_template("sym-bare"))
    writer = RunWriter(db_path)
    run_id = writer.start_run(build_id, "plate-strip-0.16", "{}", {})
    for k, (kind, severity) in enumerate(events):
        writer.event({"t_s": float(k), "sample_index": k, "kind": kind, "severity": severity, "message": f"{kind} {k}"})
    writer.finish("shorted")
    return run_id


def acks(db_path) -> list[tuple]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT run_id, kind, severity, acknowledged_utc, acknowledged_by FROM events ORDER BY id").fetchall()
    finally:
        conn.close()


def test_acknowledging_marks_one_runs_alarms_with_who_and_when_only(db_path):
    first = run_with_events(db_path, [("instrument_retry", "warning"), ("hard_short", "alarm"), ("safe_off_failed", "alarm")])
    second = run_with_events(db_path, [("soft_short", "alarm")])
    with Notebook(db_path) as nb:
        assert [(a["run_id"], a["kind"]) for a in nb.unacknowledged_alarms()] == [
            (first, "hard_short"), (first, "safe_off_failed"), (second, "soft_short")]
        before = datetime.now(timezone.utc).replace(microsecond=0)
        assert nb.acknowledge_alarms(first, "  CW ") == 2
        after = datetime.now(timezone.utc)
        assert [(a["run_id"], a["kind"]) for a in nb.unacknowledged_alarms()] == [(second, "soft_short")]
        # a second acknowledgement changes nothing: the first who and when stay
        assert nb.acknowledge_alarms(first, "EK") == 0
    rows = acks(db_path)
    assert rows[0][3:] == (None, None)                       # a warning is not an alarm to acknowledge
    for row in rows[1:3]:
        assert row[4] == "CW" and before <= datetime.fromisoformat(row[3].replace("Z", "+00:00")) <= after
    assert rows[3][3:] == (None, None)                       # the other run's alarm waits
    assert len(rows) == 4                                   # nothing deleted


def test_an_acknowledgement_must_name_someone_and_a_read_only_notebook_records_nothing(db_path):
    run_id = run_with_events(db_path, [("hard_short", "alarm")])
    with Notebook(db_path) as nb:
        with pytest.raises(NotebookError, match="must name who"):
            nb.acknowledge_alarms(run_id, " ")
    with Notebook(db_path, read_only=True) as nb:
        assert len(nb.unacknowledged_alarms()) == 1
        with pytest.raises(NotebookError, match="read-only"):
            nb.log_event(run_id, "run_stopped", "info", "station closed", 1.0, 0)
    assert acks(db_path)[0][3:] == (None, None) and len(acks(db_path)) == 1


def test_an_event_about_a_finished_run_is_logged(db_path):
    run_id = run_with_events(db_path, [])
    with Notebook(db_path) as nb:
        nb.log_event(run_id, "run_stopped", "info", "station closed: stopped", 12.5, 7, {"reason": "station closed"})
        (event,) = nb.events(run_id)
    assert (event["kind"], event["severity"], event["t_s"], event["sample_index"]) == ("run_stopped", "info", 12.5, 7)
    assert event["evidence"] == {"reason": "station closed"} and event["acknowledged_utc"] is None
