"""lab/fetch.py against a real lab store holding two stations' real notebooks
(tests/lab_read_fixtures.py): a lab run fetched into the cache notebook is the station's run
(samples to the byte, steps, events, spectra, build, protocol, provenance, UUIDs), the
project's own analyses give the same figures on it as on the station's notebook, a second
fetch writes nothing, a run still growing brings only what is new, and bad input changes
nothing."""
from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lab.connection import LabError
from lab.fetch import CACHE_KIND, default_cache_path, fetch_run, fetch_run_report
from lab_read_fixtures import module_lab
from notebook import Notebook
from notebook.samples import empty_samples

RUNS = [("alpha", 1), ("alpha", 2), ("beta", 1), ("beta", 2)]


@pytest.fixture(scope="module")
def lab(pg_server, tmp_path_factory):
    yield from module_lab(pg_server, tmp_path_factory.mktemp("stations"))


@pytest.fixture(scope="module")
def fetched(lab, tmp_path_factory):
    """Every run fetched into one cache by the reader's login: {(station, id): (path, id there)}."""
    cache = tmp_path_factory.mktemp("cache") / "lab-cache.sqlite"
    return {(station, run): fetch_run(lab.urls["desk"], lab.run_uuid(station, run), cache) for station, run in RUNS}


def without(row: dict, *keys: str) -> dict:
    return {k: v for k, v in row.items() if k not in keys}


@pytest.mark.parametrize("station, run", RUNS)
def test_a_fetched_run_is_the_stations_run(lab, fetched, station, run):
    path, local = fetched[station, run]
    with Notebook(lab.notebooks[station], read_only=True) as original, Notebook(path, read_only=True) as cache:
        a, b = original.run(run), cache.run(local)
        assert b["uuid"] == a["uuid"]
        assert without(b, "id", "build_id", "protocol_id", "source", "protocol_json", "provenance_json") == \
            without(a, "id", "build_id", "protocol_id", "source", "protocol_json", "provenance_json")
        assert json.loads(b["protocol_json"]) == json.loads(a["protocol_json"])
        assert cache.provenance(local) == original.provenance(run)
        assert b["source"] == f"lab: {station}, run #{run}"
        assert cache.protocol(local)["definition"] == original.protocol(run)["definition"]
        # the build, with its layers and lots, under the station's build uuid
        assert cache.build(b["build_id"]).to_dict() == original.build(a["build_id"]).to_dict()
        build_uuid = "SELECT uuid FROM builds WHERE id = ?"
        assert cache.conn.execute(build_uuid, (b["build_id"],)).fetchone()[0] == \
            original.conn.execute(build_uuid, (a["build_id"],)).fetchone()[0]
        layers = "SELECT position, material, thickness_um, areal_mass_mg_cm2, lot FROM build_layers WHERE build_id = ?"
        assert [tuple(r) for r in cache.conn.execute(layers, (b["build_id"],))] == \
            [tuple(r) for r in original.conn.execute(layers, (a["build_id"],))]
        # every sample to the byte (NaN channels included), in chunks as the station stored them
        assert cache.samples(local).tobytes() == original.samples(run).tobytes()
        chunks = "SELECT first_index, n, t_first, t_last, data FROM sample_chunks WHERE run_id = ? ORDER BY first_index"
        assert [tuple(r) for r in cache.conn.execute(chunks, (local,))] == \
            [tuple(r) for r in original.conn.execute(chunks, (run,))]
        assert [without(s, "run_id") for s in cache.steps(local)] == [without(s, "run_id") for s in original.steps(run)]
        assert [without(e, "id", "run_id") for e in cache.events(local)] == \
            [without(e, "id", "run_id") for e in original.events(run)]
        mine, theirs = cache.spectra(local), original.spectra(run)
        spectra = {("alpha", 1): 1, ("alpha", 2): 1, ("beta", 1): 0, ("beta", 2): 2}
        assert len(mine) == len(theirs) == spectra[station, run]
        for s, t in zip(mine, theirs):
            assert without(s, "run_id", "freq_hz", "z") == without(t, "run_id", "freq_hz", "z")
            assert s["freq_hz"].tobytes() == t["freq_hz"].tobytes() and s["z"].tobytes() == t["z"].tobytes()


