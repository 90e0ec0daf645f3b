"""Questions that guard what cannot be undone (stopping a run, closing the station while
runs go): large Yes and No buttons, far apart, that a gloved finger hits without doubt,
with No the default for Enter and Escape."""
from __future__ import annotations

from PySide6 import QtWidgets

BUTTON_W, BUTTON_H = 220, 64      # about 17 mm tall on a 96 dpi panel


class Question(QtWidgets.QMessageBox):
    """exec() it; `confirmed` says whether Yes was pressed."""

    def __init__(self, parent: QtWidgets.QWidget | None, title: str, text: str, yes: str, no: str,
                 details: str = ""):
        super().__init__(QtWidgets.QMessageBox.Icon.Warning, title, text, parent=parent)
        if details:
            self.setInformativeText(details)
        self.yes = self.addButton(yes, QtWidgets.QMessageBox.ButtonRole.DestructiveRole)
        self.no = self.addButton(no, QtWidgets.QMessageBox.ButtonRole.RejectRole)
        for button in (self.yes, self.no):
            button.setMinimumSize(BUTTON_W, BUTTON_H)
            font = button.font()
            if font.pointSizeF() > 0:
                font.setPointSizeF(font.pointSizeF() * 1.25)
            font.setBold(True)
            button.setFont(font)
        self.setDefaultButton(self.no)
        self.setEscapeButton(self.no)

    @property
    def confirmed(self) -> bool:
        return self.clickedButton() is self.yes


def ask(parent: QtWidgets.QWidget | None, title: str, text: str, yes: str, no: str, details: str = "") -> bool:
    """Show the question and wait; True only if Yes was pressed."""
    box = Question(parent, title, text, yes, no, details)
    try:
        box.exec()
        return box.confirmed
    finally:
        box.deleteLater()
