"""Maccor text exports: an optional block of `key<TAB>value` header lines (Name,
Channel, Tester, Started...), one line of column names (`Rec#  Cyc#  Step  TestTime
StepTime  Amp-hr  Watt-hr  Amps  Volts  State ...` in older exports, `Rec  Cycle P
Cycle C  Step  TestTime  StepTime  Cap. [Ah]  Ener. [Wh]  Current [A]  Voltage [V]  Md
...` in newer ones), then one tab-separated row per record. Numbers may use a decimal
comma, as the exporting PC's locale does.

Maccor writes the current without sign: the state column says its direction (C charge,
D discharge, R rest). Its capacity column is one unsigned counter that counts up
through a step (or a half cycle) and restarts; it is the reference (TimeSeries.dq_Ah)
for the integrated current. TestTime has no unit in its name: the unit is found from
the record clock (DPt Time) where the file has one."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from notebook.formats.common import FormatError, TimeSeries
from notebook.formats.counters import step_starts
from notebook.formats.start_time import start_meta

# quantity -> accepted column names (lower case); the first present is used
NAMES = {
    "record": ("rec#", "rec"),
    "cycle": ("cyc#", "cycle c", "cycle p", "cycle"),
    "step": ("step",),
    "time": ("testtime", "test time", "test (sec)", "testtime(s)", "test time (s)", "test time (sec)"),
    "capacity": ("amp-hr", "cap. [ah]", "capacity(ah)", "capacity (ah)"),
    "current": ("amps", "current [a]", "current(a)", "current (a)"),
    "voltage": ("volts", "voltage [v]", "voltage(v)", "voltage (v)"),
    "state": ("state", "md"),
    "clock": ("dpt time",),
}
REQUIRED = ("record", "step", "time", "capacity", "current", "voltage", "state")
SECONDS_NAMES = {"test (sec)", "testtime(s)", "test time (s)", "test time (sec)"}
TIME_UNITS = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0}
DIRECTION = {"C": 1, "D": -1, "R": 0}
HEADER_KEYS = {"name": "cell_id", "channel": "channel", "tester": "instrument", "started": "started",
               "date of test": "started"}
DATE_LAYOUTS = {"month/day/year": ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p"),
                "day/month/year": ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %I:%M:%S %p")}
EXPECTED = ("a Maccor export header line ('Rec#<TAB>Cyc#<TAB>Step<TAB>TestTime<TAB>...<TAB>Amp-hr<TAB>...<TAB>Amps"
            "<TAB>Volts<TAB>State...')")


def _names(line: str) -> list[str]:
    sep = "\t" if "\t" in line else ","
    names = [cell.strip() for cell in line.split(sep)]
    while names and not names[-1]:
        names.pop()
    return names


def _is_header(line: str) -> bool:
    names = {name.lower() for name in _names(line)}
    return all(names & set(NAMES[q]) for q in ("record", "capacity", "current", "state"))


def looks_like_maccor(text: str) -> bool:
    """The first 64 KiB hold Maccor's column-name line."""
    return any(_is_header(line) for line in text.splitlines()[:200])


