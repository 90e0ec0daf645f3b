"""The latched alarm banner: an overlay across the top of the main window's tab pages,
above whatever page is shown, that never moves the layout under it (it is no part of any
layout: it follows the tab area's geometry and is raised over it).

One row per latched alarm: the channel (or, for an alarm left from an earlier session,
its run), what happened and when, and an Acknowledge button for that alarm alone. Ctrl+K
acknowledges the selected channel's alarm, else the first one listed. While any alarm is
latched the sound repeats (gui/alarm_sound.py). Who acknowledged and when is the main
window's business: `acknowledged(run_id, channel)` is emitted and the notebook records it.
Alarms are keyed by run: a run runs on one channel, and an alarm from before a restart
has no channel any more, but it still has its run.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from PySide6 import QtCore, QtGui, QtWidgets

from gui import theme
from gui.alarm_sound import AlarmSound

SHORTCUT = "Ctrl+K"
MAX_ROWS = 4        # more latched alarms than this wait, counted, below the rows: the pages stay usable
# The theme's alarm colours (gui/theme.py; text on them passes WCAG AA, AAA in high contrast).
# A gui.theme.set_style template: doubled braces are CSS, single ones the theme's roles.
STYLE = ("#alarmBanner {{ background: {alarm}; border-bottom: 3px solid {alarm_edge}; }}"
         " #alarmBanner QLabel {{ color: {alarm_text}; }}"
         " #alarmBanner QPushButton {{ background: {alarm_text}; color: {alarm}; font-weight: bold; padding: 4px 12px; }}")


@dataclass
class LatchedAlarm:
    run_id: int
    channel: int | None          # None: an alarm stored by an earlier session
    message: str
    at: str                       # local time it was raised (or "earlier session")

    @property
    def where(self) -> str:
        return f"Channel {self.channel}" if self.channel is not None else f"Run #{self.run_id}"


class _Row(QtWidgets.QWidget):
    def __init__(self, alarm: LatchedAlarm, parent: QtWidgets.QWidget):
        super().__init__(parent)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.text = QtWidgets.QLabel()
        self.text.setWordWrap(True)
        self.ack = QtWidgets.QPushButton("Acknowledge " + (f"channel {alarm.channel}" if alarm.channel is not None
                                                           else f"run #{alarm.run_id}"))
        self.ack.setToolTip(f"Record that you have seen this alarm, with your name and the time. "
                            f"{SHORTCUT} acknowledges the selected channel's alarm, else the first one listed.")
        layout.addWidget(self.text, 1)
        layout.addWidget(self.ack, 0, QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.update_text(alarm)

    def update_text(self, alarm: LatchedAlarm) -> None:
        run = "" if alarm.channel is None else f" · run #{alarm.run_id}"
        self.text.setText(f"<b>{alarm.where}</b>{run} · {alarm.at}: {_escape(alarm.message)}")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class AlarmBanner(QtWidgets.QFrame):
    acknowledged = QtCore.Signal(int, object)      # run id, channel (None: from an earlier session)

    def __init__(self, window: QtWidgets.QWidget, anchor: QtWidgets.QWidget,
                 selected_channel: Callable[[], int | None] = lambda: None, sound: AlarmSound | None = None):
        """window: the top-level widget the banner floats in; anchor: the widget whose
        top it covers (a QTabWidget: the top of its pages, below the tab bar)."""
        super().__init__(window)
        self.setObjectName("alarmBanner")
        theme.set_style(self, STYLE)
        self.setAutoFillBackground(True)
        self.window_ = window
        self.anchor = anchor
        self.selected_channel = selected_channel
        self.sound = sound if sound is not None else AlarmSound(self)
        self.latched: dict[int, LatchedAlarm] = {}     # run id -> its alarm, in the order raised
        self.rows: dict[int, _Row] = {}
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(4)
        self.header = QtWidgets.QLabel()
        self.header.setWordWrap(True)
        self.more = QtWidgets.QLabel()
        self.sound_note = QtWidgets.QLabel()     # why the sound is the system beep, if it is
        self.sound_note.setWordWrap(True)
        self.sound_note.hide()
        layout.addWidget(self.header)
        self._rows_layout = QtWidgets.QVBoxLayout()
        self._rows_layout.setSpacing(4)
        layout.addLayout(self._rows_layout)
        layout.addWidget(self.more)
        layout.addWidget(self.sound_note)
        self.sound.note.connect(self._on_sound_note)
        self.shortcut = QtGui.QShortcut(QtGui.QKeySequence(SHORTCUT), window)
        self.shortcut.setContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        self.shortcut.activated.connect(self.acknowledge_current)
        self._watched: list[QtWidgets.QWidget] = []
        self._watch()
        self.hide()

    # -- which alarms --
    def raise_alarm(self, run_id: int, channel: int | None, message: str, at: str | None = None) -> None:
        """Latch (or add to) the alarm of `run_id`; a second alarm of the same run adds its message."""
        known = self.latched.get(run_id)
        if known is not None:
            if message not in known.message:
                known.message = f"{known.message}; then {message}"
        else:
            self.latched[run_id] = LatchedAlarm(run_id, channel, message,
                                                at if at is not None else datetime.now().strftime("%H:%M:%S"))
        self._rebuild()
        self.sound.start()

    def channel_latched(self, channel: int) -> bool:
        return any(alarm.channel == channel for alarm in self.latched.values())

    def channels(self) -> list[int]:
        return sorted(alarm.channel for alarm in self.latched.values() if alarm.channel is not None)

    def acknowledge(self, run_id: int) -> None:
        """The operator has seen the alarm of `run_id`: it is unlatched and `acknowledged` says so."""
        alarm = self.latched.pop(run_id, None)
        if alarm is None:
            return
        self._rebuild()
        if not self.latched:
            self.sound.stop()
        self.acknowledged.emit(run_id, alarm.channel)

    def acknowledge_current(self) -> None:
        """The keyboard's acknowledgement: the selected channel's alarm, else the first listed."""
        if not self.latched:
            return
        selected = self.selected_channel()
        chosen = next((a.run_id for a in self.ordered() if selected is not None and a.channel == selected),
                      self.ordered()[0].run_id)
        self.acknowledge(chosen)

    def ordered(self) -> list[LatchedAlarm]:
        """This session's channels in channel order, then alarms from earlier sessions by run."""
        return sorted(self.latched.values(), key=lambda a: (a.channel is None, a.channel or 0, a.run_id))

    def _rebuild(self) -> None:
        shown = self.ordered()[:MAX_ROWS]
        for run_id in [r for r in self.rows if r not in {a.run_id for a in shown}]:
            row = self.rows.pop(run_id)
            self._rows_layout.removeWidget(row)
            row.deleteLater()
        for k, alarm in enumerate(shown):
            row = self.rows.get(alarm.run_id)
            if row is None:
                row = self.rows[alarm.run_id] = _Row(alarm, self)
                row.ack.clicked.connect(lambda _=False, run_id=alarm.run_id: self.acknowledge(run_id))
            row.update_text(alarm)
            self._rows_layout.insertWidget(k, row)
            # a layout shows a new child on a later turn of the event loop, and lays out only
            # shown ones: shown now, so activate() below places it at once
            row.show()
        n = len(self.latched)
        # a cycler's channel (or one from an earlier session) is not this station's source: its
        # line says what was done, and the heading must not claim it was made safe here
        done = ("the cell" + ("s" if n > 1 else "") + " made safe (output off, high impedance)"
                if all(a.channel is not None for a in self.latched.values())
                else "each line says what was done; this station's channels were made safe (output off)")
        self.header.setText(f"<b>ALARM</b> — {done}. Acknowledge each one ({SHORTCUT}: the selected channel's).")
        hidden = n - len(shown)
        self.more.setVisible(hidden > 0)
        self.more.setText(f"… and {hidden} more alarm{'s' if hidden > 1 else ''}, shown as these are acknowledged.")
        self.setVisible(n > 0)
        self.layout().activate()   # rows laid out now, not on a later turn of the event loop: place() sizes by them
        self.place()

    def _on_sound_note(self, text: str) -> None:
        self.sound_note.setText(text)
        self.sound_note.show()
        self.place()

    # -- where it floats --
    def _watch(self) -> None:
        """Follow the anchor and every widget between it and the window: a splitter drag or
        a drawer opening moves the pages without the window resizing."""
        for widget in self._watched:
            widget.removeEventFilter(self)
        self._watched = []
        widget = self.anchor
        while widget is not None:
            widget.installEventFilter(self)
            self._watched.append(widget)
            if widget is self.window_:
                break
            widget = widget.parentWidget()

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() in (QtCore.QEvent.Type.Resize, QtCore.QEvent.Type.Move, QtCore.QEvent.Type.Show,
                            QtCore.QEvent.Type.ParentChange):
            if event.type() == QtCore.QEvent.Type.ParentChange:
                self._watch()
            self.place()
        return False

    def event(self, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.LayoutRequest:
            self.place()              # its text changed height: keep it whole
        return super().event(event)

    def pages_rect(self) -> QtCore.QRect:
        """The anchor's page area, in the window's coordinates."""
        top = 0
        if isinstance(self.anchor, QtWidgets.QTabWidget) and self.anchor.tabBar().isVisible():
            top = self.anchor.tabBar().geometry().bottom() + 1
        origin = self.anchor.mapTo(self.window_, QtCore.QPoint(0, top))
        return QtCore.QRect(origin, QtCore.QSize(self.anchor.width(), max(self.anchor.height() - top, 0)))

    def place(self) -> None:
        if not self.latched:
            return
        area = self.pages_rect()
        layout = self.layout()
        height = layout.totalHeightForWidth(area.width()) if layout.hasHeightForWidth() else layout.totalSizeHint().height()
        height = max(height, layout.totalMinimumSize().height())
        self.setGeometry(area.x(), area.y(), area.width(), min(height, area.height()))
        layout.activate()             # a row just added is laid out now, not at the next event loop pass
        self.raise_()
