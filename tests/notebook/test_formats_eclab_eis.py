"""EC-Lab text exports and impedance files: every real EIS file in tests/data read with the
file's own point values (checked against an independent parse written here), synthetic
files shaped like the GPL ones in the project's shared data folder (a Modulo Bat run with
EIS steps, a 4-sweep GEIS, a German-locale export, a header that lost a column name), and
each refusal's one-line message."""
from __future__ import annotations

import csv
import re
import time

import numpy as np
import pytest

from conftest import TEST_DATA, refused_import
from notebook import Notebook
from notebook.formats import FormatError, TimeSeries, read_any, read_spectrum
from notebook.importer import import_file

EIS = TEST_DATA / "eis"
CYCLING = TEST_DATA / "cycling"



@pytest.fixture
def nb(db_path):
    with Notebook(db_path) as notebook:
        yield notebook


# ---------------------------------------------------------------- synthetic EC-Lab files

def ec_lab(path, title, names, rows, extra=(), comma=False, encoding="latin-1", start="07/18/2023 10:21:37.000"):
    """An EC-Lab text export laid out as EC-Lab writes it: 'Nb header lines' on line 2,
    the technique on line 4, `key : value` lines, the names line ending in a tab."""
    header = ["EC-Lab ASCII FILE", "Nb header lines : {n}", "", title, "",
              "Run on channel : 3 (SN 12345)", "User : ", f"Acquisition started on : {start}",
              "Device : SP-300 (SN 0001)", "EC-LAB for windows v11.50 (software)", "Electrode material : LPSCl",
              "Comments : ", *extra, ""]
    header.append("\t".join(names) + "\t")
    header[1] = header[1].format(n=len(header))
    body = ["\t".join(cell if isinstance(cell, str) else f"{cell:.7E}" for cell in row) for row in rows]
    if comma:                     # a German-locale PC: decimal commas in the table, not in the header
        body = [line.replace(".", ",") for line in body]
    path.write_bytes(("\n".join(header + body) + "\n").encode(encoding))
    return path


MB_NAMES = ["mode", "ox/red", "error", "control changes", "Ns changes", "counter inc.", "Ns", "I Range", "time/s",
            "control/V/mA", "Ewe/V", "I/mA", "dq/mA.h", "(Q-Qo)/mA.h", "freq/Hz", "|Z|/Ohm", "Phase(Z)/deg",
            "Re(Z)/Ohm", "-Im(Z)/Ohm", "cycle number"]
F5 = [1000.3202, 464.0, 215.34457, 100.03201, 46.441547]
# the Modulo Bat settings table: 20-character columns, one per sequence Ns
MB_SETTINGS = ["Ns".ljust(20) + "".join(str(k).ljust(20) for k in range(5)),
               "ctrl_type".ljust(20) + "".join(k.ljust(20) for k in ("Rest", "PEIS", "Rest", "GEIS", "CC"))]


def mb_rows():
    """A Modulo Bat run as mb.issue_223.mpt lays it out: rest (Ns 0), PEIS (Ns 1), rest
    (Ns 2), two GEIS sweeps back to back (Ns 3: the frequency jumps back up), a charge
    (Ns 4). freq/Hz is 0 outside the EIS steps. Returns (rows, the known spectra)."""
    rows, truth, t = [], [], 0.0

    def row(mode, ns, current, f=0.0, re_=0.0, im=0.0):
        nonlocal t
        r = [str(mode), "0", "0", "0", "0", "0", str(ns), "41", t, 0.0, 3.698, current, 0.0, 0.0, f,
             float(np.hypot(re_, im)), 0.0, re_, im, 0.0]
        t += 0.5
        return r

    rows += [row(3, 0, 0.0) for _ in range(3)]
    for ns, mode, current, sweeps in ((1, 2, -0.36, 1), (3, 1, 0.0045, 2)):
        for s in range(sweeps):
            re_ = [0.34 + 0.1 * k + 0.01 * s + 0.001 * ns for k in range(5)]
            im = [0.33 + 0.05 * k for k in range(5)]
            truth.append({"t_s": t, "step": ns, "f": F5, "z": [complex(a, -b) for a, b in zip(re_, im)]})
            rows += [row(mode, ns, current, f, a, b) for f, a, b in zip(F5, re_, im)]
        if ns == 1:
            rows += [row(3, 2, 0.0) for _ in range(2)]
    rows += [row(1, 4, 0.1) for _ in range(3)]
    return rows, truth


