"""Read-only Qt table models over notebook rows (plain dicts), for the browser's run and
build lists: columns are declared once with their header and how a value is shown."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6 import QtCore


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    show: Callable[[object], str] = lambda v: "" if v is None else str(v)
    align_right: bool = False


def _when(value: object) -> str:
    """An ISO UTC timestamp as the lab reads it: date and minutes."""
    return "" if not value else str(value)[:16].replace("T", " ")


RUN_COLUMNS = (
    Column("run_id", "Run", align_right=True),
    Column("started_utc", "Started (UTC)", _when),
    Column("status", "Status"),
    Column("build_id", "Build", lambda v: f"#{v}", align_right=True),
    Column("build_name", "Cell"),
    Column("template", "Template"),
    Column("operator", "Operator"),
    Column("protocol", "Protocol"),
    Column("n_samples", "Samples", lambda v: f"{v:,}", align_right=True),
    Column("n_events", "Events", align_right=True),
    Column("tags", "Tags", lambda v: v or ""),
    Column("source", "Imported from", lambda v: v or ""),
)

BUILD_COLUMNS = (
    Column("build_id", "Build", lambda v: f"#{v}", align_right=True),
    Column("created_utc", "Saved (UTC)", _when),
    Column("name", "Cell"),
    Column("description", "Stack"),
    Column("template", "Template"),
    Column("operator", "Operator"),
    Column("lots", "Lots", lambda v: v or ""),
    Column("n_runs", "Runs", align_right=True),
    Column("tags", "Tags", lambda v: v or ""),
)


class RecordsModel(QtCore.QAbstractTableModel):
    def __init__(self, columns: tuple[Column, ...], parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.columns = columns
        self.rows: list[dict] = []

    def set_rows(self, rows: list[dict]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: QtCore.QModelIndex = QtCore.QModelIndex()) -> int:  # noqa: N802 (Qt's name)
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QtCore.QModelIndex = QtCore.QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: QtCore.QModelIndex, role: int = QtCore.Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        column = self.columns[index.column()]
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return column.show(self.rows[index.row()].get(column.key))
        if role == QtCore.Qt.ItemDataRole.TextAlignmentRole and column.align_right:
            return int(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: QtCore.Qt.Orientation,  # noqa: N802
                   role: int = QtCore.Qt.ItemDataRole.DisplayRole):
        if role == QtCore.Qt.ItemDataRole.DisplayRole and orientation == QtCore.Qt.Orientation.Horizontal:
            return self.columns[section].header
        return None

    def row(self, k: int) -> dict:
        return self.rows[k]
