"""Makes docs/station-alarm-1280x800.png: the station at 1280x800 on a throw-away notebook,
channel 1 cycling a good cell, channel 2 a bare Li | Li cell run until it shorts, with the
alarm latched over the Monitor and the readout showing OUTPUT OFF.

    python gui/tools/alarm_screenshot.py [OUT.png] [WIDTHxHEIGHT]
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6 import QtCore, QtWidgets  # noqa: E402

from acquisition.protocol import preset  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from gui.settings import StationSettings  # noqa: E402
from notebook import Notebook  # noqa: E402


def wait_for(app: QtWidgets.QApplication, done, timeout_s: float = 60.0) -> None:
    end = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > end:
            raise TimeoutError("the station did not get there in time")
        app.processEvents()
        time.sleep(0.01)


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "docs" / "station-alarm-1280x800.png"
    width, height = (int(v) for v in (argv[2] if len(argv) > 2 else "1280x800").split("x"))
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        settings = StationSettings(Path(folder) / "station.ini")
        settings.set("operator", "CW")
        nb = Notebook(Path(folder) / "notebook.sqlite")
        window = MainWindow(nb, settings)
        window.show()
        # as on a screen of that size (the offscreen screen's own size is fixed at start)
        window.setWindowState(QtCore.Qt.WindowState.WindowNoState)
        window.resize(width, height)
        try:
            panel = window.run_panel
            for channel, template, protocol, speed in (
                    (1, "sym-agc", preset("plate-strip-0.16"), "3600"),
                    (2, "sym-bare", preset("plate-strip-0.16"), "max")):
                window.builder.select_template(template)
                panel.channel.setCurrentIndex(panel.channel.findData(channel))
                panel.set_protocol(protocol)
                panel.speed.setCurrentIndex(panel.speed.findData(speed))
                if not window.start_run():
                    raise RuntimeError(window.status_label.text())
            wait_for(app, lambda: window.overview.tiles[2].status.state == "shorted")
            settle = time.monotonic() + 1.0
            wait_for(app, lambda: time.monotonic() > settle)
            if not window.grab().save(str(out)):
                raise OSError(f"could not write {out}")
            print(f"wrote {out} ({window.width()}x{window.height()})")
        finally:
            window.shutdown()
            window.close()
            nb.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