GEIS_NAMES = ["freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm", "|Z|/Ohm", "Phase(Z)/deg", "time/s", "<Ewe>/V", "<I>/mA",
              "cycle number", "Ns", "(Q-Qo)/mA.h"]
GEIS_F = np.logspace(np.log10(2e5), 2, 21)


def geis_rows(with_cycle=True):
    """Four GEIS sweeps as geis.issue_149.mpt has them: `cycle number` 1-4, 21 points each
    from 200 kHz down to 100 Hz; Z of R0 + R/(1 + jwRC) with R growing each sweep."""
    rows, truth, t = [], [], 61.5
    for sweep in range(4):
        z = 10.0 + (20.0 + 5 * sweep) / (1 + 1j * 2 * np.pi * GEIS_F * (20.0 + 5 * sweep) * 1e-6)
        truth.append(z)
        for f, zk in zip(GEIS_F, z):
            rows.append([f, zk.real, -zk.imag, abs(zk), -np.angle(zk, deg=True), t, 3.42, 3.1e-5,
                         float(sweep + 1) if with_cycle else 1.0, "0", 0.0])
            t += 0.7
    return rows, truth


def written(x: float) -> float:
    """The value a file written with %.7E holds."""
    return float(f"{x:.7E}")


# ---------------------------------------------------------------- real files, point for point

def test_eis_csv_points_are_the_file_s():
    (s,) = read_any(EIS / "exampleData.csv")[1]
    truth = np.loadtxt(EIS / "exampleData.csv", delimiter=",")
    assert s.frequency_hz.tolist() == truth[:, 0].tolist()
    assert s.z_ohm.real.tolist() == truth[:, 1].tolist() and s.z_ohm.imag.tolist() == truth[:, 2].tolist()


def test_ec_lab_peis_points_are_the_file_s():
    fmt, spectra = read_any(EIS / "exampleDataBioLogic.mpt")
    lines = (EIS / "exampleDataBioLogic.mpt").read_text(encoding="latin-1").splitlines()
    n = int(lines[1].split(":")[1])
    names = lines[n - 1].split("\t")
    rows = [line.split("\t") for line in lines[n:] if line.strip()]
    f = [float(r[names.index("freq/Hz")]) for r in rows]
    z = [complex(float(r[names.index("Re(Z)/Ohm")]), -float(r[names.index("-Im(Z)/Ohm")])) for r in rows]
    assert fmt == "ec-lab-mpt" and len(spectra) == 1
    assert spectra[0].frequency_hz.tolist() == f and spectra[0].z_ohm.tolist() == z and len(f) == 43
    meta = spectra[0].meta
    assert meta["instrument"] == "BioLogic SP-150 (SN 10791079)" and meta["channel"] == "1"
    assert meta["started_local"] == "2018-02-04T10:02:46" and meta["technique"] == "EC-Lab PEIS"


@pytest.mark.parametrize("name, n", [("exampleDataGamry.DTA", 72), ("eispot_data.dta", 10)])
def test_gamry_points_are_the_file_s(name, n):
    lines = (EIS / name).read_text(encoding="latin-1").splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith("ZCURVE\t"))
    names = lines[start + 1].split()
    rows = []
    for line in lines[start + 3:]:
        if not line[:1].isspace():
            break
        rows.append(re.split(r"[ \t]+", line.strip()))
    f = [float(r[names.index("Freq")]) for r in rows]
    z = [complex(float(r[names.index("Zreal")]), float(r[names.index("Zimag")])) for r in rows]
    (s,) = read_any(EIS / name)[1]
    assert len(f) == n and s.frequency_hz.tolist() == f and s.z_ohm.tolist() == z
    if name == "eispot_data.dta":          # the rows indented with spaces are points 7-10 (hand-checked)
        assert f == [10000, 5000, 1000, 500.1, 100, 50, 10, 5, 1, 0.5]
        assert s.meta["instrument"] == "Gamry In the hood" and s.meta["started_local"] == "2016-05-11T17:47:03"


