"""Regenerates the Lab scope's screenshot in docs/: `python -m gui.tools.lab_screenshots docs [WxH]`.

Starts a throwaway PostgreSQL server (tests/pgserver.py: the system's binaries, a temporary
folder, stopped at the end), makes a lab store with two stations, runs cells on the
simulated bench into each station's notebook, syncs both, and captures station
glovebox_a's window at WxH (default 1280x800) with the Notebook tab in Lab scope: both
stations' runs, one of the other station's runs open with a note written from here
(notebook-lab-scope-WxH.png). With a third argument (a folder), the Outcomes tab in Lab
scope is captured there too, grouped by electrolyte lot (outcomes-tab-WxH.png)."""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtWidgets  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

# (station, template, operator, cell, electrolyte lot, interlayer lot, seed)
CELLS = (("glovebox_a", "sym-bare", "CW", "CW-029", "LP-118", "", 1),
         ("glovebox_a", "sym-agc", "CW", "CW-031", "LP-118", "AgC-S3", 2),
         ("glovebox_a", "asym-agc", "BE", "BE-007", "LP-120", "AgC-S3", 3),
         ("glovebox_b", "sym-bare", "AB", "AB-112", "LP-120", "", 4),
         ("glovebox_b", "sym-agc", "AB", "AB-113", "LP-120", "AgC-S2", 5))


def wait_for(app, condition, timeout_s: float = 60.0) -> None:
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the lab did not answer in time")
        app.processEvents()
        time.sleep(0.02)
    app.processEvents()


def fill(folder: Path, urls: dict[str, str]) -> dict[str, Path]:
    """Each station's notebook with its cells run on the simulated bench, synced."""
    import cell
    from acquisition.protocol import preset
    from acquisition.session import prepare_run
    from lab.sync import sync_once
    from notebook import Notebook
    from notebook.station import set_lab_url
    paths = {}
    for station, template, operator, name, lot, interlayer, seed in CELLS:
        path = paths.setdefault(station, folder / f"{station}.sqlite")
        with Notebook(path) as nb:
            stack = cell.from_template(template, operator=operator, name=name)
            for index, layer in enumerate(stack.layers):
                if layer.material == "LPSCl":
                    stack = stack.edit_layer(index, "lot", lot)
                elif layer.material == "AgC" and interlayer:
                    stack = stack.edit_layer(index, "lot", interlayer)
            session = prepare_run(nb, stack, preset("plate-strip-0.16", cycles=8), speed="max", seed=seed)
            try:
                session.engine.run()
            finally:
                session.close()
            for run in nb.runs():      # the shorts' alarms were seen: no banner over the screenshot
                nb.acknowledge_alarms(run["run_id"], operator)
            if name == "AB-112":
                nb.add_note("edge of the LPSCl pellet chipped; run anyway", run_id=nb.runs()[0]["run_id"],
                            author="AB")
    for station, path in paths.items():
        sync_once(path, urls[station])
        with Notebook(path) as nb:
            set_lab_url(nb.conn, urls[station])
    return paths


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "docs").resolve()
    width, height = (int(v) for v in (argv[1] if len(argv) > 1 else "1280x800").split("x"))
    outcomes_dir = Path(argv[2]).resolve() if len(argv) > 2 else None
    sys.path.insert(0, str(ROOT / "tests"))
    from pgserver import LabStore, PgDatabase, start_server
    from psycopg import sql
    server = start_server()
    os.environ["PGPASSFILE"] = str(server.pgpass)
    app = QtWidgets.QApplication(sys.argv[:1])
    try:
        with server.admin_connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE lab TEMPLATE template0"))
        from lab.connection import connect
        from lab.schema import migrate
        conn = connect(server.url("lab"))
        migrate(conn)
        conn.close()
        store = LabStore(PgDatabase(server, "lab"))
        urls = {station: store.add_station(station) for station in ("glovebox_a", "glovebox_b")}
        folder = Path(tempfile.mkdtemp(prefix="solidstack-lab-shots-"))
        paths = fill(folder, urls)
        capture(app, paths["glovebox_a"], folder, out, width, height, outcomes_dir)
    finally:
        server.stop()
    return 0


def capture(app, path: Path, folder: Path, out: Path, width: int, height: int, outcomes_dir: Path | None) -> None:
    from gui.main_window import MainWindow
    from gui.settings import StationSettings
    from notebook import Notebook
    settings = StationSettings(folder / "settings.ini")
    settings.set("operator", "C. Weber")
    nb = Notebook(path)
    window = MainWindow(nb, settings)
    window.setWindowState(QtCore.Qt.WindowState.WindowNoState)
    window.resize(width, height)
    window.show()
    if not window.drawer.is_drawer():
        window.drawer.toggle.click()     # the run panel hidden: the lab's runs take the width
    window.tabs.setCurrentWidget(window.browser)
    window.browser.set_scope("lab")
    scope = window.browser.lab
    scope.cache = folder / "lab-cache.sqlite"
    wait_for(app, lambda: len(scope.rows()) == len(CELLS) and not scope.busy)
    other = next(row for row in scope.rows() if row["build_name"] == "AB-112")
    scope.select_uuids([other["uuid"]])
    wait_for(app, lambda: not scope.busy)
    scope.add_note(other["uuid"], "same LP-120 bag as BE-007 here: compare before opening the next")
    wait_for(app, lambda: not scope.busy and scope.detail.notes.count() == 2)
    scope.add_tag(other["uuid"], "LP-120 study")
    wait_for(app, lambda: not scope.busy and scope.detail.tags.count() == 1)
    scope.detail.set_note("")
    scope.detail.text.verticalScrollBar().setValue(0)
    try:
        wait_for(app, lambda: window.lab_controls.button.text() == "lab: synced", 20)
    except TimeoutError:
        pass          # the status bar's own business: the screenshot is of the Lab scope
    app.processEvents()
    name = f"notebook-lab-scope-{width}x{height}.png"
    window.grab().save(str(out / name))
    print(f"written: {out / name}")
    if outcomes_dir is not None:
        window.tabs.setCurrentWidget(window.outcomes)
        wait_for(app, lambda: not window.outcomes.busy and bool(window.outcomes.view.visible_rows()))
        window.outcomes.view.set_group_by("electrolyte_lot")
        app.processEvents()
        shot = outcomes_dir / f"outcomes-tab-{width}x{height}.png"
        window.grab().save(str(shot))
        print(f"written: {shot}")
    scope.reader.close()
    window.shutdown()
    window.close()
    nb.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