def read_maccor_txt(path: str | Path) -> TimeSeries:
    """A Maccor text export: its records, with the current signed by the state and dq_Ah
    from the capacity counter; cell name, channel, tester and start from the header block."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FormatError(path, f"cannot be read: {exc.strerror}") from None
    if b"\x00" in raw[:4096]:
        raise FormatError(path, f"a binary file, not text; expected {EXPECTED}", line=1)
    text = raw.decode("utf-8-sig", errors="replace") if _is_utf8(raw) else raw.decode("cp1252", errors="replace")
    lines = text.splitlines()
    head = next((k for k, line in enumerate(lines[:200]) if _is_header(line)), None)
    if head is None:
        raise FormatError(path, f"expected {EXPECTED} within the first 200 lines", line=1)
    sep = "\t" if "\t" in lines[head] else ","
    names = _names(lines[head])
    column = _pick_columns(path, names, head + 1)
    header_fields = _header_fields(lines[:head])
    rows, numbers, warnings = _rows(path, lines, head, sep, len(names))
    cells = pd.DataFrame(rows, columns=names, dtype=str) if rows else None
    if cells is None:
        raise FormatError(path, f"no data rows under the header on line {head + 1}")
    line_of = np.asarray(numbers)
    decimal_comma = _decimal_comma(cells, [column[q] for q in ("capacity", "current", "voltage")])

    def numeric(q: str) -> np.ndarray:
        name = column[q]
        cell = cells[name].str.strip()
        cleaned = cell.str.replace(",", ".", regex=False) if decimal_comma else cell.str.replace(",", "", regex=False)
        values = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise FormatError(path, f"expected a number, found {cell.iloc[k]!r}", line=int(line_of[k]), field_name=name)
        return values

    clock = _clock(cells[column["clock"]]) if "clock" in column else None
    t, time_note = _test_time(path, cells[column["time"]], column["time"], line_of, clock, numeric)
    if time_note:
        warnings.append(f"{path.name}: {time_note}")
    back = np.flatnonzero(np.diff(t) < 0)
    if back.size:
        k = int(back[0]) + 1
        raise FormatError(path, "test time goes backwards; expected it to rise through the file",
                          line=int(line_of[k]), field_name=column["time"])
    state = cells[column["state"]].str.strip().str.upper().to_numpy(dtype=str)
    amps = numeric("current")
    current = _signed_current(path, amps, state, line_of, column)
    step = numeric("step").astype(np.int64)
    frame = pd.DataFrame({"t_s": t, "current_A": current, "voltage_V": numeric("voltage")})
    frame["cycle"] = numeric("cycle").astype(np.int64) if "cycle" in column else 1
    frame["step"] = step
    frame["dq_Ah"] = counter_dq(np.abs(numeric("capacity")), state, step, t, current)
    meta, notes = _meta(path, header_fields, clock)
    meta["counter"] = column["capacity"]
    return TimeSeries(frame, path, warnings + notes, meta)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _pick_columns(path: Path, names: list[str], line: int) -> dict[str, str]:
    lower = {name.lower(): name for name in reversed(names)}
    column = {}
    for quantity, options in NAMES.items():
        found = next((lower[o] for o in options if o in lower), None)
        if found is not None:
            column[quantity] = found
    missing = [NAMES[q][0] for q in REQUIRED if q not in column]
    if missing:
        raise FormatError(path, f"the header lacks {', '.join(repr(m) for m in missing)}; expected {EXPECTED}",
                          line=line)
    return column


def _header_fields(lines: list[str]) -> dict[str, str]:
    """{meta key: value} from the `key<TAB>value` lines above the column names."""
    found = {}
    for line in lines:
        cells = [c.strip() for c in line.split("\t")]
        for k, cell in enumerate(cells[:-1]):
            key = HEADER_KEYS.get(cell.rstrip(":").strip().lower())
            if key and cells[k + 1] and key not in found:
                found[key] = cells[k + 1]
    return found


def _rows(path: Path, lines: list[str], head: int, sep: str, n: int) -> tuple[list[list[str]], list[int], list[str]]:
    """The data rows, each with one value per column name (one empty value after the last,
    from a trailing separator, is allowed). A last row cut short (a file copied while the
    test was writing it, or cut to size) is skipped with a warning; any other short or
    long row is a FormatError at its line."""
    rows, numbers, warnings = [], [], []
    last = max((k for k in range(head + 1, len(lines)) if lines[k].strip()), default=head)
    for k in range(head + 1, len(lines)):
        line = lines[k]
        if not line.strip():
            continue
        cells = line.split(sep)
        if len(cells) == n + 1 and not cells[-1].strip():
            cells = cells[:n]
        if len(cells) != n:
            if k == last and len(cells) < n:
                warnings.append(f"{path.name}, line {k + 1}: the last row is cut short ({len(cells)} of {n} "
                                "values: the file was cut off); it was skipped")
                continue
            raise FormatError(path, f"{len(cells)} values in the row, expected {n} (one per column name on line "
                              f"{head + 1})", line=k + 1)
        rows.append(cells)
        numbers.append(k + 1)
    return rows, numbers, warnings


def _decimal_comma(cells: pd.DataFrame, names: list[str]) -> bool:
    """True when numbers are written 0,1377 (a decimal comma): commas appear inside
    numbers and no number has a decimal point (then a comma groups thousands)."""
    sample = pd.concat([cells[name].head(500).str.strip() for name in names])
    return bool(sample.str.fullmatch(r"-?\d+,\d+").any() and not sample.str.contains(".", regex=False).any())


def _clock(stamps: pd.Series) -> dict[str, np.ndarray]:
    """{date layout: the record clock as seconds} for each layout that reads every stamp
    and runs forward; both remain when no day is above 12."""
    text = stamps.str.strip()
    found = {}
    for layout, formats in DATE_LAYOUTS.items():
        for fmt in formats:
            parsed = pd.to_datetime(text, format=fmt, errors="coerce")
            if parsed.notna().all():
                seconds = (parsed - parsed.iloc[0]).dt.total_seconds().to_numpy(dtype=float)
                if np.all(np.diff(seconds) >= 0):
                    found[layout] = seconds
                break
    return found


def _test_time(path: Path, raw: pd.Series, name: str, line_of: np.ndarray, clock: dict | None,
               numeric) -> tuple[np.ndarray, str]:
    """(test time in s, a note on how its unit was found)."""
    text = raw.str.strip()
    if text.str.contains(":", regex=False).any():
        spans = pd.to_timedelta(text.str.replace(r"(\d)d\s", r"\1 days ", regex=True), errors="coerce")
        bad = spans.isna().to_numpy()
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise FormatError(path, f"expected a time span such as '0d 00:00:01.00', found {text.iloc[k]!r}",
                              line=int(line_of[k]), field_name=name)
        return spans.dt.total_seconds().to_numpy(dtype=float), ""
    values = numeric("time")
    if name.lower() in SECONDS_NAMES:
        return values, ""
    span = float(values[-1] - values[0])
    wall = next((clock[layout] for layout in DATE_LAYOUTS if clock and layout in clock), None)
    if wall is None or span <= 0 or wall[-1] <= 0:
        return values, f"{name!r} has no unit and the file has no record clock to tell it: taken as seconds"
    ratio = float(wall[-1]) / span
    for unit, factor in TIME_UNITS.items():
        if abs(ratio / factor - 1.0) < 0.02:
            note = "" if unit == "seconds" else (f"{name!r} counts {unit} (it rises {span:g} while the record "
                                                 f"clock moves {wall[-1]:g} s); converted to seconds")
            return values * factor, note
    raise FormatError(path, f"{name!r} rises {span:g} while the record clock (DPt Time) moves {wall[-1]:g} s: "
                      "expected it in seconds, minutes or hours", field_name=name)


def _signed_current(path: Path, amps: np.ndarray, state: np.ndarray, line_of: np.ndarray,
                    column: dict[str, str]) -> np.ndarray:
    """Current with our sign (+ = charge). Unsigned currents take the sign of their
    state; a file whose currents are already signed must agree with its states."""
    direction = np.array([DIRECTION.get(s[:1], 2) for s in state], dtype=np.int64)
    unknown = np.flatnonzero((direction == 2) & (amps != 0))
    if unknown.size:
        k = int(unknown[0])
        raise FormatError(path, f"a current of {amps[k]:g} A in state {str(state[k])!r}: its direction is unknown "
                          "(expected C for charge, D for discharge, R for rest)", line=int(line_of[k]),
                          field_name=column["state"])
    if (amps < 0).any():
        wrong = np.flatnonzero(((direction == 1) & (amps < 0)) | ((direction == -1) & (amps > 0)))
        if wrong.size:
            k = int(wrong[0])
            raise FormatError(path, f"a current of {amps[k]:g} A in state {str(state[k])!r}: the signed current "
                              "disagrees with the state", line=int(line_of[k]), field_name=column["current"])
        return amps
    return np.where(direction == 2, 0.0, direction * amps)


def counter_dq(q_Ah: np.ndarray, state: np.ndarray, step: np.ndarray, t: np.ndarray,
               current: np.ndarray) -> np.ndarray:
    """Signed charge per sample (Ah, + = charge) from Maccor's one unsigned counter.

    The counter rises through a step, or through a half cycle of several steps, and
    restarts at a step or a change of direction. Where it falls it has restarted; where a
    step or state begins and it did not fall, it either went on or restarted, and the
    reading is the one whose charge is nearer the current times the interval. The sign is
    the direction of the state (a rest sample: of the last state with current)."""
    q = np.asarray(q_Ah, dtype=float)
    direction = np.array([DIRECTION.get(s[:1], 0) for s in state], dtype=float)
    # a rest keeps the direction before it, for a counter that moved in its first interval
    active = np.where(direction != 0, np.arange(direction.size), -1)
    active = np.maximum.accumulate(active)
    sign = np.where(active >= 0, direction[np.maximum(active, 0)], 0.0)
    dq = np.empty_like(q)
    if q.size == 0:
        return dq
    dq[0] = q[0]
    went_on = np.diff(q)
    restarted = q[1:].copy()
    estimate = np.abs(current[1:]) * np.diff(t) / 3600.0
    boundary = step_starts(step, state)[1:]
    fell = went_on < 0
    nearer_restart = np.abs(restarted - estimate) < np.abs(went_on - estimate)
    dq[1:] = np.where(fell | (boundary & nearer_restart), restarted, went_on)
    return dq * sign


def _meta(path: Path, fields: dict[str, str], clock: dict | None) -> tuple[dict, list[str]]:
    meta: dict = {}
    if fields.get("cell_id"):
        meta["cell_id"] = fields["cell_id"]
    if fields.get("channel"):
        meta["channel"] = fields["channel"]
    tester = fields.get("instrument", "")
    meta["instrument"] = tester if "maccor" in tester.lower() else f"Maccor ({tester})" if tester else "Maccor"
    started = fields.get("started")
    if not started:
        return meta, []
    text = " ".join(started.split())
    layouts = [layout for layout, formats in DATE_LAYOUTS.items() if any(_reads(text, f) for f in formats)]
    if clock:          # the record clock rules out a layout that does not read every stamp
        layouts = [layout for layout in layouts if layout in clock]
    readings = {_reads_any(text, DATE_LAYOUTS[layout]) for layout in layouts}
    if len(readings) != 1:
        what = "could be read day/month or month/day" if len(readings) > 1 else "is not a date SolidStack reads"
        return meta, [f"{path.name}: the start {text!r} {what}; the run's start is not taken from the file"]
    layout = layouts[0]
    found, notes = start_meta(text, DATE_LAYOUTS[layout], f"{path.name}, header 'Started'", layout)
    meta.update(found)
    return meta, notes


def _reads(text: str, fmt: str) -> bool:
    try:
        datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


def _reads_any(text: str, formats: tuple[str, ...]) -> datetime | None:
    for fmt in formats:
        if _reads(text, fmt):
            return datetime.strptime(text, fmt)
    return None
