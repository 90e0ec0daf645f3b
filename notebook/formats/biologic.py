"""EC-Lab (BioLogic) files. Text exports, `.mpt` (layout: eclab_text.py): PEIS/GEIS
files become one spectrum per sweep; GCPL, Modulo Bat and other galvanostatic techniques
become time series (three-electrode layouts with `Ece/V` give the reference channel),
with the spectra of any EIS steps inside them. The binary `.mpr` is read through galvani (GPL-3) when it
is installed, an optional extra (requirements-mpr.txt) that the station does not bundle;
without it the message says so and points to the `.mpt` text export."""
from __future__ import annotations

import importlib
import struct
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from notebook.formats.common import FormatError, ReaderMissing, Spectrum, TimeSeries
from notebook.formats.counters import per_step_counter_dq, step_starts
from notebook.formats.eclab_text import EIS_TITLES, FREQ, MINUS_IM_Z, RE_Z, MptTable, eis_rows, read_mpt_text, sweeps
from notebook.formats.spectra import sweep_spectra
from notebook.formats.start_time import start_meta


def read_mpt(path: str | Path) -> TimeSeries | list[Spectrum]:
    """An EC-Lab text export, with or without its header block: a PEIS/GEIS export (or
    one whose every row is an impedance point) gives one spectrum per sweep; a cycling
    export gives its samples, and where it holds EIS steps (a Modulo Bat or GCPL run whose
    `freq/Hz` is 0 outside them) also their spectra in `.spectra`."""
    path = Path(path)
    table = read_mpt_text(path)
    impedance = RE_Z in table.names or MINUS_IM_Z in table.names
    if table.title in EIS_TITLES or (impedance and FREQ not in table.names):
        if FREQ not in table.names:
            what = f"a {EIS_TITLES.get(table.title, 'PEIS/GEIS')} export" if table.title else "impedance columns"
            raise FormatError(path, f"{what} without a {FREQ!r} column: expected {FREQ!r}, {RE_Z!r} and "
                              f"{MINUS_IM_Z!r} among the column names", line=table.names_line)
        return read_mpt_spectra(table)
    if not table.n_rows:
        raise FormatError(path, "no data rows after the column names", line=table.first_line)
    if FREQ in table.names and eis_rows(table).size == table.n_rows:
        return read_mpt_spectra(table)
    series = read_mpt_timeseries(path, table)
    series.meta.update(table.meta)
    series.warnings.extend(table.warnings)
    if FREQ in table.names:
        rows = eis_rows(table)
        if rows.size and not impedance_columns(table):
            series.warnings.append(f"{path.name}: {rows.size} rows have a frequency but the file has no {RE_Z!r} "
                                   f"and {MINUS_IM_Z!r} columns; their impedance was not read")
        elif rows.size:
            series.spectra = _spectra(table, rows)
    return series


def impedance_columns(table: MptTable) -> bool:
    return all(name in table.names for name in (FREQ, RE_Z, MINUS_IM_Z))


def read_mpt_spectra(table: MptTable) -> list[Spectrum]:
    """Every row an impedance point: one spectrum per sweep (eclab_text.sweeps)."""
    if not impedance_columns(table):
        raise FormatError(table.path, f"expected columns {FREQ!r}, {RE_Z!r} and {MINUS_IM_Z!r} (a PEIS/GEIS export)",
                          line=table.names_line)
    if not table.n_rows:
        raise FormatError(table.path, "no impedance points after the column names", line=table.first_line)
    f = table.number(FREQ)
    bad = np.flatnonzero(~(f > 0))
    if bad.size:
        raise FormatError(table.path, f"frequency must be positive, found {f[bad[0]]:g}",
                          line=table.row_lines[bad[0]], field_name=FREQ)
    spectra = _spectra(table, np.arange(table.n_rows))
    loops = table.meta.get("loops")
    if loops and [(int(s.meta["first_point"]), int(s.meta["first_point"]) + s.frequency_hz.size - 1)
                  for s in spectra] != [tuple(l) for l in loops]:
        spectra[0].warnings.append(f"{table.path.name}: the header lists {len(loops)} loop(s) {loops}, the table "
                                   f"splits into {len(spectra)} sweep(s) by cycle number and frequency")
    return spectra


