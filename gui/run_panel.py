"""The run form: protocol preset and its parameters, clock speed, start and stop."""
from __future__ import annotations

from PySide6 import QtWidgets

from acquisition.protocol import PRESETS, preset
from instruments.keysight_e4990a import LOW_FREQUENCY_NOTE

NOTES = {
    "plate-strip-0.16": "Li plating/stripping, 0.16 mA/cm², 1 h each way (Fig 3b). Li | Li cells.",
    "rate-test": "3 cycles each at 0.1, 0.2, 0.33 and 0.5 C between 2.6 and 4.25 V (Fig 5b). Full cells.",
    "cycling-c3-500": "500 cycles at C/3 between 2.6 and 4.25 V (Fig 5c). Full cells.",
    "gitt": "Lithiation of the interlayer: 60 s pulses at 0.02 mA/cm², 30 min rests, 160 h (Fig 4c). Half cells.",
    "eis": "Impedance at rest, 1 MHz to 20 Hz at 10 mV (Fig 2c): " + LOW_FREQUENCY_NOTE + ".",
}

SPEEDS = [("1× (real time)", "1"), ("60×", "60"), ("600×", "600"), ("3600× (an hour a second)", "3600"),
          ("36000×", "36000"), ("as fast as possible", "max")]


class RunPanel(QtWidgets.QGroupBox):
    def __init__(self, parent=None):
        super().__init__("2  Run on the simulated bench", parent)
        form = QtWidgets.QFormLayout(self)
        self.protocol = QtWidgets.QComboBox()
        for name in PRESETS:
            self.protocol.addItem(name, name)
        self.current = QtWidgets.QDoubleSpinBox(minimum=0.001, maximum=50.0, decimals=3, suffix=" mA/cm²")
        self.current.setValue(0.16)
        self.half_cycle = QtWidgets.QDoubleSpinBox(minimum=0.01, maximum=24.0, decimals=2, suffix=" h")
        self.half_cycle.setValue(1.0)
        self.cycles = QtWidgets.QSpinBox(minimum=1, maximum=10000)
        self.cycles.setValue(50)
        self.speed = QtWidgets.QComboBox()
        for label, value in SPEEDS:
            self.speed.addItem(label, value)
        self.speed.setCurrentIndex(3)
        self.protocol.currentIndexChanged.connect(self._on_protocol)
        self.start = QtWidgets.QPushButton("Start run")
        self.stop = QtWidgets.QPushButton("Stop")
        self.stop.setEnabled(False)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.start)
        buttons.addWidget(self.stop)
        self.note = QtWidgets.QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555;")
        form.addRow("Protocol", self.protocol)
        form.addRow(self.note)
        form.addRow("Current density", self.current)
        form.addRow("Half cycle", self.half_cycle)
        form.addRow("Cycles", self.cycles)
        form.addRow("Clock", self.speed)
        form.addRow(buttons)
        self._on_protocol()

    def _plate_strip_selected(self) -> bool:
        return self.protocol.currentData() == "plate-strip-0.16"

    def _on_protocol(self) -> None:
        # Only plate/strip has editable parameters here; other presets run as defined.
        for widget in (self.current, self.half_cycle, self.cycles):
            widget.setEnabled(self._plate_strip_selected())
        self.note.setText(NOTES.get(self.protocol.currentData(), ""))

    def protocol_value(self):
        if not self._plate_strip_selected():
            return preset(self.protocol.currentData())
        return preset(self.protocol.currentData(), current_density_mA_cm2=self.current.value(),
                      half_cycle_h=self.half_cycle.value(), cycles=self.cycles.value())

    def set_running(self, running: bool) -> None:
        self.start.setEnabled(not running)
        self.stop.setEnabled(running)
        for widget in (self.protocol, self.speed):
            widget.setEnabled(not running)
        for widget in (self.current, self.half_cycle, self.cycles):
            widget.setEnabled(not running and self._plate_strip_selected())
