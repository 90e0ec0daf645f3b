"""The station's remembered settings: one declarative table (name, type, default, choices or
bounds, what it does), kept in the INI file beside the notebook (gui.app.settings_path).
Widgets read values here and follow `changed`; nothing else writes that file.

A value that is missing, of the wrong type or outside its bounds (a hand-edited file) reads
as the default, so a bad file never stops the station."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6 import QtCore, QtGui

from gui.app import settings_path


@dataclass(frozen=True)
class Setting:
    name: str
    kind: type
    default: object
    doc: str
    choices: tuple = ()
    bounds: tuple[int, int] | None = None


SCHEMA: dict[str, Setting] = {s.name: s for s in (
    Setting("theme", str, "light", "colours of the station and its plots",
            choices=("light", "dark", "high-contrast")),
    Setting("font_pt", int, 0, "font size in points; 0 keeps the system's", bounds=(0, 32)),
    Setting("glove_mode", str, "auto", "large controls for gloved hands; auto turns it on with a touch screen",
            choices=("auto", "on", "off")),
    Setting("operator", str, "", "who operates the station: set by a badge scan or chosen, kept until changed"),
    Setting("operators", str, "", "operators chosen before, comma separated, newest first"),
    Setting("cell_id_pattern", str, "{operator}-{yyyymmdd}-{n}",
            "cell id given to a build saved without one: {operator}, {yyyymmdd} and {n} (the day's count)"),
    Setting("badge_prefix", str, "OP:", "what an operator's badge code starts with, e.g. OP:CW; empty: names only"),
)}


def has_touch_screen() -> bool:
    return any(device.type() == QtGui.QInputDevice.DeviceType.TouchScreen
               for device in QtGui.QInputDevice.devices())


class StationSettings(QtCore.QObject):
    """The settings of one station; `changed(name, value)` after every accepted change."""
    changed = QtCore.Signal(str, object)

    def __init__(self, path: Path | None = None, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.path = Path(path) if path is not None else settings_path()
        self._store = QtCore.QSettings(str(self.path), QtCore.QSettings.Format.IniFormat)

    def value(self, name: str):
        setting = SCHEMA[name]
        raw = self._store.value(name)
        try:
            value = setting.kind(raw) if raw is not None else setting.default
        except (TypeError, ValueError):
            return setting.default
        return value if self._problem(setting, value) is None else setting.default

    def set(self, name: str, value) -> None:
        """Store `value`; ValueError (naming the setting and what it accepts) if it does not fit."""
        if name not in SCHEMA:
            raise ValueError(f"there is no setting {name!r}; settings are {', '.join(SCHEMA)}")
        setting = SCHEMA[name]
        if not isinstance(value, setting.kind) or isinstance(value, bool) is not (setting.kind is bool):
            raise ValueError(f"setting {name} takes a {setting.kind.__name__}, not {value!r}")
        problem = self._problem(setting, value)
        if problem:
            raise ValueError(f"setting {name}: {problem}")
        if value == self.value(name) and self._store.contains(name):
            return
        self._store.setValue(name, value)
        self._store.sync()
        self.changed.emit(name, value)

    @property
    def glove_mode(self) -> bool:
        mode = self.value("glove_mode")
        return has_touch_screen() if mode == "auto" else mode == "on"

    @staticmethod
    def _problem(setting: Setting, value) -> str | None:
        if setting.choices and value not in setting.choices:
            return f"{value!r} is not one of {', '.join(setting.choices)}"
        if setting.bounds and not setting.bounds[0] <= value <= setting.bounds[1]:
            return f"{value} is outside {setting.bounds[0]}..{setting.bounds[1]}"
        return None
