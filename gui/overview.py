"""The channel overview: one tile per channel of the bench (up to 8 concurrent runs)
with its state, cell and protocol, cycle, latest voltage and current, whether its source
is on, and any alarm, readable at a glance; a click or a tap selects the channel whose
monitor is shown. A channel whose output is off (idle, paused, ended, or made safe after
a trip) says OUTPUT OFF on a badge in the theme's most contrasting colours, and its
figures are marked as the last ones measured. An unacknowledged alarm turns its tile to
the theme's alarm colour until the operator acknowledges it; afterwards the tile still
says which alarm ended the run.

In glove mode the tiles are the main navigation: two rows of four, each at least
GLOVE_TILE_PX tall with large voltage and current readouts. The tiles know nothing of
the engine: the main window hands them a `ChannelStatus` per channel on its refresh timer."""
from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6 import QtCore, QtGui, QtWidgets

from gui import theme

LIVE_STATES = ("starting", "running")    # the states in which the engine drives the source
GLOVE_TILE_PX = 2 * theme.GLOVE_CONTROL_PX
GLOVE_COLUMNS = 4
READOUT_SCALE = 1.8      # glove mode: readouts this many times the application's font


@dataclass(frozen=True)
class ChannelStatus:
    index: int                        # 1..8
    state: str = "idle"
    title: str = ""                   # run, cell, protocol
    cycle: int | None = None
    voltage_v: float | None = None
    alarm: str | None = None          # the last alarm's message, if any
    acknowledged: bool = True         # False: the alarm is latched
    current_a: float | None = None

    @property
    def alarming(self) -> bool:
        return self.alarm is not None and not self.acknowledged

    @property
    def output_on(self) -> bool:
        """The engine switches the source on only while running; every other state
        (paused, ended, tripped) has made it safe first."""
        return self.state in LIVE_STATES


def si_text(value: float, unit: str) -> str:
    """4 significant figures with a prefix: 0.0001234 A -> '123.4 µA'."""
    if value == 0:
        return f"0 {unit}"
    for factor, prefix in ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n")):
        if abs(value) >= factor:
            return f"{value / factor:.4g} {prefix}{unit}"
    return f"{value / 1e-12:.4g} p{unit}"


class ChannelTile(QtWidgets.QFrame):
    clicked = QtCore.Signal(int)

    def __init__(self, index: int, parent=None):
        super().__init__(parent)
        self.index = index
        self.status = ChannelStatus(index)
        self.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        # A tap arrives as a touch event (not only as a mouse event Qt makes from it).
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_AcceptTouchEvents, True)
        self.setMinimumWidth(104)
        self.heading = QtWidgets.QLabel()
        self.state = QtWidgets.QLabel()
        self.figures = QtWidgets.QLabel()
        self.voltage = QtWidgets.QLabel()
        self.current = QtWidgets.QLabel()
        self.output = QtWidgets.QLabel("OUTPUT OFF")
        self.output.setObjectName("outputOff")
        self.output.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.alarm = QtWidgets.QLabel()
        self.alarm.setWordWrap(True)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(1)
        for label in (self.heading, self.state, self.output, self.figures, self.voltage, self.current, self.alarm):
            # the tiles share the row's width: a long text is cut, it never widens the row
            label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
            layout.addWidget(label)
        layout.addStretch(1)
        self._selected = False
        self._glove = False
        self._template = ""
        self.show_status(self.status)

    def set_glove(self, glove: bool) -> None:
        """Large readouts and a tall tile (glove mode), or the compact tile."""
        self._glove = glove
        self.setMinimumHeight(GLOVE_TILE_PX if glove else 0)
        font = QtGui.QFont(self.font())
        if glove:
            font.setPointSizeF(max(font.pointSizeF(), 9.0) * READOUT_SCALE)
            font.setBold(True)
        for label in (self.voltage, self.current):
            label.setFont(font if glove else QtGui.QFont())
            label.setVisible(glove)
        self.figures.setVisible(not glove)
        self.show_status(self.status)

    def show_status(self, status: ChannelStatus) -> None:
        self.status = status
        self.heading.setText(f"<b>Channel {status.index}</b>")
        self.state.setText(status.state.upper() if status.state != "idle" else "idle")
        stale = "" if status.output_on else " (last)"
        parts = []
        if status.cycle is not None:
            parts.append(f"cycle {status.cycle}")
        if status.voltage_v is not None and math.isfinite(status.voltage_v):
            v = status.voltage_v
            parts.append(f"{v:.3f} V" if abs(v) >= 0.1 else f"{v * 1e3:.2f} mV")
        self.figures.setText(" · ".join(parts) or "—")
        has_v = status.voltage_v is not None and math.isfinite(status.voltage_v)
        self.voltage.setText(f"{si_text(status.voltage_v, 'V')}{stale}" if has_v else "— V")
        if not status.output_on:
            self.current.setText("I: off")     # high impedance: no current flows
        elif status.current_a is not None and math.isfinite(status.current_a):
            self.current.setText(si_text(status.current_a, "A"))
        else:
            self.current.setText("— A")
        self.output.setVisible(not status.output_on)
        if status.alarm:
            first = status.alarm.split(":")[0]
            self.alarm.setText(f"⚠ {first}" + (" — acknowledge!" if status.alarming else " (acknowledged)"))
        else:
            self.alarm.setText("")
        self.alarm.setVisible(bool(status.alarm))
        self.setToolTip("\n".join(filter(None, [status.title, status.alarm])) or f"Channel {status.index}: idle")
        self._style()

    def set_selected(self, selected: bool) -> None:
        self._selected = selected
        self._style()

    def _style(self) -> None:
        state = self.status.state if f"tile_{self.status.state}" in theme.current().colours else "idle"
        background, text = ("alarm", "alarm_text") if self.status.alarming else (f"tile_{state}", f"tile_{state}_text")
        border = "4px solid {selected}" if self._selected else "1px solid {border}"
        badge = "16px" if self._glove else "inherit"
        # a style-sheet template (gui/theme.py): doubled braces are CSS, single ones the theme's roles
        template = (
            f"ChannelTile {{{{ background: {{{background}}}; border: {border}; border-radius: 4px; }}}}"
            f" QLabel {{{{ color: {{{text}}}; background: transparent; }}}}"
            f" QLabel#outputOff {{{{ color: {{output_off_text}}; background: {{output_off}};"
            f" font-weight: bold; font-size: {badge}; padding: 2px 4px; border-radius: 3px; }}}}")
        if template != self._template:    # the refresh timer calls this 4 times a second: parse only changes
            self._template = template
            theme.set_style(self, template)

    def mousePressEvent(self, event) -> None:
        if event.button() == QtCore.Qt.MouseButton.LeftButton:
            self.clicked.emit(self.index)
        super().mousePressEvent(event)

    def event(self, event: QtCore.QEvent) -> bool:
        kind = event.type()
        if kind == QtCore.QEvent.Type.TouchBegin:
            event.accept()          # else no TouchEnd follows
            return True
        if kind == QtCore.QEvent.Type.TouchEnd:
            points = event.points()
            if points and self.rect().contains(points[0].position().toPoint()):
                self.clicked.emit(self.index)
            event.accept()
            return True
        return super().event(event)