def test_zplot_with_and_without_its_header_points_are_the_file_s():
    lines = (EIS / "exampleDataZPlot.z").read_text().splitlines()
    end = lines.index("End Comments")
    rows = [line.split("\t") for line in lines[end + 1:] if line.strip()]
    (s,) = read_any(EIS / "exampleDataZPlot.z")[1]
    assert s.frequency_hz.tolist() == [float(r[0]) for r in rows]
    assert s.z_ohm.tolist() == [complex(float(r[4]), float(r[5])) for r in rows] and len(rows) == 21
    assert s.meta["started_local"] == "2018-10-12T11:04:34"

    lines = (EIS / "exampleDataZPlot_noComments.z").read_text().splitlines()
    rows = list(csv.reader(lines[10:]))
    fmt, (bare,) = read_any(EIS / "exampleDataZPlot_noComments.z")
    assert fmt == "zplot-headerless" and len(rows) == 31
    assert bare.frequency_hz.tolist() == [float(r[0]) for r in rows]
    assert bare.z_ohm.tolist() == [complex(float(r[4]), float(r[5])) for r in rows]
    assert bare.meta["started_local"] == "2019-12-17T16:24:35"        # line 4: 'Date: 12-17-2019    Time: 16:24:35'


def test_versastudio_par_points_are_the_file_s():
    lines = (EIS / "exampleDataVersaStudio.par").read_text(encoding="utf-8").splitlines()
    a = next(k for k, line in enumerate(lines) if line.startswith("Definition="))
    b = lines.index("</Segment1>")
    rows = [line.split(",") for line in lines[a + 1:b]]
    fmt, (s,) = read_any(EIS / "exampleDataVersaStudio.par")
    assert fmt == "versastudio-par" and len(rows) == 61
    assert s.frequency_hz.tolist() == [float(r[9]) for r in rows]            # Frequency(Hz)
    assert s.z_ohm.tolist() == [complex(float(r[14]), float(r[15])) for r in rows]   # Z Real, Z Imag
    assert s.meta["instrument"] == "Princeton Applied Research VersaSTAT4 (SN 16334007)"
    assert s.meta["started_local"] == "2018-07-19T09:40:30" and s.meta["t_s"] == 1.812


def test_peis_mpr_through_galvani_matches_its_provenance():
    pytest.importorskip("galvani")
    (s,) = read_any(EIS / "PEIS-0.mpr")[1]
    # tests/data/PROVENANCE.md: 60 points, 10 kHz to 9.3 mHz
    assert s.frequency_hz.size == 60 and s.frequency_hz[0] == pytest.approx(1e4, rel=1e-3)
    assert s.frequency_hz[-1] == pytest.approx(9.3e-3, rel=0.01) and s.meta["cycle"] == 1


def test_headerless_ec_lab_export_is_read():
    path = CYCLING / "Sample_data_biologic_no_header.mpt"
    lines = path.read_text(encoding="utf-8").splitlines()
    names = lines[0].split("\t")
    rows = [line.split("\t") for line in lines[1:] if line.strip()]
    fmt, series = read_any(path)
    assert fmt == "ec-lab-mpt-headerless" and isinstance(series, TimeSeries)
    assert len(series.frame) == len(rows) == 13
    assert series.frame["t_s"].tolist() == [float(r[names.index("time/s")]) for r in rows]
    assert series.frame["voltage_V"].tolist() == [float(r[names.index("Ecell/V")]) for r in rows]


# ---------------------------------------------------------------- synthetic: what the GPL files show

def test_modulo_bat_with_eis_steps_gives_samples_and_spectra(tmp_path):
    rows, truth = mb_rows()
    path = ec_lab(tmp_path / "mb.mpt", "Modulo Bat", MB_NAMES, rows, MB_SETTINGS)
    fmt, series = read_any(path)
    assert fmt == "ec-lab-mpt" and isinstance(series, TimeSeries)
    assert len(series.frame) == len(rows) == 3 + 5 + 2 + 10 + 3
    assert len(series.spectra) == 3                       # PEIS, then two GEIS sweeps in one step
    for s, known in zip(series.spectra, truth):
        assert s.frequency_hz.tolist() == [written(f) for f in known["f"]]
        assert s.z_ohm.tolist() == [complex(written(z.real), -written(-z.imag)) for z in known["z"]]
        assert (s.meta["t_s"], s.meta["step"], s.meta["cycle"]) == (written(known["t_s"]), known["step"], 1)
    assert [s.meta["technique"] for s in series.spectra] == ["EC-Lab PEIS", "EC-Lab GEIS", "EC-Lab GEIS"]
    assert series.meta["instrument"] == "BioLogic SP-300 (SN 0001)" and series.meta["channel"] == "3"
    assert series.meta["technique"] == "EC-Lab Modulo Bat" and series.meta["cell"]["electrode_material"] == "LPSCl"


