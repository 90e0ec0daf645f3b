"""Neware .nda/.ndax binaries (through NewareNDA), the Neware flat CSV and the Landt CSV
and xlsx exports, read from the real files in tests/data and checked against the
instruments' own capacity counters, the step limits the files' XML gives, the Landt
file's BDF twin and synthetic files with known faults."""
from __future__ import annotations

import csv
import io
import re
import json
import zipfile
from datetime import datetime, timezone

import NewareNDA
import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook

from analysis.cycling import cycle_summary
from conftest import TEST_DATA, refused_import
from notebook import Notebook
from notebook.formats import FormatError, read_any
from notebook.formats.counters import per_step_counter_dq, step_numbers, step_starts
from notebook.formats.landt import read_landt_csv
from notebook.formats.neware import looks_like_neware
from notebook.formats.neware_binary import read_neware_binary
from notebook.formats.neware_flat import looks_like_neware_flat
from notebook.importer import import_file

CYCLING = TEST_DATA / "cycling"
NDA = CYCLING / "TestFile.nda"
NDAX = CYCLING / "test.ndax"
UNIT27 = CYCLING / "123456789012_Unit27_Example_Data_File.ndax"
FLAT = CYCLING / "neware_uio.csv"
NESTED = CYCLING / "nw_regular_export_ife_example.csv"
LANDT = CYCLING / "SINTEF__LiGrR2032__2024-04-30__25degC__Landt.csv"
LANDT_BDF = CYCLING / "SINTEF__LiGrR2032__2024-04-30__25degC__Landt.bdf.csv"



def per_cycle_counter(frame: pd.DataFrame) -> pd.DataFrame:
    """Charge and discharge (mAh) per cycle from the counter's per-sample charge."""
    dq = frame["dq_Ah"] * 1000.0
    return pd.DataFrame({"charge": dq.clip(lower=0), "discharge": -dq.clip(upper=0),
                         "cycle": frame["cycle"]}).groupby("cycle").sum()


def integrated_vs_counter(frame: pd.DataFrame) -> pd.DataFrame:
    """The app's cycling analysis (integrated current) beside the counter, per cycle."""
    table = cycle_summary(frame["t_s"].to_numpy(), frame["current_A"].to_numpy(), frame["voltage_V"].to_numpy(),
                          frame["cycle"].to_numpy()).cycles.set_index("cycle")
    counter = per_cycle_counter(frame)
    return pd.DataFrame({"charge": table["charge_mAh"], "charge_counter": counter["charge"],
                         "discharge": table["discharge_mAh"], "discharge_counter": counter["discharge"]})


def assert_within(table: pd.DataFrame, rtol: float) -> None:
    for half in ("charge", "discharge"):
        has = table[f"{half}_counter"] > 0
        np.testing.assert_allclose(table.loc[has, half], table.loc[has, f"{half}_counter"], rtol=rtol)


# ---- the counter arithmetic, on a case worked by hand ------------------------------------

def test_per_step_counters_become_charge_per_sample_across_their_resets():
    # step 1 charges 0.1, 0.3, 0.6 Ah; step 2 (counter from 0 again) discharges 0.2, 0.5
    charge = np.array([0.1, 0.3, 0.6, 0.0, 0.0])
    discharge = np.array([0.0, 0.0, 0.0, 0.2, 0.5])
    step = np.array([1, 1, 1, 2, 2])
    dq = per_step_counter_dq(charge, discharge, step_starts(step))
    np.testing.assert_allclose(dq, [0.1, 0.2, 0.3, -0.2, -0.3])
    # a program step index that repeats each cycle still starts a new step at each change
    assert step_numbers(np.array([1, 1, 2, 2]), np.array([1, 2, 1, 2])).tolist() == [1, 2, 3, 4]


