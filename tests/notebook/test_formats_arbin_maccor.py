"""Arbin (.res, CSV, xlsx) and Maccor text readers, checked against the instruments' own
counters in the real files of tests/data and against synthetic files whose truth is
known by construction; bad files are refused in one line and leave the notebook as it was."""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from analysis.cycling import cycle_summary
from conftest import TEST_DATA, table_counts
from notebook import Notebook
from notebook.formats import FormatError, read_any
from notebook.importer import import_file

CYCLING = TEST_DATA / "cycling"
RES = CYCLING / "20160805_test001_45_cc_01.res"
ARBIN_CSV = CYCLING / "sample_data_arbin.csv"
MACCOR = CYCLING / "maccor_two.txt"
BERLIN = "CET-1CEST,M3.5.0,M10.5.0/3"      # POSIX rules, so no zone database is needed


@pytest.fixture
def zone(monkeypatch):
    """Set this process's local time zone (the readers take zone-less file clocks as local)."""
    if not hasattr(time, "tzset"):
        pytest.skip("setting the process's time zone needs time.tzset (not on Windows)")

    def set_zone(tz: str) -> None:
        monkeypatch.setenv("TZ", tz)
        time.tzset()
    yield set_zone
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="module")
def res():
    return read_any(RES)


@pytest.fixture(scope="module")
def res_tables():
    """The .res tables read directly, as the reference the reader is checked against."""
    from access_parser import AccessParser
    db = AccessParser(str(RES))
    return {name: pd.DataFrame(db.parse_table(name)) for name in ("Channel_Normal_Table", "Channel_Statistic_Table")}



def net_counter_by_sample(frame: pd.DataFrame) -> np.ndarray:
    """dq_Ah summed from each cycle's start: what Charge_Capacity - Discharge_Capacity reads."""
    return frame.groupby("cycle")["dq_Ah"].cumsum().to_numpy()


# ---- Arbin .res --------------------------------------------------------------------------

def test_res_reads_every_record_and_cycle_in_order(res, res_tables):
    name, ts = res
    normal = res_tables["Channel_Normal_Table"].sort_values("Data_Point")
    assert name == "arbin-res" and len(ts.frame) == 10261 and ts.frame["cycle"].nunique() == 18
    np.testing.assert_array_equal(ts.frame["t_s"], normal["Test_Time"])
    np.testing.assert_array_equal(ts.frame["current_A"], normal["Current"])
    np.testing.assert_array_equal(ts.frame["voltage_V"], normal["Voltage"])
    np.testing.assert_array_equal(ts.frame["cycle"], normal["Cycle_Index"])
    np.testing.assert_array_equal(ts.frame["step"], normal["Step_Index"])
    # Arbin's own statistics table marks each finished cycle's last data point
    stats = res_tables["Channel_Statistic_Table"]
    ends = np.flatnonzero(np.diff(ts.frame["cycle"])) + 1          # 1-based data point of each cycle's last record
    assert ends.tolist() == stats["Data_Point"].tolist()


def test_res_reads_the_same_through_access_parsers_row_decoder(res, monkeypatch):
    """The numpy page reader (notebook/formats/access_rows.py) against access-parser's own
    row-by-row decoding, which the reader falls back to for tables numpy cannot read."""
    monkeypatch.setattr("notebook.formats.arbin.numeric_columns", lambda *args: None)
    slow = read_any(RES)[1]
    pd.testing.assert_frame_equal(slow.frame, res[1].frame)


def test_res_header_gives_start_channel_test_name_and_instrument(zone):
    zone(BERLIN)
    ts = read_any(RES)[1]
    # Global_Table.Start_DateTime = 42587.67804398148 days after 1899-12-30 = 2016-08-05 16:16:23
    # local; Berlin keeps summer time (UTC+2) in August
    assert ts.meta["started_utc"] == "2016-08-05T14:16:23+00:00"
    assert ts.meta["started_local"] == "2016-08-05T16:16:23"
    assert ts.meta["channel"] == "3" and ts.meta["cell_id"] == "20160805_sic006_45_cc_01-01-003"
    assert ts.meta["instrument"] == "Arbin (MITS Pro 4.32 Build: 130904, serial 176075)"
    assert any("UTC+02:00" in w for w in ts.warnings)


def test_res_dq_is_the_instruments_counter_exactly(res, res_tables):
    ts = res[1]
    normal = res_tables["Channel_Normal_Table"].sort_values("Data_Point")
    net = (normal["Charge_Capacity"] - normal["Discharge_Capacity"]).to_numpy()
    np.testing.assert_allclose(net_counter_by_sample(ts.frame), net, rtol=0, atol=1e-15)
    assert ts.meta["counter"] == "Charge_Capacity, Discharge_Capacity"


