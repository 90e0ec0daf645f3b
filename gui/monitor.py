"""The live monitor: voltage against time, redrawn on a 30 Hz timer from the live
buffer (never by the acquisition thread), a latched alarm banner and a read-out."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

REDRAW_MS = 33


class AlarmBanner(QtWidgets.QFrame):
    """Red, latched until acknowledged; beeps every two seconds meanwhile."""
    acknowledged = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setStyleSheet("QFrame { background: #c62828; } QLabel { color: white; font-weight: bold; }")
        layout = QtWidgets.QHBoxLayout(self)
        self.text = QtWidgets.QLabel()
        self.text.setWordWrap(True)
        self.ack = QtWidgets.QPushButton("Acknowledge")
        layout.addWidget(self.text, 1)
        layout.addWidget(self.ack)
        self.ack.clicked.connect(self._acknowledge)
        self._beep = QtCore.QTimer(self, interval=2000)
        self._beep.timeout.connect(QtWidgets.QApplication.beep)
        self.hide()

    def raise_alarm(self, message: str) -> None:
        self.text.setText(f"ALARM — cell made safe (output off, high impedance). {message}")
        self.show()
        QtWidgets.QApplication.beep()
        self._beep.start()

    def _acknowledge(self) -> None:
        self._beep.stop()
        self.hide()
        self.acknowledged.emit()


class MonitorWidget(QtWidgets.QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=False, background="w", foreground="k")
        self.banner = AlarmBanner()
        self.readout = QtWidgets.QLabel("No run yet. Build a cell and start a run.")
        self.plot = pg.PlotWidget()
        self.plot.setLabel("left", "Cell voltage", units="V")
        self.plot.setLabel("bottom", "Time since start (h)")
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.curve = self.plot.plot(pen=pg.mkPen("#1565c0", width=1))
        # Peak downsampling and clipping keep a redraw proportional to the screen, not the run.
        self.curve.setDownsampling(auto=True, method="peak")
        self.curve.setClipToView(True)
        self._markers: list[pg.InfiniteLine] = []
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.readout)
        layout.addWidget(self.plot, 1)
        self.buffer = None
        self.points_drawn = 0
        self._timer = QtCore.QTimer(self, interval=REDRAW_MS)
        self._timer.timeout.connect(self.redraw)

    def attach(self, buffer) -> None:
        """Show `buffer` (a LiveBuffer) from now on."""
        self.buffer = buffer
        self.points_drawn = 0
        for marker in self._markers:
            self.plot.removeItem(marker)
        self._markers.clear()
        self.curve.setData([], [])
        self._timer.start()

    def detach(self) -> None:
        self.redraw()
        self._timer.stop()

    def redraw(self) -> None:
        if self.buffer is None or len(self.buffer) == self.points_drawn:
            return
        data = self.buffer.view()
        self.curve.setData(data["t"] / 3600.0, data["voltage"])
        self.points_drawn = data.size
        last = data[-1]
        self.readout.setText(f"Cycle {last['cycle']}  ·  t = {last['t'] / 3600:.2f} h  ·  "
                             f"I = {last['current'] * 1e3:+.3f} mA  ·  V = {last['voltage'] * 1e3:+.3f} mV  ·  "
                             f"{data.size:,} samples")

    def mark_event(self, t_s: float, label: str) -> None:
        line = pg.InfiniteLine(pos=t_s / 3600.0, angle=90, pen=pg.mkPen("#c62828", width=2),
                               label=label, labelOpts={"position": 0.9, "color": "#c62828"})
        self.plot.addItem(line)
        self._markers.append(line)