def test_the_analyses_give_the_same_figures_on_a_fetched_run(lab, fetched):
    """The project's own analysis code (what the Analysis view and `analyze` run) on the
    station's notebook and on the cache: equal capacities, CE, retention, fits and shorts."""
    from gui.analysis_runs import compute, load_run
    path, local = fetched["alpha", 1]
    original, copy = load_run(lab.notebooks["alpha"], 1), load_run(path, local)
    assert copy.basis == original.basis
    a, b = compute("cycling", original, {}), compute("cycling", copy, {})
    pd.testing.assert_frame_equal(b.cycles, a.cycles)
    assert len(a.cycles) == 30 and a.cycles["discharge_mAh"].iloc[0] > 0
    assert (b.average_ce, b.retention) == (a.average_ce, a.retention)
    a, b = compute("eis", original, {}), compute("eis", copy, {})
    assert b.fit.parameters == a.fit.parameters and b.fit.area_specific_ohm_cm2 == a.fit.area_specific_ohm_cm2
    path, local = fetched["beta", 1]
    original, copy = load_run(lab.notebooks["beta"], 1), load_run(path, local)
    a, b = compute("shorts", original, {}), compute("shorts", copy, {})
    assert b.report.to_dict() == a.report.to_dict()
    assert [e["kind"] for e in b.report.events] == ["hard_short"] and b.report.time_to_short_s > 0
    assert [without(e, "id", "run_id") for e in b.logged] == [without(e, "id", "run_id") for e in a.logged]


def test_the_outcome_figures_of_a_fetched_run_are_those_its_station_pushed(lab, fetched):
    """lab/outcomes.py on the cache gives what the station computed on its own notebook and
    pushed into run_outcomes."""
    from lab.outcomes import run_outcomes
    path, local = fetched["beta", 1]
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        mine = without(run_outcomes(conn, local), "computed_utc")
    finally:
        conn.close()
    with lab.store.connect() as pg:
        cur = pg.execute("SELECT * FROM solidstack.run_outcomes WHERE run_uuid = %s", (lab.run_uuid("beta", 1),))
        pushed = dict(zip([c.name for c in cur.description], cur.fetchone()))
    assert mine["t_short_h"] is not None and mine["t_short_h"] > 0
    pushed = without(pushed, "computed_utc", "run_uuid", "station")
    assert mine.keys() == pushed.keys()
    assert {k for k, v in mine.items() if v is None} == {k for k, v in pushed.items() if v is None}
    assert {k: v for k, v in mine.items() if v is not None} == pytest.approx(
        {k: v for k, v in pushed.items() if v is not None}, rel=1e-12)


def test_both_stations_eis_v1_keep_their_own_definitions(lab, fetched):
    """Versions are numbered per station: alpha's and beta's "eis" v1 differ. Each fetched
    run keeps its own definition; the cache holds the first as v1 and the other run has no
    version row (as a run recorded before protocols were versioned)."""
    path, _ = fetched["alpha", 1]
    with Notebook(path, read_only=True) as cache:
        a, b = (cache.protocol(fetched[s, 2][1]) for s in ("alpha", "beta"))
    with Notebook(lab.notebooks["alpha"], read_only=True) as nb:
        alpha = nb.protocol(2)
    with Notebook(lab.notebooks["beta"], read_only=True) as nb:
        beta = nb.protocol(2)
    assert alpha["name"] == beta["name"] == "eis" and alpha["version"] == beta["version"] == 1
    assert alpha["definition"] != beta["definition"]
    assert (a["definition"], b["definition"]) == (alpha["definition"], beta["definition"])
    assert (a["version"], b["version"]) == (1, None)