def test_res_per_cycle_charge_from_our_integration_is_within_0p1_percent_of_arbins_counters(res, res_tables):
    ts = res[1]
    f = ts.frame
    ours = cycle_summary(f["t_s"].to_numpy(), f["current_A"].to_numpy(), f["voltage_V"].to_numpy(),
                         f["cycle"].to_numpy()).cycles.set_index("cycle")
    normal = res_tables["Channel_Normal_Table"].sort_values("Data_Point")
    at_end = normal.groupby("Cycle_Index")[["Charge_Capacity", "Discharge_Capacity"]].last() * 1000   # mAh
    vendor = ts.meta["vendor_cycles"].set_index("cycle")
    np.testing.assert_array_equal(vendor["charge_mAh"], at_end["Charge_Capacity"])
    compared = 0
    for ours_col, theirs in (("charge_mAh", "Charge_Capacity"), ("discharge_mAh", "Discharge_Capacity")):
        for cycle, counter in at_end[theirs].items():
            if counter > 0.01:                 # cycle 18 stopped before its charge
                assert ours.loc[cycle, ours_col] == pytest.approx(counter, rel=1e-3), (cycle, ours_col)
                compared += 1
    assert compared == 35


# ---- Arbin CSV and xlsx -----------------------------------------------------------------

def test_arbin_csv_start_counter_and_temperature(zone):
    zone("UTC0")
    name, ts = read_any(ARBIN_CSV)
    f = ts.frame
    assert name == "arbin-csv" and len(f) == 13 and f["cycle"].unique().tolist() == [1]
    assert f["step"].tolist() == [1] * 10 + [2, 3, 3]
    # the first record is stamped 09/20/2024 08:32:34.558 at test time 30.0005 s
    assert ts.meta["started_utc"] == "2024-09-20T08:32:04.557+00:00"
    assert f["temperature_degC"].iloc[0] == 24.66422 and f["current_A"].iloc[-1] == 2.650138
    # the counters in the file's last row: Charge 0.000400839 Ah, Discharge 2.04379E-05 Ah
    assert f["dq_Ah"].sum() == pytest.approx(0.000400839 - 2.04379e-05, abs=1e-15)
    assert f["dq_Ah"].iloc[-1] == pytest.approx(0.000400839 - 2.01404e-05, abs=1e-15)


def _res_as_csv(res_tables, path, old_names: bool, date_format: str) -> None:
    """The .res records written as Arbin's CSV export would, in mA and mAh."""
    n = res_tables["Channel_Normal_Table"].sort_values("Data_Point")
    names = (["Data_Point", "Date_Time", "Test_Time(s)", "Step_Time(s)", "Cycle_Index", "Step_Index", "Current(mA)",
              "Voltage(V)", "Charge_Capacity(mAh)", "Discharge_Capacity(mAh)", "Charge_Energy(Wh)",
              "Discharge_Energy(Wh)"] if old_names else
             ["Data Point", "Date Time", "Test Time (s)", "Step Time (s)", "Cycle Index", "Step Index",
              "Current (mA)", "Voltage (V)", "Charge Capacity (mAh)", "Discharge Capacity (mAh)",
              "Charge Energy (Wh)", "Discharge Energy (Wh)"])
    stamps = (pd.Timestamp("1899-12-30") + pd.to_timedelta(n["DateTime"], unit="D")).dt.strftime(date_format + " %H:%M:%S.%f")
    table = pd.DataFrame({names[0]: n["Data_Point"], names[1]: stamps.str[:-3], names[2]: n["Test_Time"],
                          names[3]: n["Step_Time"], names[4]: n["Cycle_Index"], names[5]: n["Step_Index"],
                          names[6]: n["Current"] * 1000, names[7]: n["Voltage"],
                          names[8]: n["Charge_Capacity"] * 1000, names[9]: n["Discharge_Capacity"] * 1000,
                          names[10]: n["Charge_Energy"], names[11]: n["Discharge_Energy"]})
    table.to_csv(path, index=False, float_format="%.17g")


