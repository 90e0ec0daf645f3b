"""`make corpus`: every real instrument file we can find, through import and analysis as a
user would run them, in one table.

Files: the project's tests/data (redistributable copies) and, when it exists beside the
project, ../shared/data (which also holds the GPL-3.0 files the project must not carry).
For each file: the format it was read as; its points, cycles and spectra; the largest
per-cycle difference between the capacities `analyze cycling --db --run` prints for the
imported run and the instrument's own counter (or the vendor's cycle table) read straight
from the file; the same for the charge integrated from the file's current (a diagnostic:
the import warns above 0.5 %); and a verdict. A refusal is a verdict too, with its reason.
Exits 1 if any file gives a traceback, `analyze` fails on an imported run, or capacities
stray more than 0.1 % from the counter.

    .venv/bin/python benchmarks/corpus.py [--markdown] [FILE_OR_FOLDER ...]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.counters import per_cycle, table_from_records, worst_difference  # noqa: E402
from notebook import Notebook  # noqa: E402
from notebook.formats import FormatError, TimeSeries, read_any  # noqa: E402
from notebook.importer import import_file  # noqa: E402

SOURCES = [ROOT / "tests" / "data", ROOT.parent / "shared" / "data"]
AGREE = 0.001          # the bar: per-cycle charge within 0.1 % of the instrument's counter


@dataclass
class Row:
    file: str
    fmt: str = ""
    points: int = 0
    cycles: int | None = None
    counter: str = ""          # worst per-cycle difference, analysis' capacities vs the file's counter
    integrated: str = ""       # worst per-cycle difference, integrated current vs the counter (diagnostic)
    spectra: int = 0
    analysis: str = ""
    seconds: float = 0.0
    verdict: str = ""
    failed: bool = False


def counter_table(series: TimeSeries) -> tuple[pd.DataFrame | None, str]:
    """(per-cycle charge and discharge by the instrument's own counter or the vendor's
    cycle table, what it is), straight from the file as read; (None, "") without either."""
    frame = series.frame
    if "dq_Ah" in frame:
        cycle = frame["cycle"].to_numpy(np.int64) if "cycle" in frame else np.ones(len(frame), dtype=np.int64)
        return per_cycle(frame["dq_Ah"].to_numpy(float), cycle), str(series.meta.get("counter", "dq_Ah"))
    if series.meta.get("vendor_cycles") is not None:
        return table_from_records(series.meta["vendor_cycles"]), "vendor cycle table"
    return None, ""


def capacity_difference(reference: pd.DataFrame, cycles: list[dict]) -> float | None:
    """Worst per-cycle |analysis / reference - 1| over the halves that passed charge: the
    capacities `analyze` printed against the counter read straight from the file."""
    ours = pd.DataFrame(cycles)
    if ours.empty or reference is None or reference.empty:
        return None
    if set(reference["cycle"]) != set(ours["cycle"]):
        # the analysis numbered cycles itself (the file has no cycle column): compare the totals
        reference = reference[["charge_mAh", "discharge_mAh"]].sum().to_frame().T.assign(cycle=0)
        ours = ours[["charge_mAh", "discharge_mAh"]].sum().to_frame().T.assign(cycle=0)
    both = reference.merge(ours, on="cycle", suffixes=("_ref", ""))
    worst = None
    for way in ("charge", "discharge"):
        ref, got = both[f"{way}_mAh_ref"].to_numpy(float), both[f"{way}_mAh"].to_numpy(float)
        keep = ref > 0.01 * max(float(np.nanmax(ref, initial=0.0)), 1e-30)
        if keep.any():
            diff = float(np.nanmax(np.abs(got[keep] / ref[keep] - 1.0)))
            worst = diff if worst is None else max(worst, diff)
    return worst


def analyze(db: Path, run_id: int, kind: str) -> tuple[bool, str, dict | None]:
    """`main.py analyze KIND --db DB --run ID --json` in this process, as a user runs it."""
    import main as station
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = station.main(["analyze", kind, "--db", str(db), "--run", str(run_id), "--json"])
        except SystemExit as exc:
            code = exc.code
    if code != 0:
        return False, (err.getvalue().strip().splitlines() or ["exit code %s" % code])[-1], None
    try:
        return True, "", json.loads(out.getvalue(), parse_constant=_no_constants)
    except ValueError as exc:
        return False, f"invalid JSON: {exc}", None


def _no_constants(name: str):
    raise ValueError(f"{name} is not JSON")


def check(path: Path, folder: Path) -> Row:
    row = Row(path.name)
    started = time.perf_counter()
    try:
        try:
            row.fmt, data = read_any(path)
        except FormatError as exc:
            row.verdict = "refused: " + str(exc).split(": ", 1)[-1]
            return row
        series = data if isinstance(data, TimeSeries) else None
        spectra = series.spectra if series is not None else data
        row.spectra = len(spectra)
        reference, what = counter_table(series) if series is not None else (None, "")
        row.points = len(series.frame) if series is not None else 0
        db = folder / f"{path.name}.sqlite"
        with Notebook(db) as nb:
            result = import_file(nb, path)
            stored = nb.provenance(result.run_id).get("import", {})
        check = pd.DataFrame(stored.get("counter_check") or [])
        if not check.empty:
            check = check.rename(columns={"charge_mAh": "charge_mAh_counter", "discharge_mAh": "discharge_mAh_counter"})
            worst = worst_difference(check)
            row.integrated = f"{worst * 100:.3f} %" if np.isfinite(worst) else ""
        problems = []
        if series is not None and row.points:
            ok, message, out = analyze(db, result.run_id, "cycling")
            row.cycles = len(out["cycles"]) if ok else None
            if not ok:
                problems.append(f"analyze cycling: {message}")
            elif reference is not None:
                diff = capacity_difference(reference, out["cycles"])
                if diff is not None:
                    row.counter = f"{diff * 100:.3f} % ({what})"
                    if diff > AGREE:
                        problems.append(f"capacities {diff * 100:.2g} % from {what}")
        if spectra:
            ok, message, out = analyze(db, result.run_id, "eis")
            if not ok:
                problems.append(f"analyze eis: {message}")
        row.analysis = "; ".join(problems) or "ok"
        if problems:
            row.verdict, row.failed = "read; " + row.analysis, True
        else:
            row.verdict = "read" + (f" ({len(result.warnings)} warnings stored)" if result.warnings else "")
        return row
    except Exception:       # noqa: BLE001 - the point of the corpus is to catch exactly these
        row.verdict, row.failed = "TRACEBACK: " + traceback.format_exc().strip().splitlines()[-1], True
        return row
    finally:
        row.seconds = time.perf_counter() - started


def files(arguments: list[str]) -> list[Path]:
    roots = [Path(a) for a in arguments] or [s for s in SOURCES if s.is_dir()]
    found: dict[str, Path] = {}
    for root in roots:
        candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in candidates:
            if path.suffix.lower() == ".md" or path.name.startswith(".") or path.name == "SHA256SUMS":
                continue        # the folders' provenance, licences and checksums
            found.setdefault(path.name, path)      # the same file in both folders once
    return list(found.values())


def table(rows: list[Row], markdown: bool) -> str:
    head = ["file", "format", "points", "cycles", "capacity vs counter", "integrated current vs counter", "spectra",
            "s", "verdict"]
    body = [[r.file, r.fmt, f"{r.points:,}" if r.points else "", "" if r.cycles is None else str(r.cycles),
             r.counter, r.integrated, str(r.spectra or ""), f"{r.seconds:.1f}", r.verdict] for r in rows]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(lines + ["| " + " | ".join(c.replace("|", "\\|") for c in b) + " |" for b in body])
    widths = [min(max(len(x) for x in col), 60) for col in zip(head, *body)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*head), fmt.format(*("-" * w for w in widths))]
                     + [fmt.format(*(c if len(c) <= 60 or k == len(head) - 1 else c[:57] + "..."
                                     for k, c in enumerate(b))) for b in body])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help="files or folders (default: tests/data and ../shared/data)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    paths = files(args.paths)
    if not args.paths and not SOURCES[1].is_dir():
        print(f"note: {SOURCES[1]} does not exist: only the project's own tests/data are checked "
              "(the GPL-3.0 files live only there)", file=sys.stderr)
    with tempfile.TemporaryDirectory() as folder:
        rows = [check(path, Path(folder)) for path in paths]
    print(table(rows, args.markdown))
    read = sum(1 for r in rows if r.verdict.startswith("read"))
    refused = sum(1 for r in rows if r.verdict.startswith("refused"))
    failed = [r.file for r in rows if r.failed]
    print(f"\n{len(rows)} files: {read} read, {refused} refused, {len(failed)} failed"
          + (f" ({', '.join(failed)})" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
