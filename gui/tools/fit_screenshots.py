"""The station at each screen size, for docs/: `python -m gui.tools.fit_screenshots docs`.

For each size (1024x768, 1280x800, 1920x1080) a process of its own gives the offscreen
platform a screen of that size (a screen is fixed when the QApplication is made), opens
the station as main.py does, starts two runs on the simulated bench and captures the
Monitor tab (station-WxH.png); at 1024x768 also the Notebook tab with a run selected
(station-notebook-1024x768.png)."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

SIZES = ("1024x768", "1280x800", "1920x1080")


def capture(size: str, out: Path) -> None:
    from gui.tools import fit_check
    width, height = (int(v) for v in size.split("x"))
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={fit_check._screen_config(width, height)}"
    from PySide6 import QtWidgets

    from gui.app import configure_application
    from gui.main_window import MainWindow
    from gui.settings import StationSettings
    from gui.tools.screenshots import wait_for
    from notebook import Notebook
    app = QtWidgets.QApplication(sys.argv[:1])
    configure_application(app)
    folder = Path(tempfile.mkdtemp(prefix="solidstack-shots-"))
    settings = StationSettings(folder / "settings.ini")
    nb = Notebook(folder / "notebook.sqlite")
    window = MainWindow(nb, settings)
    window.show()
    panel = window.run_panel
    for channel, template, protocol, speed in ((2, "full-agc-3e", "rate-test", "36000"),
                                               (1, "sym-agc", "plate-strip-0.16", "3600")):
        window.builder.select_template(template)
        panel.channel.setCurrentIndex(panel.channel.findData(channel))
        panel.protocol.setCurrentIndex(panel.protocol.findData(protocol))
        panel.speed.setCurrentIndex(panel.speed.findData(speed))
        if not window.start_run():
            raise SystemExit(f"the run on channel {channel} did not start: {window.status_label.text()}")
    wait_for(app, lambda: window.monitor.points_drawn > 2000)
    window.refresh_channels()
    window.monitor.redraw()
    fit_check.settle(app)
    window.grab().save(str(out / f"station-{size}.png"))
    if size == SIZES[0]:
        window.tabs.setCurrentWidget(window.browser)
        window.browser.refresh()
        window.browser.select_runs([window.manager.channel(1).session.engine.run_id])
        fit_check.settle(app)
        window.grab().save(str(out / f"station-notebook-{size}.png"))
    window.shutdown()
    window.close()
    window.deleteLater()
    app.processEvents()
    nb.close()


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "docs").resolve()
    if len(argv) > 1:
        capture(argv[1], out)
        return 0
    for size in SIZES:
        env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
        subprocess.run([sys.executable, "-m", "gui.tools.fit_screenshots", str(out), size], check=True, env=env)
    print(f"screenshots written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