@pytest.mark.parametrize("old_names, date_format", [(True, "%m/%d/%Y"), (False, "%d/%m/%Y")])
def test_arbin_csv_of_the_res_records_reads_the_same_numbers(res, res_tables, tmp_path, zone, old_names, date_format):
    zone("UTC0")
    path = tmp_path / "export.csv"
    _res_as_csv(res_tables, path, old_names, date_format)
    name, ts = read_any(path)
    # 05/08/2016 .. 10/08/2016 spans the test's 4.6 days only when read day/month
    started = datetime.fromisoformat(ts.meta["started_utc"])
    assert abs((started - datetime(2016, 8, 5, 16, 16, 23, tzinfo=timezone.utc)).total_seconds()) < 0.5
    a, b = ts.frame, res[1].frame
    assert name == "arbin-csv" and len(a) == 10261
    for column in ("t_s", "voltage_V", "cycle", "step"):
        np.testing.assert_array_equal(a[column], b[column])
    # mA and mAh converted: equal to rounding of the unit change
    np.testing.assert_allclose(a["current_A"], b["current_A"], rtol=1e-15, atol=1e-18)
    np.testing.assert_allclose(a["dq_Ah"], b["dq_Ah"], rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(ts.meta["vendor_cycles"]["discharge_mAh"],
                               res[1].meta["vendor_cycles"]["discharge_mAh"], rtol=1e-15)


def _csv_as_xlsx(csv_path, xlsx_path, split_at: int | None = None) -> None:
    """Arbin's xlsx layout: a Global_Info sheet, then the records on Channel sheets."""
    from openpyxl import Workbook
    table = pd.read_csv(csv_path, dtype=str, encoding="utf-8-sig")
    book = Workbook()
    info = book.active
    info.title = "Global_Info"
    info.append(["TEST REPORT"])
    info.append(["Channel", "Start DateTime"])
    pieces = [table] if split_at is None else [table.iloc[:split_at], table.iloc[split_at:]]
    for k, piece in enumerate(pieces):
        sheet = book.create_sheet("Channel_1-006" + (f"_{k}" if k else ""))
        sheet.append(list(table.columns))
        for row in piece.itertuples(index=False):
            sheet.append([None if pd.isna(v) else (v.strip() if j == 1 else float(v)) for j, v in enumerate(row)])
    book.save(xlsx_path)


@pytest.mark.parametrize("split_at", [None, 7])
def test_arbin_xlsx_reads_as_its_csv(tmp_path, zone, split_at):
    zone("UTC0")
    path = tmp_path / "arbin.xlsx"
    _csv_as_xlsx(ARBIN_CSV, path, split_at)
    name, ts = read_any(path)
    csv = read_any(ARBIN_CSV)[1]
    assert name == "arbin-xlsx"
    pd.testing.assert_frame_equal(ts.frame, csv.frame)
    assert ts.meta["started_utc"] == csv.meta["started_utc"] == "2024-09-20T08:32:04.557+00:00"


# ---- Maccor ------------------------------------------------------------------------------

def test_maccor_real_export_header_time_unit_and_cut_last_row():
    name, ts = read_any(MACCOR)
    f = ts.frame
    # 214 records, the last cut off mid-value in the file: 213 complete ones
    assert name == "maccor-txt" and len(f) == 213
    # TestTime rises 1 per 60 s of the record clock (DPT Time 11:23:46, 11:24:46, ...): minutes
    np.testing.assert_array_equal(f["t_s"], np.arange(213) * 60.0)
    assert f["voltage_V"].iloc[0] == 0.1377 and f["voltage_V"].iloc[-1] == 0.1490     # decimal commas
    assert (f["current_A"] == 0).all() and (f["dq_Ah"] == 0).all() and (f["cycle"] == 1).all()
    assert ts.meta["channel"] == "81" and ts.meta["cell_id"] == "KIT-SIMBA-013-2.081"
    assert ts.meta["instrument"] == "Maccor #4" and ts.meta["counter"] == "Cap. [Ah]"
    # 06/05/2021 is 6 May or 5 June, and no record stamp tells: the start is not guessed
    assert "started_utc" not in ts.meta
    assert any("could be read day/month or month/day" in w for w in ts.warnings)
    assert any("line 229: the last row is cut short" in w for w in ts.warnings)


# (step, state, current A, duration s, counter goes on from the step before)
PROGRAM = [(1, "R", 0.0, 40, False), (2, "C", 1.5, 600, False), (3, "R", 0.0, 40, False),
           (4, "D", 1.5, 600, False), (5, "C", 1.0, 300, False), (6, "C", 0.5, 300, True),
           (7, "C", 0.25, 200, False), (8, "R", 0.0, 30, False)]


def _maccor_file(path, program=PROGRAM, started="06/25/2021 11:23:46", signed=False, state_of=None,
                 short_row_at=None, no_start_record=()) -> dict[int, float]:
    """A Maccor export in maccor_two.txt's layout (header block, tab-separated, decimal
    commas) of a known program: each step logs at step time 0.01 s and every 10 s after;
    the unsigned counter is I x step time (carried on where the program says). Returns
    the counter at each step's end (Ah) as written, to 8 decimals."""
    header = ("Rec\tCycle P\tCycle C\tStep\tTestTime\tStepTime\tCap. [Ah]\tEner. [Wh]\tCurrent [A]\tVoltage [V]\tMd\t"
              "ES\tDPT Time")
    lines = [f"Name:\tSYN-1", "Channel:\t12", "Tester\tMaccor #4", f"Started\t{started}", "", header, ""]
    start = pd.Timestamp("2021-06-25 11:23:46")
    t0, rec, carried, ends = 0.0, 0, 0.0, {}

    def num(x: float) -> str:
        return f"{x:.8f}".replace(".", ",")
    for step, state, amps, duration, goes_on in program:
        base = carried if goes_on else 0.0
        first = [] if step in no_start_record else [0.01]
        for step_t in first + list(np.arange(10.0, duration + 1e-9, 10.0)):
            rec += 1
            q = base + amps * step_t / 3600.0
            t = t0 + step_t
            current = -amps if signed and state == "D" else amps
            stamp = (start + pd.Timedelta(seconds=round(t))).strftime("%m/%d/%Y %H:%M:%S")
            lines.append("\t".join([str(rec), "0", "1", str(step), num(t), num(step_t), num(q), num(q * 3.7),
                                    num(current), "3,7000", (state_of or {}).get(rec, state), "0", stamp]))
        t0, carried, ends[step] = t0 + duration, q, round(q, 8)     # as written
    if short_row_at:
        lines[6 + short_row_at] = "\t".join(lines[6 + short_row_at].split("\t")[:5])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ends


def test_maccor_sign_from_state_and_counter_per_step_and_across_steps(tmp_path, zone):
    zone("UTC0")
    path = tmp_path / "syn.txt"
    ends = _maccor_file(path)
    name, ts = read_any(path)
    f = ts.frame
    assert name == "maccor-txt"
    assert ts.meta["started_utc"] == "2021-06-25T11:23:46+00:00"      # 25 > 12: month/day/year
    by_step = f.groupby("step")
    # the file's currents are all >= 0: Md D makes step 4 a discharge
    assert by_step["current_A"].max().to_dict() == {1: 0.0, 2: 1.5, 3: 0.0, 4: -1.5, 5: 1.0, 6: 0.5, 7: 0.25, 8: 0.0}
    assert by_step["current_A"].min().to_dict() == by_step["current_A"].max().to_dict()
    dq = by_step["dq_Ah"].sum()
    # per-step restarts (2, 4, 5, 7) and a counter carried from step 5 through 6
    for step, sign in ((2, 1), (4, -1), (5, 1), (7, 1)):
        assert dq[step] == pytest.approx(sign * ends[step], abs=1e-12)
    assert dq[5] + dq[6] == pytest.approx(ends[6], abs=1e-12)
    assert dq[1] == dq[3] == dq[8] == 0.0


def test_maccor_counter_restart_without_a_fall_is_told_from_the_current(tmp_path):
    """A step logged first 10 s in restarts its counter above where the short step before
    left it: the reading nearer to I x dt (a restart) is taken, not a rise of the old count."""
    program = [(1, "R", 0.0, 40, False), (2, "C", 0.25, 20, False), (3, "C", 2.0, 100, False)]
    path = tmp_path / "restart.txt"
    ends = _maccor_file(path, program, no_start_record={3})
    dq = read_any(path)[1].frame.groupby("step")["dq_Ah"].sum()
    assert ends[2] < 2.0 * 10 / 3600                  # the first reading of step 3 is above step 2's end
    assert dq[2] == pytest.approx(ends[2], abs=1e-12) and dq[3] == pytest.approx(ends[3], abs=1e-12)


def test_maccor_integration_in_the_notebook_matches_the_counter_at_each_step_end(tmp_path, db_path):
    path = tmp_path / "syn.txt"
    ends = _maccor_file(path)
    with Notebook(db_path) as nb:
        result = import_file(nb, path)
        steps = pd.read_sql_query("SELECT step, cycle, current_a, charge_mah FROM run_steps WHERE run_id = ? ORDER BY "
                                  "step", nb.conn, params=(result.run_id,))
    assert result.n_samples == sum(2 + int(d // 10) for *_, d, _ in PROGRAM) - len(PROGRAM)
    mah = dict(zip(steps["step"], steps["charge_mah"]))
    for step in (2, 4, 5, 7):
        assert mah[step] == pytest.approx(ends[step] * 1000, rel=1e-3), step
    assert mah[5] + mah[6] == pytest.approx(ends[6] * 1000, rel=1e-3)


def test_maccor_signed_current_is_kept_and_checked_against_the_state(tmp_path):
    path = tmp_path / "signed.txt"
    _maccor_file(path, signed=True)
    assert read_any(path)[1].frame.groupby("step")["current_A"].min()[4] == -1.5
    _maccor_file(path, signed=True, state_of={100: "C"})      # a discharge record (line 7 + record) marked as charge
    with pytest.raises(FormatError, match=r"line 107, field 'Current \[A\]': a current of -1.5 A in state 'C'"):
        read_any(path)


def test_maccor_current_in_an_unknown_state_is_refused(tmp_path):
    path = tmp_path / "odd.txt"
    _maccor_file(path, state_of={10: "X"})
    with pytest.raises(FormatError, match=r"line 17, field 'Md': a current of 1.5 A in state 'X'"):
        read_any(path)


# ---- bad files, and what an import leaves --------------------------------------------------

def _bad_files(tmp_path) -> list[tuple[str, str]]:
    raw = RES.read_bytes()
    (tmp_path / "cut.res").write_bytes(raw[:800_000])
    (tmp_path / "cut_at_page.res").write_bytes(raw[:200 * 4096])
    (tmp_path / "garbage.res").write_bytes(np.random.default_rng(1).bytes(64 * 1024))
    lines = ARBIN_CSV.read_text(encoding="utf-8-sig").splitlines()
    (tmp_path / "long.csv").write_text("\n".join(lines[:5] + [lines[5] + ",7"] + lines[6:]) + "\n")
    (tmp_path / "short.csv").write_text("\n".join(lines[:5] + [lines[5].rsplit(",", 2)[0]] + lines[6:]) + "\n")
    _maccor_file(tmp_path / "short_row.txt", short_row_at=20)
    return [("cut.res", r"truncated: 800,000 bytes is not a whole number of 4,096-byte database pages"),
            ("cut_at_page.res", r"cut_at_page.res: Channel_Normal_Table holds 10,261 rows but only 6,720 could be "
                                r"read: the file is truncated or damaged"),
            ("garbage.res", r"not an MS Access database"),
            ("long.csv", r"long.csv, line 6: expected 25 values, as the header has names, found 26"),
            ("short.csv", r"short.csv, line 6: expected 25 values, as the header has names, found 23"),
            ("short_row.txt", r"short_row.txt, line 27: 5 values in the row, expected 13")]


def test_bad_files_are_refused_in_one_line_and_import_leaves_nothing(tmp_path, db_path):
    with Notebook(db_path) as nb:
        before = table_counts(db_path)
        for name, message in _bad_files(tmp_path):
            with pytest.raises(FormatError, match=message) as caught:
                import_file(nb, tmp_path / name)
            assert "\n" not in str(caught.value) and name in str(caught.value)
            assert table_counts(db_path) == before, name


def test_xlsx_row_with_a_value_past_the_header_is_refused(tmp_path):
    from openpyxl import load_workbook
    path = tmp_path / "arbin.xlsx"
    _csv_as_xlsx(ARBIN_CSV, path)
    book = load_workbook(path)
    book["Channel_1-006"].cell(row=4, column=26, value=1.0)
    book.save(path)
    with pytest.raises(FormatError, match=r"sheet 'Channel_1-006', row 4: 26 values, expected 25"):
        read_any(path)


@pytest.mark.parametrize("path, points, fmt", [(RES, 10261, "arbin-res"), (ARBIN_CSV, 13, "arbin-csv"),
                                                (MACCOR, 213, "maccor-txt")])
def test_real_files_import_with_every_point_and_their_header(db_path, zone, path, points, fmt):
    zone("UTC0")
    with Notebook(db_path) as nb:
        result = import_file(nb, path)
        run = nb.run(result.run_id)
        samples = nb.samples(result.run_id)
    assert (result.format, result.n_samples, run["n_samples"], samples.size) == (fmt, points, points, points)
    provenance = json.loads(run["provenance_json"])["import"]
    if fmt == "arbin-res":
        assert run["started_utc"] == "2016-08-05T16:16:23+00:00" and provenance["started"] == "the file's header"
        assert provenance["channel"] == "3" and provenance["instrument"].startswith("Arbin")
        assert len(provenance["vendor_cycles"]) == 18
    if fmt == "maccor-txt":
        assert provenance["channel"] == "81" and provenance["cell_id"] == "KIT-SIMBA-013-2.081"
        assert any("cut short" in w for w in result.warnings)
