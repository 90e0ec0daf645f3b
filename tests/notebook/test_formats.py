"""File readers on the real files in tests/data and on broken files made here."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import TEST_DATA
from notebook.formats import FormatError, read_bdf, read_spectrum, read_timeseries

CYCLING = TEST_DATA / "cycling"
EIS = TEST_DATA / "eis"
TIME_BUG = CYCLING / "SINTEF__SLPBA842124HV__2024-10-23__Rate_25degC__Neware__Time_Bug.bdf.csv"


def test_bdf_preferred_labels():
    series = read_timeseries(CYCLING / "sample.bdf.csv")
    assert series.frame["t_s"].tolist() == [0, 1, 2]
    assert series.frame["voltage_V"].tolist() == [3.7, 3.6, 3.5]
    assert series.frame["current_A"].tolist() == [0.1, 0.1, 0.1]


def test_bdf_machine_names_and_coarse_current_warning():
    series = read_timeseries(CYCLING / "SINTEF__LiGrR2032__2024-04-30__25degC__Landt.bdf.csv")
    f = series.frame
    assert len(f) == 25162
    assert {"t_s", "voltage_V", "current_A", "step", "temperature_degC", "charge_capacity_Ah"} <= set(f.columns)
    assert f["t_s"].iloc[-1] == 262657.764 and f["step"].iloc[-1] == 2
    # 0.0002 A written to 4 decimals: the file's own 6.3 mAh becomes 7.1 mAh when integrated
    assert "recorded to 0.0001 A, up to 25%" in series.warnings[0]


def test_time_bug_is_repaired_with_a_warning_or_rejected():
    series = read_bdf(TIME_BUG)
    t = series.frame["t_s"].to_numpy()
    assert (np.diff(t) >= 0).all()
    assert t[722] == 7200.0 and t[723] == 7200.01        # the reset row takes its predecessor's time
    assert "restarted at 19 step start(s)" in series.warnings[0]
    with pytest.raises(FormatError, match=r"line 724, field 'test_time_second': test time restarts at the first row of 19"):
        read_bdf(TIME_BUG, time_bug="reject")


def test_a_whole_step_clock_restart_is_offset(tmp_path):
    path = tmp_path / "restart.csv"
    path.write_text("Test Time / s,Voltage / V,Current / A,Step Count / 1\n0,3.7,0.1,1\n10,3.8,0.1,1\n"
                    "0,3.9,-0.1,2\n5,3.8,-0.1,2\n")
    series = read_bdf(path)
    assert series.frame["t_s"].tolist() == [0, 10, 10, 15]


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty"),
    ("time,V,I\n0,1,2\n", "missing BDF column(s) 'Test Time / s'"),
    ("Test Time / s,Voltage / V,Current / A\n0,3.7,0.1\n1,abc,0.1\n", "line 3, field 'Voltage / V': expected a number, found 'abc'"),
    ("Test Time / s,Voltage / V,Current / A\n0,3.7,0.1\n1,,0.1\n", "line 3, field 'Voltage / V': empty value"),
    ("Test Time / s,Voltage / V,Current / A\n5,3.7,0.1\n1,3.7,0.1\n", "line 3, field 'Test Time / s': test time goes backwards"),
    ("Test Time / s,Voltage / V,Current / A\n", "no data rows"),
])
def test_bad_bdf_files_say_where_and_what(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(FormatError) as err:
        read_bdf(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_neware_nested_export():
    series = read_timeseries(CYCLING / "nw_regular_export_ife_example.csv")
    f = series.frame
    assert len(f) == 9295 and f["cycle"].max() == 20
    assert f["t_s"].iloc[-1] == 27 * 3600 + 55 * 60 + 43          # Total Time 27:55:43
    assert f["current_A"].iloc[174] == -0.5 and f["voltage_V"].iloc[174] == 4.3366
    vendor = series.meta["vendor_cycles"]
    assert vendor["discharge_mAh"].iloc[0] == pytest.approx(330.67) and vendor["ce"].iloc[1] == pytest.approx(1.0120)


def test_spectra_from_every_format():
    csv = read_spectrum(EIS / "exampleData.csv")
    assert csv.frequency_hz.size == 66 and csv.z_ohm[0] == pytest.approx(4.949989776405060160e-02 - 2.043869854441892481e-02j)
    mpt = read_spectrum(EIS / "exampleDataBioLogic.mpt")
    assert mpt.frequency_hz[0] == pytest.approx(1000.3201) and mpt.z_ohm[0] == pytest.approx(65.470886 - 0.38998979j)
    dta = read_spectrum(EIS / "exampleDataGamry.DTA")
    assert dta.frequency_hz.size == 72 and dta.z_ohm[-1] == pytest.approx(17007.49 - 6635.557j)
    z = read_spectrum(EIS / "exampleDataZPlot.z")
    assert z.frequency_hz[0] == 3e5 and z.z_ohm[0] == pytest.approx(147.77 - 11.335j)
    assert "declares 56 data points, the file holds 21" in z.warnings[0]


@pytest.mark.parametrize("name, text, message", [
    ("two.csv", "1,2\n", "line 1: expected 3 comma-separated numbers"),
    ("word.csv", "1,2,3\n1,x,3\n", "line 2, field 'Re Z': expected a number, found 'x'"),
    ("neg.csv", "-1,2,3\n", "frequency must be positive"),
    ("a.mpt", "hello\n", "line 1: not an EC-Lab text export"),
    ("a.DTA", "EXPLAIN\n", "no 'ZCURVE<TAB>TABLE' line"),
    ("a.z", "ZPLOT2 ASCII\n", "no 'End Comments' line"),
    ("a.txt", "1,2,3\n", "unknown format '.txt'"),
])
def test_bad_spectrum_files(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(FormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_spectrum(path)


def test_missing_file_and_unknown_csv(tmp_path):
    with pytest.raises(FormatError, match="no such file"):
        read_timeseries(tmp_path / "nope.csv")
    path = tmp_path / "other.csv"
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(FormatError, match="line 1: expected a BDF header"):
        read_timeseries(path)


def test_a_superscript_cycle_index_is_a_clear_error(tmp_path):
    """'²' passes str.isdigit() but not int(): it was a ValueError traceback."""
    lines = (CYCLING / "nw_regular_export_ife_example.csv").read_text(encoding="utf-8-sig").splitlines()
    cells = lines[3].split(",")
    cells[0] = "²"
    lines[3] = ",".join(cells)
    path = tmp_path / "neware.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(FormatError, match="line 4: expected a cycle row starting with the cycle index, found '²"):
        read_timeseries(path)


def test_a_utf16_bdf_file_says_what_it_is(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text((CYCLING / "sample.bdf.csv").read_text(), encoding="utf-16")
    with pytest.raises(FormatError, match="line 1: UTF-16 text, as Excel's 'Unicode text' writes it; this format is "
                                          "UTF-8: save it as 'CSV UTF-8'"):
        read_timeseries(path)
