"""The layer editor of the builder: the stack as a table (material, thickness, areal
mass, lot of every sheet) with add, remove and reorder, all going through the build
document so each is one undo step.

The table lists the top of the stack first, like the picture beside it; column "#"
numbers the sheets from 1 at the bottom, the order they are placed in.

A lot the notebook knows (typed or scanned into a sheet's lot) brings its material: the
sheet becomes one of that material if it was another, in the same undo step."""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from cell.materials import KIND_LABELS
from gui import theme
from gui.builder_model import ERROR_BG, ERROR_TEXT, MUTED_TEXT, WARNING_BG, BuildDocument, color_style

COLUMNS = (("#", None), ("Material", "material"), ("Thickness\n(µm)", "thickness_um"),
           ("Areal mass\n(mg/cm²)", "areal_mass_mg_cm2"), ("Lot / batch", "lot"))
COLUMN_OF = {field: column for column, (_, field) in enumerate(COLUMNS) if field}


class LayerTableModel(QtCore.QAbstractTableModel):
    """The document's layers as table rows, top of the stack first."""

    def __init__(self, doc: BuildDocument, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.doc = doc
        self._rows = len(doc.stack.layers)
        self.known_lots: dict[str, list[str]] = {}   # material -> lots the notebook has, set by the editor
        doc.changed.connect(self._refresh)

    def layer_index(self, row: int) -> int:
        return len(self.doc.stack.layers) - 1 - row

    def row_of(self, layer_index: int) -> int:
        return len(self.doc.stack.layers) - 1 - layer_index

    def rowCount(self, parent=QtCore.QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.doc.stack.layers)

    def columnCount(self, parent=QtCore.QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=QtCore.Qt.ItemDataRole.DisplayRole):
        if orientation == QtCore.Qt.Orientation.Horizontal and role == QtCore.Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0]
        if orientation == QtCore.Qt.Orientation.Horizontal and role == QtCore.Qt.ItemDataRole.ToolTipRole and section == 0:
            return "position in the stack: 1 is the bottom sheet, placed first"
        return None

    def flags(self, index: QtCore.QModelIndex) -> QtCore.Qt.ItemFlag:
        flags = QtCore.Qt.ItemFlag.ItemIsEnabled | QtCore.Qt.ItemFlag.ItemIsSelectable
        if COLUMNS[index.column()][1] is not None:
            flags |= QtCore.Qt.ItemFlag.ItemIsEditable
        return flags

    def _issues_at(self, i: int, field: str | None) -> list:
        return [issue for issue in self.doc.issues
                if issue.layer == i and (field is None or issue.field == f"layers[{i}].{field}")]

    def data(self, index: QtCore.QModelIndex, role=QtCore.Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        stack = self.doc.stack
        i = self.layer_index(index.row())
        layer = stack.layers[i]
        field = COLUMNS[index.column()][1]
        Role = QtCore.Qt.ItemDataRole
        if role == Role.DisplayRole:
            if field is None:
                return str(i + 1)
            if field == "material":
                return stack.label(layer)
            if field == "thickness_um":
                return f"{layer.thickness_um:g}"
            if field == "areal_mass_mg_cm2":
                return f"{layer.areal_mass_mg_cm2:.4g}"
            return layer.lot
        if role == Role.EditRole:
            return layer.material if field == "material" else getattr(layer, field) if field else None
        if role == Role.TextAlignmentRole and field in ("thickness_um", "areal_mass_mg_cm2"):
            return int(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        issues = self._issues_at(i, field)
        if role == Role.BackgroundRole and issues:
            return theme.qcolor(ERROR_BG if any(x.severity == "error" for x in issues) else WARNING_BG)
        if role == Role.ToolTipRole:
            lines = [x.message for x in issues]
            material = stack.catalog.get(layer.material)
            if field == "material" and material is not None:
                lines.insert(0, f"{material.name} ({KIND_LABELS[material.kind]})")
            return "\n".join(lines) or None
        if role == Role.ForegroundRole and field is None:
            return theme.qcolor(MUTED_TEXT)
        return None

    def setData(self, index: QtCore.QModelIndex, value, role=QtCore.Qt.ItemDataRole.EditRole) -> bool:
        field = COLUMNS[index.column()][1]
        if role != QtCore.Qt.ItemDataRole.EditRole or field is None:
            return False
        if field == "lot":
            self.doc.fill_lot(self.layer_index(index.row()), str(value).strip(), self.material_of_lot(str(value)))
        else:
            self.doc.edit_layer(self.layer_index(index.row()), field, value)
        return True

    def material_of_lot(self, lot: str) -> str | None:
        """The material of a known lot; None for a new lot or one two materials share."""
        lot = lot.strip()
        materials = [m for m, lots in self.known_lots.items() if any(x.lower() == lot.lower() for x in lots)]
        return materials[0] if len(materials) == 1 else None

    def _refresh(self) -> None:
        rows = len(self.doc.stack.layers)
        if rows != self._rows:
            self.beginResetModel()
            self._rows = rows
            self.endResetModel()
        elif rows:
            self.dataChanged.emit(self.index(0, 0), self.index(rows - 1, len(COLUMNS) - 1))


class LayerDelegate(QtWidgets.QStyledItemDelegate):
    """Editors with units: a catalog combo for the material, spin boxes for thickness
    and areal mass, a line edit that suggests lots already used for the material."""

    def __init__(self, table: LayerTableModel, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.table = table
        self.known_lots: dict[str, list[str]] = {}

    def createEditor(self, parent, option, index):
        field = COLUMNS[index.column()][1]
        catalog = self.table.doc.stack.catalog
        if field == "material":
            editor = QtWidgets.QComboBox(parent)
            for key, material in catalog.items():
                editor.addItem(f"{material.short} — {KIND_LABELS[material.kind]}", key)
            return editor
        if field in ("thickness_um", "areal_mass_mg_cm2"):
            editor = QtWidgets.QDoubleSpinBox(parent)
            # Wide bounds on purpose: a value out of bounds is shown as a problem at the
            # cell with a message, instead of being clamped silently.
            editor.setRange(0.0, 100000.0)
            editor.setDecimals(3 if field == "thickness_um" else 4)
            editor.setSuffix(" µm" if field == "thickness_um" else " mg/cm²")
            return editor
        if field == "lot":
            editor = QtWidgets.QLineEdit(parent)
            material = self.table.doc.stack.layers[self.table.layer_index(index.row())].material
            lots = self.known_lots.get(material, [])
            if lots:
                completer = QtWidgets.QCompleter(lots, editor)
                completer.setCaseSensitivity(QtCore.Qt.CaseSensitivity.CaseInsensitive)
                editor.setCompleter(completer)
            editor.setPlaceholderText("e.g. " + (lots[0] if lots else "LP-2024-118"))
            return editor
        return None

    def setEditorData(self, editor, index) -> None:
        value = index.data(QtCore.Qt.ItemDataRole.EditRole)
        if isinstance(editor, QtWidgets.QComboBox):
            editor.setCurrentIndex(max(editor.findData(value), 0))
        elif isinstance(editor, QtWidgets.QDoubleSpinBox):
            editor.setValue(float(value))
        else:
            editor.setText(str(value))

    def setModelData(self, editor, model, index) -> None:
        if isinstance(editor, QtWidgets.QComboBox):
            model.setData(index, editor.currentData())
        elif isinstance(editor, QtWidgets.QDoubleSpinBox):
            model.setData(index, editor.value())
        else:
            model.setData(index, editor.text())


class LayerEditor(QtWidgets.QWidget):
    """Table of sheets with the add / remove / move buttons."""

    selection_changed = QtCore.Signal(object)   # layer index or None

    def __init__(self, doc: BuildDocument, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.model = LayerTableModel(doc, self)
        self.delegate = LayerDelegate(self.model, self)
        self.view = QtWidgets.QTableView()
        self.view.setModel(self.model)
        self.view.setItemDelegate(self.delegate)
        self.view.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.DoubleClicked
                                  | QtWidgets.QAbstractItemView.EditTrigger.EditKeyPressed
                                  | QtWidgets.QAbstractItemView.EditTrigger.AnyKeyPressed)
        self.view.verticalHeader().setVisible(False)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.material = QtWidgets.QComboBox()
        for key, m in doc.stack.catalog.items():
            self.material.addItem(f"{m.short} — {m.name}", key)
        self.material.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.material.setMinimumContentsLength(18)
        self.add = QtWidgets.QPushButton("+ Add")
        self.remove = QtWidgets.QPushButton("Remove")
        self.up = QtWidgets.QPushButton("Move up")
        self.down = QtWidgets.QPushButton("Move down")
        add_row = QtWidgets.QHBoxLayout()
        add_row.addWidget(QtWidgets.QLabel("Sheet"))
        add_row.addWidget(self.material, 1)
        add_row.addWidget(self.add)
        edit_row = QtWidgets.QHBoxLayout()
        for button in (self.remove, self.up, self.down):
            edit_row.addWidget(button)
        edit_row.addStretch(1)
        self.order_message = QtWidgets.QLabel()
        self.order_message.setWordWrap(True)
        theme.set_style(self.order_message, color_style(ERROR_TEXT))
        hint = QtWidgets.QLabel("Top of the stack first; # 1 is the bottom sheet, placed first. "
                                "Double-click a cell to edit it. A new thickness keeps the sheet's "
                                "density: its areal mass scales with it.")
        hint.setWordWrap(True)
        theme.set_style(hint, color_style(MUTED_TEXT))
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(add_row)
        layout.addLayout(edit_row)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.order_message)
        layout.addWidget(hint)
        self.material.installEventFilter(self)
        for button in (self.add, self.remove, self.up, self.down):
            button.setAutoDefault(True)   # Enter presses the focused button, as Space does
        self.add.clicked.connect(lambda: self.add_layer())
        self.remove.clicked.connect(self.remove_selected)
        self.up.clicked.connect(lambda: self.move_selected(+1))
        self.down.clicked.connect(lambda: self.move_selected(-1))
        self.view.selectionModel().selectionChanged.connect(self._on_selection)
        self.model.modelReset.connect(self._restore_selection)
        doc.changed.connect(self._refresh)
        self._selected: int | None = None
        self._refresh()

    def set_known_lots(self, lots: dict[str, list[str]]) -> None:
        self.delegate.known_lots = lots
        self.model.known_lots = lots

    def scan_lot(self, lot: str, material: str | None) -> int | None:
        """A lot scanned outside the table: it fills the selected sheet, else the first sheet
        (from the bottom) of its material that has no lot yet. The layer index it went to,
        or None if there is no sheet to take it."""
        index = self.selected_layer()
        if index is None and material is not None:
            index = next((i for i, layer in enumerate(self.doc.stack.layers)
                          if layer.material == material and not layer.lot), None)
        if index is None:
            return None
        self._selected = index
        self.doc.fill_lot(index, lot, material)
        self.select_layer(index)
        return index

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        # Enter on the material chooser adds the sheet, as the Add button beside it does.
        if (watched is self.material and event.type() == QtCore.QEvent.Type.KeyPress
                and event.key() in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter)
                and not self.material.view().isVisible()):
            self.add_layer()
            return True
        return super().eventFilter(watched, event)

    # -- selection, in layer indices (0 = bottom) --
    def selected_layer(self) -> int | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.layer_index(rows[0].row()) if rows else None

    def select_layer(self, index: int | None) -> None:
        n = len(self.doc.stack.layers)
        if index is None or n == 0:
            self.view.clearSelection()
            return
        index = min(max(index, 0), n - 1)
        self.view.selectRow(self.model.row_of(index))

    def edit_cell(self, index: int, field: str) -> None:
        """Select layer `index` and put the cursor on its `field` (a problem's field)."""
        self.select_layer(index)
        cell = self.model.index(self.model.row_of(index), COLUMN_OF.get(field, COLUMN_OF["material"]))
        self.view.setCurrentIndex(cell)
        self.view.scrollTo(cell)
        self.view.setFocus()

    def _on_selection(self) -> None:
        self._selected = self.selected_layer()
        self._update_buttons()
        self.selection_changed.emit(self._selected)

    def _restore_selection(self) -> None:
        self.select_layer(self._selected)

    # -- edits --
    def add_layer(self, material: str | None = None) -> int:
        """Add a sheet of `material` (default: the one chosen) above the selected sheet,
        or on top; returns its layer index."""
        key = material or self.material.currentData()
        selected = self.selected_layer()
        index = len(self.doc.stack.layers) if selected is None else selected + 1
        self._selected = index
        self.doc.add_layer(key, index)
        self.select_layer(index)
        return index

    def remove_selected(self) -> None:
        index = self.selected_layer()
        if index is None:
            return
        self._selected = max(index - 1, 0)
        self.doc.remove_layer(index)
        self.select_layer(self._selected)

    def move_selected(self, step: int) -> None:
        """Move the selected sheet up (+1, toward the top) or down (-1)."""
        index = self.selected_layer()
        if index is None:
            return
        to = index + step
        if not 0 <= to < len(self.doc.stack.layers):
            return
        self.doc.move_layer(index, to)
        self.select_layer(to)

    def _update_buttons(self) -> None:
        index = self.selected_layer()
        n = len(self.doc.stack.layers)
        self.remove.setEnabled(index is not None)
        self.up.setEnabled(index is not None and index < n - 1)
        self.down.setEnabled(index is not None and index > 0)
        self.add.setText("+ Add on top" if index is None else f"+ Add above {index + 1}")

    def _refresh(self) -> None:
        order = [i.message for i in self.doc.issues if i.field == "layers"]
        self.order_message.setText("\n".join("✖ " + m for m in order))
        self.order_message.setVisible(bool(order))
        self._update_buttons()
