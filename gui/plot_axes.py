"""Plot axes that stay legible whatever room the layout leaves them: a value axis that
writes no more labels than its length holds (a short temperature strip under four other
traces got three labels stacked on top of each other), and a blank state for a plot with
nothing to show (an idle monitor drew a 0-1 grid labelled 0.2 ... 0.8, which reads as data)."""
from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6 import QtGui

LABEL_GAP_LINES = 1.6     # between two value labels: a line of their text and air around it
NICE_STEPS = (1.0, 2.0, 5.0)


def coarser_nice(spacing: float) -> float:
    """The next 1, 2, 5 x 10^k step above `spacing`."""
    exponent = math.floor(math.log10(spacing))
    for k in (exponent, exponent + 1):
        for step in NICE_STEPS:
            value = step * 10.0 ** k
            if value > spacing * (1 + 1e-9):
                return value
    return 10.0 ** (exponent + 2)


def labels_between(lo: float, hi: float, spacing: float) -> int:
    """How many multiples of `spacing` lie in [lo, hi]."""
    return max(0, math.floor(hi / spacing + 1e-9) - math.ceil(lo / spacing - 1e-9) + 1)


class SparseAxis(pg.AxisItem):
    """pyqtgraph asks for at least two or three intervals whatever the axis length; this
    axis widens the step (1, 2, 5 x 10^k) until its labels have LABEL_GAP_LINES of their
    text height each, keeping at least one label while the range holds a nice value."""

    def label_gap_px(self) -> float:
        font = self.style.get("tickFont") or QtGui.QFont()
        return LABEL_GAP_LINES * QtGui.QFontMetricsF(font).height()

    def tickSpacing(self, minVal: float, maxVal: float, size: float):  # noqa: N802, N803 (pyqtgraph's names)
        levels = super().tickSpacing(minVal, maxVal, size)
        lo, hi = sorted((minVal, maxVal))
        if not levels or hi == lo or not math.isfinite(hi - lo) or size <= 0:
            return levels
        most = max(1, int(size // self.label_gap_px()))
        spacing = levels[0][0]
        if labels_between(lo, hi, spacing) <= most:
            return levels
        while labels_between(lo, hi, spacing) > most:
            coarser = coarser_nice(spacing)
            if labels_between(lo, hi, coarser) < 1:
                break
            spacing = coarser
        return [(spacing, 0.0)]


def blank(plot: pg.PlotItem, empty: bool, sides: tuple[str, ...] = ("left", "bottom"), grid_alpha: float = 0.3) -> None:
    """No tick values (on `sides`) and no grid on a plot with nothing to show; both back
    once it has something."""
    for side in sides:
        plot.getAxis(side).setStyle(showValues=not empty)
    plot.showGrid(x=not empty, y=not empty, alpha=grid_alpha)
