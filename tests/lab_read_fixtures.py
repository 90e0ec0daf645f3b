"""Two stations' real notebooks for the tests that read the lab (tests/lab/test_query.py,
test_fetch.py, tests/cli/test_cli_lab_read.py): runs of the simulated bench made by the run
engine as `main.py run` makes them (acquisition.session.prepare_run), once per test session;
each test gets its own copies (a sync writes to the notebook it drains) and pushes them into
its own lab store with the real sync (lab.sync.sync_once), each as its own station's login.

- alpha: run 1, a full cell (full-agc) cycled 30 times at C/3 with an impedance sweep after
  cycle 25 (an eis_range_clipped notice); run 2, a symmetric cell's impedance sweep at
  rest (no current). Run 1 carries a note and the tag "lot-check"; its build the tag "agc".
- beta: run 1, an asymmetric Li | Ag-C | LPSCl | Li cell built by operator "CD" from LPSCl
  lot L2311 and Ag-C lot S3, plated until it shorts (a hard_short alarm, status shorted);
  run 2, two impedance sweeps of a sym-bare cell: the preset "eis" again but with other
  settings, so both stations have an "eis" protocol version 1 that differ.
"""
from __future__ import annotations

import atexit
import functools
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RUNS = {     # station -> (template, preset, its settings, build changes)
    "alpha": [("full-agc", "cycling-c3-500-eis", {"cycles": 30}, {}),
              ("sym-agc", "eis", {"cycles": 1}, {})],
    "beta": [("asym-agc", "plate-strip-0.16", {}, {"operator": "CD", "name": "B-07",
                                                 "lots": {"LPSCl": "L2311", "Ag-C": "S3"}}),
             ("sym-bare", "eis", {"cycles": 2}, {})],
}


def main(*args, env=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env)


@functools.lru_cache(maxsize=None)
def _templates() -> dict[str, Path]:
    folder = Path(tempfile.mkdtemp(prefix="solidstack-lab-stations-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    out = {}
    for station, runs in RUNS.items():
        db = folder / f"{station}.sqlite"
        for template, protocol, settings, changes in runs:
            _run(db, template, protocol, settings, changes)
        out[station] = db
    from notebook import Notebook
    with Notebook(out["alpha"]) as nb:
        nb.add_note("the Ag-C sheet from batch S3", run_id=1, author="AB")
        nb.add_tag("lot-check", run_id=1)
        nb.add_tag("agc", build_id=1)
    return out


def _run(db: Path, template: str, protocol: str, settings: dict, changes: dict) -> None:
    """One run of the simulated bench into the notebook at `db`, as `main.py run` makes it."""
    from dataclasses import replace

    import cell
    from acquisition.protocol import preset
    from acquisition.session import prepare_run
    from notebook import Notebook
    stack = cell.from_template(template)
    changes = dict(changes)
    lots = changes.pop("lots", {})
    if lots:
        changes["layers"] = [replace(layer, lot=lots.get(stack.label(layer), layer.lot)) for layer in stack.layers]
    stack = stack.with_changes(**changes)
    with Notebook(db) as nb:
        session = prepare_run(nb, stack, preset(protocol, **settings), speed="max", seed=1)
        try:
            status = session.engine.run()
        finally:
            session.close()
    assert status in ("completed", "shorted"), session.engine.message


def copy_notebooks(folder: Path) -> dict[str, Path]:
    """Fresh copies of the stations' notebooks in `folder` (made once per session)."""
    out = {}
    for station, template in _templates().items():
        out[station] = folder / template.name
        shutil.copyfile(template, out[station])      # closed cleanly: no -wal file beside it
    return out


@dataclass
class SyncedLab:
    """A lab store holding both stations' notebooks, pushed by the real sync."""
    store: object                   # tests/pgserver.py LabStore
    urls: dict[str, str]            # alpha, beta (stations), desk (a reader): password-free URLs
    notebooks: dict[str, Path]      # alpha, beta

    def run_uuid(self, station: str, run_id: int) -> str:
        import sqlite3
        conn = sqlite3.connect(f"{self.notebooks[station].as_uri()}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT uuid FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
        finally:
            conn.close()


def module_lab(pg_server, folder: Path):
    """A SyncedLab in a database of its own, for a whole test module (a sync of both
    stations takes seconds: their ended runs' outcome figures are computed then); the
    database and its roles are dropped at the end. A module using it must not also use the
    per-test `lab_store`, whose teardown drops every role the server holds."""
    from lab.connection import connect
    from lab.schema import migrate
    from pgserver import LabStore, PgDatabase
    from psycopg import sql
    name = f"reader_{os.getpid()}_{next(_numbers)}"
    with pg_server.admin_connect() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    try:
        store = LabStore(PgDatabase(pg_server, name))
        conn = connect(store.url)
        try:
            migrate(conn)
        finally:
            conn.close()
        yield synced_lab(store, folder)
    finally:
        pg_server.reset(name)


_numbers = itertools.count(1)


def synced_lab(lab_store, folder: Path) -> SyncedLab:
    from lab.sync import sync_once
    notebooks = copy_notebooks(folder)
    urls = {"alpha": lab_store.add_station("alpha"), "beta": lab_store.add_station("beta"),
            "desk": lab_store.add_reader("desk")}
    for station, db in notebooks.items():
        report = sync_once(db, urls[station])
        assert not report.behind.records, json.dumps(report.as_dict(), default=str)
    return SyncedLab(lab_store, urls, notebooks)
