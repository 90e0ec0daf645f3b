"""The application's identity as the desktop sees it: name, version, icon, desktop entry,
and where settings live. main.py applies it to the QApplication; the main window and the
self-check use the same icon and paths, so source and packaged builds agree."""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui, QtSvg

import resources
from notebook import default_path

ICON = "solidstack.svg"
DESKTOP_FILE = "solidstack"  # packaging/solidstack.desktop; lets Wayland shells find our icon
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)


def data_dir() -> Path:
    """The platform's user data directory: the notebook and the settings live here."""
    return default_path().parent


def settings_path() -> Path:
    return data_dir() / f"{resources.APP_NAME}.ini"


def icon_image(size: int) -> QtGui.QImage:
    """The icon at size x size pixels, rendered from the SVG in resources (also what
    gui/tools/make_icons.py writes into the PNG and ICO files).

    Rendered here rather than loaded by file name: the bytes come through
    importlib.resources, and no image-format plugin is needed in the packaged build."""
    renderer = QtSvg.QSvgRenderer(QtCore.QByteArray(resources.read_bytes(ICON)))
    if not renderer.isValid():
        raise ValueError(f"resources/{ICON} is not a valid SVG")
    image = QtGui.QImage(size, size, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QtCore.Qt.GlobalColor.transparent)
    painter = QtGui.QPainter(image)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def app_icon() -> QtGui.QIcon:
    """The window icon at the usual sizes."""
    icon = QtGui.QIcon()
    for size in ICON_SIZES:
        icon.addPixmap(QtGui.QPixmap.fromImage(icon_image(size)))
    return icon


def configure_application(app: QtGui.QGuiApplication) -> None:
    """Name, version, icon and settings location, before any window or QSettings exists."""
    app.setApplicationName(resources.APP_NAME)
    app.setOrganizationName(resources.APP_NAME)
    app.setApplicationVersion(resources.APP_VERSION)
    app.setDesktopFileName(DESKTOP_FILE)
    app.setWindowIcon(app_icon())
    # Settings go next to the notebook, as an INI file on every platform (not the Windows
    # registry, not ~/.config): one folder holds all an operator's station data.
    # QSettings() then resolves to <path>/<organization>/<application>.ini = settings_path().
    QtCore.QSettings.setDefaultFormat(QtCore.QSettings.Format.IniFormat)
    QtCore.QSettings.setPath(QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope,
                             str(data_dir().parent))