def test_a_pure_geis_file_gives_one_spectrum_per_sweep(tmp_path):
    rows, truth = geis_rows()
    loops = ["Number of loops : 4"] + [f"Loop {k} from point number {21 * k} to {21 * k + 20}" for k in range(4)]
    path = ec_lab(tmp_path / "geis.mpt", "Galvano Electrochemical Impedance Spectroscopy", GEIS_NAMES, rows, loops)
    fmt, spectra = read_any(path)
    assert fmt == "ec-lab-mpt" and [s.frequency_hz.size for s in spectra] == [21] * 4
    assert [s.meta["cycle"] for s in spectra] == [1, 2, 3, 4]
    for s, z in zip(spectra, truth):
        assert s.frequency_hz.tolist() == [written(f) for f in GEIS_F]
        assert s.z_ohm.tolist() == [complex(written(v.real), -written(-v.imag)) for v in z]
    assert spectra[0].meta.get("technique") == "EC-Lab GEIS"
    assert not [w for s in spectra for w in s.warnings if "loop" in w]       # agrees with the header's loops
    assert read_spectrum(path).frequency_hz.size == 21
    # a header whose loops disagree with the table is said, the table deciding
    loops[2] = "Loop 1 from point number 21 to 40"
    odd = ec_lab(tmp_path / "odd.mpt", "Galvano Electrochemical Impedance Spectroscopy", GEIS_NAMES, rows, loops)
    (warning,) = [w for s in read_any(odd)[1] for w in s.warnings if "loop" in w]
    assert "the header lists 4 loop(s)" in warning and "splits into 4 sweep(s)" in warning


def test_sweeps_are_found_by_the_frequency_turning_back(tmp_path):
    rows, _ = geis_rows(with_cycle=False)
    path = ec_lab(tmp_path / "geis.mpt", "Galvano Electrochemical Impedance Spectroscopy", GEIS_NAMES, rows)
    assert [s.frequency_hz.size for s in read_any(path)[1]] == [21] * 4
    # the same four sweeps concatenated in a three-column CSV, ascending as impedance.py's example is
    csv_path = tmp_path / "four.csv"
    csv_path.write_text("".join(f"{float(f)!r},{10 + k},{-k}\n" for k in range(4) for f in GEIS_F[::-1]))
    spectra = read_any(csv_path)[1]
    assert [s.frequency_hz.size for s in spectra] == [21] * 4 and spectra[2].z_ohm[0] == 12 - 2j


def test_decimal_commas_give_the_same_numbers(tmp_path):
    rows, _ = mb_rows()
    dot = read_any(ec_lab(tmp_path / "dot.mpt", "Modulo Bat", MB_NAMES, rows))[1]
    comma = read_any(ec_lab(tmp_path / "komma.mpt", "Modulo Bat", MB_NAMES, rows, comma=True))[1]
    assert (tmp_path / "komma.mpt").read_text(encoding="latin-1").count("\t3,6980000E+00\t") == len(rows)
    assert comma.frame.equals(dot.frame) and comma.meta["decimal_comma"] is True
    assert [s.z_ohm.tolist() for s in comma.spectra] == [s.z_ohm.tolist() for s in dot.spectra]


def test_utf16_and_semicolon_exports_are_read(tmp_path):
    rows, truth = geis_rows()
    path = ec_lab(tmp_path / "geis16.mpt", "Galvano Electrochemical Impedance Spectroscopy", GEIS_NAMES, rows,
                  encoding="utf-16")
    assert [s.frequency_hz.size for s in read_any(path)[1]] == [21] * 4
    semi = tmp_path / "eu.csv"
    semi.write_text("1000,5;10,25;-3,5\n100;11;-4\n")
    (s,) = read_any(semi)[1]
    assert s.frequency_hz.tolist() == [1000.5, 100.0] and s.z_ohm.tolist() == [10.25 - 3.5j, 11 - 4j]