# ---- Neware .nda / .ndax -----------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")   # NewareNDA called directly
def test_nda_points_cycles_and_counter_through_the_dispatch():
    fmt, series = read_any(NDA)
    f = series.frame
    assert fmt == "neware-nda" and len(f) == 6670
    assert f["cycle"].unique().tolist() == [1, 2, 3] and f["step"].max() == 11
    # dq_Ah summed over each step is that step's last counter value, as NewareNDA reads it
    raw = NewareNDA.read(str(NDA), software_cycle_number=False)
    last = raw.groupby("Step")[["Charge_Capacity(mAh)", "Discharge_Capacity(mAh)"]].last()
    net = (last["Charge_Capacity(mAh)"] - last["Discharge_Capacity(mAh)"]).to_numpy(dtype=float) / 1000.0
    np.testing.assert_allclose(f.groupby("step")["dq_Ah"].sum().to_numpy(), net, rtol=1e-12, atol=1e-15)
    counter = per_cycle_counter(f)
    assert counter.loc[1, "discharge"] == pytest.approx(3790.168, abs=1e-3)        # step 2, CC discharge
    assert counter.loc[2, "charge"] == pytest.approx(5655.088 + 155.937, abs=2e-3)  # steps 4 (CC) + 5 (CV)
    assert series.meta["counter"].startswith("Charge_Capacity(mAh)")
    # the current is the file's mA in A, + = charge
    assert f["current_A"].iloc[200] < 0
    assert f["current_A"].iloc[200] == pytest.approx(float(raw["Current(mA)"].iloc[200]) / 1000.0)


def test_nda_integrated_current_agrees_with_the_counter_per_cycle():
    table = integrated_vs_counter(read_neware_binary(NDA).frame)
    assert table.loc[2, "charge_counter"] > 5000 and table.loc[2, "discharge_counter"] > 5000
    assert_within(table, 1e-3)


def test_nda_keeps_test_time_temperature_and_its_utc_start():
    series = read_neware_binary(NDA)
    f = series.frame
    # BTS 9 counts test time through the file (paused 7 min after the second record: the
    # wall clock moves on, the test time does not)
    assert f["t_s"].iloc[1] == pytest.approx(12.26, abs=1e-4) and f["t_s"].iloc[2] == pytest.approx(12.27, abs=1e-4)
    assert f["unix_time_s"].iloc[2] - f["unix_time_s"].iloc[1] == pytest.approx(443.76, abs=1e-3)
    assert f["temperature_degC"].iloc[0] == pytest.approx(23.0314, abs=1e-4)
    assert series.meta["started_utc"] == "2024-05-27T08:02:53+00:00"
    assert series.meta["instrument"] == "Neware BTS (9.1.5.7.20240403.R5)"


def test_ndax_step_clock_becomes_test_time_matching_its_step_limits_and_wall_clock():
    series = read_neware_binary(NDAX)
    f = series.frame
    assert len(f) == 1464 and f["cycle"].unique().tolist() == [1] and f["step"].max() == 4
    # the steps' time limits in the file's Step XML: rest 300 s, CCCV charge and discharge
    # 21600 s each, rest 300 s; the wall clock says the same (20:24:23 to 08:34:23)
    assert f["t_s"].iloc[-1] == 300 + 21600 + 21600 + 300 == (12 * 3600 + 10 * 60)
    assert np.all(np.diff(f["t_s"]) >= 0)
    counter = per_cycle_counter(f)
    assert (counter.loc[1, "charge"], counter.loc[1, "discharge"]) == (pytest.approx(0.593039, abs=2e-6),
                                                                     pytest.approx(0.625451, abs=2e-6))
    # the current is logged to 0.1 uA at 120 uA and does not follow the counter's own
    # integration over each 30 s interval: integrated charge is 0.10 % low, discharge 0.12 % high
    assert_within(integrated_vs_counter(f), 1.5e-3)
    # a naive local clock: the start is taken in this computer's zone, said in a warning
    assert series.meta["started_local"] == "2024-02-01T20:24:23"
    assert any("local time with no zone" in w for w in series.warnings)


