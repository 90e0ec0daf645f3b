"""The stack picture: every sheet drawn to scale in thickness (not in width), bottom
sheet at the bottom, with a µm ruler, the stack-pressure set-point and its force on
top, one label per sheet (material, thickness, lot), the selected sheet outlined and
sheets with a problem marked. A reference electrode adds no thickness: it is drawn
as a wire at the interface where it sits. Clicking a sheet or its label selects it."""
from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6 import QtCore, QtGui, QtWidgets

import cell
from cell.materials import Material
from cell.validation import Issue
from gui import theme
from gui.builder_model import ERROR_TEXT, WARNING_TEXT


UNKNOWN = QtGui.QColor(Material.color)   # the catalog's default, for a material it lacks
TOP, BOTTOM = 64, 34          # room for the pressure arrows and the "bottom" caption
RULER_X = 46                  # x of the ruler's axis line


@dataclass
class _Item:
    index: int                # layer index in the stack
    rect: QtCore.QRectF       # the sheet (a zero-height rect for a reference wire)
    text: str                 # material and thickness
    lot: str
    wire: bool
    severity: str | None      # worst issue at this layer
    label: QtCore.QRectF | None = None


def nice_step(span: float, target_ticks: int = 5) -> float:
    """A 1-2-5 tick step giving about `target_ticks` ticks over `span`."""
    raw = span / max(target_ticks, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def spread(anchors: list[float], height: float, lo: float, hi: float) -> list[float]:
    """Top y of labels of `height` centred as near as possible on `anchors` (sorted top
    to bottom) without overlapping, kept within lo..hi where there is room."""
    tops = []
    for y in anchors:
        top = y - height / 2
        tops.append(max(top, tops[-1] + height) if tops else max(top, lo))
    for k in range(len(tops) - 1, -1, -1):  # push back up from the bottom bound
        limit = hi - height if k == len(tops) - 1 else tops[k + 1] - height
        tops[k] = min(tops[k], limit)
    return tops


class StackPicture(QtWidgets.QWidget):
    layer_clicked = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self._stack: cell.Stack | None = None
        self._issues: list[Issue] = []
        self._selected: int | None = None
        self._items: list[_Item] = []
        self._scale = self._total = 0.0
        self.setMinimumSize(300, 320)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)
        self.setToolTip("The stack to scale in thickness (not in width). Click a sheet to select it.")

    def show_stack(self, stack: cell.Stack, issues: list[Issue], selected: int | None) -> None:
        self._stack, self._issues, self._selected = stack, issues, selected
        self._relayout()

    def _relayout(self) -> None:
        self._items, self._scale, self._total = self._layout() if self._stack is not None else ([], 0.0, 0.0)
        self.update()

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        self._relayout()
        super().resizeEvent(event)

    def set_selected(self, index: int | None) -> None:
        self._selected = index
        self.update()

    @property
    def items(self) -> list[_Item]:
        """The sheets and wires as laid out for the current stack and size, bottom to top."""
        return self._items

    # -- geometry --
    def _layout(self) -> tuple[list[_Item], float, float]:
        """Items bottom to top, the µm-to-pixel scale and the stack's total thickness."""
        stack = self._stack
        w, h = self.width(), self.height()
        block_x, block_w = RULER_X + 14, max(70.0, min(150.0, 0.28 * w))
        base_y, avail = h - BOTTOM, max(h - TOP - BOTTOM, 10)
        worst: dict[int, str] = {}
        for issue in self._issues:
            if issue.layer is not None and worst.get(issue.layer) != "error":
                worst[issue.layer] = issue.severity
        sheets = [(i, layer) for i, layer in enumerate(stack.layers) if not self._is_wire(layer)]
        total = sum(max(layer.thickness_um, 0.0) for _, layer in sheets)
        scale = avail / total if total > 0 else 0.0
        items, y = [], float(base_y)
        for i, layer in enumerate(stack.layers):
            text = self._text(stack, layer)
            if self._is_wire(layer):
                items.append(_Item(i, QtCore.QRectF(block_x, y, block_w, 0), text, layer.lot, True, worst.get(i)))
                continue
            height = max(layer.thickness_um * scale, 1.5)  # a 60 nm film still shows
            y_top = y - layer.thickness_um * scale
            items.append(_Item(i, QtCore.QRectF(block_x, y_top, block_w, height), text, layer.lot, False, worst.get(i)))
            y = y_top
        return items, scale, total

    def _is_wire(self, layer: cell.Layer) -> bool:
        material = self._stack.catalog.get(layer.material)
        return material is not None and material.kind == "reference"

    @staticmethod
    def _text(stack: cell.Stack, layer: cell.Layer) -> str:
        material = stack.catalog.get(layer.material)
        if material is not None and material.kind == "reference":
            return stack.label(layer)
        return f"{stack.label(layer)} · {layer.thickness_um:g} µm"

    # -- drawing --
    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        try:
            painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
            painter.fillRect(self.rect(), self.palette().color(QtGui.QPalette.ColorRole.Base))
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, p: QtGui.QPainter) -> None:
        muted = self.palette().color(QtGui.QPalette.ColorRole.PlaceholderText)
        text_color = self.palette().color(QtGui.QPalette.ColorRole.Text)
        small = QtGui.QFont(self.font())
        small.setPointSizeF(self.font().pointSizeF() * 0.9)
        p.setFont(small)
        p.setPen(muted)
        p.drawText(QtCore.QRectF(8, 4, self.width() - 16, 16), QtCore.Qt.AlignmentFlag.AlignLeft,
                   "Stack, to scale in thickness")
        items, scale, total = self._items, self._scale, self._total
        if total <= 0:
            p.setPen(muted)
            p.drawText(self.rect().adjusted(16, TOP, -16, -BOTTOM), QtCore.Qt.AlignmentFlag.AlignCenter
                       | QtCore.Qt.TextFlag.TextWordWrap,
                       "Empty stack.\nAdd the bottom sheet first (e.g. Al foil for a full cell) on the Layers page.")
            return
        block = QtCore.QRectF(items[0].rect.left(), self.height() - BOTTOM - total * scale,
                              items[0].rect.width(), total * scale)
        self._paint_ruler(p, block, scale, total, muted)
        self._paint_pressure(p, block, text_color)
        for item in items:
            if not item.wire:
                self._paint_sheet(p, item)
        for item in items:
            if item.wire:
                self._paint_wire(p, item)
        self._paint_labels(p, items, block, text_color, muted)
        p.setFont(small)
        p.setPen(muted)
        p.drawText(QtCore.QRectF(block.left() - 30, block.bottom() + 6, block.width() + 60, 16),
                   QtCore.Qt.AlignmentFlag.AlignHCenter, "bottom · placed first")

    def _paint_ruler(self, p: QtGui.QPainter, block: QtCore.QRectF, scale: float, total: float, color) -> None:
        p.setPen(QtGui.QPen(color, 1))
        x = RULER_X
        p.drawLine(QtCore.QPointF(x, block.bottom()), QtCore.QPointF(x, block.top()))
        step = nice_step(total)
        n = int(total / step + 1e-9)
        for k in range(n + 1):
            y = block.bottom() - k * step * scale
            p.drawLine(QtCore.QPointF(x - 4, y), QtCore.QPointF(x, y))
            p.drawText(QtCore.QRectF(0, y - 8, x - 7, 16),
                       QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter, f"{k * step:g}")
        p.drawText(QtCore.QRectF(0, block.top() - 22, x + 4, 16),
                   QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter, "µm")

    def _paint_pressure(self, p: QtGui.QPainter, block: QtCore.QRectF, text_color) -> None:
        stack = self._stack
        bad = any(i.field == "stack_pressure_mpa" and i.severity == "error" for i in self._issues)
        color = theme.qcolor(ERROR_TEXT) if bad else text_color
        force = stack.stack_pressure_mpa * stack.area_cm2 * 100.0  # MPa x cm2 -> N
        p.setPen(QtGui.QPen(color, 1.6))
        p.setBrush(color)
        top = block.top() - 6
        for frac in (0.2, 0.5, 0.8):
            x = block.left() + frac * block.width()
            p.drawLine(QtCore.QPointF(x, top - 20), QtCore.QPointF(x, top - 6))
            p.drawPolygon(QtGui.QPolygonF([QtCore.QPointF(x - 4, top - 7), QtCore.QPointF(x + 4, top - 7),
                                           QtCore.QPointF(x, top)]))
        p.drawText(QtCore.QRectF(block.center().x() - 150, top - 40, 300, 16),
                   QtCore.Qt.AlignmentFlag.AlignHCenter,
                   f"{stack.stack_pressure_mpa:g} MPa = {force:,.0f} N on {stack.area_cm2:g} cm²")

    def _outline(self, item: _Item) -> QtGui.QPen | None:
        if item.index == self._selected:
            return QtGui.QPen(self.palette().color(QtGui.QPalette.ColorRole.Highlight), 3)
        if item.severity == "error":
            return QtGui.QPen(theme.qcolor(ERROR_TEXT), 2, QtCore.Qt.PenStyle.DashLine)
        if item.severity == "warning":
            return QtGui.QPen(theme.qcolor(WARNING_TEXT), 2, QtCore.Qt.PenStyle.DashLine)
        return None

    def _paint_sheet(self, p: QtGui.QPainter, item: _Item) -> None:
        material = self._stack.catalog.get(self._stack.layers[item.index].material)
        color = QtGui.QColor(material.color) if material else UNKNOWN
        p.setPen(QtGui.QPen(color.darker(130), 0.8))
        p.setBrush(color if material else QtGui.QBrush(color, QtCore.Qt.BrushStyle.BDiagPattern))
        p.drawRect(item.rect)
        pen = self._outline(item)
        if pen is not None:
            p.setPen(pen)
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            p.drawRect(item.rect.adjusted(-1, -1, 1, 1))

    def _paint_wire(self, p: QtGui.QPainter, item: _Item) -> None:
        material = self._stack.catalog.get(self._stack.layers[item.index].material)
        color = QtGui.QColor(material.color) if material else UNKNOWN
        pen = self._outline(item) or QtGui.QPen(color, 3)
        pen.setWidthF(3)
        pen.setStyle(QtCore.Qt.PenStyle.SolidLine)
        p.setPen(pen)
        y = item.rect.top()
        start, end = item.rect.right() - item.rect.width() * 0.45, item.rect.right() + 12
        p.drawLine(QtCore.QPointF(start, y), QtCore.QPointF(end, y))
        p.setBrush(pen.color())
        p.drawEllipse(QtCore.QPointF(end, y), 3.5, 3.5)

    def _paint_labels(self, p: QtGui.QPainter, items: list[_Item], block: QtCore.QRectF, text_color, muted) -> None:
        """One label per sheet right of the stack, spread so none overlap, each joined to
        its sheet by a leader line; the lot, when recorded, on a second, smaller line."""
        font = QtGui.QFont(self.font())
        small = QtGui.QFont(font)
        small.setPointSizeF(font.pointSizeF() * 0.85)
        line_h = QtGui.QFontMetricsF(font).height()
        lot_h = QtGui.QFontMetricsF(small).height() if any(it.lot for it in items) else 0.0
        label_h = line_h + lot_h + 2
        label_x = block.right() + 30
        width = self.width() - label_x - 6
        ordered = sorted(items, key=lambda it: it.rect.center().y())          # top to bottom
        tops = spread([it.rect.center().y() for it in ordered], label_h, 22.0, self.height() - 4.0)
        for item, top in zip(ordered, tops):
            bold = QtGui.QFont(font)
            bold.setBold(item.index == self._selected)
            mark = {"error": "✖ ", "warning": "⚠ "}.get(item.severity or "", "")
            metrics = QtGui.QFontMetricsF(bold)
            text = metrics.elidedText(f"{item.index + 1}  {mark}{item.text}", QtCore.Qt.TextElideMode.ElideRight, width)
            item.label = QtCore.QRectF(label_x, top, metrics.horizontalAdvance(text) + 4, label_h)
            anchor_y = item.rect.center().y()
            first_line_y = top + line_h / 2
            p.setPen(QtGui.QPen(muted, 0.8))
            start_x = item.rect.right() + (14 if item.wire else 2)
            p.drawLine(QtCore.QPointF(start_x, anchor_y), QtCore.QPointF(label_x - 8, anchor_y))
            p.drawLine(QtCore.QPointF(label_x - 8, anchor_y), QtCore.QPointF(label_x - 3, first_line_y))
            color = (theme.qcolor(ERROR_TEXT) if item.severity == "error" else theme.qcolor(WARNING_TEXT)
                     if item.severity == "warning" else text_color)
            p.setFont(bold)
            p.setPen(color)
            p.drawText(QtCore.QRectF(label_x, top, width, line_h),
                       QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter, text)
            if item.lot:
                p.setFont(small)
                p.setPen(muted)
                lot = QtGui.QFontMetricsF(small).elidedText(f"lot {item.lot}", QtCore.Qt.TextElideMode.ElideRight,
                                                            width - 18)
                p.drawText(QtCore.QRectF(label_x + 18, top + line_h, width - 18, lot_h),
                           QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter, lot)

    # -- interaction --
    def layer_at(self, point: QtCore.QPointF) -> int | None:
        for item in reversed(self._items):  # wires are drawn last, over the sheets
            hit = item.rect.adjusted(0, -4, 14, 4) if item.wire else item.rect.adjusted(0, -2, 0, 2)
            if hit.contains(point) or (item.label is not None and item.label.contains(point)):
                return item.index
        return None

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        index = self.layer_at(event.position())
        if index is not None:
            self.layer_clicked.emit(index)
        super().mousePressEvent(event)