@pytest.mark.skipif(not hasattr(time, "tzset"), reason="time.tzset (setting the zone in-process) is Unix-only")
def test_start_time_is_local_time_made_utc_with_the_assumption_said(tmp_path, monkeypatch):
    rows, _ = geis_rows()
    path = ec_lab(tmp_path / "g.mpt", "Galvano Electrochemical Impedance Spectroscopy", GEIS_NAMES, rows)
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        s = read_any(path)[1][0]
    finally:
        monkeypatch.undo()
        time.tzset()
    # 18 July 2023 is summer time in Berlin (UTC+2): 10:21:37 local is 08:21:37 UTC
    assert s.meta["started_utc"] == "2023-07-18T08:21:37+00:00"
    assert any("local time with no zone" in w and "UTC+02:00" in w for w in s.warnings)


def test_a_garbled_start_time_is_a_warning_not_a_refusal(tmp_path):
    rows, _ = geis_rows()
    path = ec_lab(tmp_path / "g.mpt", "Galvano Electrochemical Impedance Spectroscopy", GEIS_NAMES, rows,
                  start="13/45/2023 99:00:00")
    spectra = read_any(path)[1]
    assert "started_utc" not in spectra[0].meta and "not understood" in spectra[0].warnings[0]


# ---------------------------------------------------------------- refusals: one line each

