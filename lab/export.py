"""A selection of lab runs written out for pandas, DuckDB or a spreadsheet, into a folder:

- `csv`: one BDF CSV per run, named by its UUID (`<uuid>.csv`), and `runs.csv`, the
  selection's `lab_runs` rows with the file each run went to;
- `parquet`: `samples.parquet`, every run's samples in one table (`run_uuid` and `station`
  columns, then the BDF columns; one row group per run), and `runs.parquet`, the `lab_runs`
  rows.

The per-run BDF frame is notebook/export.py's, read from the runs fetched into the cache
notebook (lab/fetch.py), so a lab export has exactly the columns and numbers a station's own
export has. In `samples.parquet` every run has every BDF column: a channel a run did not
measure (reference electrode, temperature, pressure) is NaN there.

The folder is written beside its final place and renamed into it when complete, so an
interrupted export never leaves a half-written folder under the name asked for."""
from __future__ import annotations

import importlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lab.connection import LabError
from lab.fetch import fetch_run_report
from lab.query import LabReader, check_uuid
from notebook.errors import NotebookError
from notebook.export import REFERENCE_LABEL, bdf_frame
from notebook.store import Notebook

FORMATS = ("csv", "parquet")
BDF_COLUMNS = ("Test Time / s", "Voltage / V", "Current / A", "Unix Time / s", "Cycle Count / 1", "Step Count / 1",
               REFERENCE_LABEL, "Ambient Temperature / degC", "Applied Pressure / Pa")


@dataclass
class LabExport:
    """What an export wrote: the folder, its files, and per run its sample count."""
    folder: Path
    format: str
    files: list[Path] = field(default_factory=list)
    samples: dict[str, int] = field(default_factory=dict)     # run uuid -> rows written
    behind: dict[str, int] = field(default_factory=dict)      # run uuid -> samples not in the lab yet

    def to_dict(self) -> dict:
        return {"folder": str(self.folder), "format": self.format, "files": [str(f) for f in self.files],
                "runs": len(self.samples), "samples": self.samples, "behind": self.behind}


def select_runs(reader: LabReader, uuids: list[str] | None = None, **criteria) -> list[dict]:
    """The `lab_runs` rows of the UUIDs given (in that order; LabError naming one the lab
    does not hold), or of every run matching the criteria (LabReader.runs)."""
    if uuids:
        keys = list(dict.fromkeys(check_uuid(u) for u in uuids))
        rows = {row["uuid"]: row for row in reader.runs(uuids=keys, limit=None, **criteria)}
        missing = [k for k in keys if k not in rows]
        if missing:
            raise LabError(f"no run {', '.join(missing)} in the lab store at {reader.where}")
        return [rows[k] for k in keys]
    return reader.runs(limit=None, **criteria)


def export_runs(url: str, fmt: str, out: str | Path, uuids: list[str] | None = None, *,
                cache_path: str | Path | None = None, overwrite: bool = False, **criteria) -> LabExport:
    """Export lab runs (`uuids`, or those matching `criteria`) as `fmt` ('csv' or 'parquet')
    into the folder `out`, which must not exist unless `overwrite`."""
    if fmt not in FORMATS:
        raise LabError(f"a lab export is written as {' or '.join(FORMATS)}, not {fmt!r}")
    out = Path(out)
    if out.exists() and not overwrite:
        raise LabError(f"{out} exists; choose another name or overwrite it (--force)")
    if out.exists() and not out.is_dir():
        raise LabError(f"{out} is a file; a lab export is a folder")
    if out.exists():
        # overwriting replaces the folder whole: only one that holds nothing but an export
        foreign = sorted(p.name for p in out.iterdir() if not _exported_name(p.name))
        if foreign:
            raise LabError(f"{out} holds files that are not a lab export ({', '.join(foreign[:3])}"
                           f"{', ...' if len(foreign) > 3 else ''}): choose a new folder")
    if not out.parent.is_dir():
        raise LabError(f"cannot write {out}: folder {out.parent} does not exist")
    if fmt == "parquet":
        pq = _parquet()
    with LabReader(url) as reader:
        rows = select_runs(reader, uuids, **criteria)
    if not rows:
        raise LabError("no lab run matches: nothing to export")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=".solidstack-export-", dir=out.parent))
    except OSError as exc:
        raise LabError(f"cannot write {out}: {exc.strerror or exc}") from None
    result = LabExport(out, fmt)
    try:
        if fmt == "csv":
            _write_csv(url, rows, tmp, cache_path, result)
        else:
            _write_parquet(url, rows, tmp, cache_path, result, pq)
        os.chmod(tmp, 0o777 & ~_umask())        # mkdtemp makes 0700; the folder gets a new folder's mode
        _move_into_place(tmp, out)
    except OSError as exc:
        raise LabError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    result.files = [out / f.name for f in result.files]
    return result


