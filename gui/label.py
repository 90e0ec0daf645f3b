"""A cell's label drawn with QPainter: a QR code of the cell id (segno encodes it) beside,
or above, the cell id in large type and the stack, template, date and operator. One
drawing serves a PNG (at 300 dpi), a PDF page of the label's size and a printer.

The QR code keeps its quiet zone of four modules and whole device pixels per module,
so a scanner reads it off a 300 dpi thermal print and off a screen alike."""
from __future__ import annotations

from pathlib import Path

import segno
from PySide6 import QtCore, QtGui, QtPrintSupport, QtWidgets

from notebook.labels import LabelText

DPI = 300
QUIET_MODULES = 4
MARGIN_MM = 1.5
SUFFIXES = (".png", ".pdf")


def qr_matrix(code: str) -> list[list[bool]]:
    """The QR code's modules, True for dark, without the quiet zone."""
    qr = segno.make(code, error="m", micro=False)
    return [[bool(v) for v in row] for row in qr.matrix]


def _fit_font(painter: QtGui.QPainter, text: str, width: float, px: float, bold: bool = False) -> QtGui.QFont:
    """The largest font up to `px` pixels high that fits `text` into `width`."""
    font = QtGui.QFont(painter.font())
    font.setBold(bold)
    size = max(px, 1.0)
    while size > 4:
        font.setPixelSize(round(size))
        if QtGui.QFontMetricsF(font).horizontalAdvance(text) <= width:
            break
        size *= 0.92
    return font


def paint_label(painter: QtGui.QPainter, label: LabelText, width_px: float, height_px: float, px_per_mm: float) -> None:
    """Draw `label` in the rectangle (0, 0, width_px, height_px), black on white."""
    painter.save()
    painter.fillRect(QtCore.QRectF(0, 0, width_px, height_px), QtCore.Qt.GlobalColor.white)
    margin = MARGIN_MM * px_per_mm
    matrix = qr_matrix(label.code)
    modules = len(matrix) + 2 * QUIET_MODULES
    landscape = width_px >= height_px
    # The code, its quiet zone included, takes the full short side: the quiet zone is the
    # label's margin there. Whole pixels per module keep its edges sharp.
    module = max(int((height_px if landscape else width_px) // modules), 1)
    qr_side = module * modules
    qr_left, qr_top = (0.0, (height_px - qr_side) / 2) if landscape else ((width_px - qr_side) / 2, 0.0)
    painter.setPen(QtCore.Qt.PenStyle.NoPen)
    painter.setBrush(QtCore.Qt.GlobalColor.black)
    origin_x, origin_y = qr_left + QUIET_MODULES * module, qr_top + QUIET_MODULES * module
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                painter.drawRect(QtCore.QRectF(origin_x + c * module, origin_y + r * module, module, module))
    if landscape:
        text = QtCore.QRectF(qr_side, margin, width_px - qr_side - margin, height_px - 2 * margin)
    else:
        text = QtCore.QRectF(margin, qr_side, width_px - 2 * margin, height_px - qr_side - margin)
    painter.setPen(QtCore.Qt.GlobalColor.black)
    lines = label.lines
    title = label.cell_id or f"build #{label.build_id}"
    title_font = _fit_font(painter, title, text.width(), text.height() * 0.30, bold=True)
    line_px = min(text.height() * 0.62 / len(lines), title_font.pixelSize() * 0.75)
    rows = [(title_font, title, 1.1)] + [(_fit_font(painter, line, text.width(), line_px), line, 1.05) for line in lines]
    heights = [QtGui.QFontMetricsF(font).height() * gap for font, _, gap in rows]
    # beside the code: centred on it; below it: right under it, the rest of the label left blank for a hand note
    y = text.top() + (max((text.height() - sum(heights)) / 2, 0) if landscape else 0)
    for (font, line, _), height in zip(rows, heights):
        painter.setFont(font)
        painter.drawText(QtCore.QRectF(text.left(), y, text.width(), height),
                         QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter, line)
        y += height
    painter.restore()


def render_label(label: LabelText, size_mm: tuple[float, float], dpi: int = DPI) -> QtGui.QImage:
    """The label as an image at `dpi`, its physical size recorded in the image."""
    px_per_mm = dpi / 25.4
    width, height = round(size_mm[0] * px_per_mm), round(size_mm[1] * px_per_mm)
    image = QtGui.QImage(width, height, QtGui.QImage.Format.Format_RGB32)
    dots_per_m = round(dpi / 0.0254)
    image.setDotsPerMeterX(dots_per_m)
    image.setDotsPerMeterY(dots_per_m)
    painter = QtGui.QPainter(image)
    try:
        paint_label(painter, label, width, height, px_per_mm)
    finally:
        painter.end()
    return image


def _page_layout(size_mm: tuple[float, float]) -> QtGui.QPageLayout:
    page = QtGui.QPageSize(QtCore.QSizeF(*size_mm), QtGui.QPageSize.Unit.Millimeter, "label",
                           QtGui.QPageSize.SizeMatchPolicy.ExactMatch)
    return QtGui.QPageLayout(page, QtGui.QPageLayout.Orientation.Portrait, QtCore.QMarginsF(0, 0, 0, 0),
                             QtGui.QPageLayout.Unit.Millimeter)


def _paint_on_device(device: QtGui.QPagedPaintDevice, label: LabelText, size_mm: tuple[float, float]) -> bool:
    painter = QtGui.QPainter()
    if not painter.begin(device):
        return False
    try:
        px_per_mm = device.logicalDpiX() / 25.4
        paint_label(painter, label, size_mm[0] * px_per_mm, size_mm[1] * px_per_mm, px_per_mm)
    finally:
        painter.end()
    return True


def save_label(label: LabelText, size_mm: tuple[float, float], path: Path) -> None:
    """Write the label as PNG or PDF (by the suffix). OSError naming the file if it cannot
    be written, ValueError for another suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{path}: a label is written as .png or .pdf, not {path.suffix or 'a file without a suffix'}")
    if suffix == ".png":
        if not render_label(label, size_mm).save(str(path), "PNG"):
            raise OSError(f"{path} could not be written")
        return
    writer = QtGui.QPdfWriter(str(path))
    writer.setResolution(DPI)
    writer.setPageLayout(_page_layout(size_mm))
    writer.setTitle(f"Label {label.code}")
    writer.setCreator("SolidStack")
    if not _paint_on_device(writer, label, size_mm):
        raise OSError(f"{path} could not be written")


def label_printer(label: LabelText, size_mm: tuple[float, float]) -> QtPrintSupport.QPrinter:
    """A printer set up for one label: a page of the label's size, no margins."""
    printer = QtPrintSupport.QPrinter(QtPrintSupport.QPrinter.PrinterMode.HighResolution)
    printer.setPageLayout(_page_layout(size_mm))
    printer.setFullPage(True)
    printer.setDocName(f"Label {label.code}")
    return printer


def print_on(printer: QtPrintSupport.QPrinter, label: LabelText, size_mm: tuple[float, float]) -> bool:
    return _paint_on_device(printer, label, size_mm)


def print_label(parent: QtWidgets.QWidget, label: LabelText, size_mm: tuple[float, float]) -> bool:
    """The system's print dialog, on a page of the label's size; True if it was printed."""
    printer = label_printer(label, size_mm)
    dialog = QtPrintSupport.QPrintDialog(printer, parent)
    dialog.setWindowTitle(f"Print the label of {label.code}")
    if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
        return False
    return print_on(printer, label, size_mm)
