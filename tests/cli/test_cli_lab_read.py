"""`runs`, `analyze`, `replay` and `export` with `--lab URL`, run as a user runs them, against
a real lab store holding two stations' real notebooks (tests/lab_read_fixtures.py), read with a
reader's login: the station column and counts, the same figures as the stations' own
notebooks give, exports that read back in pandas (and DuckDB where installed), and bad input
as one line with exit status 2, never a password."""
from __future__ import annotations

import importlib.util
import json
import os
from collections import Counter

import pandas as pd
import pytest

from lab_read_fixtures import main, module_lab


@pytest.fixture(scope="module")
def lab(pg_server, tmp_path_factory):
    yield from module_lab(pg_server, tmp_path_factory.mktemp("stations"))


@pytest.fixture
def env(tmp_path):
    """The session's PGPASSFILE, and a cache folder of this test's own."""
    return {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg-cache")}


def ok(*args, env=None) -> str:
    result = main(*args, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def one_error(result, *parts: str) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("error: ") and "Traceback" not in line, line
    for part in parts:
        assert part in line, line
    return line


def test_runs_lists_both_stations_runs_with_station_and_counts(lab, env):
    rows = json.loads(ok("runs", "--lab", lab.urls["desk"], "--json", env=env))
    assert Counter(r["station"] for r in rows) == {"alpha": 2, "beta": 2}
    assert {"uuid", "station", "status", "n_samples", "local_id", "build_name", "layers", "lots", "n_events",
            "capacity_first_mah", "ce_avg_pct"} <= set(rows[0])
    for station in ("alpha", "beta"):
        local = json.loads(ok("runs", "--db", lab.notebooks[station], "--json", env=env))
        assert {(r["run_id"], r["status"], r["n_samples"], r["n_events"]) for r in local} == {
            (r["local_id"], r["status"], r["n_samples"], r["n_events"]) for r in rows if r["station"] == station}
        assert {r["uuid"] for r in rows if r["station"] == station} == {
            lab.run_uuid(station, r["run_id"]) for r in local}


@pytest.mark.parametrize("criteria, expected", [
    (["--station", "beta"], [("beta", 1), ("beta", 2)]),
    (["--status", "shorted"], [("beta", 1)]),
    (["--station", "alpha", "--template", "sym-agc"], [("alpha", 2)]),
    (["--lot", "L2311", "--operator", "CD"], [("beta", 1)]),
    (["--tag", "lot-check"], [("alpha", 1)]),
    (["--text", "batch S3"], [("alpha", 1)]),
    (["--since", "2000-01-01", "--until", "2000-12-31"], []),
])
def test_runs_filters(lab, env, criteria, expected):
    rows = json.loads(ok("runs", "--lab", lab.urls["desk"], *criteria, "--json", env=env))
    assert sorted((r["station"], r["local_id"]) for r in rows) == expected


def test_runs_table_and_limit(lab, env):
    result = main("runs", "--lab", lab.urls["alpha"], "--limit", "3", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["uuid", "station", "run"] and len(lines) == 4
    assert "the 3 newest matching runs are listed" in result.stderr
    everything = json.loads(ok("runs", "--lab", lab.urls["alpha"], "--json", env=env))
    assert [line.split()[0] for line in lines[1:]] == [r["uuid"] for r in everything[:3]]


def test_local_runs_take_the_same_criteria(lab, env):
    rows = json.loads(ok("runs", "--db", lab.notebooks["alpha"], "--template", "sym-agc", "--json", env=env))
    assert [r["run_id"] for r in rows] == [2]
    one_error(main("runs", "--db", lab.notebooks["alpha"], "--station", "alpha", env=env), "--station", "--lab")


def test_analyze_a_lab_run_gives_the_stations_figures(lab, env, tmp_path):
    uuid = lab.run_uuid("alpha", 1)
    mine = json.loads(ok("analyze", "cycling", "--lab", lab.urls["desk"], "--run", uuid, "--json",
                         "--cache", tmp_path / "cache.sqlite", env=env))
    theirs = json.loads(ok("analyze", "cycling", "--db", lab.notebooks["alpha"], "--run", "1", "--json", env=env))
    assert mine == theirs
    assert len(mine["cycles"]) == 30 and 0.9 < mine["average_ce"] <= 1.0
    # the UUID where a file would go: the same run
    assert json.loads(ok("analyze", "cycling", uuid, "--lab", lab.urls["desk"], "--json",
                         "--cache", tmp_path / "cache.sqlite", env=env)) == theirs
    # the run's UUID names it in its own notebook too
    assert json.loads(ok("analyze", "cycling", "--db", lab.notebooks["alpha"], "--run", uuid, "--json",
                         env=env)) == theirs
    # impedance: the same fit of the same spectrum
    mine = json.loads(ok("analyze", "eis", "--lab", lab.urls["desk"], "--run", uuid.upper(), "--json", env=env))
    theirs = json.loads(ok("analyze", "eis", "--db", lab.notebooks["alpha"], "--run", "1", "--json", env=env))
    assert mine["parameters"] == theirs["parameters"] and mine["stderr"] == theirs["stderr"]
    assert (tmp_path / "xdg-cache" / "SolidStack" / "lab-cache.sqlite").is_file()    # the default cache


def test_replay_headless_of_a_lab_run_finds_the_stations_short(lab, env):
    uuid = lab.run_uuid("beta", 1)
    mine = json.loads(ok("replay", "--headless", "--lab", lab.urls["desk"], uuid, "--json", env=env))
    theirs = json.loads(ok("replay", "--headless", "--db", lab.notebooks["beta"], "--run", "1", "--json", env=env))
    assert mine.pop("run_uuid") == uuid
    assert {k: v for k, v in mine.items() if k != "run_id"} == {k: v for k, v in theirs.items() if k != "run_id"}
    assert [e["kind"] for e in mine["events"]] == ["hard_short"] == [e["kind"] for e in mine["original_events"]]
    text = ok("replay", "--headless", "--lab", lab.urls["desk"], "--run", uuid, "--threshold",
              "hard_short.collapse_fraction=0.001", env=env)
    assert f"run {uuid}: 0 event(s) with these thresholds, 1 logged live" in text


def test_the_replay_window_gets_the_cached_run(lab, tmp_path):
    """The window path (main.py's run_gui) is handed the cache notebook and the run's id there."""
    import cli.replay
    from main import build_parser
    from notebook import Notebook
    uuid = lab.run_uuid("beta", 1)
    args = build_parser().parse_args(["replay", "--lab", lab.urls["desk"], uuid, "--speed", "max",
                                      "--cache", str(tmp_path / "c.sqlite")])
    run_id, speed, overrides = cli.replay.window_request(args)
    assert (args.db, speed, overrides) == (tmp_path / "c.sqlite", "max", {})
    with Notebook(args.db, read_only=True) as nb:
        assert nb.run(run_id)["uuid"] == uuid and nb.run(run_id)["status"] == "shorted"


def test_export_csv_is_the_stations_own_bdf_export(lab, env, tmp_path):
    uuids = [lab.run_uuid("alpha", 1), lab.run_uuid("beta", 1)]
    out = tmp_path / "export"
    text = ok("export", "--lab", lab.urls["desk"], *uuids, "--format", "csv", "--out", out, env=env)
    assert "wrote 2 run(s)" in text
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{u}.csv" for u in uuids] + ["runs.csv"])
    for (station, run), uuid in zip((("alpha", 1), ("beta", 1)), uuids):
        local = tmp_path / f"{station}.csv"
        ok("export", local, "--db", lab.notebooks[station], "--run", run, "--format", "bdf-csv", env=env)
        assert (out / f"{uuid}.csv").read_bytes() == local.read_bytes()
    runs = pd.read_csv(out / "runs.csv")
    assert list(runs["uuid"]) == uuids and list(runs["station"]) == ["alpha", "beta"]
    assert list(runs["file"]) == [f"{u}.csv" for u in uuids]
    again = main("export", "--lab", lab.urls["desk"], *uuids, "--format", "csv", "--out", out, env=env)
    one_error(again, "exists", "--force")


def test_export_parquet_reads_back_in_pandas(lab, env, tmp_path):
    uuids = [lab.run_uuid(s, r) for s, r in (("alpha", 1), ("alpha", 2), ("beta", 1))]
    out = tmp_path / "parquet"
    summary = json.loads(ok("export", "--lab", lab.urls["desk"], *uuids, "--format", "parquet", "--out", out,
                            "--json", env=env))
    assert sorted(p.name for p in out.iterdir()) == ["runs.parquet", "samples.parquet"]
    samples = pd.read_parquet(out / "samples.parquet")
    runs = pd.read_parquet(out / "runs.parquet")
    assert list(runs["uuid"]) == uuids
    counts = samples.groupby("run_uuid", sort=False).size()
    assert counts.to_dict() == dict(zip(runs["uuid"], runs["n_samples"])) == summary["samples"]
    assert set(zip(samples["run_uuid"], samples["station"])) == set(zip(runs["uuid"], runs["station"]))
    # each run's BDF columns are its station's own bdf-csv export, number for number
    local = tmp_path / "beta.csv"
    ok("export", local, "--db", lab.notebooks["beta"], "--run", "1", "--format", "bdf-csv", env=env)
    theirs = pd.read_csv(local)
    mine = samples[samples["run_uuid"] == uuids[2]].reset_index(drop=True)[list(theirs.columns)]
    pd.testing.assert_frame_equal(mine, theirs, check_exact=True)
    assert mine.shape[0] == 34680
    if importlib.util.find_spec("duckdb") is not None:          # not a dependency: checked where installed
        import duckdb
        n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{out / 'samples.parquet'}')").fetchone()[0]
        assert n == len(samples)


def test_export_by_criteria_or_run_and_force(lab, env, tmp_path):
    out = tmp_path / "beta"
    ok("export", "--lab", lab.urls["alpha"], "--station", "beta", "--format", "csv", "--out", out, env=env)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{lab.run_uuid('beta', 1)}.csv", f"{lab.run_uuid('beta', 2)}.csv", "runs.csv"])
    ok("export", "--lab", lab.urls["alpha"], "--run", lab.run_uuid("alpha", 2), "--format", "parquet", "--out", out,
       "--force", env=env)
    assert sorted(p.name for p in out.iterdir()) == ["runs.parquet", "samples.parquet"]      # replaced whole
    assert list(pd.read_parquet(out / "runs.parquet")["uuid"]) == [lab.run_uuid("alpha", 2)]


def test_bad_input_is_one_line_and_exit_2(lab, env, tmp_path, pg_server):
    from pgserver import free_port
    url = lab.urls["desk"]
    missing = "01900000-0000-7000-8000-0000000000bb"
    one_error(main("analyze", "cycling", "--lab", url, "--run", missing, env=env), f"no run {missing}")
    one_error(main("replay", "--headless", "--lab", url, missing, env=env), f"no run {missing}")
    one_error(main("export", "--lab", url, missing, "--format", "csv", "--out", tmp_path / "x", env=env),
              f"no run {missing}")
    assert not (tmp_path / "x").exists()
    one_error(main("analyze", "cycling", "--lab", url, "--run", "0190-zz", env=env), "'0190-zz' is neither a run id")
    one_error(main("export", "--lab", url, "0190-zz", "--format", "csv", "--out", tmp_path / "x", env=env),
              "'0190-zz' is not a run UUID")
    one_error(main("replay", "--headless", "--lab", url, "--run", "3", env=env), "named by its UUID")
    one_error(main("runs", "--lab", f"postgresql://reader_desk@127.0.0.1:{free_port()}/lab", env=env),
              "no PostgreSQL server answers")
    one_error(main("runs", "--lab", "postgresql://reader_desk@127.0.0.1:notaport/lab", env=env))
    one_error(main("runs", "--lab", pg_server.url("postgres"), env=env), "not a SolidStack lab store")
    secret = "Pa55-word-9"
    for args in (["runs", "--lab", f"postgresql://reader_desk:{secret}@127.0.0.1:{pg_server.port}/lab"],
                 ["analyze", "cycling", "--lab", f"host=127.0.0.1 password={secret} dbname=lab", "--run", missing]):
        result = main(*args, env=env)
        line = one_error(result, "password")
        assert secret not in result.stdout + result.stderr, line
    one_error(main("analyze", "cycling", "--lab", url, "--db", lab.notebooks["alpha"], "--run", missing, env=env),
              "give one")
    one_error(main("analyze", "cycling", "--lab", url, env=env), "--lab URL needs --run UUID")
    one_error(main("export", "--lab", url, lab.run_uuid("alpha", 1), "--format", "eis-csv", "--out", tmp_path / "y",
                   env=env), "csv (BDF CSV) or parquet")
    one_error(main("runs", "--lab", url, "link", "--run", "1", "--build", "1", env=env), "only reads the lab store")
    one_error(main("analyze", "cycling", "--db", lab.notebooks["alpha"], "--run", missing, env=env),
              f"no run {missing} in", "--lab URL")
    assert not (tmp_path / "xdg-cache").exists()      # nothing was fetched, no cache made


def test_force_never_replaces_a_folder_that_is_not_an_export(lab, env, tmp_path):
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "thesis.tex").write_text("chapter 1")
    result = main("export", "--lab", lab.urls["desk"], lab.run_uuid("alpha", 2), "--format", "csv", "--out", folder,
                  "--force", env=env)
    one_error(result, "holds files that are not a lab export (thesis.tex)")
    assert [p.name for p in folder.iterdir()] == ["thesis.tex"] and not list(tmp_path.glob(".solidstack-*"))
