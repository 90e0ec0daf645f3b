"""lab/query.py against a real lab store holding two stations' real notebooks (pushed by the
real sync, each as its own login; tests/lab_read_fixtures.py): what `LabReader` lists matches what
each station's notebook holds, its filters select what they say, notes and tags are written
as the login's own station (and refused to a reader), and bad input or a lost server is a
LabError without a password."""
from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import date

import psycopg
import pytest

from lab.connection import LabError
from lab.query import LabReader
from lab_read_fixtures import module_lab


@pytest.fixture(scope="module")
def lab(pg_server, tmp_path_factory):
    yield from module_lab(pg_server, tmp_path_factory.mktemp("stations"))


def local(lab, station: str, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(f"{lab.notebooks[station].as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def admin_count(lab, sql: str, params=()) -> int:
    with lab.store.connect() as conn:
        return conn.execute(sql, params).fetchone()[0]


def test_a_reader_lists_every_stations_runs_with_their_station_and_counts(lab):
    with LabReader(lab.urls["desk"]) as reader:
        rows = reader.runs()
    assert Counter(r["station"] for r in rows) == {"alpha": 2, "beta": 2}
    for station in ("alpha", "beta"):
        # each row is the station's own run: same uuid, local id, status, sample and event counts
        expected = {uuid: (run_id, status, n, events) for run_id, uuid, status, n, events in local(
            lab, station, "SELECT r.id, r.uuid, r.status, r.n_samples,"
                          " (SELECT COUNT(*) FROM events e WHERE e.run_id = r.id) FROM runs r")}
        got = {r["uuid"]: (r["local_id"], r["status"], r["n_samples"], r["n_events"])
               for r in rows if r["station"] == station}
        assert got == expected
        assert all(r["station_role"] == f"station_{station}" for r in rows if r["station"] == station)
    started = [r["started_utc"] for r in rows]
    assert started == sorted(started, reverse=True)       # newest first
    assert all(isinstance(r["uuid"], str) and isinstance(r["build_uuid"], str) for r in rows)


def test_a_station_login_reads_the_other_stations_runs_too(lab):
    with LabReader(lab.urls["alpha"]) as reader:
        beta = reader.runs(station="beta")
    assert {r["uuid"] for r in beta} == {lab.run_uuid("beta", 1), lab.run_uuid("beta", 2)}


@pytest.mark.parametrize("criteria, expected", [
    ({"station": "alpha"}, [("alpha", 1), ("alpha", 2)]),
    ({"station": "station_beta"}, [("beta", 1), ("beta", 2)]),          # the login role names it too
    ({"status": "shorted"}, [("beta", 1)]),
    ({"template": "full-agc"}, [("alpha", 1)]),
    ({"operator": "CD"}, [("beta", 1)]),
    ({"lot": "l23"}, [("beta", 1)]),                                    # part of a lot, any case
    ({"material": "AgC", "lot": "S3"}, [("beta", 1)]),
    ({"material": "NMC"}, [("alpha", 1)]),
    ({"tag": "lot-check"}, [("alpha", 1)]),                             # a run's tag
    ({"tag": "agc"}, [("alpha", 1)]),                                   # its build's tag
    ({"text": "BATCH s3"}, [("alpha", 1)]),                             # a note's text, any case
    ({"text": "hard short"}, [("beta", 1)]),                            # the run's message
    ({"text": "B-07"}, [("beta", 1)]),                                  # the build's name
    ({"text": "100%"}, []),                                             # % is a character, not a wildcard
    ({"text": "'; DROP TABLE solidstack.runs; --"}, []),
    ({"station": "alpha", "status": "completed", "template": "sym-agc"}, [("alpha", 2)]),
    ({"station": "nobody"}, []),
])
def test_filters_select_what_they_say(lab, criteria, expected):
    with LabReader(lab.urls["desk"]) as reader:
        rows = reader.runs(**criteria)
    assert sorted((r["station"], r["local_id"]) for r in rows) == expected
    assert admin_count(lab, "SELECT count(*) FROM solidstack.runs") == 4      # nothing was dropped


def test_days_limit_and_uuids(lab):
    with LabReader(lab.urls["desk"]) as reader:
        every = reader.runs()
        today = date.fromisoformat(every[0]["started_utc"][:10])
        assert len(reader.runs(since=today, until=today)) == 4
        assert reader.runs(until=date(2000, 1, 1)) == []
        assert [r["uuid"] for r in reader.runs(limit=2)] == [r["uuid"] for r in every[:2]]
        pick = [every[3]["uuid"], every[0]["uuid"]]
        assert {r["uuid"] for r in reader.runs(uuids=pick)} == set(pick)
        with pytest.raises(LabError, match="not a run UUID"):
            reader.runs(uuids=["nope"])
        with pytest.raises(TypeError, match="unknown run criteria: colour"):
            reader.runs(colour="red")


def test_one_run_its_cycles_and_events(lab):
    alpha1, beta1 = lab.run_uuid("alpha", 1), lab.run_uuid("beta", 1)
    with LabReader(lab.urls["desk"]) as reader:
        row = reader.run(alpha1.upper())          # any case
        cycles = reader.cycles([alpha1, beta1])
        events = reader.events(beta1)
        stations = reader.stations()
    assert (row["uuid"], row["station"], row["local_id"]) == (alpha1, "alpha", 1)
    # per cycle: the station's own cycle_summary view over the same steps (SQLite's sums)
    expected = local(lab, "alpha", "SELECT cycle, charge_mah, discharge_mah FROM cycle_summary WHERE run_id = 1"
                                   " ORDER BY cycle")
    mine = [(c["cycle"], c["charge_mah"], c["discharge_mah"]) for c in cycles if c["run_uuid"] == alpha1]
    assert len(mine) == len(expected) >= 30
    for (cycle, charge, discharge), (c2, ch2, dis2) in zip(mine, expected):
        assert cycle == c2 and charge == pytest.approx(ch2, rel=1e-12) and discharge == pytest.approx(dis2, rel=1e-12)
    assert {c["station"] for c in cycles} == {"alpha", "beta"}
    full = [c for c in cycles if c["run_uuid"] == alpha1 and c["charge_mah"] and c["discharge_mah"]]
    assert all(c["ce_pct"] == pytest.approx(100 * c["discharge_mah"] / c["charge_mah"]) for c in full)
    # the alarm, as beta logged it
    (kind, index, message), = local(lab, "beta", "SELECT kind, sample_index, message FROM events WHERE run_id = 1")
    assert [(e["kind"], e["sample_index"], e["message"], e["station"]) for e in events] == [
        (kind, index, message, "beta")]
    assert {s["name"]: (s["kind"], s["n_runs"]) for s in stations} == {
        "alpha": ("station", 2), "beta": ("station", 2), "desk": ("reader", 0)}


def test_unknown_and_malformed_uuids_are_named(lab):
    with LabReader(lab.urls["desk"]) as reader:
        missing = "01900000-0000-7000-8000-000000000000"
        with pytest.raises(LabError, match=f"no run {missing} in the lab store at reader_desk@127.0.0.1"):
            reader.run(missing)
        with pytest.raises(LabError, match="'run-7' is not a run UUID"):
            reader.run("run-7")
        with pytest.raises(LabError, match="not a run UUID"):
            reader.events("1; DROP TABLE x")


def test_a_station_notes_and_tags_another_stations_run_as_itself(lab):
    beta1 = lab.run_uuid("beta", 1)
    with LabReader(lab.urls["alpha"]) as alpha:
        note = alpha.add_note("run", beta1, "AB", "  compare with alpha's S2 cell  ")
        alpha.add_tag(beta1, "run", " lpscl  short ")         # the GUI's order: uuid first
        alpha.add_tag("run", beta1, "lpscl short")             # the same tag again: not twice
        build = alpha.run(beta1)["build_uuid"]
        alpha.add_note(build, "build", "AB", "pressed at 375 MPa")
        notes = alpha.notes(run_uuid=beta1, build_uuid=build)
        tags = alpha.tags("run", beta1)
        found = alpha.runs(tag="lpscl short")
    assert [(n["text"], n["author"], n["station"], n["run_uuid"], n["build_uuid"]) for n in notes] == [
        ("compare with alpha's S2 cell", "AB", "alpha", beta1, None),
        ("pressed at 375 MPa", "AB", "alpha", None, build)]
    assert notes[0]["uuid"] == note
    assert [(t["tag"], t["station"]) for t in tags] == [("lpscl short", "alpha")]
    assert [r["uuid"] for r in found] == [beta1]
    # the server says who wrote them: alpha's login, with alpha's station uuid
    with lab.store.connect() as conn:
        row = conn.execute("SELECT n.station::text, n.station_uuid = s.uuid FROM solidstack.notes n"
                           " JOIN solidstack.stations s ON s.role = n.station WHERE n.uuid = %s", (note,)).fetchone()
    assert row == ("station_alpha", True)


def test_a_reader_login_may_only_read(lab):
    alpha1 = lab.run_uuid("alpha", 1)
    before = admin_count(lab, "SELECT (SELECT count(*) FROM solidstack.notes) + (SELECT count(*) FROM"
                              " solidstack.run_tags)")
    with LabReader(lab.urls["desk"]) as reader:
        with pytest.raises(LabError, match=r"this login \(reader_desk\) may only read the lab store"):
            reader.add_note("run", alpha1, "XY", "a note")
        with pytest.raises(LabError, match="may only read"):
            reader.add_tag("run", alpha1, "tag")
        assert reader.runs(station="alpha")       # and the connection still reads
    assert admin_count(lab, "SELECT (SELECT count(*) FROM solidstack.notes) + (SELECT count(*) FROM"
                            " solidstack.run_tags)") == before


def test_bad_annotations_are_refused_with_nothing_written(lab):
    before = admin_count(lab, "SELECT count(*) FROM solidstack.notes")
    with LabReader(lab.urls["alpha"]) as reader:
        with pytest.raises(LabError, match="no run 01900000-0000-7000-8000-000000000001 in the lab store"):
            reader.add_note("run", "01900000-0000-7000-8000-000000000001", "AB", "text")
        with pytest.raises(LabError, match="needs some text"):
            reader.add_note("run", lab.run_uuid("beta", 1), "AB", "   ")
        with pytest.raises(LabError, match="'cell'"):
            reader.add_note("cell", lab.run_uuid("beta", 1), "AB", "text")
        with pytest.raises(LabError, match="without commas"):
            reader.add_tag("run", lab.run_uuid("beta", 1), "a,b")
    assert admin_count(lab, "SELECT count(*) FROM solidstack.notes") == before


def test_a_lost_connection_is_opened_again(lab):
    with LabReader(lab.urls["desk"]) as reader:
        assert len(reader.runs()) == 4
        with lab.store.connect() as conn:      # the server ends the reader's session (a restart, a blip)
            ended = conn.execute("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                 " WHERE usename = 'reader_desk') t").fetchone()[0]
        assert ended == 1
        assert len(reader.runs()) == 4


def test_a_server_that_is_not_there_or_a_password_in_the_url(lab, pg_server):
    from pgserver import free_port
    url = f"postgresql://reader_desk@127.0.0.1:{free_port()}/postgres"       # nothing listens there
    with pytest.raises(LabError, match="no PostgreSQL server answers"):
        LabReader(url).runs()
    secret = "s3cret-Pa55"
    with pytest.raises(LabError) as caught:
        LabReader(f"postgresql://reader_desk:{secret}@127.0.0.1:{pg_server.port}/x")
    assert secret not in str(caught.value) and "holds a password" in str(caught.value)
    with pytest.raises(LabError) as caught:
        LabReader(f"host=127.0.0.1 password={secret} dbname=x")
    assert secret not in str(caught.value)


def test_a_database_that_is_no_lab_store(lab, pg_server):
    with pytest.raises(LabError, match="not a SolidStack lab store"):
        LabReader(pg_server.url("postgres")).runs()


def test_every_read_runs_read_only(lab):
    """Even a station's login reads in READ ONLY transactions: a read can change nothing."""
    with LabReader(lab.urls["alpha"]) as reader:
        with pytest.raises(LabError, match="read-only transaction"):
            reader._call(lambda conn: conn.execute("UPDATE solidstack.runs SET message = 'x' WHERE false"))
        assert isinstance(reader._connection(), psycopg.Connection)


def test_samples_read_straight_from_the_lab_are_the_stations(lab):
    from notebook import Notebook
    with LabReader(lab.urls["desk"]) as reader:
        got = {(s, r): reader.samples(lab.run_uuid(s, r)) for s, r in (("alpha", 1), ("beta", 1))}
        with pytest.raises(LabError, match="no run 01900000-0000-7000-8000-0000000000cc in the lab store"):
            reader.samples("01900000-0000-7000-8000-0000000000cc")
    for (station, run), samples in got.items():
        with Notebook(lab.notebooks[station], read_only=True) as nb:
            assert samples.tobytes() == nb.samples(run).tobytes() and samples.size == nb.run(run)["n_samples"]
