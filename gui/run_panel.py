"""The run form: which channel, which protocol (a preset, or what the protocol editor
holds), what an alarm does after making the cell safe (stop, or pause), the alarm
thresholds of the next run, the clock speed; start, pause/resume and stop of the
selected channel's run. Stop sits on its own row, away from Pause, and asks first
(gui/confirm.py): a stopped run cannot be resumed."""
from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtWidgets

from acquisition.protocol import PRESETS, StepList
from cell import Stack
from gui import theme
from gui.confirm import ask
from gui.protocol_editor import ProtocolEditor
from gui.thresholds import ThresholdDialog, overrides_text
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
ON_TRIP = [("make safe and stop the run", "stop"), ("make safe and pause (resume or stop)", "pause")]
# The analysers the simulated bench can emulate (instruments.bench.IMPEDANCE_ANALYSERS), with their span.
IMPEDANCE = [("Keysight E4990A (20 Hz – 120 MHz)", "e4990a"), ("Hioki IM3590 (1 mHz – 200 kHz)", "im3590"),
             ("Solartron 1260 (10 µHz – 32 MHz)", "solartron1260")]
CUSTOM = "__custom__"      # the protocol combo's entry for what the editor holds when it is no preset
ACTIVE = ("starting", "pending", "running", "paused")
STOP_GAP = 24          # px between the Pause row and Stop, at least