def test_ndax_header_gives_channel_cell_id_and_start():
    fmt, series = read_any(UNIT27)
    f, meta = series.frame, series.meta
    assert fmt == "neware-ndax" and len(f) == 301
    assert meta["channel"] == "27-0-81" and meta["cell_id"] == "123456789012"
    assert meta["instrument"] == "Neware BTS (BTSServer(R3)-8.0.0.390 (2024.06.24))"
    assert meta["started_utc"] == "2024-11-18T12:43:45+00:00"
    first = datetime(2024, 11, 18, 12, 43, 45, 422000, tzinfo=timezone.utc).timestamp()
    assert f["unix_time_s"].iloc[0] == pytest.approx(first, abs=1e-3)
    assert f["t_s"].iloc[-1] == 300.0 and (f["dq_Ah"] == 0).all() and (f["current_A"] == 0).all()
    assert f["temperature_degC"].iloc[0] == pytest.approx(25.487) and "temperature_2_degC" in f


def _zip(path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


@pytest.mark.parametrize("name, make, message", [
    ("cut.nda", lambda: NDA.read_bytes()[:1000], "not a readable Neware nda file"),
    ("empty.nda", lambda: b"", "not a readable Neware nda file"),
    ("garbage.nda", lambda: bytes(range(256)) * 20, "does not appear to be a Neware file"),
    ("future.nda", lambda: NDA.read_bytes()[:14] + b"\x31" + NDA.read_bytes()[15:], "nda version 49 is not yet supported"),
    ("cut.ndax", lambda: NDAX.read_bytes()[:20000], "the zip archive is damaged"),
    ("text.ndax", lambda: b"not a zip at all", "the zip archive is damaged (File is not a zip file)"),
    ("nodata.ndax", None, "File type not yet supported"),
])
def test_damaged_binaries_are_one_format_error_and_import_nothing(db_path, tmp_path, name, make, message):
    path = tmp_path / name
    if make is None:
        _zip(path, {"Step.xml": b"<root/>"})           # a zip, but without the records (data.ndc)
    else:
        path.write_bytes(make())
    text = str(refused_import(db_path, path))
    assert text.startswith(str(path)) and message in text


def test_nda_cut_between_records_imports_what_it_holds_with_a_warning(db_path, tmp_path):
    path = tmp_path / "cut.nda"
    path.write_bytes(NDA.read_bytes()[:1024 + 56 * 3553 + 20])     # 3553 whole 56-byte records, then part of one
    with Notebook(db_path) as nb:
        result = import_file(nb, path)
        stored = json.loads(nb.run(result.run_id)["provenance_json"])["import"]["warnings"]
    assert result.n_samples == 3553
    assert any("ends after 3553 records without the step table" in w for w in stored)
    assert not any("step table" in w for w in read_neware_binary(NDA).warnings)      # the whole file: no warning


def test_ndax_with_a_damaged_test_description_still_reads_its_records(tmp_path):
    path = tmp_path / "badxml.ndax"
    with zipfile.ZipFile(NDAX) as src:
        members = {n: src.read(n) for n in src.namelist()}
    members["TestInfo.xml"] = b"<config><TestInfo"                     # cut short
    _zip(path, members)
    series = read_neware_binary(path)
    assert len(series.frame) == 1464 and "channel" not in series.meta
    assert any("test description is not readable" in w for w in series.warnings)


# ---- Neware flat CSV ---------------------------------------------------------------------

def _flat_rows() -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(FLAT.read_text(encoding="utf-8-sig"))))
    return rows[0], rows[1:]


