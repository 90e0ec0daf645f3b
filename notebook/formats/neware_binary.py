"""Neware BTS binaries: `.nda` (BTS 7/8 and 9) and `.ndax` (a zip of `.ndc` record files
and XML test descriptions), read through NewareNDA (BSD-3-Clause, pinned in
requirements.txt) and mapped to the TimeSeries columns.

What NewareNDA gives and how it maps:
- `Time` is the test time in some files and the step time (from 0 in every step) in
  others: a step whose clock starts again continues from the previous sample, which is
  where the step began.
- `Charge_Capacity(mAh)`/`Discharge_Capacity(mAh)` are the instrument's per-step counters
  (dq_Ah); `Step` is a running step count; `Cycle` is the instrument's own cycle number
  (not NewareNDA's regenerated one).
- `Timestamp` is the wall clock: zone-aware where the file counts Unix seconds (BTS 9 and
  newer `.ndax`), naive local time in older files (see notebook/formats/local_time.py).
- Auxiliary temperatures `T1`, `T2`... become temperature_degC, temperature_2_degC...
"""
from __future__ import annotations

import logging
import struct
import warnings
import zipfile
import zlib
from pathlib import Path
from xml.etree.ElementTree import ParseError
from xml.parsers.expat import ExpatError

import numpy as np
import pandas as pd
from pandas.errors import Pandas4Warning
from NewareNDA.NewareNDA import read_nda, read_nda_metadata, read_ndax, read_ndax_metadata

from notebook.formats.common import FormatError, TimeSeries
from notebook.formats.counters import per_step_counter_dq, step_starts
from notebook.formats.local_time import aware_start, naive_start

# What NewareNDA raises on a damaged or unsupported file: a wrong magic or missing
# record section (ValueError, EOFError), a version it does not know (NotImplementedError),
# a broken zip or member (BadZipFile, zlib.error, KeyError), short or garbled records
# (struct.error, IndexError, KeyError for an unknown status or range code), an
# unreadable or empty file (OSError; ValueError from mmap), and impossible dates from
# garbage bytes (OverflowError).
READER_ERRORS = (ValueError, EOFError, NotImplementedError, zipfile.BadZipFile, zlib.error, KeyError, struct.error,
                 IndexError, OSError, OverflowError)
# ...and on an .ndax whose XML test description is damaged (the records may still be
# fine): the XML parsers' errors, and a missing <config> element handed on as None
METADATA_ERRORS = READER_ERRORS + (ParseError, ExpatError, UnicodeDecodeError, AttributeError, TypeError)
COLUMNS = ("Index", "Cycle", "Step", "Time", "Voltage", "Current(mA)", "Charge_Capacity(mAh)",
           "Discharge_Capacity(mAh)", "Timestamp")


class _Collect(logging.Handler):
    """NewareNDA's log records during one read: warnings go to TimeSeries.warnings
    instead of the console; its error lines repeat what the exception says."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.ERROR:
            self.messages.append(record.getMessage())


def _why(exc: Exception) -> str:
    """What a NewareNDA exception means for the file, in words (its own text is terse)."""
    if isinstance(exc, KeyError):
        return f"a record holds the unknown code {exc.args[0]!r} (a damaged file, or one from a BTS version " \
               "NewareNDA does not know)"
    if isinstance(exc, (struct.error, IndexError)):
        return "a record is cut short (a truncated or damaged file)"
    if isinstance(exc, (zipfile.BadZipFile, zlib.error)):
        return f"the zip archive is damaged ({exc})"
    return str(exc).strip() or type(exc).__name__


def _read_frame(path: Path) -> tuple[pd.DataFrame, dict, list[str]]:
    logger = logging.getLogger("newarenda")
    collect = _Collect()
    level, propagate = logger.level, logger.propagate
    logger.addHandler(collect)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    nda = path.suffix.lower() == ".nda"
    notes = []
    try:
        try:
            with warnings.catch_warnings():
                # NewareNDA 2026.6.11 still passes inplace=, which pandas 3.1 marks for removal
                # (pinned together in requirements.txt; a user has nothing to do about it)
                warnings.simplefilter("ignore", Pandas4Warning)
                frame = (read_nda if nda else read_ndax)(str(path), software_cycle_number=False)
        except READER_ERRORS as exc:
            kind = "nda file" if nda else "ndax archive"
            raise FormatError(path, f"not a readable Neware {kind}: {_why(exc)}") from None
        try:
            meta = (read_nda_metadata if nda else read_ndax_metadata)(path)
        except METADATA_ERRORS as exc:
            meta = {}
            notes.append(f"{path.name}: the test description is not readable ({exc or type(exc).__name__}); "
                         "instrument, channel and cell id are unknown")
    finally:
        logger.removeHandler(collect)
        logger.setLevel(level)
        logger.propagate = propagate
    return frame, meta, [f"{path.name}: {m}" for m in collect.messages] + notes


def _cut_short(path: Path) -> str | None:
    """A warning when a BTS 9.1 `.nda` (version 130, fixed-length records from byte 1024,
    each led by 0x55) ends in its records, without the step table (led by 0x81) that
    closes a complete file: NewareNDA reads what is there and cannot tell."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    if len(data) < 1026 or data[14] != 130 or data[1024] != 0x55:
        return None
    length = data.find(data[1024:1026], 1026) - 1024       # records repeat their 2-byte lead
    if length <= 0:
        return None
    end = 1024
    while end + length <= len(data) and data[end] == 0x55:
        end += length
    if end + length > len(data):
        return (f"{path.name}: the file ends after {(end - 1024) // length} records without the step table that "
                "closes a complete BTS 9.1 file: it may have been cut short, and later records are missing")
    return None


