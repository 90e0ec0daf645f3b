"""LabReader.runs() (lab/query.py), which picks runs from the base tables before it reads the
lab_runs view, checked against the plain reading of its criteria: the same test applied to
each lab_runs row (and the notes), written here as SQL over the view. A hand-made store holds
the awkward cases: a station role with no stations row, a station named like another's role,
runs with no build, a build with no layers, lots holding LIKE's wildcards, notes on runs and
on builds, removed tags, runs started at the same instant, uuid prefixes."""
from __future__ import annotations

import pytest

from lab.query import LabReader
from lab_rows import new_uuid
from notebook.search import _like

LAYERS = {     # build name -> [(material, lot)], bottom to top
    "B-01": [("Li", ""), ("LPSCl", "E07"), ("AgC", "S3"), ("Li", "")],
    "B-02": [("Li", ""), ("LPSCl", "e17"), ("Li", "")],
    "B-03": [("Li", ""), ("LPSCl", "E0_7"), ("AgC", "S30"), ("NMC", "E07x")],
    "B-04": [("Li", ""), ("LPSCl", "50%E"), ("Li", "")],
    "B-05": [],
}


def reference(conn, *, station=None, limit=1000, **c) -> list[str]:
    """The runs that match, newest first, by testing each lab_runs row as the criteria say."""
    where, params = [], []
    for column in ("status", "operator", "template"):
        if c.get(column):
            where.append(f"v.{column} = %s")
            params.append(c[column])
    if station:
        where.append("(v.station = %s OR v.station_role::text = %s)")
        params += [station, station]
    if c.get("material") or c.get("lot"):
        layer = ["l.build_uuid = v.build_uuid"]
        if c.get("material"):
            layer.append("l.material = %s")
            params.append(c["material"])
        if c.get("lot"):
            layer.append("l.lot ILIKE %s")
            params.append(_like(c["lot"]))
        where.append(f"EXISTS (SELECT 1 FROM solidstack.build_layers l WHERE {' AND '.join(layer)})")
    if c.get("tag"):
        where.append("(EXISTS (SELECT 1 FROM solidstack.run_tags t WHERE t.run_uuid = v.uuid AND t.tag = %s"
                     " AND t.removed_utc IS NULL) OR EXISTS (SELECT 1 FROM solidstack.build_tags t"
                     " WHERE t.build_uuid = v.build_uuid AND t.tag = %s AND t.removed_utc IS NULL))")
        params += [c["tag"], c["tag"]]
    if c.get("text"):
        p = _like(c["text"])
        where.append("(v.message ILIKE %s OR v.build_name ILIKE %s OR v.uuid::text LIKE %s"
                     " OR EXISTS (SELECT 1 FROM solidstack.builds b WHERE b.uuid = v.build_uuid AND b.notes ILIKE %s)"
                     " OR EXISTS (SELECT 1 FROM solidstack.notes n WHERE (n.run_uuid = v.uuid"
                     " OR n.build_uuid = v.build_uuid) AND n.text ILIKE %s))")
        params += [p, p, c["text"].strip().lower() + "%", p, p]
    sql = "SELECT v.uuid::text FROM solidstack.lab_runs v"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY v.started_utc DESC, v.uuid DESC"
    if limit is not None:
        sql += " LIMIT %s"
        params.append(limit)
    return [r[0] for r in conn.execute(sql, params)]


@pytest.fixture
def store(lab_store):
    """(admin connection, desk reader URL, {name: run uuid}) of the hand-made store."""
    lab_store.add_station("alpha")
    lab_store.add_station("beta")
    desk = lab_store.add_reader("desk")
    conn = lab_store.connect()
    # a stations row whose name is another station's role; runs of a role that has no row
    conn.execute("INSERT INTO solidstack.stations (role, name, created_utc, kind)"
                 " VALUES ('station_odd', 'station_alpha', '2026-01-01T00:00:00Z', 'station')")
    builds = {}
    for k, (name, layers) in enumerate(LAYERS.items()):
        uuid = new_uuid()
        builds[name] = uuid
        conn.execute("INSERT INTO solidstack.builds (uuid, station, created_utc, name, template, operator, notes)"
                     " VALUES (%s, 'station_alpha', '2026-01-01T00:00:00Z', %s, %s, %s, %s)",
                     (uuid, name, ("sym-agc", "full-agc")[k % 2], ("AB", "CD")[k % 2],
                      f"pressed by hand, sheet Q{k:03d}"))
        for position, (material, lot) in enumerate(layers):
            conn.execute("INSERT INTO solidstack.build_layers (build_uuid, position, material, thickness_um, lot,"
                         " station) VALUES (%s, %s, %s, 10, %s, 'station_alpha')", (uuid, position, material, lot))
    runs = {}
    plan = [   # name, station role, build, status, started (two at the same instant), message
        ("r1", "station_alpha", "B-01", "completed", "2026-01-02T10:00:00.000Z", "first light"),
        ("r2", "station_beta", "B-01", "shorted", "2026-01-02T11:00:00.000Z", "hard short at 3 h"),
        ("r3", "station_beta", "B-02", "completed", "2026-01-02T11:00:00.000Z", "ok"),
        ("r4", "station_odd", "B-03", "aborted", "2026-01-03T09:00:00.000Z", "stopped: 100% SOC"),
        ("r5", "station_gone", "B-04", "shorted", "2026-01-03T10:00:00.000Z", ""),
        ("r6", "station_gone", None, "failed", "2026-01-04T10:00:00.000Z", "no build"),
        ("r7", "station_alpha", "B-05", "completed", "2026-01-05T10:00:00.000Z", "bare"),
        ("r8", "station_beta", "B-03", "completed", "2026-01-06T10:00:00.000Z", "E07 batch"),
    ]
    for name, role, build, status, started, message in plan:
        uuid = new_uuid()
        runs[name] = uuid
        conn.execute("INSERT INTO solidstack.runs (uuid, station, local_id, build_uuid, protocol, status, started_utc,"
                     " message) VALUES (%s, %s, 1, %s, 'cc', %s, %s, %s)",
                     (uuid, role, builds.get(build), status, started, message))
    for run, build, text in ((runs["r3"], None, "Batch S3 looked wet"), (None, builds["B-04"], "glovebox O2 spike")):
        conn.execute("INSERT INTO solidstack.notes (uuid, build_uuid, run_uuid, created_utc, text)"
                     " VALUES (%s, %s, %s, '2026-01-07T00:00:00Z', %s)", (new_uuid(), build, run, text))
    for table, key, target, tag, removed in (("run_tags", "run_uuid", runs["r1"], "keep", None),
                                             ("run_tags", "run_uuid", runs["r2"], "keep", "2026-01-08T00:00:00Z"),
                                             ("build_tags", "build_uuid", builds["B-02"], "keep", None)):
        conn.execute(f"INSERT INTO solidstack.{table} (uuid, {key}, tag, created_utc, removed_utc)"
                     " VALUES (%s, %s, %s, '2026-01-07T00:00:00Z', %s)", (new_uuid(), target, tag, removed))
    try:
        yield conn, desk, runs
    finally:
        conn.close()


