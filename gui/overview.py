"""The channel overview: one tile per channel of the bench (up to 8 concurrent runs)
with its state, cell and protocol, cycle, latest voltage and any alarm, readable at a
glance; a click selects the channel whose monitor is shown. An unacknowledged alarm
turns its tile red until the operator acknowledges it; afterwards the tile still says
which alarm ended the run. The tiles know nothing of the engine: the main window hands
them a `ChannelStatus` per channel on its refresh timer."""
from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6 import QtCore, QtWidgets

# state -> (tile background, text colour)
STATE_COLOURS = {
    "idle": ("#f5f5f5", "#616161"),
    "starting": ("#e3f2fd", "#0d47a1"),
    "running": ("#e8f5e9", "#1b5e20"),
    "paused": ("#fff8e1", "#e65100"),
    "completed": ("#e3f2fd", "#0d47a1"),
    "aborted": ("#eceff1", "#37474f"),
    "failed": ("#fbe9e7", "#bf360c"),
    "shorted": ("#ffebee", "#b71c1c"),
}
ALARM_COLOURS = ("#c62828", "#ffffff")


@dataclass(frozen=True)
class ChannelStatus:
    index: int                        # 1..8
    state: str = "idle"
    title: str = ""                   # run, cell, protocol
    cycle: int | None = None
    voltage_v: float | None = None
    alarm: str | None = None          # the last alarm's message, if any
    acknowledged: bool = True         # False: the alarm is latched

    @property
    def alarming(self) -> bool:
        return self.alarm is not None and not self.acknowledged


class ChannelTile(QtWidgets.QFrame):
    clicked = QtCore.Signal(int)

    def __init__(self, index: int, parent=None):
        super().__init__(parent)
        self.index = index
        self.status = ChannelStatus(index)
        self.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.setMinimumWidth(104)
        self.heading = QtWidgets.QLabel()
        self.state = QtWidgets.QLabel()
        self.figures = QtWidgets.QLabel()
        self.alarm = QtWidgets.QLabel()
        self.alarm.setWordWrap(True)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(1)
        for label in (self.heading, self.state, self.figures, self.alarm):
            layout.addWidget(label)
        layout.addStretch(1)
        self._selected = False
        self.show_status(self.status)

    def show_status(self, status: ChannelStatus) -> None:
        self.status = status
        self.heading.setText(f"<b>Channel {status.index}</b>")
        self.state.setText(status.state.upper() if status.state != "idle" else "idle")
        parts = []
        if status.cycle is not None:
            parts.append(f"cycle {status.cycle}")
        if status.voltage_v is not None and math.isfinite(status.voltage_v):
            v = status.voltage_v
            parts.append(f"{v:.3f} V" if abs(v) >= 0.1 else f"{v * 1e3:.2f} mV")
        self.figures.setText(" · ".join(parts) or "—")
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
        background, text = ALARM_COLOURS if self.status.alarming else STATE_COLOURS.get(self.status.state,
                                                                                       STATE_COLOURS["idle"])
        border = "3px solid #1565c0" if self._selected else "1px solid #bdbdbd"
        self.setStyleSheet(f"ChannelTile {{ background: {background}; border: {border}; border-radius: 4px; }}"
                           f" QLabel {{ color: {text}; background: transparent; }}")

    def mousePressEvent(self, event) -> None:
        if event.button() == QtCore.Qt.MouseButton.LeftButton:
            self.clicked.emit(self.index)
        super().mousePressEvent(event)


class ChannelOverview(QtWidgets.QWidget):
    selected = QtCore.Signal(int)

    def __init__(self, channels: int = 8, parent=None):
        super().__init__(parent)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.tiles = {k: ChannelTile(k) for k in range(1, channels + 1)}
        for tile in self.tiles.values():
            layout.addWidget(tile, 1)
            tile.clicked.connect(self.select)
        self.current = 1
        self.tiles[1].set_selected(True)

    def update_channels(self, statuses: list[ChannelStatus]) -> None:
        for status in statuses:
            self.tiles[status.index].show_status(status)

    def select(self, index: int) -> None:
        """Select a channel (a click on its tile does the same)."""
        for k, tile in self.tiles.items():
            tile.set_selected(k == index)
        if index != self.current:
            self.current = index
            self.selected.emit(index)
