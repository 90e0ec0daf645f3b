"""Regenerates the label and scan screenshots in docs/: `python -m gui.tools.label_screenshots docs`.

label-62mm.png: the label of a saved full cell on 62 mm tape (62 x 29 mm at 300 dpi), as
`main.py label` writes it. builder-record-1280x800.png: the station at 1280x800 after the
cell's id was scanned: the builder's Record step with the label buttons, the scan field
and the session's operator in the status bar."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtWidgets  # noqa: E402

import cell  # noqa: E402
from gui.label import save_label  # noqa: E402
from gui.settings import StationSettings  # noqa: E402
from notebook import Notebook  # noqa: E402
from notebook.labels import SIZES, label_text  # noqa: E402


def main(out: Path) -> None:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    folder = Path(tempfile.mkdtemp(prefix="solidstack-labels-"))
    nb = Notebook(folder / "notebook.sqlite")
    stack = cell.from_template("full-agc", operator="CW", name="CW-20261202-3", area_cm2=1.0)
    for i, lot in enumerate(["Al-22", "NMC-2026-04", "LP-118", "AgC-S3", "Li-0412"]):
        stack = stack.edit_layer(i, "lot", lot)
    build = nb.save_build(stack)
    save_label(label_text(nb, build), SIZES["62x29"], out / "label-62mm.png")

    from gui.main_window import MainWindow
    settings = StationSettings(folder / "station.ini")
    settings.set("operator", "CW")
    window = MainWindow(nb, settings)
    window.setWindowState(window.windowState() & ~window.windowState().WindowMaximized)
    window.resize(1280, 800)
    window.show()
    app.processEvents()
    window.scan.handle("CW-20261202-3")        # as the scanner would
    for _ in range(5):
        app.processEvents()
    window.grab().save(str(out / "builder-record-1280x800.png"))
    window.shutdown()
    window.close()
    nb.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs"))