def _exported_name(name: str) -> bool:
    """Whether a file name is one a lab export writes."""
    from notebook.ids import is_uuid
    return name in ("runs.csv", "runs.parquet", "samples.parquet") or (name.endswith(".csv") and is_uuid(name[:-4]))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _move_into_place(tmp: Path, out: Path) -> None:
    """Rename the finished folder to `out`; an `out` being overwritten is removed only then."""
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
        try:
            os.replace(tmp, out)
        except OSError:
            os.replace(old, out)        # put the old export back: nothing changed
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


def _parquet():
    try:
        return importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise LabError("Parquet export needs pyarrow, an optional extra: pip install -r requirements-parquet.txt "
                       "(or export as csv)") from None


def _frame(url: str, row: dict, cache_path) -> tuple[pd.DataFrame, int]:
    """The run's BDF frame, fetched through the cache; and the samples not in the lab yet."""
    report = fetch_run_report(url, row["uuid"], cache_path)
    try:
        with Notebook(report.path, read_only=True) as nb:
            return bdf_frame(nb, report.run_id), report.behind
    except NotebookError as exc:
        raise LabError(f"run {row['uuid']} could not be read from the lab cache: {exc}") from None


def _runs_frame(rows: list[dict], files: dict[str, str] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if files is not None:
        frame.insert(frame.columns.get_loc("uuid") + 1, "file", [files[r["uuid"]] for r in rows])
    return frame


def _write_csv(url: str, rows: list[dict], folder: Path, cache_path, result: LabExport) -> None:
    files = {}
    for row in rows:
        frame, behind = _frame(url, row, cache_path)
        name = f"{row['uuid']}.csv"
        frame.to_csv(folder / name, index=False)
        files[row["uuid"]] = name
        result.files.append(folder / name)
        result.samples[row["uuid"]] = len(frame)
        if behind:
            result.behind[row["uuid"]] = behind
    _runs_frame(rows, files).to_csv(folder / "runs.csv", index=False)
    result.files.append(folder / "runs.csv")


def _write_parquet(url: str, rows: list[dict], folder: Path, cache_path, result: LabExport, pq) -> None:
    pa = importlib.import_module("pyarrow")
    schema = pa.schema([("run_uuid", pa.string()), ("station", pa.string())]
                       + [(name, pa.int64() if name in ("Cycle Count / 1", "Step Count / 1") else pa.float64())
                          for name in BDF_COLUMNS])
    path = folder / "samples.parquet"
    with pq.ParquetWriter(path, schema) as writer:
        for row in rows:
            frame, behind = _frame(url, row, cache_path)
            columns = {"run_uuid": [row["uuid"]] * len(frame), "station": [row["station"]] * len(frame)}
            for name in BDF_COLUMNS:
                values = frame[name].to_numpy() if name in frame else np.full(len(frame), np.nan)
                columns[name] = values.astype(np.int64 if name in ("Cycle Count / 1", "Step Count / 1") else float)
            writer.write_table(pa.Table.from_pydict(columns, schema=schema))
            result.samples[row["uuid"]] = len(frame)
            if behind:
                result.behind[row["uuid"]] = behind
    result.files.append(path)
    _runs_frame(rows).to_parquet(folder / "runs.parquet", index=False)
    result.files.append(folder / "runs.parquet")