def file_state(path: Path) -> tuple:
    """The notebook file's bytes, and its -wal file's (missing and empty alike: no frames)."""
    wal = path.with_name(path.name + "-wal")
    return (hashlib.sha256(path.read_bytes()).hexdigest(),
            hashlib.sha256(wal.read_bytes()).hexdigest() if wal.exists() and wal.stat().st_size else None)


def test_a_second_fetch_of_an_unchanged_run_writes_nothing(lab, fetched):
    path, _ = fetched["alpha", 1]
    before = file_state(path)
    for station, run in RUNS:
        report = fetch_run_report(lab.urls["desk"], lab.run_uuid(station, run), path)
        assert not report.changed and report.run_id == fetched[station, run][1]
        assert report.cached_samples == report.lab_samples > 0 and report.behind == 0
    assert file_state(path) == before


def test_the_cache_is_marked_and_its_outbox_empty(lab, fetched):
    """A cache is never synced: its rows are other stations' (see lab/fetch.py)."""
    path, _ = fetched["alpha", 1]
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        assert conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
        assert conn.execute("SELECT value FROM station WHERE key = 'kind'").fetchone()[0] == CACHE_KIND
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 4
    finally:
        conn.close()


def wait_for(db: Path, run_id: int, n: int) -> None:
    """Until the writer has committed `n` samples of the run."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
        try:
            if conn.execute("SELECT n_samples FROM runs WHERE id = ?", (run_id,)).fetchone()[0] == n:
                return
        finally:
            conn.close()
        time.sleep(0.02)
    raise AssertionError(f"the writer did not commit {n} samples")


def samples(start: int, n: int) -> np.ndarray:
    s = empty_samples(n)
    s["t"] = np.arange(start, start + n, dtype=float)
    s["current"] = 1e-4
    s["voltage"] = 3.5 + 1e-4 * s["t"]
    s["step"], s["cycle"] = 0, 1
    return s


def test_a_running_run_brings_only_what_is_new(lab, tmp_path):
    """A third station runs live; the desk fetches while it runs, after more samples and
    an alarm, and after it ended: each fetch adds only the new chunks and rows."""
    import cell
    from lab.sync import sync_once
    from notebook.writer import RunWriter
    url = lab.store.add_station("gamma")
    db, cache = tmp_path / "gamma.sqlite", tmp_path / "cache.sqlite"
    with Notebook(db) as nb:
        build = nb.save_build(cell.from_template("sym-agc"))
    writer = RunWriter(db, commit_interval_s=0.02, chunk_samples=100)
    run = writer.start_run(build, "cc", json.dumps({"title": "cc", "steps": []}), {"app": "test"})
    try:
        writer.append(samples(0, 250))
        wait_for(db, run, 250)
        sync_once(db, url)
        with Notebook(db, read_only=True) as nb:
            uuid = nb.run(run)["uuid"]
        first = fetch_run_report(lab.urls["desk"], uuid, cache)
        assert (first.new_chunks, first.new_samples, first.events) == (3, 250, 0)    # 100 + 100 + 50
        with Notebook(cache, read_only=True) as nb:
            assert nb.run(first.run_id)["status"] == "running"
            assert nb.samples(first.run_id).tobytes() == samples(0, 250).tobytes()
        writer.append(samples(250, 130))
        writer.step({"step": 0, "cycle": 1, "label": "cc", "current_a": 1e-4, "t_start": 0.0, "t_end": 379.0,
                     "n_samples": 380, "charge_mah": 1e-4 * 379 / 3.6, "v_mean": 3.52, "v_end": 3.54})
        writer.event({"t_s": 300.0, "sample_index": 300, "kind": "soft_short", "severity": "alarm",
                      "message": "test alarm", "evidence": {"r_ohm": 12.5}})
        wait_for(db, run, 380)
        sync_once(db, url)
        second = fetch_run_report(lab.urls["desk"], uuid, cache)
        assert second.run_id == first.run_id
        assert (second.new_chunks, second.new_samples, second.steps, second.events) == (2, 130, 1, 1)   # 100 + 30
    finally:
        writer.finish("completed")
    sync_once(db, url)
    third = fetch_run_report(lab.urls["desk"], uuid, cache)
    assert (third.new_chunks, third.steps, third.events, third.run_row) == (0, 0, 0, True)
    with Notebook(cache, read_only=True) as nb, Notebook(db, read_only=True) as original:
        assert nb.run(third.run_id)["status"] == "completed"
        assert nb.run(third.run_id)["ended_utc"] == original.run(run)["ended_utc"]
        assert nb.samples(third.run_id).tobytes() == original.samples(run).tobytes()
        assert [without(e, "id", "run_id") for e in nb.events(third.run_id)] == \
            [without(e, "id", "run_id") for e in original.events(run)]
    assert not fetch_run_report(lab.urls["desk"], uuid, cache).changed

    # The lab missing a chunk (its station has not pushed it yet): a fetch takes the samples up
    # to the gap, says how many are behind, and the cached run reads without complaint.
    with lab.store.connect() as conn:
        conn.execute("DELETE FROM solidstack.sample_chunks WHERE run_uuid = %s AND first_index = 200", (uuid,))
    partial = fetch_run_report(lab.urls["desk"], uuid, tmp_path / "other-cache.sqlite")
    assert (partial.cached_samples, partial.lab_samples, partial.behind) == (200, 380, 180)
    with Notebook(partial.path, read_only=True) as nb:
        assert nb.samples(partial.run_id).tobytes() == samples(0, 200).tobytes()


def test_the_default_cache_is_in_the_users_cache_folder(lab, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    assert default_cache_path() == tmp_path / "xdg-cache" / "SolidStack" / "lab-cache.sqlite"
    path, local = fetch_run(lab.urls["beta"], lab.run_uuid("alpha", 2))
    assert path == default_cache_path() and path.is_file()
    with Notebook(path, read_only=True) as nb:
        assert nb.run(local)["uuid"] == lab.run_uuid("alpha", 2)


def test_bad_uuids_and_servers_change_nothing(lab, tmp_path, pg_server):
    from pgserver import free_port
    cache = tmp_path / "cache.sqlite"
    with pytest.raises(LabError, match="'0190-nope' is not a run UUID"):
        fetch_run(lab.urls["desk"], "0190-nope", cache)
    missing = "01900000-0000-7000-8000-0000000000aa"
    with pytest.raises(LabError, match=f"no run {missing} in the lab store at reader_desk@127.0.0.1"):
        fetch_run(lab.urls["desk"], missing, cache)
    with pytest.raises(LabError, match="no PostgreSQL server answers"):
        fetch_run(f"postgresql://reader_desk@127.0.0.1:{free_port()}/x", lab.run_uuid("alpha", 1), cache)
    with pytest.raises(LabError) as caught:
        fetch_run(f"postgresql://reader_desk:Secret-77@127.0.0.1:{pg_server.port}/x", lab.run_uuid("alpha", 1), cache)
    assert "Secret-77" not in str(caught.value)
    assert not cache.exists()


def test_a_stations_own_notebook_is_never_used_as_the_cache(lab, tmp_path):
    station = tmp_path / "alpha.sqlite"
    station.write_bytes(lab.notebooks["alpha"].read_bytes())
    before = file_state(station)
    with pytest.raises(LabError, match="is a station's notebook, not a lab cache"):
        fetch_run(lab.urls["desk"], lab.run_uuid("beta", 1), station)
    assert file_state(station) == before
    other = tmp_path / "notes.txt"
    other.write_text("not a notebook")
    with pytest.raises(LabError, match="cannot be used: .* is not a SolidStack notebook"):
        fetch_run(lab.urls["desk"], lab.run_uuid("beta", 1), other)
    assert other.read_text() == "not a notebook"
