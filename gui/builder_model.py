"""The builder's document: the stack being built, its edit history and what the stack's
problems are right now (and the few colours the builder's widgets share).

Widgets never change the stack themselves: they call a method here, which pushes one
QUndoCommand holding the stack before and after (stacks are immutable, so undo is
swapping two values back). Consecutive edits of the same field, e.g. typing 1, 2, 5
into one spin box, merge into a single undo step. Widgets redraw on `changed`."""
from __future__ import annotations

from PySide6 import QtCore, QtGui

import cell
from cell.validation import Issue, validate

# The theme's colour roles the builder's widgets share (gui/theme.py): problems, success,
# secondary text.
ERROR_TEXT, WARNING_TEXT, OK_TEXT, MUTED_TEXT = "error", "warning", "ok", "muted"
ERROR_BG, WARNING_BG = "error_bg", "warning_bg"


def color_style(role: str) -> str:
    """A style-sheet template (gui.theme.set_style) for text in the theme's `role` colour."""
    return f"color: {{{role}}};"


# The stack's own fields an operator sets, with how an undo entry names them.
SETTINGS = {
    "area_cm2": ("cell area", "cm²"),
    "stack_pressure_mpa": ("stack pressure", "MPa"),
    "fixture_limit_mpa": ("fixture limit", "MPa"),
    "densification_pressure_mpa": ("densification pressure", "MPa"),
    "temperature_c": ("temperature", "°C"),
    "name": ("cell id", ""),
    "operator": ("operator", ""),
    "notes": ("notes", ""),
}
LAYER_UNITS = {"thickness_um": ("thickness", "µm"), "areal_mass_mg_cm2": ("areal mass", "mg/cm²"),
               "lot": ("lot", ""), "material": ("material", "")}


class _Edit(QtGui.QUndoCommand):
    """One edit: the stack before and after. `key` names what was edited; two edits
    with the same key in a row merge."""

    MERGEABLE = 1

    def __init__(self, doc: "BuildDocument", before: cell.Stack, after: cell.Stack, text: str, key: tuple | None):
        super().__init__(text)
        self.doc, self.before, self.after, self.key = doc, before, after, key

    def id(self) -> int:
        return self.MERGEABLE if self.key is not None else -1

    def mergeWith(self, other: QtGui.QUndoCommand) -> bool:
        if not isinstance(other, _Edit) or other.key != self.key:
            return False
        self.after = other.after
        self.setText(other.text())
        if self.after == self.before:
            self.setObsolete(True)  # typed back to where it started: nothing to undo
        return True

    def redo(self) -> None:
        self.doc._set(self.after)

    def undo(self) -> None:
        self.doc._set(self.before)


def _value(value, unit: str) -> str:
    if isinstance(value, float):
        return f"{value:g} {unit}".strip()
    return repr(value) if value else "(blank)"


class BuildDocument(QtCore.QObject):
    changed = QtCore.Signal()

    def __init__(self, stack: cell.Stack, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self._stack = stack
        self._issues = validate(stack)
        self.undo_stack = QtGui.QUndoStack(self)

    @property
    def stack(self) -> cell.Stack:
        return self._stack

    @property
    def issues(self) -> list[Issue]:
        return self._issues

    def _set(self, stack: cell.Stack) -> None:
        self._stack = stack
        self._issues = validate(stack)
        self.changed.emit()

    def apply(self, stack: cell.Stack, text: str, key: tuple | None = None) -> bool:
        """Make `stack` the current one as an undoable step; False if nothing changed."""
        if stack == self._stack:
            return False
        self.undo_stack.push(_Edit(self, self._stack, stack, text, key))
        return True

    # -- what the operator does --
    def load(self, stack: cell.Stack, text: str) -> bool:
        """Start over from `stack` (a template, an empty stack, a copy of a saved build)."""
        return self.apply(stack, text)

    def set_setting(self, name: str, value) -> bool:
        label, unit = SETTINGS[name]
        return self.apply(self._stack.with_changes(**{name: value}), f"{label} → {_value(value, unit)}", ("setting", name))

    def add_layer(self, material: str, index: int) -> bool:
        layer = cell.new_layer(material, self._stack.catalog)
        stack = self._stack.insert_layer(index, layer)
        return self.apply(stack, f"add {stack.label(layer)} as layer {index + 1}")

    def remove_layer(self, index: int) -> bool:
        label = self._stack.label(self._stack.layers[index])
        return self.apply(self._stack.remove_layer(index), f"remove layer {index + 1} ({label})")

    def move_layer(self, index: int, to: int) -> bool:
        label = self._stack.label(self._stack.layers[index])
        return self.apply(self._stack.move_layer(index, to), f"move {label} from layer {index + 1} to {to + 1}")

    def fill_lot(self, index: int, lot: str, material: str | None = None) -> bool:
        """Layer `index` gets `lot`, and becomes a sheet of `material` if the lot is known to
        be of another one (a scanned lot): one undo step."""
        stack = self._stack
        if material is not None and material != stack.layers[index].material and material in stack.catalog:
            stack = stack.edit_layer(index, "material", material)
        stack = stack.edit_layer(index, "lot", lot)
        what = f"{stack.label(stack.layers[index])} lot {lot}"
        return self.apply(stack, f"layer {index + 1} → {what}")

    def edit_layer(self, index: int, name: str, value) -> bool:
        stack = self._stack.edit_layer(index, name, value)
        label, unit = LAYER_UNITS[name]
        what = stack.label(stack.layers[index]) if name == "material" else _value(value, unit)
        return self.apply(stack, f"layer {index + 1} {label} → {what}", ("layer", index, name))