def test_flat_csv_points_steps_and_counter_from_its_capacity_columns():
    fmt, series = read_any(FLAT)
    f = series.frame
    assert fmt == "neware-flat-csv" and len(f) == 9065
    assert f["cycle"].unique().tolist() == [1, 2, 3, 4] and f["step"].max() == 32
    header, rows = _flat_rows()
    c = {name: header.index(name) for name in ("Cycle Index", "Step Index", "Chg. Cap.(Ah)", "DChg. Cap.(Ah)",
                                               "Cumulative Time", "Current(A)")}
    # each step's charge by the counter = its last Chg./DChg. Cap. value, read here with csv
    last = {}
    for row in rows:
        last[(row[c["Cycle Index"]], row[c["Step Index"]])] = float(row[c["Chg. Cap.(Ah)"]]) - float(row[c["DChg. Cap.(Ah)"]])
    np.testing.assert_allclose(f.groupby("step")["dq_Ah"].sum().to_numpy(), list(last.values()), rtol=1e-12, atol=1e-15)
    h, m, s = rows[-1][c["Cumulative Time"]].split(":")
    assert f["t_s"].iloc[-1] == int(h) * 3600 + int(m) * 60 + int(s) == 518538
    assert f["current_A"].iloc[-1] == float(rows[-1][c["Current(A)"]]) == 0.00099171
    assert series.meta["started_local"] == "2022-05-18T16:27:52"


def test_flat_csv_integrated_current_agrees_with_the_counter_per_cycle():
    table = integrated_vs_counter(read_any(FLAT)[1].frame)
    assert len(table) == 4 and (table["discharge_counter"] > 1.0).all()
    assert_within(table, 1e-3)


def test_flat_and_nested_exports_are_told_apart(tmp_path):
    flat_first = FLAT.read_text(encoding="utf-8-sig").split("\n", 1)[0]
    nested_first = NESTED.read_text(encoding="utf-8-sig").split("\n", 1)[0]
    assert looks_like_neware_flat(flat_first) and not looks_like_neware(flat_first)
    assert looks_like_neware(nested_first) and not looks_like_neware_flat(nested_first)
    assert read_any(NESTED)[0] == "neware-csv"
    # a flat export whose columns begin with the cycle index, as the nested one's do
    header, rows = _flat_rows()
    order = [header.index("Cycle Index")] + [k for k in range(len(header)) if k != header.index("Cycle Index")]
    path = tmp_path / "flat_cycle_first.csv"
    path.write_text("\n".join(",".join(r[k] for k in order) for r in [header] + rows[:50]) + "\n")
    fmt, series = read_any(path)
    assert fmt == "neware-flat-csv" and len(series.frame) == 50


@pytest.mark.parametrize("change, message", [
    (lambda r: r[:-1], "line 5: 25 values in the row, expected 26"),
    (lambda r: r + ["7"], "line 5: 27 values in the row, expected 26"),
    (lambda r: r[:6] + ["1.2.3"] + r[7:], "line 5, field 'Current(A)': expected a number, found '1.2.3'"),
    (lambda r: r[:5] + ["12 min"] + r[6:], "line 5, field 'Cumulative Time': expected a time as H:MM:SS"),
])
def test_flat_csv_bad_rows_are_one_format_error_and_import_nothing(db_path, tmp_path, change, message):
    header, rows = _flat_rows()
    rows = rows[:10]
    rows[3] = change(rows[3])                                          # the file's line 5
    path = tmp_path / "neware_flat.csv"
    path.write_text("\n".join(",".join(r) for r in [header] + rows) + "\n")
    assert str(refused_import(db_path, path)).startswith(f"{path}, {message}")


# ---- Landt CSV / xlsx --------------------------------------------------------------------

