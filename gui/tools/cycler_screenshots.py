"""Makes docs/cyclers-overview-1280x800.png (the Cyclers tab with 32 watched channels of
four emulated cyclers, three of them in alarm) and docs/cyclers-alarm-1280x800.png (a
cycler channel in alarm selected: its plots and the latched banner), on a throw-away
notebook. The Arbin unit's user has no control rights, so its short says the cycler
keeps running.

    python gui/tools/cycler_screenshots.py [OUT_FOLDER] [WIDTHxHEIGHT]
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

from acquisition.cycler_sim import parse_cells, sim_channels  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from gui.settings import StationSettings  # noqa: E402
from instruments.sim.cyclers.arbin_emulator import ArbinEmulator, ArbinServer  # noqa: E402
from instruments.sim.cyclers.maccor_emulator import MaccorEmulator, MaccorServer  # noqa: E402
from instruments.sim.cyclers.neware_emulator import NewareEmulator, NewareServer  # noqa: E402
from notebook import Notebook  # noqa: E402

SPEED, SAMPLE_S = 4000.0, 10.0
HEALTHY = "sym-agc,full-agc,sym-agc,full-agc,sym-agc,full-agc,sym-agc"


def wait_for(app: QtWidgets.QApplication, done, timeout_s: float = 90.0) -> None:
    end = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > end:
            raise TimeoutError("the station did not get there in time")
        app.processEvents()
        # rows the banner removed are deleted later: processEvents alone never deletes them
        app.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
        time.sleep(0.01)


def servers() -> list[tuple[str, object]]:
    def cells(text: str, seed: int):
        return sim_channels(parse_cells(text), seed=seed, sample_interval_s=SAMPLE_S)
    return [("neware", NewareServer(NewareEmulator(cells("asym-agc," + HEALTHY, 0), speed=SPEED))),
            ("neware", NewareServer(NewareEmulator(cells("full-agc," + HEALTHY, 10), speed=SPEED))),
            ("maccor", MaccorServer(MaccorEmulator(cells("full-bare," + HEALTHY, 20), speed=SPEED))),
            ("arbin", ArbinServer(ArbinEmulator(cells(HEALTHY + ",full-bare", 30), speed=SPEED, allow_control=False)))]


def main(argv: list[str]) -> int:
    folder_out = Path(argv[1]) if len(argv) > 1 else ROOT / "docs"
    width, height = (int(v) for v in (argv[2] if len(argv) > 2 else "1280x800").split("x"))
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    running = servers()
    with tempfile.TemporaryDirectory() as folder:
        settings = StationSettings(Path(folder) / "station.ini")
        settings.set("operator", "CW")
        nb = Notebook(Path(folder) / "notebook.sqlite")
        window = MainWindow(nb, settings)
        window.show()
        window.setWindowState(QtCore.Qt.WindowState.WindowNoState)
        window.resize(width, height)
        view = window.cyclers
        try:
            window.tabs.setCurrentWidget(view)
            for protocol, server in running:
                view.add_cycler(protocol, "127.0.0.1", server.port, poll_s=0.2)
            wait_for(app, lambda: sum(f.alarm is not None for f in view.feeds()) >= 3
                     and all(f.stop_note not in ("", "stop asked") for f in view.feeds() if f.alarm))
            wait_for(app, lambda: len(view.tiles) == 32)
            settle = time.monotonic() + 1.0
            wait_for(app, lambda: time.monotonic() > settle)
            view.split.setSizes([height, 0])          # the overview: every tile, no plots
            view.refresh()
            wait_for(app, lambda: time.monotonic() > settle + 0.5)
            for name, grab in (("cyclers-overview", window.grab()),):
                path = folder_out / f"{name}-{width}x{height}.png"
                grab.save(str(path))
                print(f"wrote {path}")
            keeps = next(f for f in view.feeds() if f.stop_note == "keeps running")
            for feed in view.feeds():        # the others acknowledged: the banner holds the selected channel's
                if feed.alarm is not None and feed is not keeps:
                    window.banner.acknowledge(feed.run_id)
            view.select(keeps)
            view.split.setSizes([190, 400])
            settle = time.monotonic() + 1.0
            wait_for(app, lambda: time.monotonic() > settle)
            path = folder_out / f"cyclers-alarm-{width}x{height}.png"
            window.grab().save(str(path))
            print(f"wrote {path}")
        finally:
            window.shutdown()
            window.close()
            nb.close()
            for _, server in running:
                server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
