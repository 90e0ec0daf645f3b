"""`main.py lab sync` and `lab status` as a station's user runs them, against the session's real
PostgreSQL server (passwords in the session's .pgpass): what they push and print (text and
--json), that the URL is remembered without a password, and that a bad URL, a server that does
not answer or a URL holding a password exits 2 with one line, changes nothing on either side
and never prints a password."""
from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from conftest import ROOT, table_counts
from pgserver import free_port

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from sync_helpers import assert_lab_holds_notebook, lab_counts, write_run  # noqa: E402


def main(*args, timeout=120):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def no_password(result, server, *extra) -> None:
    text = result.stdout + result.stderr
    for password in [*server.passwords(), *extra]:
        assert password not in text
    assert "Traceback" not in text


def refused(result, server, message: str, *extra) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and re.search(message, lines[0]), result.stderr
    no_password(result, server, *extra)
    return lines[0]


def remembered_url(path: Path) -> str | None:
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT value FROM station WHERE key = 'lab_url'").fetchone()
        return row[0] if row else None
    finally:
        conn.close()


@pytest.fixture
def station(lab_store, tmp_path):
    url = lab_store.add_station("alpha")
    path = tmp_path / "nb.sqlite"
    write_run(path, 5000, chunk=1000, spectra=1)
    with psycopg.connect(lab_store.url, autocommit=True) as admin:
        yield lab_store, url, path, admin


def test_sync_pushes_prints_what_it_did_and_remembers_the_url(station):
    store, url, path, lab = station
    status = main("lab", "status", "--db", path, "--json")
    assert status.returncode == 0, status.stderr
    waiting = json.loads(status.stdout)
    assert waiting["url"] is None and waiting["last_sync_utc"] is None and waiting["text"] == "lab: not set up"
    assert waiting["behind"]["runs"] == 1 and waiting["behind"]["samples"] == 5000 and waiting["behind"]["records"] > 5

    result = main("lab", "sync", "--db", path, "--url", url, "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"url", "station", "pushed", "batches", "behind", "seconds", "warnings", "remembered_url",
                        "text"}
    assert out["url"] == url and out["station"] == "alpha" and out["remembered_url"] is True
    assert out["pushed"]["runs"] == 1 and out["pushed"]["samples"] == 5000 and out["pushed"]["chunks"] == 5
    assert out["pushed"]["spectra"] == 1 and out["pushed"]["events"] == 1 and out["pushed"]["builds"] == 1
    assert out["behind"] == {"runs": 0, "samples": 0, "records": 0} and out["text"] == "lab: synced"
    assert remembered_url(path) == url
    assert_lab_holds_notebook(lab, path)
    no_password(result, store.db.server)

    # later: the remembered URL, nothing new; text output
    again = main("lab", "sync", "--db", path)
    assert again.returncode == 0, again.stderr
    lines = again.stdout.splitlines()
    assert lines[0].startswith("pushed to postgresql://station_alpha@127.0.0.1:") and "nothing new" in lines[0]
    assert lines[1] == "lab: synced"
    status = main("lab", "status", "--db", path)
    assert status.returncode == 0, status.stderr
    assert status.stdout.splitlines()[:2] == ["lab: synced", f"lab store: {url}"]
    assert "waiting: 0 runs, 0 samples, 0 outbox records" in status.stdout
    no_password(status, store.db.server)


def test_status_counts_what_a_new_run_left_waiting(station):
    store, url, path, lab = station
    assert main("lab", "sync", "--db", path, "--url", url).returncode == 0
    write_run(path, 2500, chunk=1000, spectra=0)
    result = main("lab", "status", "--db", path, "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["behind"]["runs"] == 1 and out["behind"]["samples"] == 2500
    assert out["text"] == "lab: 1 run / 2,500 samples behind" and out["url"] == url and out["last_sync_utc"]
    text = main("lab", "sync", "--db", path)
    assert text.returncode == 0 and "2500 samples" in text.stdout.splitlines()[0]
    assert lab_counts(lab)["runs"] == 2


def _unchanged(path, lab, run):
    """Run `run()` (a refused command) and check that neither side changed."""
    before_local, before_lab = table_counts(path), lab_counts(lab)
    url_before = remembered_url(path)
    result = run()
    assert table_counts(path) == before_local and lab_counts(lab) == before_lab
    assert remembered_url(path) == url_before
    return result


def test_a_url_with_a_password_is_refused_and_never_printed(station):
    store, url, path, lab = station
    secret = "s3cr3t-Pa55"
    with_password = url.replace("station_alpha@", f"station_alpha:{secret}@")
    result = _unchanged(path, lab, lambda: main("lab", "sync", "--db", path, "--url", with_password))
    refused(result, store.db.server, "holds a password.*pgpass", secret)
    kv = f"host=127.0.0.1 port={store.db.server.port} dbname={store.db.name} user=station_alpha password={secret}"
    result = _unchanged(path, lab, lambda: main("lab", "sync", "--db", path, "--url", kv, "--json"))
    refused(result, store.db.server, "holds a password", secret)


def test_a_server_that_does_not_answer_or_a_bad_url_exits_2_and_changes_nothing(station):
    store, url, path, lab = station
    down = f"postgresql://station_alpha@127.0.0.1:{free_port()}/{store.db.name}"
    result = _unchanged(path, lab, lambda: main("lab", "sync", "--db", path, "--url", down))
    refused(result, store.db.server, "no PostgreSQL server answers at station_alpha@127.0.0.1:.*connection refused")
    result = _unchanged(path, lab, lambda: main("lab", "sync", "--db", path, "--url", "postgresql://a@b:notaport/x"))
    refused(result, store.db.server, "lab URL|not a PostgreSQL URL|bad setting|port")
    result = _unchanged(path, lab, lambda: main("lab", "sync", "--db", path, "--url", "nonsense=1"))
    refused(result, store.db.server, "unknown setting 'nonsense'")
    unknown = url.replace("station_alpha@", "station_nobody@")
    result = _unchanged(path, lab, lambda: main("lab", "sync", "--db", path, "--url", unknown))
    refused(result, store.db.server, "station_nobody")
    reader = store.add_reader("desk")
    result = _unchanged(path, lab, lambda: main("lab", "sync", "--db", path, "--url", reader))
    refused(result, store.db.server, "is a reader of the lab, which cannot sync")


def test_no_url_anywhere_or_no_notebook_is_a_clear_error(station, tmp_path):
    store, url, path, lab = station
    result = _unchanged(path, lab, lambda: main("lab", "sync", "--db", path))
    refused(result, store.db.server, "no lab URL: give --url")
    missing = tmp_path / "none.sqlite"
    refused(main("lab", "sync", "--db", missing, "--url", url), store.db.server, "no notebook at")
    refused(main("lab", "status", "--db", missing), store.db.server, "no notebook at")
    assert not missing.exists()
    refused(main("lab", "sync", "--db", path, "--read-only"), store.db.server, "--read-only")