def _refusal(path) -> str:
    with pytest.raises(FormatError) as err:
        read_any(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


def test_rows_with_more_or_fewer_values_than_names_are_refused(tmp_path):
    # peis.issue_225: a names line with an empty name among them, rows two values short
    names = ["freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm", "time/s", "", "Ewe-Ece/V"]
    path = ec_lab(tmp_path / "p.mpt", "Potentio Electrochemical Impedance Spectroscopy", names,
                  [[1000.0, 1.0, 0.1, 2.0], [100.0, 1.1, 0.2, 3.0]])
    first = int(path.read_text(encoding="latin-1").splitlines()[1].split(":")[1]) + 1
    assert (f"line {first}: expected 6 tab-separated values, one per column name on line {first - 1} "
            "(the header's column 5 has no name), found 4") in _refusal(path)
    # a header that lost its frequency name: one value more than names in every row
    rows = [[1000.0, 1.0, 0.1, 2.0], [100.0, 1.1, 0.2, 3.0]]
    path = ec_lab(tmp_path / "q.mpt", "Modulo Bat", ["Re(Z)/Ohm", "-Im(Z)/Ohm", "time/s"], rows)
    assert f"line {first - 1 + 1}: expected 3 tab-separated values" in _refusal(path)
    assert "found 4" in _refusal(path)


def test_an_eis_file_without_a_frequency_column_is_refused(tmp_path):
    path = ec_lab(tmp_path / "p.mpt", "Potentio Electrochemical Impedance Spectroscopy",
                  ["Re(Z)/Ohm", "-Im(Z)/Ohm", "time/s"], [[1.0, 0.1, 2.0]])
    assert "a PEIS export without a 'freq/Hz' column" in _refusal(path)


def test_a_duplicated_column_is_refused(tmp_path):
    path = ec_lab(tmp_path / "d.mpt", "Modulo Bat", ["time/s", "Ewe/V", "I/mA", "time/s"], [[0.0, 3.7, 0.1, 1.0]])
    assert "column name 'time/s' appears twice (columns 1 and 4)" in _refusal(path)


@pytest.mark.parametrize("name, text, message", [
    ("end.DTA", "EXPLAIN\nTAG\tEISPOT\nZCURVE\tTABLE\n", "line 3: the file ends inside the ZCURVE table header"),
    ("units.DTA", "EXPLAIN\nZCURVE\tTABLE\n\tPt\tFreq\tZreal\tZimag\n", "the file ends inside the ZCURVE table header"),
    ("lots.z", "ZPLOT2 ASCII\n  Data Points:   lots\n  Freq(Hz)\tZ'(a)\tZ''(b)\nEnd Comments\n1\t2\t3\n",
     "line 2, field 'Data Points': expected a whole number of data points, found 'lots'"),
    ("short.z", "ZPLOT2 ASCII\n  Freq(Hz)\tZ'(a)\tZ''(b)\nEnd Comments\n1\t2\n",
     "line 4: expected 3 values, one per column name on line 2, found 2"),
    ("nan.csv", "1000,nan,3\n", "line 1, field 'Re Z': expected a number, found 'nan'"),
    ("empty.par", "<Application>\nName=VersaStudio\n</Application>\n", "no <Segment> section"),
    ("hello.mpt", "hello\n", "line 1: not an EC-Lab text export"),
    ("none.mpt", "EC-Lab ASCII FILE\nNb header lines : 3\ntime/s\tEwe/V\tI/mA\n", "no data rows"),
])
def test_malformed_eis_files_are_one_line_refusals(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    assert message in _refusal(path)


def test_mpr_with_a_column_galvani_does_not_know_is_refused_naming_it(tmp_path):
    pytest.importorskip("galvani")
    raw = bytearray((CYCLING / "GCPL-0.mpr").read_bytes())
    ids = 7027 + 5            # the data module's column IDs (version 0: a zero byte before each)
    assert raw[ids:ids + 10] == b"\x00\x01\x00\x02\x00\x03\x00\x15\x00\x1f"
    raw[ids + 9] = 10         # column ID 10: not in galvani 0.5's tables
    path = tmp_path / "new.mpr"
    path.write_bytes(bytes(raw))
    message = _refusal(path)
    assert "column EC-Lab numbers 10" in message and "export the file from EC-Lab as text (.mpt)" in message


@pytest.mark.parametrize("damage, message", [
    ("magic", "not a readable EC-Lab .mpr file, damaged or of a layout galvani does not know (galvani: Invalid magic"),
    ("truncated", "a truncated or damaged EC-Lab .mpr file (galvani: Unexpected end of file"),
    ("header bytes", "(galvani: AssertionError in its layout checks); export it from EC-Lab as text (.mpt)"),
])
def test_a_damaged_mpr_is_a_clear_refusal(tmp_path, damage, message):
    pytest.importorskip("galvani")
    raw = bytearray((CYCLING / "GCPL-0.mpr").read_bytes())
    if damage == "magic":
        raw[3] ^= 0x40
    elif damage == "truncated":
        raw = raw[: len(raw) // 2]
    else:
        raw[7027 + 6 + 2 * 16 + 20] ^= 0x01       # bytes galvani requires to be zero after the column IDs
    path = tmp_path / "bad.mpr"
    path.write_bytes(bytes(raw))
    assert message in _refusal(path)


# ---------------------------------------------------------------- through the importer

def test_import_of_a_multi_sweep_file_stores_every_sweep(nb, tmp_path):
    rows, truth = geis_rows()
    path = ec_lab(tmp_path / "geis.mpt", "Galvano Electrochemical Impedance Spectroscopy", GEIS_NAMES, rows)
    result = import_file(nb, path)
    assert (result.n_samples, result.n_spectra) == (0, 4)
    stored = nb.spectra(result.run_id)
    assert [s["cycle"] for s in stored] == [1, 2, 3, 4]
    assert stored[3]["z"].tolist() == [complex(written(v.real), -written(-v.imag)) for v in truth[3]]


def test_import_of_a_modulo_bat_file_stores_samples_and_spectra(nb, tmp_path):
    rows, truth = mb_rows()
    result = import_file(nb, ec_lab(tmp_path / "mb.mpt", "Modulo Bat", MB_NAMES, rows))
    assert (result.n_samples, result.n_spectra) == (len(rows), 3)
    stored = nb.spectra(result.run_id)
    assert [(s["step"], s["t_s"]) for s in stored] == [(k["step"], written(k["t_s"])) for k in truth]
    run = nb.run(result.run_id)
    assert run["started_utc"].startswith("2023-07-18")


def test_a_refused_file_leaves_nothing_behind(nb, db_path, tmp_path):
    rows, _ = geis_rows()
    rows[30] = rows[30] + [1.0]                          # one row with a value too many
    path = ec_lab(tmp_path / "geis.mpt", "Galvano Electrochemical Impedance Spectroscopy", GEIS_NAMES, rows)
    assert "expected 11 tab-separated values" in str(refused_import(db_path, path))
