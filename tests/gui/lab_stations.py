"""Two stations' notebooks synced into one lab store, for the GUI's Lab scope and Outcomes
tests: each run is written through the station's RunWriter and pushed by lab.sync.sync_once,
as a station's sync worker would.

Station alpha: run 1, a bare Li|LPSCl|Li cell (electrolyte lot LP-118) that completed;
run 2, an Ag-C interlayer cell (LP-120) that shorted 3 h in. Station beta: run 1, a bare
cell (LP-118) that shorted 1 h in. The times to short are the alarms' times, so the
Outcomes view's figures are known by hand: LP-118 has 2 runs, 1 shorted, median 1 h;
LP-120 has 1 run, shorted, 3 h."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import cell
from lab.sync import sync_once
from notebook import Notebook, empty_samples
from notebook.station import set_lab_url
from notebook.writer import RunWriter

# (station, template, electrolyte lot, operator, cell name, status, samples, short alarm at t [s] or None)
RUNS = (("alpha", "sym-bare", "LP-118", "CW", "CW-029", "completed", 3000, None),
        ("alpha", "sym-agc", "LP-120", "CW", "CW-031", "shorted", 12_000, 3 * 3600.0),
        ("beta", "sym-bare", "LP-118", "BE", "BE-007", "shorted", 5000, 3600.0))


def build(template: str, lot: str, operator: str, name: str) -> cell.Stack:
    stack = cell.from_template(template, operator=operator, name=name)
    for index, layer in enumerate(stack.layers):
        if layer.material == "LPSCl":
            stack = stack.edit_layer(index, "lot", lot)
    return stack


def samples(n: int, seed: int) -> np.ndarray:
    """n samples 1 s apart; the voltage of each run its own (seed), so curves differ."""
    s = empty_samples(n)
    s["t"] = np.arange(1, n + 1, dtype=float)
    s["voltage"] = 0.01 * (1 + seed) * np.sin(s["t"] / 600)
    s["current"] = 1.6e-4
    return s


def record(db_path: Path, template, lot, operator, name, status, n, short_at, seed) -> int:
    with Notebook(db_path) as nb:
        build_id = nb.save_build(build(template, lot, operator, name))
    writer = RunWriter(db_path)
    run_id = writer.start_run(build_id, "plate-strip-0.16", '{"cycles": 50}', {"app_version": "test"})
    writer.append(samples(n, seed))
    if short_at is not None:
        writer.event({"t_s": short_at, "sample_index": int(short_at) - 1, "kind": "hard_short", "severity": "alarm",
                      "message": "voltage collapsed to 0.2 mV"})
    writer.finish(status)
    return run_id


@dataclass
class TwoStations:
    """The store, each station's notebook and URL, the reader's URL, and per run its
    station, local id, sample count and lab UUID."""
    store: object
    urls: dict[str, str]
    notebooks: dict[str, Path]
    reader_url: str
    runs: list[dict] = field(default_factory=list)

    def run(self, station: str, local_id: int) -> dict:
        return next(r for r in self.runs if r["station"] == station and r["local_id"] == local_id)


def two_stations(lab_store, folder: Path) -> TwoStations:
    urls = {"alpha": lab_store.add_station("alpha"), "beta": lab_store.add_station("beta")}
    lab = TwoStations(lab_store, urls, {name: folder / f"{name}.sqlite" for name in urls},
                      lab_store.add_reader("desk"))
    for seed, (station, template, lot, operator, name, status, n, short_at) in enumerate(RUNS):
        run_id = record(lab.notebooks[station], template, lot, operator, name, status, n, short_at, seed)
        with Notebook(lab.notebooks[station]) as nb:
            uuid = nb.conn.execute("SELECT uuid FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
        lab.runs.append({"station": station, "local_id": run_id, "n_samples": n, "uuid": uuid, "lot": lot,
                         "status": status, "short_h": None if short_at is None else short_at / 3600.0})
    for station, path in lab.notebooks.items():
        report = sync_once(path, urls[station])
        assert report.behind.records == 0, report
        with Notebook(path) as nb:
            set_lab_url(nb.conn, urls[station])
    return lab