def _spectra(table: MptTable, rows: np.ndarray) -> list[Spectrum]:
    """Spectra of the impedance rows, with each sweep's start time, cycle (from 1, as the
    samples count them) and sequence number Ns in its meta."""
    f, re, minus_im = table.number(FREQ), table.number(RE_Z), table.number(MINUS_IM_Z)
    t = table.number("time/s") if "time/s" in table.names else None
    cycle = table.number("cycle number").astype(np.int64) if "cycle number" in table.names else None
    step = table.number("Ns").astype(np.int64) if "Ns" in table.names else None
    header = {k: v for k, v in table.meta.items() if k in ("started_utc", "started_local", "instrument", "channel")}
    out = []
    for sweep in sweeps(table, rows):
        # first_point: the sweep's first data row counted from 0, as the header's "Loop" lines count
        meta = {"technique": table.meta.get("technique", "EC-Lab"), **header, "first_point": int(sweep[0])}
        if t is not None:
            meta["t_s"] = float(t[sweep[0]])
        if cycle is not None:
            meta["cycle"] = int(cycle[sweep[0]]) + (1 if cycle.min() == 0 else 0)
        if step is not None:
            meta["step"] = int(step[sweep[0]])
            kind = table.meta.get("step_techniques", {}).get(meta["step"])
            if kind:
                meta["technique"] = f"EC-Lab {kind}"          # PEIS or GEIS inside a Modulo Bat run
        # the header's warnings once, on the first sweep: the importer collects every sweep's
        out.append(Spectrum(f[sweep], re[sweep] - 1j * minus_im[sweep], table.path,
                            [] if out else list(table.warnings), meta))
    return out


# time-series columns: canonical name -> (EC-Lab headers in order of preference, factor to SI)
TIMESERIES = {
    "t_s": (("time/s",), 1.0),
}
# Current as measured. Never `control/V/mA` or `control/mA`: they hold the set-point (the next
# one during rests, a voltage during CV steps), not what flowed.
CURRENTS = ("I/mA", "<I>/mA")
SETPOINTS = ("control/V/mA", "control/mA")     # read only to say, when refusing, that they are not current
# EC-Lab's own charge counters, in order of preference: label -> (kind, factor to Ah). `dq` is
# the charge since the previous point; `(Q-Qo)` runs through the test; `Q charge/discharge`
# restarts at each half cycle.
CHARGE_COUNTERS = {"dq/mA.h": ("step", 1e-3), "dQ/mA.h": ("step", 1e-3), "dq/C": ("step", 1 / 3600),
                   "(Q-Qo)/mA.h": ("running", 1e-3), "(Q-Qo)/C": ("running", 1 / 3600),
                   "Q charge/discharge/mA.h": ("half cycle", 1e-3)}
ELECTRODES = ("Ewe/V", "<Ewe>/V", "Ece/V", "<Ece>/V", "Ewe-Ece/V", "Ecell/V")
COUNTERS = ("cycle number", "half cycle", "Ns")


def read_mpt_timeseries(path: str | Path, text: MptTable | None = None) -> TimeSeries:
    """Time, current and cell voltage of a galvanostatic export (see galvanostatic());
    `text`: the file already read by eclab_text.read_mpt_text, so it is parsed once."""
    path = Path(path)
    text = text if text is not None else read_mpt_text(path)
    header, first = text.names, text.first_line
    if not text.n_rows:
        raise FormatError(path, "no data rows after the header", line=first)
    wanted = [name for name in header if name in ELECTRODES + COUNTERS + CURRENTS + tuple(CHARGE_COUNTERS) + SETPOINTS
              or any(name in labels for labels, _ in TIMESERIES.values())]
    columns = {name: text.number(name) for name in wanted}   # a bad cell: FormatError with its line
    return galvanostatic(path, columns, where=first - 1)


