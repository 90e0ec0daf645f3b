"""Regenerates the browser's screenshots in docs/: `python -m gui.tools.browser_screenshot docs`.

Fills a fresh notebook the way a lab would (three cells run on the simulated bench, a
Neware export and a BDF file imported, notes and tags), then captures the browser
filtered by a layer lot with a run open (notebook-browser.png), a run's details at
1280x800 (notebook-details-1280x800.png) and three runs compared (notebook-compare.png)."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtWidgets  # noqa: E402

import cell  # noqa: E402
from acquisition.protocol import preset  # noqa: E402
from acquisition.session import prepare_run  # noqa: E402
from gui.browser import NotebookBrowser  # noqa: E402
from notebook import Notebook  # noqa: E402
from notebook.importer import import_file  # noqa: E402

TEST_DATA = Path(__file__).resolve().parents[2] / "tests" / "data"   # real files, with their licences


def demo_notebook(path: Path) -> Notebook:
    nb = Notebook(path)
    cells = [("sym-bare", "CW", "CW-029", ["Li-0412", "LP-118", "Li-0412"], 2),
             ("sym-agc", "CW", "CW-031", ["Li-0412", "AgC-S3", "LP-118", "AgC-S3", "Li-0412"], 1),
             ("asym-agc", "BE", "BE-007", ["Li-0412", "AgC-S3", "LP-120", "Li-0415"], 1)]
    for template, operator, name, lots, seed in cells:
        stack = cell.from_template(template, operator=operator, name=name)
        for i, lot in enumerate(lots):
            stack = stack.edit_layer(i, "lot", lot)
        session = prepare_run(nb, stack, preset("plate-strip-0.16", cycles=12), speed="max", seed=seed)
        try:
            session.engine.run()
        finally:
            session.close()
    for name in ("nw_regular_export_ife_example.csv", "SINTEF__LiGrR2032__2024-04-30__25degC__Landt.bdf.csv"):
        import_file(nb, TEST_DATA / "cycling" / name, operator="SINTEF" if "SINTEF" in name else "")
    nb.add_note("Li foil wrinkled at one edge; trimmed before stacking", build_id=2, author="CW")
    nb.add_note("voltage noise from 3 h: fixture screw re-torqued", run_id=2, author="CW")
    nb.add_tag("paper-fig3", run_id=1)
    nb.add_tag("paper-fig3", run_id=2)
    nb.add_tag("Ag-C batch S3", build_id=2)
    return nb


def main(out_dir: str) -> int:
    out = Path(out_dir)
    app = QtWidgets.QApplication(sys.argv[:1])
    nb = demo_notebook(Path(tempfile.mkdtemp()) / "notebook.sqlite")
    browser = NotebookBrowser(nb)
    browser.resize(1360, 800)
    browser.show()
    lot = browser.filters.combos["lot"]
    lot.setEditText("LP-118")
    app.processEvents()
    browser.select_runs([2])
    app.processEvents()
    browser.grab().save(str(out / "notebook-browser.png"))
    browser.filters.reset()
    browser.resize(1280, 800)   # the panel PC's screen: a run's protocol as steps in the details pane
    browser.select_runs([1])
    browser.detail.lower.setCurrentIndex(0)
    app.processEvents()
    browser.grab().save(str(out / "notebook-details-1280x800.png"))
    browser.resize(1360, 800)
    browser.select_runs([1, 2, 3])
    browser.compare_selected()
    app.processEvents()
    browser.grab().save(str(out / "notebook-compare.png"))
    browser.close()
    browser.deleteLater()
    app.processEvents()
    nb.close()
    print(f"screenshots written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs"))