def test_landt_csv_matches_its_bdf_twin_point_for_point():
    fmt, landt = read_any(LANDT)
    twin_fmt, twin = read_any(LANDT_BDF)
    assert (fmt, twin_fmt) == ("landt-csv", "bdf-csv")
    a, b = landt.frame, twin.frame
    assert len(a) == len(b) == 25162
    # both files carry the cycler's values at the same rounding: equal, not merely close
    for column in ("t_s", "current_A", "voltage_V", "dq_Ah"):
        np.testing.assert_array_equal(a[column].to_numpy(), b[column].to_numpy(), err_msg=column)
    # the BDF's step_index restarts at 2 in cycle 2; runs of steps are the same
    assert a["step"].tolist() == step_numbers(b["step"].to_numpy()).tolist()
    # per-cycle capacities by the app's analysis: the Landt file's cycles, and the same
    # cycles given to the twin's samples
    ours = integrated_vs_counter(a)
    theirs = cycle_summary(b["t_s"].to_numpy(), b["current_A"].to_numpy(), b["voltage_V"].to_numpy(),
                           a["cycle"].to_numpy()).cycles.set_index("cycle")
    np.testing.assert_array_equal(ours["charge"].to_numpy(), theirs["charge_mAh"].to_numpy())
    np.testing.assert_array_equal(ours["discharge"].to_numpy(), theirs["discharge_mAh"].to_numpy())
    # the counter's own per-cycle totals: the last values of each step's column (0.1 mAh steps)
    np.testing.assert_allclose(ours["discharge_counter"], [6.3, 1.3], atol=1e-9)
    np.testing.assert_allclose(ours["charge_counter"].fillna(0), [3.2, 0.0], atol=1e-9)


def test_landt_integrated_current_is_within_the_files_rounding_of_the_counter():
    """The export rounds current to 0.1 mA at a 0.18 mA test current, so the integral is
    13 % off the counter (which the cycler integrates before rounding): it must still be
    within half a rounding step times the time under current, plus the counter's rounding."""
    f = read_landt_csv(LANDT).frame
    table = integrated_vs_counter(f)
    busy = f.assign(dt=np.diff(f["t_s"], prepend=f["t_s"].iloc[0]))
    for half, sign in (("charge", 1), ("discharge", -1)):
        seconds = busy[np.sign(busy["current_A"]) == sign].groupby("cycle")["dt"].sum()
        bound = 0.05 * seconds / 3600.0 + 0.05 * 2                      # mAh: 0.05 mA x hours, + 2 counter roundings
        has = table[f"{half}_counter"] > 0
        gap = (table.loc[has, half] - table.loc[has, f"{half}_counter"]).abs()
        assert (gap <= bound.reindex(gap.index)).all()
        assert (gap / table.loc[has, f"{half}_counter"] > 0.05).all()  # and the gap is real: the counter is the reference


def test_landt_header_block_gives_cell_id_and_start(tmp_path):
    series = read_landt_csv(LANDT)
    assert series.meta["instrument"] == "Landt" and "cell_id" not in series.meta      # the file leaves it empty
    assert series.meta["started_local"] == "2024-04-30T14:33:19"                        # 14:33:19 less 0.02 s
    assert set(series.frame.columns) == {"t_s", "current_A", "voltage_V", "cycle", "step", "dq_Ah"}   # sensors all 0
    lines = LANDT.read_text().splitlines()
    lines[1] = "cell id: LiGr-07" + "," * 16
    lines[8] = lines[8].replace(",0,0,0,0,rest,", ",0,25.5,0,0,rest,")            # Pressure_Psi, temperature_1_C...
    path = tmp_path / "landt_id.csv"
    path.write_text("\n".join(lines[:200]) + "\n")
    series = read_landt_csv(path)
    assert series.meta["cell_id"] == "LiGr-07" and series.frame["temperature_degC"].iloc[1] == 25.5


@pytest.mark.parametrize("change, message", [
    (lambda line: line.rsplit(",", 3)[0], "line 9: 15 values in the row, expected 17"),
    (lambda line: line + "1,2", "line 9: 19 values in the row, expected 17"),
    # (the rows end in a comma: 18 values, the last empty, pass as 17)
    (lambda line: line.replace(",2.9215,", ",2,9215,"), "line 9: 19 values in the row, expected 17"),
    (lambda line: line.replace(",2.9215,", ",n/a,"), "line 9, field 'voltage_V': expected a number, found 'n/a'"),
])
def test_landt_bad_rows_are_one_format_error_and_import_nothing(db_path, tmp_path, change, message):
    lines = LANDT.read_text().splitlines()[:40]
    lines[8] = change(lines[8])
    path = tmp_path / "landt.csv"
    path.write_text("\n".join(lines) + "\n")
    assert str(refused_import(db_path, path)).startswith(f"{path}, {message}")