def galvanostatic(path: Path, columns: dict[str, np.ndarray], where: int | None = None) -> TimeSeries:
    """A time series from EC-Lab's columns (text or binary file alike). In a
    three-electrode layout (an `Ece/V` column) the cell voltage is `Ewe-Ece/V` (or Ewe - Ece)
    and `Ewe/V`, the working electrode against the reference, becomes ref_V; otherwise
    `Ewe/V` is the cell voltage. Cycles come from `cycle number`, else from `half cycle`
    (two half cycles a cycle); EC-Lab's sequence number `Ns` becomes the step. The charge
    counter becomes dq_Ah (charge_counter()); without `I/mA` the current is derived from it."""
    frame = pd.DataFrame()
    for name, (labels, factor) in TIMESERIES.items():
        label = next((l for l in labels if l in columns), None)
        if label is None:
            raise FormatError(path, f"expected a column {' or '.join(map(repr, labels))}", line=where)
        frame[name] = np.asarray(columns[label], dtype=float) * factor
    warnings = []
    dq, counter = charge_counter(columns)
    current = next((l for l in CURRENTS if l in columns), None)
    if current is not None:
        frame["current_A"] = np.asarray(columns[current], dtype=float) * 1e-3
    elif dq is not None:
        frame["current_A"] = current_from_counter(frame["t_s"].to_numpy(), dq, columns.get("Ns"))
        warnings.append(f"{path.name} has no current column ({' or '.join(map(repr, CURRENTS))}): the current was "
                        f"derived from the charge counter {counter!r} over each sample's interval")
    else:
        setpoint = [l for l in SETPOINTS if l in columns]
        raise FormatError(path, f"expected a current column {' or '.join(map(repr, CURRENTS))}, or a charge counter "
                          "'dq/mA.h' or '(Q-Qo)/mA.h' to derive it from"
                          + (f"; {setpoint[0]!r} is the set-point, not the current" if setpoint else ""), line=where)
    ewe = next((columns[l] for l in ("Ewe/V", "<Ewe>/V") if l in columns), None)
    ece = next((columns[l] for l in ("Ece/V", "<Ece>/V") if l in columns), None)
    if ewe is None and "Ecell/V" in columns:
        ewe, ece = columns["Ecell/V"], None      # newer EC-Lab exports name the cell voltage Ecell/V
    if ewe is None:
        raise FormatError(path, "expected a voltage column 'Ewe/V', '<Ewe>/V' or 'Ecell/V'", line=where)
    if ece is not None:
        cell = columns.get("Ewe-Ece/V")
        frame["voltage_V"] = np.asarray(ewe - ece if cell is None else cell, dtype=float)
        frame["ref_V"] = np.asarray(ewe, dtype=float)
    else:
        frame["voltage_V"] = np.asarray(ewe, dtype=float)
    if "cycle number" in columns:
        cycle = np.asarray(columns["cycle number"]).astype(np.int64)
        frame["cycle"] = cycle + (1 if cycle.min() == 0 else 0)
    elif "half cycle" in columns:
        frame["cycle"] = np.asarray(columns["half cycle"]).astype(np.int64) // 2 + 1
    if "Ns" in columns:
        frame["step"] = np.asarray(columns["Ns"]).astype(np.int64)
    meta = {"technique": "EC-Lab"}
    if dq is not None:
        frame["dq_Ah"] = dq
        meta["counter"] = counter
    return TimeSeries(frame, path, warnings=warnings, meta=meta)


def charge_counter(columns: dict[str, np.ndarray]) -> tuple[np.ndarray | None, str]:
    """(signed charge in Ah since the previous point, the column it came from) from the
    first of EC-Lab's counters the file has; (None, "") without one."""
    label = next((l for l in CHARGE_COUNTERS if l in columns), None)
    if label is None:
        return None, ""
    kind, factor = CHARGE_COUNTERS[label]
    q = np.asarray(columns[label], dtype=float) * factor
    if kind == "step":
        return q, label
    restarts = np.zeros(q.size, dtype=bool)      # (Q-Qo) runs on from the first point
    restarts[:1] = True
    if kind == "half cycle":
        # it starts again from 0 at each half cycle; where that column is missing, at each sign change
        if "half cycle" in columns:
            restarts = step_starts(np.asarray(columns["half cycle"]))
        else:
            restarts[1:] = np.sign(q[1:]) * np.sign(q[:-1]) < 0
    return per_step_counter_dq(q, np.zeros_like(q), restarts), label


def current_from_counter(t: np.ndarray, dq_ah: np.ndarray, ns: np.ndarray | None) -> np.ndarray:
    """Current (A) per sample from the charge the counter says passed over its interval.
    A step's first point is logged ~1 ms after the last of the step before, too short to
    divide by: it takes the current of the next point of its own step."""
    t = np.asarray(t, dtype=float)
    dt = np.diff(t, prepend=t[:1])
    with np.errstate(divide="ignore", invalid="ignore"):
        current = np.where(dt > 0, dq_ah * 3600.0 / dt, np.nan)
    opens = step_starts(np.zeros(t.size) if ns is None else np.asarray(ns))
    follows = np.concatenate((~opens[1:], [False]))        # the next point is in the same step
    take = np.flatnonzero(opens & follows)
    current[take] = current[take + 1]
    # two points logged at the same instant: the later one keeps the current of the one before
    current = pd.Series(current).groupby(np.cumsum(opens)).ffill().to_numpy()
    return np.nan_to_num(current, nan=0.0, posinf=0.0, neginf=0.0)


GALVANI_MISSING = ("reading EC-Lab binary .mpr files needs the optional reader galvani (GPL-3), which is not "
                   "installed{where}: install it with `pip install -r requirements-mpr.txt`, or export the file "
                   "from EC-Lab as text (.mpt) and import that")