def _test_time(path: Path, step_time: np.ndarray, step: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Test time from `Time`. Where it falls back at any step's start, the file counts
    step time: every step then continues from the test time of the sample before it. A
    fall within a step is a damaged file."""
    t = step_time.astype(float)
    falls = np.flatnonzero(np.diff(t) < 0) + 1
    inside = falls[step[falls] == step[falls - 1]]
    if inside.size:
        k = int(inside[0])
        raise FormatError(path, f"record {int(index[k])}: the time goes back from {t[k - 1]:g} s to {t[k]:g} s "
                          "within a step; expected it to rise", field_name="Time")
    if falls.size:
        # a step clock: every step continues from the test time of the sample before it
        total = t.copy()
        starts = np.flatnonzero(step_starts(step))
        ends = np.append(starts[1:], t.size)
        for a, b in zip(starts[1:], ends[1:]):
            total[a:b] += total[a - 1]
        t = total
    return t


def _header(meta: dict) -> dict:
    """instrument, channel and cell id where the file's XML (ndax) or header (nda) says."""
    out = {}
    info = (meta.get("TestInfo") or {}).get("TestInfo") or {}
    version = (meta.get("VersionInfo") or {}).get("ZwjVersion") or {}
    server = version.get("SvrVer") or meta.get("server_version") or meta.get("bts_version")
    out["instrument"] = "Neware BTS" + (f" ({server})" if server else "")
    if info.get("ChlID") is not None:
        # BTS names a channel device-unit-channel, as in its channel map
        out["channel"] = "-".join(str(info.get(k, "?")) for k in ("DevID", "UnitID", "ChlID"))
    if info.get("Barcode"):
        out["cell_id"] = str(info["Barcode"])
    remark = (meta.get("Step") or {}).get("Head_Info", {}).get("Remark", {})
    if isinstance(remark, dict) and remark.get("Value"):
        out["remark"] = remark["Value"]
    elif meta.get("remarks"):
        out["remark"] = meta["remarks"]
    return out


def read_neware_binary(path: str | Path) -> TimeSeries:
    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "no such file")
    frame, meta, warnings = _read_frame(path)
    if path.suffix.lower() == ".nda" and (cut := _cut_short(path)):
        warnings.append(cut)
    missing = [c for c in COLUMNS if c not in frame]
    if missing:
        raise FormatError(path, f"NewareNDA gave no {', '.join(missing)} column(s); expected Neware records")
    if frame.empty:
        raise FormatError(path, "no records in the file; expected at least one Neware data record")
    step = frame["Step"].to_numpy(dtype=np.int64)
    index = frame["Index"].to_numpy(dtype=np.int64)
    time = frame["Time"].to_numpy(dtype=float)
    for name in ("Time", "Voltage", "Current(mA)", "Charge_Capacity(mAh)", "Discharge_Capacity(mAh)"):
        values = frame[name].to_numpy(dtype=float)
        if not np.all(np.isfinite(values)):
            k = int(np.flatnonzero(~np.isfinite(values))[0])
            raise FormatError(path, f"record {int(index[k])}: {name} is not a number", field_name=name)
    t = _test_time(path, time, step, index)
    out = pd.DataFrame({"t_s": t, "current_A": frame["Current(mA)"].to_numpy(dtype=float) / 1000.0,
                        "voltage_V": frame["Voltage"].to_numpy(dtype=float),
                        "cycle": frame["Cycle"].to_numpy(dtype=np.int64), "step": step})
    temperatures = sorted((c for c in frame.columns if c[:1] == "T" and c[1:].isdecimal()), key=lambda c: int(c[1:]))
    for k, name in enumerate(temperatures):
        values = frame[name].to_numpy(dtype=float)
        if np.isfinite(values).any():
            out["temperature_degC" if k == 0 else f"temperature_{k + 1}_degC"] = values
    out["dq_Ah"] = per_step_counter_dq(frame["Charge_Capacity(mAh)"].to_numpy(dtype=float) / 1000.0,
                                       frame["Discharge_Capacity(mAh)"].to_numpy(dtype=float) / 1000.0,
                                       step_starts(step))
    header = _header(meta)
    header["counter"] = "Charge_Capacity(mAh) - Discharge_Capacity(mAh) (per step)"
    stamps = frame["Timestamp"]
    first = stamps.iloc[0]
    if pd.isna(first):
        warnings.append(f"{path.name}: the first record has no date; the start time is unknown")
    elif first.tzinfo is not None:
        unix = (stamps.dt.tz_convert("UTC") - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
        out["unix_time_s"] = unix.to_numpy(dtype=float)
        header.update(aware_start(first.to_pydatetime() - pd.Timedelta(seconds=float(t[0]))))
    else:
        started, note = naive_start(path.name, first.to_pydatetime() - pd.Timedelta(seconds=float(t[0])))
        header.update(started)
        warnings += note
    return TimeSeries(out, path, warnings=warnings, meta=header)
