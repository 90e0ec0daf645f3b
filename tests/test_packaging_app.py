"""What the packaged station shows and keeps, checked from source: the version from its
one source of truth in the About box and in a run's provenance, the icon, where the
notebook and settings live, and the --startup-time signal the benchmark times."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6 import QtCore, QtGui, QtWidgets

import cell
import resources
from acquisition.protocol import preset
from acquisition.session import prepare_run
from gui.app import ICON_SIZES, icon_image
from notebook import Notebook

ROOT = Path(__file__).resolve().parent.parent  # not from conftest: tests/gui has its own
TEST_VERSION = "9.8.7-test"  # not the real one: proves the value is read, not copied


def open_about_box(window) -> dict:
    """Choose Help > About as an operator does; read the modal box and close it."""
    seen = {}
    timer = QtCore.QTimer(window, interval=20)

    def read_box():
        box = QtWidgets.QApplication.activeModalWidget()
        if isinstance(box, QtWidgets.QMessageBox):
            timer.stop()
            seen.update(title=box.windowTitle(), text=box.text(), icon=box.iconPixmap())
            box.close()

    timer.timeout.connect(read_box)
    timer.start()
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    next(a for a in help_menu.actions() if "About" in a.text()).trigger()
    timer.stop()
    return seen


def test_about_box_shows_the_version_paths_and_icon(window, db_path, monkeypatch):
    monkeypatch.setattr(resources, "APP_VERSION", TEST_VERSION)
    seen = open_about_box(window)
    assert seen["title"] == f"About {resources.APP_NAME}"
    assert f"{resources.APP_NAME} {TEST_VERSION}" in seen["text"]
    assert str(db_path) in seen["text"] and "SolidStack.ini" in seen["text"]
    assert f"Qt {QtCore.qVersion()}" in seen["text"]
    assert not seen["icon"].isNull() and seen["icon"].width() >= 48


def test_window_carries_the_app_icon_at_every_size(window):
    sizes = {size.width() for size in window.windowIcon().availableSizes()}
    assert {16, 32, 48, 256} <= sizes
    image = window.windowIcon().pixmap(64, 64).toImage()
    # the icon's navy background, not a blank or default icon
    centre_left = QtGui.QColor(image.pixel(10, 32))
    assert centre_left.blue() > centre_left.red() + 30 and centre_left.alpha() == 255


def test_every_run_records_the_app_version(db_path, monkeypatch):
    monkeypatch.setattr(resources, "APP_VERSION", TEST_VERSION)
    with Notebook(db_path) as nb:
        session = prepare_run(nb, cell.from_template("sym-agc"), preset("plate-strip-0.16", cycles=1), speed="max")
        try:
            session.engine.run()
        finally:
            session.close()
        provenance = json.loads(nb.run(session.engine.run_id)["provenance_json"])
    assert provenance["app"] == resources.APP_NAME and provenance["app_version"] == TEST_VERSION


@pytest.mark.skipif(sys.platform != "linux", reason="XDG_DATA_HOME moves the user data directory on Linux only")
def test_notebook_and_settings_live_in_the_user_data_directory(tmp_path):
    code = ("from PySide6 import QtCore, QtWidgets\n"
            "from gui.app import configure_application\n"
            "from notebook import default_path\n"
            "app = QtWidgets.QApplication([])\n"
            "configure_application(app)\n"
            "print(default_path())\n"
            "print(QtCore.QSettings().fileName())\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, XDG_DATA_HOME=str(tmp_path), QT_QPA_PLATFORM="offscreen"))
    assert result.returncode == 0, result.stderr
    notebook, settings = result.stdout.split()
    assert notebook == str(tmp_path / "SolidStack" / "notebook.sqlite")
    assert settings == str(tmp_path / "SolidStack" / "SolidStack.ini")


def test_startup_time_flag_reports_ready_and_exits(db_path):
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "--startup-time", "--db", str(db_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "ready"


def test_raster_icons_are_rendered_from_the_current_svg(qapp):
    fresh = icon_image(256).convertToFormat(QtGui.QImage.Format.Format_ARGB32)
    stored = QtGui.QImage(str(ROOT / "packaging" / "solidstack.png")).convertToFormat(QtGui.QImage.Format.Format_ARGB32)
    assert stored.size() == QtCore.QSize(256, 256)
    assert stored == fresh, "run `make icons` after editing resources/solidstack.svg"
    ico = (ROOT / "packaging" / "solidstack.ico").read_bytes()
    count = int.from_bytes(ico[4:6], "little")
    sizes = sorted(ico[6 + 16 * i] or 256 for i in range(count))
    assert sizes == list(ICON_SIZES)
    first_png = int.from_bytes(ico[6 + 12:6 + 16], "little")
    assert ico[first_png:first_png + 8] == b"\x89PNG\r\n\x1a\n"