def read_mpr(path: str | Path) -> TimeSeries | Spectrum | list[Spectrum]:
    """An EC-Lab binary file through galvani, when it is installed: PEIS/GEIS files
    (`freq/Hz`, `Re(Z)/Ohm` and `-Im(Z)/Ohm` columns) become a spectrum (a list, one per
    sweep, when there are several), anything else (GCPL, which may carry |Z| columns too)
    a time series. A column ID galvani does not know, or a damaged file, is a FormatError
    that names it and points to the text export."""
    path = Path(path)
    try:
        # Imported by name, never at module level: galvani is GPL-3, an optional extra that
        # neither requirements.txt nor the packaged build carries (PyInstaller does not follow this).
        biologic = importlib.import_module("galvani.BioLogic")
    except ModuleNotFoundError:
        frozen = " in this packaged build" if getattr(sys, "frozen", False) else ""
        raise ReaderMissing(path, GALVANI_MISSING.format(where=frozen)) from None
    try:
        with open(path, "rb") as fh:
            mpr = biologic.MPRfile(fh)
        data = mpr.data
    except NotImplementedError as exc:
        raise FormatError(path, _unknown_column(exc)) from None
    except OSError as exc:
        if exc.strerror:                        # the system's: permissions, a vanished file...
            raise FormatError(path, f"cannot be read: {exc.strerror}") from None
        detail = " ".join(str(exc).split())[:160]   # galvani's own: a module shorter than it says
        raise FormatError(path, f"a truncated or damaged EC-Lab .mpr file (galvani: {detail}); export it from "
                          "EC-Lab as text (.mpt) and import that") from None
    except (ValueError, KeyError, IndexError, TypeError, OverflowError, AssertionError, struct.error) as exc:
        # galvani checks its layout with asserts and unpacking: each means a damaged or unknown file
        detail = " ".join(str(exc).split())[:160] or f"{type(exc).__name__} in its layout checks"
        raise FormatError(path, f"not a readable EC-Lab .mpr file, damaged or of a layout galvani does not "
                          f"know (galvani: {detail}); export it from EC-Lab as text (.mpt) and import that") from None
    columns = {name: np.asarray(data[name]) for name in data.dtype.names}
    if len(data) == 0:
        raise FormatError(path, "the file holds no data points")
    for name in ("time/s", "Ewe/V", "<Ewe>/V", "I/mA", "<I>/mA", "freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm"):
        if name in columns:
            bad = np.flatnonzero(~np.isfinite(columns[name].astype(float)))
            if bad.size:
                raise FormatError(path, f"point {bad[0] + 1} holds {columns[name][bad[0]]} in {name!r}: a damaged "
                                  "file; export it from EC-Lab as text (.mpt) and import that", field_name=name)
    if {"freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm"} <= set(columns):
        z = columns["Re(Z)/Ohm"].astype(float) - 1j * columns["-Im(Z)/Ohm"].astype(float)
        keys = {k: columns[c] for k, c in (("t_s", "time/s"), ("cycle", "cycle number"), ("step", "Ns"))
                if c in columns}
        if "cycle" in keys and keys["cycle"].min() == 0:
            keys["cycle"] = keys["cycle"] + 1      # cycles count from 1, as the samples' do
        started, notes = _mpr_start(path, mpr)
        spectra = sweep_spectra(path, list(columns["freq/Hz"].astype(float)), list(z), notes,
                                {"technique": "EC-Lab", **started}, keys, split_on=("cycle", "step"))
        return spectra[0] if len(spectra) == 1 else spectra
    series = galvanostatic(path, columns)
    started, notes = _mpr_start(path, mpr)
    series.meta.update(started)
    series.warnings.extend(notes)
    return series


def _mpr_start(path: Path, mpr) -> tuple[dict, list[str]]:
    """The start galvani reads from the file's LOG module (local time, no zone), if any."""
    stamp = getattr(mpr, "timestamp", None)
    if stamp is None:
        return {}, []
    return start_meta(stamp.strftime("%m/%d/%Y %H:%M:%S.%f"), ("%m/%d/%Y %H:%M:%S.%f",),
                      f"{path.name}, LOG module", "EC-Lab's own clock")


def _unknown_column(exc: NotImplementedError) -> str:
    """galvani's 'Column ID 141 after column dq/mA.h is unknown', said for a user."""
    words = str(exc).split()
    if words[:2] == ["Column", "ID"] and "after" in words:
        previous = " ".join(words[words.index("after") + 2:-2])
        return (f"holds a column EC-Lab numbers {words[2]} (after {previous!r}) that the .mpr reader galvani "
                "does not know (likely a newer EC-Lab version): export the file from EC-Lab as text (.mpt) and "
                "import that")
    return f"not readable by galvani ({' '.join(words)[:160]}): export it from EC-Lab as text (.mpt) and import that"
