"""The Lab scope's search criteria as widgets: free text, station, status, cell template,
material lot, operator and tag. `filters()` reads them into the keyword arguments of
lab.query.LabReader.runs; what the combo boxes offer is what the lab holds
(`set_vocabulary`), keeping what is chosen."""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from gui.layout import FlowLayout, labelled

ANY = ""
KEYS = ("station", "status", "template", "lot", "operator", "tag")
TEXT_DELAY_MS = 350      # typing pauses this long before the lab is asked


class LabFilterBar(QtWidgets.QWidget):
    changed = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.text = QtWidgets.QLineEdit(placeholderText="Text in cell name, notes or message")
        self.text.setClearButtonEnabled(True)
        self.text.setMinimumWidth(self.text.fontMetrics().horizontalAdvance(self.text.placeholderText()) + 40)
        self.combos = {key: QtWidgets.QComboBox() for key in KEYS}
        self.combos["lot"].setEditable(True)          # part of a lot id is enough
        self.combos["lot"].lineEdit().setPlaceholderText("any lot")
        self.clear = QtWidgets.QPushButton("Clear filters")
        flow = FlowLayout(self)
        flow.setContentsMargins(0, 0, 0, 0)
        flow.addWidget(labelled("Search", self.text, stretch=True))
        for key, combo in self.combos.items():
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
            flow.addWidget(labelled(key.capitalize(), combo))
        flow.addWidget(self.clear)
        # the lab is asked once typing pauses, not at every key
        self._typing = QtCore.QTimer(self, singleShot=True, interval=TEXT_DELAY_MS)
        self._typing.timeout.connect(self.changed)
        self.text.textChanged.connect(self._typing.start)
        self.combos["lot"].editTextChanged.connect(self._typing.start)
        for key, combo in self.combos.items():
            if key != "lot":
                combo.currentIndexChanged.connect(self.changed)
        self.clear.clicked.connect(self.reset)
        self.set_vocabulary({})

    def set_vocabulary(self, vocabulary: dict[str, list[str]]) -> None:
        """Offer `vocabulary[key]` in each combo box (what the lab holds), keeping the choice."""
        for key, combo in self.combos.items():
            values = sorted({v for v in vocabulary.get(key, []) if v}, key=str.lower)
            chosen = self.chosen(key)
            if chosen and chosen not in values:
                values.append(chosen)          # a choice the lab no longer offers stays visible
            combo.blockSignals(True)
            combo.clear()
            combo.addItem("" if key == "lot" else "any", ANY)
            for value in values:
                combo.addItem(value, value)
            if key == "lot":
                combo.setEditText(chosen)
            else:
                combo.setCurrentIndex(max(0, combo.findData(chosen)))
            combo.blockSignals(False)

    def chosen(self, key: str) -> str:
        combo = self.combos[key]
        return combo.currentText().strip() if key == "lot" else (combo.currentData() or ANY)

    def choose(self, key: str, value: str) -> None:
        """Set one filter as the user would (tests, and the Outcomes tab's hand-over)."""
        combo = self.combos[key]
        if key == "lot":
            combo.setEditText(value)
            self.changed.emit()
            return
        index = combo.findData(value)
        if index < 0:
            combo.addItem(value, value)
            index = combo.count() - 1
        combo.setCurrentIndex(index)

    def filters(self) -> dict[str, str]:
        """The criteria set, as LabReader.runs keywords (those left at 'any' are left out)."""
        out = {key: self.chosen(key) for key in KEYS if self.chosen(key)}
        text = self.text.text().strip()
        if text:
            out["text"] = text
        return out

    def reset(self) -> None:
        widgets = (self.text, *self.combos.values())
        for widget in widgets:
            widget.blockSignals(True)
        self.text.clear()
        for key, combo in self.combos.items():
            combo.setCurrentIndex(0)
            if key == "lot":
                combo.setEditText("")
        for widget in widgets:
            widget.blockSignals(False)
        self._typing.stop()
        self.changed.emit()
