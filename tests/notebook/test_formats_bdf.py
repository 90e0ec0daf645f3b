"""BDF readers (CSV, Parquet, impedance tables): every time unit and legacy name the
standard and older tools use, checked against the raw files read independently here
(the csv module, pyarrow); refusals of what cannot be right, each leaving the notebook
unchanged; bounded time and memory on wide and large files."""
from __future__ import annotations

import csv
import sys
import time
import tracemalloc
from datetime import datetime, timezone

import numpy as np
import pytest

from conftest import TEST_DATA, table_counts
from notebook import Notebook
from notebook.formats import FormatError, ReaderMissing, read_any, read_bdf, read_timeseries
from notebook.formats.bounded_csv import MAX_COLUMNS
from notebook.formats.parquet import read_parquet
from notebook.formats.spectra import MAX_SPECTRUM_POINTS, read_bdf_eis
from notebook.importer import import_file

CYCLING = TEST_DATA / "cycling"
BATMO = CYCLING / "batmo_bdf.csv"
LEGACY = CYCLING / "legacy.bdf.parquet"



def raw_rows(path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


# --- time units, names and counters -------------------------------------------------

def test_batmo_hours_become_seconds_and_its_counters_give_dq():
    header, rows = raw_rows(BATMO)
    col = {name: header.index(name) for name in header}
    fmt, series = read_any(BATMO)
    f = series.frame
    assert fmt == "bdf-csv" and len(f) == len(rows) == 21206
    for k in (0, 1, 345, 346, 10_000, len(rows) - 1):
        assert f["t_s"].iloc[k] == pytest.approx(float(rows[k][col["Test Time / h"]]) * 3600, rel=1e-15)
        assert f["voltage_V"].iloc[k] == float(rows[k][col["Voltage / V"]])
        # this file counts discharge current as positive (its Discharge Capacity rises while
        # Current / A > 0): the reader turns it to BDF's positive = charge, and says so
        assert f["current_A"].iloc[k] == -float(rows[k][col["Current / A"]])
        assert f["cycle"].iloc[k] == int(rows[k][col["Cycle Count / 1"]])
    assert f["t_s"].iloc[-1] == pytest.approx(392.077778 * 3600, abs=0.01)
    assert any("its sign was reversed" in w for w in series.warnings)
    assert series.meta["counter"] == "Charge Capacity / Ah, Discharge Capacity / Ah"
    # the file's counters restart every step: the charge each charge step reports at its
    # last row is what dq_Ah adds up over the step
    step = np.array([int(r[col["Step Index / 1"]]) for r in rows])
    cycle = np.array([int(r[col["Cycle Count / 1"]]) for r in rows])
    charge = np.array([float(r[col["Charge Capacity / Ah"]]) for r in rows])
    kind = np.array([r[col["Step Type / 1"]] for r in rows])
    runs = np.flatnonzero((np.diff(step) != 0) | (np.diff(cycle) != 0)) + 1
    bounds = np.concatenate(([0], runs, [len(rows)]))
    dq = f["dq_Ah"].to_numpy()
    checked = 0
    for a, b in zip(bounds[:-1], bounds[1:]):
        if kind[a] == "charge":
            assert dq[a:b].sum() == pytest.approx(charge[b - 1], rel=1e-9)
            checked += 1
    assert checked > 100


@pytest.mark.parametrize("label, factor", [
    ("Test Time / s", 1), ("Test Time / ms", 1e-3), ("Test Time / min", 60), ("Test Time / h", 3600),
    ("test_time_second", 1), ("test_time_millisecond", 1e-3), ("test_time_minute", 60), ("test_time_hour", 3600),
    ("Test Time/h", 3600),
])
def test_every_time_unit_is_read_as_seconds(tmp_path, label, factor):
    path = tmp_path / "run.bdf.csv"
    path.write_text(f"{label},Voltage / V,Current / A\n0,3.70,0.001\n2,3.71,0.001\n5,3.72,0.001\n")
    fmt, series = read_any(path)
    assert fmt == "bdf-csv"
    np.testing.assert_allclose(series.frame["t_s"], [0, 2 * factor, 5 * factor], rtol=1e-15)


def test_a_bdf_suffix_and_legacy_machine_names(tmp_path):
    path = tmp_path / "run.bdf"
    path.write_text("test_time_millisecond,voltage_volt,current_ampere,cycle_dimensionless,date_time_millisecond\n"
                    "0,3.7,0.1,1,1719934738000\n1500,3.8,0.1,1,1719934739500\n")
    fmt, series = read_any(path)
    assert fmt == "bdf-csv"
    assert series.frame["t_s"].tolist() == [0.0, 1.5]
    assert series.frame["cycle"].tolist() == [1, 1]
    assert series.meta["started_utc"] == "2024-07-02T15:38:58+00:00"     # 1719934738 s, by hand


def test_net_capacity_counter_and_positional_step_index(tmp_path):
    path = tmp_path / "net.csv"
    path.write_text("Test Time / s,Voltage / V,Current / A,Net Capacity / Ah,Step Index / 1\n"
                    "0,3.7,0.36,0,1\n10,3.8,0.36,0.001,2\n20,3.9,-0.36,0.0,3\n30,3.8,-0.36,-0.001,4\n")
    series = read_bdf(path)
    np.testing.assert_allclose(series.frame["dq_Ah"], [0, 0.001, -0.001, -0.001], atol=1e-18)
    # Step Index here is the standard's position within a step (1, 2, 3...), not a step number
    assert "step" not in series.frame and series.frame["step_index"].tolist() == [1, 2, 3, 4]


def test_legacy_parquet_matches_pyarrows_own_read():
    pq = pytest.importorskip("pyarrow.parquet")
    table = pq.read_table(LEGACY).to_pydict()
    fmt, series = read_any(LEGACY)
    f = series.frame
    assert fmt == "bdf-parquet" and len(f) == len(table["voltage_volt"]) == 5000
    np.testing.assert_allclose(f["t_s"], np.array(table["test_time_millisecond"]) / 1000, rtol=1e-15)
    np.testing.assert_array_equal(f["voltage_V"], table["voltage_volt"])
    np.testing.assert_array_equal(f["current_A"], table["current_ampere"])
    np.testing.assert_array_equal(f["cycle"], table["cycle_dimensionless"])
    np.testing.assert_array_equal(f["temperature_degC"], table["ambient_temperature_celsius"])
    np.testing.assert_allclose(f["unix_time_s"], np.array(table["date_time_millisecond"]) / 1000, rtol=1e-15)
    start = table["date_time_millisecond"][0] / 1000 - table["test_time_millisecond"][0] / 1000
    assert series.meta["started_utc"] == datetime.fromtimestamp(start, timezone.utc).isoformat(timespec="seconds")
    assert series.warnings == []


def test_legacy_parquet_imports_as_a_run(db_path):
    pytest.importorskip("pyarrow.parquet")
    with Notebook(db_path) as nb:
        result = import_file(nb, LEGACY)
        s, run = nb.samples(result.run_id), nb.run(result.run_id)
    assert result.format == "bdf-parquet" and s.size == 5000
    assert s["t"][-1] == pytest.approx(1.48782e5, rel=1e-6) and run["started_utc"] == "2024-07-02T15:18:58+00:00"


def test_parquet_without_pyarrow_says_it_is_optional(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ReaderMissing, match="Parquet needs pyarrow, which is not installed; use BDF CSV instead"):
        read_parquet(LEGACY)


def test_parquet_timestamps_and_text_numbers(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    stamps = pa.array([datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)] * 2, pa.timestamp("ms", tz="UTC"))
    good = pa.table({"Test Time / s": [0.0, 1.0], "Voltage / V": ["3.7", "3.8"], "Current / A": [0.1, 0.1],
                     "Date Time": stamps})
    pq.write_table(good, tmp_path / "good.bdf.parquet")
    series = read_parquet(tmp_path / "good.bdf.parquet")
    assert series.frame["voltage_V"].tolist() == [3.7, 3.8]
    assert series.meta["started_utc"] == "2025-01-02T03:04:05+00:00"
    bad = good.set_column(1, "Voltage / V", pa.array(["3.7", "oops"]))
    pq.write_table(bad, tmp_path / "bad.bdf.parquet")
    with pytest.raises(FormatError, match="line 3, field 'Voltage / V': expected a number, found 'oops'"):
        read_parquet(tmp_path / "bad.bdf.parquet")


# --- refusals -----------------------------------------------------------------------

HEADER = "Test Time / s,Voltage / V,Current / A"


def _minutes(n: int, unit_factor: float = 1.0, label: str = "Test Time / s") -> str:
    t = np.arange(n) * 60.0 * unit_factor
    return f"{label},Voltage / V,Current / A\n" + "".join(f"{x:.0f},3.7,0.001\n" for x in t)


BAD_FILES = [
    ("more.csv", f"{HEADER}\n0,3.7,0.1\n1,3.7,0.1,9\n", "line 3: expected 3 values, as the header has names, found 4"),
    ("fewer.csv", f"{HEADER}\n0,3.7,0.1\n1,3.7\n", "line 3: expected 3 values, as the header has names, found 2"),
    ("blank.csv", f"{HEADER}\n0,3.7,0.1\n\n1,3.7,0.1\n", "line 3: an empty line inside the table"),
    # 8,500 rows a minute apart written in ms but labelled s: a 16-year test
    ("ms.csv", _minutes(8500, 1000), "the test time spans 16.2 years"),
    # 1,000 such rows: 1.9 years, but a median of 16.7 h between samples
    ("ms2.csv", _minutes(1000, 1000), "the median interval between samples is 6e+04 s, more than 6 h"),
    ("unix.csv", f"{HEADER},Unix Time / s\n0,3.7,0.1,1e20\n", "line 2, field 'Unix Time / s': Unix time 1e+20 s"),
    ("unix_ms.csv", f"{HEADER},Unix Time / s\n0,3.7,0.1,1719934738000\n", "'Unix Time / ms'"),
    ("clock.csv", f"{HEADER},Unix Time / s\n0,3.7,0.1,1719934738\n600000,3.7,0.1,1719935338\n",
     "a test cannot run faster than the clock"),
    ("inf.csv", f"{HEADER}\n0,3.7,inf\n", "line 2, field 'Current / A': expected a finite number, found inf"),
    ("volts.csv", f"{HEADER}\n0,1e300,0.1\n", "line 2, field 'Voltage / V': 1e+300 V is not a plausible value"),
    ("step.csv", f"{HEADER},Step Count / 1\n0,3.7,0.1,1e300\n", "expected a whole number below 2,147,483,648"),
    ("hours.csv", "Test Time / h,Voltage / V,Current / A\n0,3.7,0.1\nx,3.7,0.1\n",
     "line 3, field 'Test Time / h': expected a number, found 'x'"),
    ("eis.csv", "Frequency / Hz,Real Impedance / ohm,Imaginary Impedance / ohm,Step Count / 1\n1000,1,-1,1e300\n",
     "line 2, field 'Step Count / 1': expected a whole number below"),
    ("eis.csv", "Frequency / Hz,Real Impedance / ohm,Imaginary Impedance / ohm\n1000,1,-1\n100,1,-1,5\n",
     "line 3: expected 3 values, as the header has names, found 4"),
    ("huge.csv", f"{HEADER}\n0,3.7,0.1\n1,3.{'7' * 8_000_000},0.1\n", "line 3: the line is 8,000,008 bytes long"),
    ("wide.csv", HEADER + "".join(f",Extra {k} / 1" for k in range(15_000)) + "\n",
     "line 1: the header names 15,003 columns; a table SolidStack reads has at most 512"),
    ("empty.parquet", "", "not a readable Parquet file"),
    ("garbage.parquet", "PAR1 this is not a table PAR1", "not a readable Parquet file"),
    ("truncated.parquet", None, "not a readable Parquet file"),
]


@pytest.mark.parametrize("name, text, message", BAD_FILES, ids=[f"{n}:{m[:30]}" for n, _, m in BAD_FILES])
def test_bad_bdf_files_are_refused_and_change_nothing(db_path, tmp_path, name, text, message):
    path = tmp_path / name
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow.parquet")
        if text is None:
            path.write_bytes(LEGACY.read_bytes()[:5000])
        else:
            path.write_text(text)
    else:
        path.write_text(text)
    with Notebook(db_path) as nb:
        before = table_counts(db_path)
        started = time.perf_counter()
        with pytest.raises(FormatError) as err:
            import_file(nb, path)
        elapsed = time.perf_counter() - started
        assert table_counts(db_path) == before
    text_of = str(err.value)
    assert text_of.startswith(str(path)) and message in text_of and "\n" not in text_of
    assert elapsed < 2.0, f"refusing {name} took {elapsed:.1f} s"


def test_an_eis_table_is_not_one_giant_spectrum(tmp_path):
    path = tmp_path / "eis.csv"
    n = MAX_SPECTRUM_POINTS + 1
    f = np.geomspace(1e6, 0.01, n)
    with open(path, "w") as fh:
        fh.write("Frequency / Hz,Real Impedance / ohm,Imaginary Impedance / ohm\n")
        fh.writelines(f"{x:.6g},1.0,-2.0\n" for x in f)
    with pytest.raises(FormatError, match=f"one spectrum of {n:,} points \\(lines 2-{n + 1}\\)"):
        read_bdf_eis(path)
    # the same points in sweeps of 1,000 (a step each) are read, each as written
    with open(path, "w") as fh:
        fh.write("Frequency / Hz,Real Impedance / ohm,Imaginary Impedance / ohm,Step Count / 1,Test Time / min\n")
        fh.writelines(f"{x:.6g},1.0,-2.0,{k // 1000 + 1},{k // 1000}\n" for k, x in enumerate(f))
    spectra = read_bdf_eis(path)
    assert len(spectra) == 101 and spectra[3].meta["step"] == 4 and spectra[3].meta["t_s"] == 180.0
    assert spectra[3].frequency_hz[0] == float(f"{f[3000]:.6g}") and spectra[3].z_ohm[0] == 1 - 2j


# --- bounded time and memory --------------------------------------------------------

def test_wide_files_are_refused_at_once_or_read_quickly(tmp_path):
    wide = tmp_path / "wide.csv"
    wide.write_text(HEADER + "".join(f",Extra {k} / 1" for k in range(15_000)) + "\n"
                    + ("0,3.7,0.1" + ",1" * 15_000 + "\n") * 5)
    started = time.perf_counter()
    with pytest.raises(FormatError, match="15,003 columns"):
        read_timeseries(wide)
    assert time.perf_counter() - started < 2.0
    allowed = tmp_path / "allowed.csv"
    extra = MAX_COLUMNS - 3
    with open(allowed, "w") as fh:
        fh.write(HEADER + "".join(f",Extra {k} / 1" for k in range(extra)) + "\n")
        fh.writelines(f"{k},3.7,0.1" + ",1.25" * extra + "\n" for k in range(5000))
    started = time.perf_counter()
    series = read_bdf(allowed)
    assert time.perf_counter() - started < 2.0
    assert len(series.frame) == 5000 and series.frame["t_s"].iloc[-1] == 4999.0
    assert f"and {extra - 8} more" in series.warnings[-1]


def test_a_30_mb_file_is_read_in_bounded_memory(tmp_path):
    path = tmp_path / "big.csv"
    rows = 720_000
    rng = np.random.default_rng(7)
    voltage = np.round(3 + rng.random(rows), 6)
    with open(path, "w") as fh:
        fh.write(HEADER + ",Cycle Count / 1,Step Count / 1,Power / W\n")
        for a in range(0, rows, 50_000):
            fh.writelines(f"{k}.5,{voltage[k]:.6f},0.001250,{k // 10_000 + 1},{k // 5_000 + 1},0.004625\n"
                          for k in range(a, min(rows, a + 50_000)))
    size = path.stat().st_size
    assert 28e6 < size < 40e6
    tracemalloc.start()
    try:
        series = read_bdf(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the result alone is 5 float64/int64 columns of 720k rows (29 MB); the old reader
    # held every cell as a Python string (about 16 bytes of memory per byte of file)
    assert peak < 2.0 * size, f"peak {peak / 1e6:.0f} MB for a {size / 1e6:.0f} MB file"
    assert len(series.frame) == rows and series.frame["t_s"].iloc[-1] == rows - 0.5
    np.testing.assert_array_equal(series.frame["voltage_V"], voltage)


# --- text details -------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    b"\xef\xbb\xbfTest Time / s,Voltage / V,Current / A\r\n0,3.7,0.125\r\n1,3.8,0.125\r\n",       # BOM, CRLF
    b"Test Time / s,Voltage / V,Current / A\n0,3.7,0.125\n1,3.8,0.125",                         # no last line end
    b'"Test Time / s","Voltage / V","Current / A",Note\n0,3.7,0.125,"a, b"\n1,3.8,0.125,c\n',    # quoted commas
    b"Test Time / s, Voltage / V, Current / A\n0, 3.7, 0.125\n1, 3.8, 0.125\n\n\n",              # spaces, blank end
    b"Test Time / s,Voltage / V,Current / A,Temp / \xb0C\n0,3.7,0.125,\xb51\n1,3.8,0.125,2\n",   # Latin-1 bytes
])
def test_text_variants_read_the_same_numbers(tmp_path, data):
    path = tmp_path / "run.csv"
    path.write_bytes(data)
    f = read_bdf(path).frame
    assert f["t_s"].tolist() == [0, 1] and f["voltage_V"].tolist() == [3.7, 3.8]
    assert f["current_A"].tolist() == [0.125, 0.125]


def test_row_checks_hold_across_read_blocks(tmp_path, monkeypatch):
    import notebook.formats.bounded_csv as bounded_csv
    monkeypatch.setattr(bounded_csv, "BLOCK_BYTES", 7)      # every line straddles blocks
    lines = [HEADER] + [f"{k},3.{k:03d},0.5" for k in range(60)]
    path = tmp_path / "run.csv"
    path.write_text("\n".join(lines) + "\n")
    f = read_bdf(path).frame
    assert f["t_s"].tolist() == list(range(60)) and f["voltage_V"].iloc[42] == 3.042
    lines[41] += ",7"                                        # line 42 of the file
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError, match="line 42: expected 3 values, as the header has names, found 4"):
        read_bdf(path)


def test_sniffing_needs_a_required_bdf_quantity():
    from notebook.formats.bdf import looks_like_bdf
    assert looks_like_bdf("Test Time / h,Current / A,Voltage / V,Step Type / 1")
    assert looks_like_bdf("test_time_millisecond,current_ampere,voltage_volt")
    # Arbin's CSV has Step_Index and Cycle_Index, which are BDF machine names too
    assert not looks_like_bdf("Data_Point,Test_Time(s),Step_Index,Cycle_Index,Current(A),Voltage(V)")