class RunPanel(QtWidgets.QGroupBox):
    edit_protocol = QtCore.Signal()     # the operator wants the protocol editor
    stop_requested = QtCore.Signal()    # Stop was pressed and confirmed

    def __init__(self, editor: ProtocolEditor, stack_source: Callable[[], Stack], channels: int = 8, parent=None):
        super().__init__("2  Run on the simulated bench", parent)
        self.editor = editor
        self.stack_source = stack_source
        self.detector_overrides: dict = {}
        self._state = "idle"

        self.channel = QtWidgets.QComboBox()
        for k in range(1, channels + 1):
            self.channel.addItem(f"Channel {k}", k)
        self.protocol = QtWidgets.QComboBox()
        for name in PRESETS:
            self.protocol.addItem(name, name)
        self.protocol.addItem("", CUSTOM)
        self.summary = QtWidgets.QLabel()
        self.summary.setWordWrap(True)
        self.edit = QtWidgets.QPushButton("Edit protocol…")
        self.note = QtWidgets.QLabel()
        self.note.setWordWrap(True)
        theme.set_style(self.note, "color: {muted};")
        self.on_trip = QtWidgets.QComboBox()
        for text, value in ON_TRIP:
            self.on_trip.addItem(text, value)
        self.thresholds = QtWidgets.QPushButton("Thresholds…")
        self.thresholds_text = QtWidgets.QLabel()
        self.thresholds_text.setWordWrap(True)
        self.speed = QtWidgets.QComboBox()
        for label, value in SPEEDS:
            self.speed.addItem(label, value)
        self.speed.setCurrentIndex(3)
        self.impedance = QtWidgets.QComboBox()
        for label, value in IMPEDANCE:
            self.impedance.addItem(label, value)
        self.impedance.setToolTip("The impedance analyser the simulated bench emulates; a sweep beyond its span "
                                  "is clipped to it, with a note in the run")
        # narrow when closed, like the other combos; whole texts when open
        self.impedance.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.impedance.setMinimumContentsLength(16)
        self.impedance.view().setMinimumWidth(self.impedance.view().sizeHintForColumn(0) + 24)
        for combo in (self.protocol, self.on_trip, self.speed):
            # narrow when closed (the panel fits beside the pages), whole texts when open
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12 if combo is self.protocol else 16)
            combo.view().setMinimumWidth(combo.view().sizeHintForColumn(0) + 24)
        self.start = QtWidgets.QPushButton("Start run")
        self.pause = QtWidgets.QPushButton("Pause")
        self.stop = QtWidgets.QPushButton("Stop run…")
        self.stop.setToolTip("Ends the run with the source switched off, after asking; it cannot be resumed")
        buttons = QtWidgets.QHBoxLayout()
        for button in (self.start, self.pause):
            buttons.addWidget(button)
        # Stop on a row of its own, STOP_GAP below Pause: a slip for Pause does not end a run.
        stop_row = QtWidgets.QHBoxLayout()
        stop_row.addStretch(1)
        stop_row.addWidget(self.stop)
        protocol_row = QtWidgets.QHBoxLayout()
        protocol_row.addWidget(self.protocol, 1)
        protocol_row.addWidget(self.edit)
        alarm_row = QtWidgets.QHBoxLayout()
        alarm_row.addWidget(self.thresholds_text, 1)
        alarm_row.addWidget(self.thresholds)

        form = QtWidgets.QFormLayout(self)
        form.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.WrapLongRows)   # narrow: fields below labels
        form.addRow("Channel", self.channel)
        form.addRow("Protocol", protocol_row)
        form.addRow(self.summary)
        form.addRow(self.note)
        form.addRow("On alarm", self.on_trip)
        form.addRow("Alarms", alarm_row)
        form.addRow("Clock", self.speed)
        form.addRow("Impedance analyser", self.impedance)
        # Start, Pause and Stop as one widget: the main window may keep it in view below the
        # panel when the panel has to scroll (a small screen, glove mode).
        self.actions = QtWidgets.QWidget()
        actions = QtWidgets.QVBoxLayout(self.actions)
        actions.setContentsMargins(0, 0, 0, 0)
        actions.addLayout(buttons)
        actions.addSpacing(STOP_GAP)
        actions.addLayout(stop_row)
        form.addRow(self.actions)

        self.protocol.currentIndexChanged.connect(self._on_protocol_choice)
        self.channel.currentIndexChanged.connect(lambda _index: self._enable())   # "Start run on channel N"
        self.edit.clicked.connect(self.edit_protocol)
        self.thresholds.clicked.connect(self.ask_thresholds)
        self.stop.clicked.connect(self.confirm_stop)
        editor.changed.connect(self.refresh)
        editor.loaded.connect(self._on_editor_loaded)
        self._on_protocol_choice()
        self.set_state("idle")

    # -- the protocol --
    def protocol_value(self) -> StepList:
        """What the editor holds; ValueError naming its problems while it has any."""
        protocol = self.editor.protocol()
        if protocol is None:
            raise ValueError("the protocol has problems: " + "; ".join(f"{p.where()}: {p.message}"
                                                                       for p in self.editor.problems[:3]))
        return protocol

    def set_protocol(self, protocol: StepList) -> None:
        self.editor.load(protocol)

    def _on_protocol_choice(self) -> None:
        name = self.protocol.currentData()
        if name in PRESETS:
            self.editor.load_preset(name)     # the editor says what it loaded; refresh follows

    def _on_editor_loaded(self, source: str) -> None:
        index = self.protocol.findData(source if source in PRESETS else CUSTOM)
        with QtCore.QSignalBlocker(self.protocol):
            self.protocol.setCurrentIndex(index)
        self.refresh()

    def refresh(self) -> None:
        """Summary of the protocol on the cell in the builder; the preset's note."""
        draft = self.editor.draft
        preset = self.protocol.currentData()
        if draft.edited and preset != CUSTOM:
            with QtCore.QSignalBlocker(self.protocol):
                self.protocol.setCurrentIndex(self.protocol.findData(CUSTOM))
            preset = CUSTOM
        version = draft.version + (1 if draft.edited else 0)
        self.protocol.setItemText(self.protocol.findData(CUSTOM), f"{draft.name} v{version} (edited)"
                                  if draft.edited else f"{draft.name} v{version} (own)")
        self.note.setText(NOTES.get(preset, "Your own protocol, from the protocol editor."))
        protocol = self.editor.protocol()
        if protocol is None:
            n = len(self.editor.problems)
            self.summary.setText(f"✖ {n} problem{'s' if n != 1 else ''} in the protocol: see the editor")
            theme.set_style(self.summary, "color: {error};")
        else:
            theme.set_style(self.summary, "")
            try:
                steps = protocol.expand(self.stack_source())
            except ValueError as exc:
                self.summary.setText(f"Does not fit this cell: {exc}")
                theme.set_style(self.summary, "color: {error};")
            else:
                cycles = max((getattr(s, "cycle", 0) for s in steps), default=0)
                hours = sum(getattr(s, "duration_s", 0.0) for s in steps) / 3600.0
                self.summary.setText(f"{len(steps):,} steps, {cycles:,} cycles, at most {hours:,.1f} h on this cell")
        self.thresholds_text.setText(overrides_text(self.detector_overrides))
        self._enable()

    # -- alarm thresholds --
    def ask_thresholds(self) -> None:
        dialog = ThresholdDialog(self.stack_source(), self.detector_overrides, self)
        try:
            if dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted:
                self.set_overrides(dialog.editor.overrides())
        finally:
            dialog.deleteLater()

    def set_overrides(self, overrides: dict) -> None:
        self.detector_overrides = overrides
        self.refresh()

    # -- the selected channel --
    def confirm_stop(self) -> bool:
        """Ask before stopping; `stop_requested` only on Yes."""
        channel = self.channel_index()
        confirmed = ask(self, "Stop the run?", f"Stop the run on channel {channel}?",
                        "Yes, stop the run", "No, keep it running",
                        "The source is switched off and the run ends as aborted. A stopped run cannot be "
                        "resumed; Pause holds it with the source off instead.")
        if confirmed:
            self.stop_requested.emit()
        return confirmed

    def channel_index(self) -> int:
        return self.channel.currentData()

    def set_state(self, state: str) -> None:
        """The selected channel's state: which buttons make sense."""
        self._state = state
        self.pause.setText("Resume" if state == "paused" else "Pause")
        self._enable()

    def _enable(self) -> None:
        active = self._state in ACTIVE
        # says where: the builder's first step has a "Begin with this" of its own, which runs nothing
        self.start.setText(f"Start run on channel {self.channel_index()}")
        self.start.setEnabled(not active and self.editor.protocol() is not None)
        self.pause.setEnabled(self._state in ("running", "paused"))
        self.stop.setEnabled(active)
        for widget in (self.protocol, self.edit, self.on_trip, self.thresholds, self.speed, self.impedance):
            widget.setEnabled(not active)