def _landt_xlsx(path, rows: int, *, short_row: int | None = None) -> None:
    """A workbook in the Landt layout: the CSV's header block, header and first rows,
    numbers as numbers and the date as text, as a spreadsheet holds them."""
    lines = list(csv.reader(io.StringIO(LANDT.read_text())))
    book = Workbook()
    sheet = book.active
    for k, cells in enumerate(lines[:7 + rows]):
        cells = cells[:17]
        if k >= 7:
            cells = [float(c) if c and c.replace(".", "", 1).replace("-", "", 1).isdigit() else c for c in cells]
            if k == short_row:
                cells = cells[:10]
        sheet.append(cells)
    book.save(path)


def test_landt_xlsx_reads_as_the_csv_does(tmp_path):
    path = tmp_path / "landt.xlsx"
    _landt_xlsx(path, 300)
    fmt, series = read_any(path)
    assert fmt == "landt-xlsx"
    expected = read_landt_csv(LANDT).frame.iloc[:300]
    pd.testing.assert_frame_equal(series.frame, expected, check_dtype=False)
    assert series.meta["started_local"] == "2024-04-30T14:33:19"


def test_landt_xlsx_short_row_and_other_workbooks(db_path, tmp_path):
    path = tmp_path / "short.xlsx"
    _landt_xlsx(path, 50, short_row=20)                                 # sheet row 21
    assert re.search(r"short\.xlsx, line 21, field '\w+': expected a number, found ''",
                     str(refused_import(db_path, path)))
    other = tmp_path / "other.xlsx"
    book = Workbook()
    book.active.append(["Frequency", "Z'", "Z''"])
    book.save(other)
    with pytest.raises(FormatError) as err:
        read_any(other)
    assert "unknown format '.xlsx'" in str(err.value)                    # not claimed as a Landt file


# ---- import into a notebook --------------------------------------------------------------

@pytest.mark.parametrize("path, fmt, n", [
    (NDA, "neware-nda", 6670), (NDAX, "neware-ndax", 1464), (UNIT27, "neware-ndax", 301),
    (FLAT, "neware-flat-csv", 9065), (LANDT, "landt-csv", 25162),
])
def test_each_real_file_imports_with_all_its_points(db_path, path, fmt, n):
    with Notebook(db_path) as nb:
        result = import_file(nb, path)
        assert (result.format, result.n_samples) == (fmt, n)
        samples = nb.samples(result.run_id)
        series = read_any(path)[1]
        assert len(samples) == n
        np.testing.assert_allclose(samples["t"], series.frame["t_s"].to_numpy())
        np.testing.assert_allclose(samples["current"], series.frame["current_A"].to_numpy())
        run = nb.run(result.run_id)
        assert run["n_samples"] == n
        if "started_utc" in series.meta:
            assert run["started_utc"] == series.meta["started_utc"]


def test_a_flat_neware_csv_with_thousands_of_columns_is_refused_at_once(tmp_path):
    """The vendor-table reader bounds shapes as the BDF reader does (issue 19 item 6)."""
    header = "DataPoint,Cycle Index,Step Index,Step Type,Time,Total Time,Current(A),Voltage(V)," + ",".join(
        f"Aux{k}" for k in range(15000))
    path = tmp_path / "wide.csv"
    path.write_text(header + "\n" + ",".join(["1"] * 15008) + "\n")
    with pytest.raises(FormatError, match="the header names 15,008 columns; a table SolidStack reads has at most 512"):
        read_any(path)
