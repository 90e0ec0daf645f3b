"""What the screenshot tools share: a station on a throw-away notebook and settings
(operator CW), at a given window size, shut down and closed however the tool ends; and
waiting on the event loop until the station gets somewhere."""
from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from gui.main_window import MainWindow
from gui.settings import StationSettings
from notebook import Notebook


def wait_for(app: QtWidgets.QApplication, done: Callable[[], bool], timeout_s: float = 60.0) -> None:
    """Turn the event loop until `done()`; TimeoutError after `timeout_s`."""
    end = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > end:
            raise TimeoutError("the station did not get there in time")
        app.processEvents()
        # widgets deleted later (a banner's acknowledged rows) go only with their deferred deletes
        app.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
        time.sleep(0.01)


def settle(app: QtWidgets.QApplication, seconds: float) -> None:
    """Let the station run `seconds` (plots fill, layouts settle)."""
    end = time.monotonic() + seconds
    wait_for(app, lambda: time.monotonic() > end, seconds + 5.0)


@contextmanager
def throwaway_station(width: int, height: int) -> Iterator[tuple[QtWidgets.QApplication, MainWindow, StationSettings]]:
    """The station shown at width x height, on a notebook and settings in a temporary folder."""
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
            yield app, window, settings
        finally:
            window.shutdown()
            window.close()
            nb.close()


def start_channel(window: MainWindow, channel: int, template: str, protocol, speed: str = "3600") -> None:
    """Start `template` under `protocol` on `channel` as the operator would, from the run panel."""
    panel = window.run_panel
    window.builder.select_template(template)
    panel.channel.setCurrentIndex(panel.channel.findData(channel))
    panel.set_protocol(protocol)
    panel.speed.setCurrentIndex(panel.speed.findData(speed))
    if not window.start_run():
        raise RuntimeError(window.status_label.text())
