"""`main.py label` as a user runs it: the label's QR code decodes (zxing-cpp, an
independent decoder) back to the cell id, the sizes are the label stock's in mm, and bad
input gets one line, exit status 2 and no file."""
from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
import zxingcpp

import cell
from conftest import ROOT
from notebook import Notebook
from notebook.scan import classify


def main(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def decode_png(path) -> tuple[list[str], tuple[int, int], float]:
    """(decoded texts, (width, height) px, dots per inch) of a PNG, read with Qt, decoded with zxing-cpp."""
    from PySide6 import QtGui
    image = QtGui.QImage(str(path))
    assert not image.isNull()
    gray = image.convertToFormat(QtGui.QImage.Format.Format_Grayscale8)
    pixels = np.frombuffer(gray.constBits(), np.uint8).reshape(gray.height(), gray.bytesPerLine())[:, :gray.width()]
    texts = [b.text for b in zxingcpp.read_barcodes(np.ascontiguousarray(pixels)) if b.format == zxingcpp.BarcodeFormat.QRCode]
    return texts, (image.width(), image.height()), image.dotsPerMeterX() * 0.0254


@pytest.fixture
def builds(db_path):
    with Notebook(db_path) as nb:
        named = nb.save_build(cell.from_template("full-agc", name="CW-20261202-7", operator="CW"))
        anonymous = nb.save_build(cell.from_template("sym-agc"))
    return named, anonymous


@pytest.mark.parametrize("size, mm", [("62x29", (62, 29)), ("25x50", (25, 50))])
def test_the_label_qr_code_decodes_to_the_cell_id(qapp, db_path, builds, tmp_path, size, mm):
    out = tmp_path / f"label-{size}.png"
    result = main("label", "--db", db_path, "--build", builds[0], "--out", out, "--size", size)
    assert result.returncode == 0, result.stderr
    texts, pixels, dpi = decode_png(out)
    assert texts == ["CW-20261202-7"]
    # 300 dpi: a side of L mm is L / 25.4 * 300 pixels (62 mm -> 732.3 -> 732)
    assert pixels == (round(mm[0] / 25.4 * 300), round(mm[1] / 25.4 * 300))
    assert dpi == pytest.approx(300, abs=0.1)
    # and the scan of it finds the build again
    with Notebook(db_path, read_only=True) as nb:
        scan = classify(nb, texts[0])
    assert (scan.kind, scan.build_id) == ("cell", builds[0])


def test_a_build_without_a_cell_id_gets_a_code_that_finds_it(qapp, db_path, builds, tmp_path):
    out = tmp_path / "anonymous.png"
    assert main("label", "--db", db_path, "--build", builds[1], "--out", out).returncode == 0
    texts, _, _ = decode_png(out)
    assert texts == [f"#{builds[1]}"]
    with Notebook(db_path, read_only=True) as nb:
        assert classify(nb, texts[0]).build_id == builds[1]


def test_the_pdf_is_one_page_of_the_label_size(db_path, builds, tmp_path):
    out = tmp_path / "label.pdf"
    result = main("label", "--db", db_path, "--build", builds[0], "--out", out)
    assert result.returncode == 0, result.stderr
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert len(boxes) == 1
    # 62 x 29 mm in PostScript points (72 per inch): 175.75 x 82.20
    assert float(boxes[0][0]) == pytest.approx(62 / 25.4 * 72, abs=0.5)
    assert float(boxes[0][1]) == pytest.approx(29 / 25.4 * 72, abs=0.5)


@pytest.mark.parametrize("args, message", [
    (["--build", 99], "no build 99"),
    (["--out", "{tmp}/missing/label.png"], "there is no folder"),
    (["--out", "{tmp}"], "is a folder"),
    (["--out", "{tmp}/label.jpg"], "a label is written as .png or .pdf, not .jpg"),
    (["--size", "62by29"], "is not WIDTHxHEIGHT"),
    (["--size", "5x5"], "each side must be"),
    (["--build", "x"], "'x' is not a whole number"),
])
def test_bad_input_is_one_line_and_writes_nothing(db_path, builds, tmp_path, args, message):
    options = {"--build": str(builds[0]), "--out": str(tmp_path / "label.png")}
    for key, value in zip(args[::2], args[1::2]):
        options[key] = str(value).format(tmp=tmp_path)
    def files():   # the notebook's own -wal/-shm come and go with any reader
        return sorted(f for f in tmp_path.rglob("*") if not f.name.startswith(db_path.name))
    before = files()
    result = main("label", "--db", db_path, *[x for pair in options.items() for x in pair])
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert files() == before


def test_no_notebook_is_refused(tmp_path):
    result = main("label", "--db", tmp_path / "none.sqlite", "--build", 1, "--out", tmp_path / "l.png")
    assert result.returncode == 2 and "no notebook at" in result.stderr
    assert not (tmp_path / "none.sqlite").exists()


def test_the_printer_gets_a_page_of_the_label_size(qapp, db_path, builds, tmp_path):
    """What Print label… sends after the print dialog, caught as the PDF a printer queue gets."""
    from PySide6 import QtPrintSupport
    from gui.label import label_printer, print_on
    from notebook.labels import label_text
    with Notebook(db_path, read_only=True) as nb:
        label = label_text(nb, builds[0])
    printer = label_printer(label, (25, 50))
    printer.setOutputFormat(QtPrintSupport.QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    assert print_on(printer, label, (25, 50))
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", (tmp_path / "printed.pdf").read_bytes())
    # 25 x 50 mm is 70.87 x 141.73 points; the printer's page is whole points
    assert len(boxes) == 1
    assert float(boxes[0][0]) == pytest.approx(25 / 25.4 * 72, abs=0.5)
    assert float(boxes[0][1]) == pytest.approx(50 / 25.4 * 72, abs=0.5)
