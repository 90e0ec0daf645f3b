"""The dialog in which the operator picks a saved build for a run: the builds that
describe a cell (notebook.basis.cell_builds), newest first, with id, cell id, template
and date. Typing filters the list; a cell id typed or scanned into the filter and
Enter picks that cell's newest build at once. Nothing is written here: the caller
links the run to `chosen()`."""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from gui import theme

COLUMNS = ("Build", "Cell id", "Template", "Saved (UTC)")


def _row_texts(build: dict) -> tuple[str, str, str, str]:
    saved = str(build.get("created_utc") or "")[:16].replace("T", " ")     # to the minute: enough to tell apart
    return f"#{build['build_id']}", str(build.get("name") or ""), str(build.get("template") or ""), saved


class BuildPickerDialog(QtWidgets.QDialog):
    """`builds`: rows as Notebook.builds() gives them, newest first; `what`: the run, for the title."""

    def __init__(self, builds: list[dict], what: str, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Link {what} to a build")
        self.builds = list(builds)
        self.filter = QtWidgets.QLineEdit(placeholderText="Filter, or scan a cell id and press Enter")
        self.filter.setClearButtonEnabled(True)
        self.table = QtWidgets.QTreeWidget()
        self.table.setRootIsDecorated(False)
        self.table.setHeaderLabels(list(COLUMNS))
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        for build in self.builds:
            item = QtWidgets.QTreeWidgetItem(list(_row_texts(build)))
            item.setData(0, QtCore.Qt.ItemDataRole.UserRole, build["build_id"])
            self.table.addTopLevelItem(item)
        for column in range(len(COLUMNS)):
            self.table.resizeColumnToContents(column)
        self.problem = QtWidgets.QLabel("" if self.builds else "No saved build describes a cell yet: "
                                        "save one in the builder first.")
        self.problem.setWordWrap(True)
        theme.set_style(self.problem, "color: {error};")
        self.buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                                  | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Link")
        self.ok.setAutoDefault(False)     # Enter in the filter is the scan, not this button
        self.ok.setDefault(False)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.resize(560, 360)

        self.filter.textChanged.connect(self._apply_filter)
        self.filter.returnPressed.connect(self._scanned)
        self.table.itemSelectionChanged.connect(self._enable)
        self.table.itemDoubleClicked.connect(lambda *_: self.accept())
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._enable()

    def chosen(self) -> int | None:
        """The selected build's id (None: none is selected)."""
        items = [item for item in self.table.selectedItems() if not item.isHidden()]
        return items[0].data(0, QtCore.Qt.ItemDataRole.UserRole) if items else None

    def accept(self) -> None:
        if self.chosen() is not None:      # a double click on nothing, or Link with no row, picks nothing
            super().accept()

    def _visible(self) -> list[QtWidgets.QTreeWidgetItem]:
        items = (self.table.topLevelItem(i) for i in range(self.table.topLevelItemCount()))
        return [item for item in items if not item.isHidden()]

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().casefold()
        for i in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(i)
            item.setHidden(bool(needle) and not any(needle in item.text(c).casefold() for c in range(len(COLUMNS))))
        self.problem.setText("" if self._visible() or not needle else f"No saved build matches {text.strip()!r}.")
        self._enable()

    def _scanned(self) -> None:
        """Enter in the filter: the newest build of exactly that cell id, else the only row
        left; otherwise say why nothing was picked."""
        typed = self.filter.text().strip().casefold()
        if not typed:
            return
        visible = self._visible()
        exact = [item for item in visible if item.text(1).casefold() == typed]
        pick = exact[0] if exact else (visible[0] if len(visible) == 1 else None)
        if pick is None:
            self.problem.setText(f"No saved build has cell id {self.filter.text().strip()!r}"
                                 + (": pick one of the rows." if visible else "."))
            return
        self.table.setCurrentItem(pick)
        pick.setSelected(True)
        self.accept()

    def _enable(self) -> None:
        self.ok.setEnabled(self.chosen() is not None)