class ChannelOverview(QtWidgets.QWidget):
    selected = QtCore.Signal(int)

    def __init__(self, channels: int = 8, parent=None):
        super().__init__(parent)
        self.grid = QtWidgets.QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(4)
        self.tiles = {k: ChannelTile(k) for k in range(1, channels + 1)}
        for tile in self.tiles.values():
            tile.clicked.connect(self.select)
        self.current = 1
        self.tiles[1].set_selected(True)
        self.glove = None
        self.set_glove(theme.glove_mode())
        theme.notifier().changed.connect(self._follow_theme)

    def _follow_theme(self) -> None:
        self.set_glove(theme.glove_mode())

    def set_glove(self, glove: bool) -> None:
        """One row of compact tiles, or (glove mode) rows of GLOVE_COLUMNS large ones."""
        if glove == self.glove:
            return
        self.glove = glove
        self.grid.setSpacing(theme.GLOVE_GAP_PX if glove else 4)
        for tile in self.tiles.values():
            tile.set_glove(glove)
        self._arrange(self._columns(self.width()))

    def _columns(self, width: int) -> int:
        """Glove mode: GLOVE_COLUMNS. Else one row when every tile's texts fit in it, two
        rows when not (a 1024 px screen): a tile's texts are cut, never the row widened."""
        if self.glove:
            return GLOVE_COLUMNS
        n = len(self.tiles)
        margins = self.tiles[1].contentsMargins()
        needed = max(label.sizeHint().width() for tile in self.tiles.values()
                     for label in tile.findChildren(QtWidgets.QLabel) if not label.isHidden())
        needed += margins.left() + margins.right() + 12
        return n if width >= n * needed + (n - 1) * self.grid.spacing() else (n + 1) // 2

    def _arrange(self, columns: int) -> None:
        if getattr(self, "_columns_now", None) == columns:
            return
        self._columns_now = columns
        for k, tile in enumerate(self.tiles.values()):
            self.grid.removeWidget(tile)
            self.grid.addWidget(tile, k // columns, k % columns)
        for column in range(len(self.tiles)):
            self.grid.setColumnStretch(column, 1 if column < columns else 0)
        self.grid.activate()       # tiles moved between cells: place them now, not at some later request

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        self._arrange(self._columns(event.size().width()))
        super().resizeEvent(event)

    def update_channels(self, statuses: list[ChannelStatus]) -> None:
        for status in statuses:
            self.tiles[status.index].show_status(status)
        self._arrange(self._columns(self.width()))     # longer texts may need two rows

    def select(self, index: int) -> None:
        """Select a channel (a click or tap on its tile does the same)."""
        for k, tile in self.tiles.items():
            tile.set_selected(k == index)
        if index != self.current:
            self.current = index
            self.selected.emit(index)