CRITERIA = [
    {}, {"status": "shorted"}, {"operator": "CD"}, {"template": "sym-agc", "status": "completed"},
    {"station": "alpha"}, {"station": "beta"}, {"station": "station_beta"},
    {"station": "station_alpha"},               # alpha's role, and the station named so
    {"station": "station_gone"}, {"station": "gone"}, {"station": "x" * 70}, {"station": "station_%"},
    {"lot": "e07"}, {"lot": "E0_7"}, {"lot": "0_"}, {"lot": "%"}, {"lot": "50%"}, {"lot": "7"},
    {"material": "AgC"}, {"material": "AgC", "lot": "s3"}, {"material": "LPSCl", "lot": "E07"},
    {"material": "NMC", "lot": "e07"}, {"material": "Li", "lot": "E07"}, {"material": "Nope", "lot": "1"},
    {"lot": "E07", "station": "beta", "status": "completed"},
    {"tag": "keep"}, {"tag": "gone"},
    {"text": "SHORT"}, {"text": "b-0"}, {"text": "q003"}, {"text": "s3"}, {"text": "o2 spike"}, {"text": "100%"},
    {"text": "_"}, {"text": " "}, {"text": "e07"}, {"text": "nothing like it"}, {"text": "-"},
    {"text": "E07", "status": "completed", "lot": "e0"},
]


@pytest.mark.parametrize("limit", [1000, 2, None])
def test_every_search_finds_what_the_rows_themselves_say(store, limit):
    conn, desk, runs = store
    with LabReader(desk) as reader:
        for criteria in CRITERIA:
            got = [r["uuid"] for r in reader.runs(limit=limit, **criteria)]
            assert got == reference(conn, limit=limit, **criteria), criteria
        assert len(reader.runs(limit=limit)) == min(len(runs), limit or len(runs))


def test_a_run_is_found_by_the_start_of_its_uuid_in_any_case(store):
    conn, desk, runs = store
    with LabReader(desk) as reader:
        for uuid in runs.values():
            for text in (uuid[:1], uuid[:6], uuid[:9].upper(), f"  {uuid[:20]} ", uuid, uuid[:8] + "_",
                         uuid[:3] + "_" + uuid[4:10], uuid[:5] + "%"):
                got = [r["uuid"] for r in reader.runs(text=text)]
                assert got == reference(conn, text=text), text
                assert uuid in got, text
        for text in (runs["r1"] + "0", "zz", runs["r1"][:8] + "x"):          # a uuid never holds these
            assert [r["uuid"] for r in reader.runs(text=text)] == reference(conn, text=text) == []


def test_rows_hold_the_views_values_as_text_and_floats(store):
    conn, desk, runs = store
    conn.execute("INSERT INTO solidstack.run_outcomes (run_uuid, station, r_int_ohm_cm2, retention_pct, n_cycles)"
                 " VALUES (%s, 'station_alpha', 12.5, 'NaN', 3)", (runs["r1"],))
    with LabReader(desk) as reader:
        rows = {r["uuid"]: r for r in reader.runs()}
    names = [d.name for d in conn.execute("SELECT * FROM solidstack.lab_runs LIMIT 0").description]
    for values in conn.execute("SELECT * FROM solidstack.lab_runs"):
        want = dict(zip(names, values))
        got = rows[str(want["uuid"])]
        assert set(got) == set(want)
        for key, value in want.items():
            if value is None or isinstance(value, (str, int, bool)):
                assert got[key] == value, key
            elif key.endswith("uuid"):
                assert got[key] == str(value), key
            else:
                assert isinstance(got[key], float) and (got[key] == float(value) or value != value), key
    assert rows[runs["r1"]]["r_int_ohm_cm2"] == 12.5 and rows[runs["r1"]]["n_cycles"] == 3
    assert rows[runs["r1"]]["lots"] == "LPSCl:E07, AgC:S3" and rows[runs["r6"]]["build_uuid"] is None
