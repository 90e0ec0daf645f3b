"""The station's link to the lab, and the desk station, on real widgets against the real
PostgreSQL server of the test session (tests/pgserver.py):
- the status bar's lab state follows a real SyncWorker: behind, then synced after a run; a
  gate (a TCP forwarder the test shuts) takes the network away: "offline since HH:MM", the
  backlog grows, and it drains when the gate opens again;
- the lab settings dialog refuses a URL with a password (its message shown, nothing stored),
  stores a good one and starts the worker; "Test connection" runs off the GUI thread;
- the desk station (`main.py --lab URL`) opens on the lab with no instruments and no channels,
  opens even while the server cannot be reached, and reads the lab once it answers;
- closing the station stops the worker within seconds, even with the network hanging;
- screenshots of the desk station and of the status bar's states (into docs/ with SOLIDSTACK_SHOTS=docs)."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PySide6 import QtCore, QtWidgets

import cell
from acquisition.protocol import preset
from acquisition.session import prepare_run
from gui import lab_link, theme
from gui.settings import StationSettings
from gui.tools import fit_check
from lab.schema import LAB_SCHEMA_VERSION
from notebook import Notebook, station
from tcp_gate import TcpGate

ROOT = Path(__file__).resolve().parents[2]
SIZES = [(1024, 768), (1280, 800), (1920, 1080)]


# -- a network the test can cut --
def gated_url(lab_store, role: str, gate: TcpGate, password: str, extra: str = "") -> str:
    """`role`'s URL through the gate; its password in the session's .pgpass for the gate's port."""
    server = lab_store.db.server
    with server.pgpass.open("a") as f:
        f.write(f"127.0.0.1:{gate.port}:{lab_store.db.name}:{role}:{password}\n")
    return f"postgresql://{role}@127.0.0.1:{gate.port}/{lab_store.db.name}{extra}"


def new_station(lab_store, name: str, kind: str = "station") -> tuple[str, str]:
    """A station's (or with kind="reader", a reader's) login with a password the test
    knows: (role, password); the password in the session's .pgpass, never in a URL."""
    from lab.admin import add_reader, add_station
    password = f"pw-{name}-0123456789"
    role = (add_station if kind == "station" else add_reader)(lab_store.url, name, password=password)
    lab_store.db.server.add_password(role, password, lab_store.db.name)
    return role, password


def make_run(nb: Notebook, cycles: int = 1, template: str = "sym-bare", name: str = "", operator: str = "",
             electrolyte_lot: str = "") -> dict:
    """A completed plating/stripping run on the simulated bench, as `main.py run` makes one."""
    stack = cell.from_template(template)
    layers = tuple(dataclasses.replace(layer, lot=electrolyte_lot) if stack.material(layer).kind == "electrolyte"
                   else layer for layer in stack.layers)
    stack = stack.with_changes(name=name, operator=operator, layers=layers)
    session = prepare_run(nb, stack, preset("plate-strip-0.16", cycles=cycles), speed="max", seed=0, bench="sim")
    try:
        status = session.engine.run()
    finally:
        session.close()
    assert status == "completed"
    return nb.run(session.engine.run_id)


def lab_runs(lab_store) -> dict[str, tuple[str, int]]:
    """The lab's runs: uuid -> (status, samples stored in its chunks), read as the admin."""
    with lab_store.connect() as conn:
        rows = conn.execute("SELECT r.uuid::text, r.status, COALESCE(SUM(c.n), 0) FROM solidstack.runs r "
                            "LEFT JOIN solidstack.sample_chunks c ON c.run_uuid = r.uuid GROUP BY r.uuid, r.status")
        return {uuid: (status, int(n)) for uuid, status, n in rows}


def close_window(window) -> None:
    window.shutdown()
    window.close()
    window.deleteLater()
    QtWidgets.QApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)


@pytest.fixture
def connect_threads(monkeypatch) -> list[str]:
    """The thread of every connection the window's code makes to PostgreSQL (psycopg.connect,
    still called for real; the test's own connections, made with no gui/ code on the stack,
    are not counted): the GUI thread must never be among them."""
    import psycopg
    seen: list[str] = []
    real = psycopg.connect
    gui_dir = str(ROOT / "gui")

    def recording(*args, **kwargs):
        frame = sys._getframe(1)
        while frame is not None and not frame.f_code.co_filename.startswith(gui_dir):
            frame = frame.f_back
        on_gui_thread = threading.current_thread() is threading.main_thread()
        if frame is not None or not on_gui_thread:        # asked by gui/ code, or on a worker's thread
            seen.append(threading.current_thread().name)
        return real(*args, **kwargs)
    monkeypatch.setattr(psycopg, "connect", recording)
    return seen


def assert_off_the_gui_thread(seen: list[str]) -> None:
    assert seen, "nothing connected"
    assert threading.main_thread().name not in seen, seen


@pytest.fixture
def settings(tmp_path):
    s = StationSettings(tmp_path / "settings.ini")
    s.set("glove_mode", "off")
    return s


@pytest.fixture
def open_station(qtbot, tmp_path, settings):
    """open_station(notebook) -> the station's MainWindow, shut down after the test."""
    from gui.main_window import MainWindow
    windows = []

    def make(nb: Notebook):
        window = MainWindow(nb, settings)
        window.show()
        windows.append(window)
        return window
    yield make
    for window in windows:
        close_window(window)
        window.notebook.close()     # after the window: its sync worker has stopped


def clock_near(text: str, prefix: str) -> None:
    """`text` is prefix + HH:MM within a minute of now (local time), as SyncStatus gives it."""
    assert text.startswith(prefix), text
    shown = text[len(prefix):]
    now = datetime.now()
    assert shown in {(now + timedelta(minutes=d)).strftime("%H:%M") for d in (-1, 0)}, text


# -- the status bar follows the real worker --
def test_status_follows_a_real_sync_worker_through_an_outage(qtbot, tmp_path, lab_store, open_station,
                                                             connect_threads):
    role, password = new_station(lab_store, "alpha")
    gate = TcpGate(lab_store.db.server.port)
    try:
        url = gated_url(lab_store, role, gate, password)
        nb = Notebook(tmp_path / "station.sqlite")
        first = make_run(nb)
        station.set_lab_url(nb.conn, url)
        window = open_station(nb)
        button = window.lab_controls.button
        assert window.lab.worker is not None
        # it drains the run: synced, in the ok colour; the lab holds the run and every sample
        qtbot.waitUntil(lambda: button.text() == "lab: synced", timeout=20000)
        assert button.role() == "ok" and theme.color("ok") in button.styleSheet()
        assert lab_runs(lab_store) == {first["uuid"]: ("completed", first["n_samples"])}
        assert first["n_samples"] > 1000
        tip = button.toolTip()
        assert f"Lab store: {url}" in tip and password not in tip

        # the network goes: a new run waits locally, and the bar says offline since when
        gate.shut()
        second = make_run(nb)
        window.lab.sync_now()
        qtbot.waitUntil(lambda: button.text().startswith("lab: offline since"), timeout=20000)
        clock_near(button.text(), "lab: offline since ")
        assert button.role() == "error" and theme.color("error") in button.styleSheet()
        # the backlog as of the last attempt (one may have failed while the run was still
        # being written): the whole run once the worker has tried again
        expected = f"Not yet in the lab: 1 run / {second['n_samples']:,} samples"
        qtbot.waitUntil(lambda: expected in button.toolTip(), timeout=40000)
        status = window.lab.worker.status()
        assert status.behind.runs == 1 and status.behind.samples == second["n_samples"]
        assert button.text().startswith("lab: offline since")
        tip = button.toolTip()
        assert "Last error: " in tip and password not in tip
        assert set(lab_runs(lab_store)) == {first["uuid"]}          # nothing of it reached the lab

        # back: the backlog drains, and the bar says so
        gate.open()
        window.lab_controls.sync_now()
        qtbot.waitUntil(lambda: button.text() == "lab: synced", timeout=40000)
        assert lab_runs(lab_store) == {first["uuid"]: ("completed", first["n_samples"]),
                                       second["uuid"]: ("completed", second["n_samples"])}
        assert "Last error" not in button.toolTip()
        assert_off_the_gui_thread(connect_threads)
    finally:
        gate.shut()


def test_the_bar_shows_behind_while_a_backlog_waits(qtbot, tmp_path, lab_store, open_station):
    """A gate that accepts and never answers: the worker is stuck connecting, and the bar
    says how much waits, from the outbox, without the GUI thread ever waiting."""
    role, password = new_station(lab_store, "beta")
    gate = TcpGate(lab_store.db.server.port, answer=False)
    try:
        nb = Notebook(tmp_path / "station.sqlite")
        run = make_run(nb)
        station.set_lab_url(nb.conn, gated_url(lab_store, role, gate, password, "?connect_timeout=30"))
        window = open_station(nb)
        button = window.lab_controls.button
        expected = f"lab: 1 run / {run['n_samples']:,} samples behind"
        qtbot.waitUntil(lambda: button.text() == expected, timeout=10000)
        assert button.role() == "warning"
        # the GUI thread is free: a poll of the bar costs nothing, however long the connect hangs
        started = time.perf_counter()
        for _ in range(20):
            button.refresh()
        assert time.perf_counter() - started < 0.2
    finally:
        gate.shut()


def test_without_a_url_no_worker_runs_and_the_bar_says_not_set_up(qtbot, tmp_path, open_station):
    nb = Notebook(tmp_path / "station.sqlite")
    window = open_station(nb)
    button = window.lab_controls.button
    assert window.lab.worker is None and button.text() == "lab: not set up" and button.role() == "muted"
    assert "Lab settings" in button.toolTip()
    # the bar is in the status bar, at the right, and a click opens the settings
    assert button in window.statusBar().findChildren(QtWidgets.QToolButton)
    qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)
    dialog = window.lab_controls.dialog
    assert dialog is not None and dialog.isVisible()
    # so does the Lab menu
    dialog.done(0)
    menu = window.lab_controls.menu
    assert [a.text() for a in menu.actions()] == ["Lab &settings…", "Sync &now"]
    menu.actions()[0].trigger()
    assert window.lab_controls.dialog.isVisible()
    # "Sync now" with nothing set up opens the settings, and starts nothing
    window.lab_controls.dialog.done(0)
    window.lab_controls.sync_now()
    assert window.lab_controls.dialog.isVisible() and window.lab.worker is None


# -- the settings dialog --
def test_settings_refuse_a_password_and_store_a_good_url(qtbot, tmp_path, lab_store, open_station,
                                                         connect_threads):
    role, password = new_station(lab_store, "gamma")
    nb = Notebook(tmp_path / "station.sqlite")
    window = open_station(nb)
    dialog = window.lab_controls.open_settings()
    ident = station.identity(nb.conn)
    assert dialog.station_name.text() == ident.name and dialog.station_uuid.text() == ident.uuid
    assert len(ident.uuid) == 36

    # a password in the URL: refused in the notebook's words, nothing stored, nothing started
    with_password = f"postgresql://{role}:{password}@127.0.0.1:{lab_store.db.server.port}/{lab_store.db.name}"
    dialog.url.setText(with_password)
    assert not dialog.save_url()
    assert dialog.message.text().startswith("Not saved: the lab store's URL carries a password")
    assert password not in dialog.message.text() and dialog.message_role() == "error"
    assert station.lab_url(nb.conn) is None and window.lab.worker is None
    assert window.lab_controls.button.text() == "lab: not set up"
    # in key=value form too
    dialog.url.setText(f"host=127.0.0.1 dbname=lab user={role} password={password}")
    assert not dialog.save_url() and password not in dialog.message.text()
    # not a URL at all
    dialog.url.setText("postgresql://[::1")
    assert not dialog.save_url() and "is not a PostgreSQL URL" in dialog.message.text()
    assert station.lab_url(nb.conn) is None

    # a good one: stored in the notebook, the worker started, the bar follows it
    good = lab_store.url_for(role)
    dialog.url.setText(good)
    assert dialog.save_url() and dialog.message_role() == "ok"
    assert station.lab_url(nb.conn) == good and window.lab.worker is not None
    qtbot.waitUntil(lambda: window.lab_controls.button.text() == "lab: synced", timeout=20000)
    qtbot.waitUntil(lambda: dialog.state.text() == "lab: synced", timeout=2000)
    with Notebook(nb.path, read_only=True) as again:              # remembered for the next start
        assert station.lab_url(again.conn) == good

    # Test connection: the field's URL, on a thread; the lab's schema version in words
    dialog.test.click()
    assert dialog.testing() and not dialog.test.isEnabled()
    qtbot.waitUntil(lambda: not dialog.testing(), timeout=15000)
    assert dialog.message_role() == "ok"
    assert dialog.message.text() == (f"Connected to {role}@127.0.0.1:{lab_store.db.server.port}/{lab_store.db.name} "
                                     f"as {role}: lab store schema version {LAB_SCHEMA_VERSION}.")

    # Sync now wakes the worker
    dialog.sync.click()
    assert dialog.message.text().startswith("Syncing now")
    assert_off_the_gui_thread(connect_threads)
    # (the recorder does see a connection made by gui/ code on the GUI thread: its "never" means something)
    connect_threads.clear()
    lab_link.check_connection(good)
    assert connect_threads == [threading.main_thread().name]


def test_test_connection_says_what_is_wrong_without_blocking(qtbot, tmp_path, pg_server, open_station):
    nb = Notebook(tmp_path / "station.sqlite")
    window = open_station(nb)
    dialog = window.lab_controls.open_settings()
    # nobody listens: libpq's refusal, in words
    closed_port = TcpGate(pg_server.port)
    closed_port.shut()
    dialog.url.setText(f"postgresql://station_x@127.0.0.1:{closed_port.port}/lab")
    dialog.test.click()
    qtbot.waitUntil(lambda: not dialog.testing(), timeout=15000)
    assert dialog.message_role() == "error"
    assert dialog.message.text() == (f"Connection failed: no PostgreSQL server answers at station_x@127.0.0.1:"
                                     f"{closed_port.port}/lab (connection refused): check the host and port, and "
                                     "that the server runs and listens there")
    # a network that hangs: the click returns at once, the dialog stays live, the timeout is reported
    hanging = TcpGate(pg_server.port, answer=False)
    try:
        dialog.url.setText(f"postgresql://station_x@127.0.0.1:{hanging.port}/lab?connect_timeout=2")
        started = time.perf_counter()
        dialog.test.click()
        assert time.perf_counter() - started < 0.3 and dialog.testing()
        assert dialog.message.text().startswith("Connecting to postgresql://station_x@127.0.0.1")
        qtbot.waitUntil(lambda: not dialog.testing(), timeout=15000)
        assert "no answer from station_x@127.0.0.1" in dialog.message.text()
        assert "within the connect timeout" in dialog.message.text()
    finally:
        hanging.shut()
    # a real server, a role that does not exist: the server's refusal in words
    dialog.url.setText(f"postgresql://nobody_here@127.0.0.1:{pg_server.port}/postgres")
    dialog.test.click()
    qtbot.waitUntil(lambda: not dialog.testing(), timeout=15000)
    assert dialog.message.text().startswith("Connection failed: ") and dialog.message_role() == "error"
    # a database that is not a lab store
    dialog.url.setText(pg_server.url("postgres"))
    dialog.test.click()
    qtbot.waitUntil(lambda: not dialog.testing(), timeout=15000)
    assert "is not a SolidStack lab store yet" in dialog.message.text()


# -- closing --
def test_closing_the_station_stops_the_worker_promptly(qtbot, tmp_path, lab_store, settings):
    from gui.main_window import MainWindow
    role, password = new_station(lab_store, "delta")
    hanging = TcpGate(lab_store.db.server.port, answer=False)
    try:
        nb = Notebook(tmp_path / "station.sqlite")
        make_run(nb)
        # the worker is stuck connecting to a network that never answers (30 s timeout)
        station.set_lab_url(nb.conn, gated_url(lab_store, role, hanging, password, "?connect_timeout=30"))
        window = MainWindow(nb, settings)
        window.show()
        worker = window.lab.worker
        qtbot.waitUntil(lambda: worker.status().behind.records > 0, timeout=10000)
        time.sleep(0.3)     # into the connect
        started = time.perf_counter()
        window.close()                   # nothing runs, no alarm: it closes without asking
        took = time.perf_counter() - started
        assert window.lab.worker is None and window.lab_controls.button.timer.isActive() is False
        assert took < lab_link.STOP_WAIT_S + 1.0, took
        assert worker._thread.daemon      # left to end by itself: the process never waits on it
        window.deleteLater()
        nb.close()
    finally:
        hanging.shut()

    # on a server that answers, the worker has ended when close returns
    nb = Notebook(tmp_path / "other.sqlite")
    station.set_lab_url(nb.conn, lab_store.url_for(role))
    window = MainWindow(nb, settings)
    window.show()
    worker = window.lab.worker
    qtbot.waitUntil(lambda: window.lab_controls.button.text() == "lab: synced", timeout=20000)
    started = time.perf_counter()
    window.close()
    assert time.perf_counter() - started < 2.0 and not worker._thread.is_alive()
    window.deleteLater()
    nb.close()


# -- the desk station --
@pytest.fixture
def lab_with_runs(tmp_path, lab_store):
    """A lab store with two stations' runs synced into it, and a reader login for the desk."""
    from lab.sync import sync_once
    made = []
    cells = {"alpha": [("sym-bare", "CW-031", "CW", "LPS-S2"), ("sym-agc", "CW-032", "CW", "LPS-S3")],
             "beta": [("sym-agc", "JL-007", "JL", "LPS-S3")]}
    for station_name, runs in cells.items():
        role, _password = new_station(lab_store, station_name)
        with Notebook(tmp_path / f"{station_name}.sqlite") as nb:
            for template, name, operator, lot in runs:
                made.append(make_run(nb, template=template, name=name, operator=operator, electrolyte_lot=lot))
        report = sync_once(tmp_path / f"{station_name}.sqlite", lab_store.url_for(role))
        assert report.behind.empty
    reader, password = new_station(lab_store, "desk", kind="reader")
    return lab_store, (reader, password), made


def open_desk(url: str, tmp_path, settings):
    from gui.desk_window import DeskWindow
    window = DeskWindow(url, tmp_path / "cache.sqlite", settings)
    window.show()
    return window


def test_the_desk_station_reads_the_lab_with_no_instruments(qtbot, tmp_path, lab_with_runs, settings,
                                                            connect_threads):
    lab_store, (reader, _password), made = lab_with_runs
    connect_threads.clear()        # the fixture's own syncs ran here; from now on only the window's
    window = open_desk(lab_store.url_for(reader), tmp_path, settings)
    try:
        assert [window.tabs.tabText(k) for k in range(window.tabs.count())] == ["Lab", "Analysis", "Outcomes"]
        # no bench: no channel manager, no run panel, no monitor, no station notebook
        for name in ("manager", "run_panel", "monitor", "bridges", "notebook"):
            assert not hasattr(window, name), name
        assert "desk station" in window.windowTitle() and "password" not in window.windowTitle()
        button = window.lab_controls.button
        qtbot.waitUntil(lambda: button.text() == "lab: connected", timeout=15000)
        assert button.role() == "ok" and f"schema version {LAB_SCHEMA_VERSION}" in button.toolTip()
        # both stations' runs in the Lab scope
        scope = window.lab_scope
        qtbot.waitUntil(lambda: len(scope.rows()) == len(made), timeout=15000)
        assert {row["uuid"] for row in scope.rows()} == {run["uuid"] for run in made}
        assert {row["station"] for row in scope.rows()} == {"alpha", "beta"}
        # a lab run opened in Analysis: fetched into the cache, analysed by the station's view
        scope.select_uuids([made[1]["uuid"]])
        scope.open_selected_in_analysis()
        qtbot.waitUntil(lambda: window.tabs.currentWidget() is window.analysis, timeout=30000)
        assert Path(window.analysis.path) == window.cache
        with Notebook(window.cache, read_only=True) as cache:
            fetched = cache.run(window.analysis.primary)
        assert fetched["uuid"] == made[1]["uuid"] and fetched["n_samples"] == made[1]["n_samples"]
        # Outcomes: every run of the lab, read when the tab is first shown
        window.tabs.setCurrentWidget(window.outcomes)
        qtbot.waitUntil(lambda: len(window.outcomes.visible_rows()) == len(made), timeout=15000)
        # a reader cannot be a station: it stores nothing, and no sync worker runs
        assert not hasattr(window.lab_controls.source, "worker")
        assert [a.text() for a in window.lab_controls.menu.actions()][:2] == ["Lab &settings…", "&Retry now"]
        dialog = window.lab_controls.open_settings()
        assert dialog.url.isReadOnly() and not dialog.save.isVisible() and dialog.sync.text() == "Retry now"
        dialog.test.click()
        qtbot.waitUntil(lambda: not dialog.testing(), timeout=15000)
        assert dialog.message.text().startswith("Connected to reader_desk@") or dialog.message_role() == "ok"
        assert_off_the_gui_thread(connect_threads)
    finally:
        started = time.perf_counter()
        close_window(window)
        assert time.perf_counter() - started < lab_link.STOP_WAIT_S + 1.0


def test_the_desk_station_opens_while_the_lab_is_down_and_reads_it_once_back(qtbot, tmp_path, lab_with_runs,
                                                                           settings, monkeypatch):
    lab_store, (reader, password), made = lab_with_runs
    monkeypatch.setattr(lab_link, "PROBE_OFFLINE_S", 0.5)     # retry quickly, for the test's sake
    gate = TcpGate(lab_store.db.server.port)
    gate.shut()
    try:
        url = gated_url(lab_store, reader, gate, password)
        window = open_desk(url, tmp_path, settings)
        try:
            button = window.lab_controls.button
            qtbot.waitUntil(lambda: button.text().startswith("lab: offline since"), timeout=15000)
            clock_near(button.text(), "lab: offline since ")
            assert button.role() == "error" and "connection refused" in button.toolTip()
            qtbot.waitUntil(lambda: window.lab_scope.count.text() == "the lab did not answer", timeout=15000)
            # the server is back: the probe finds it, and the Lab scope reads the runs by itself
            gate.open()
            qtbot.waitUntil(lambda: button.text() == "lab: connected", timeout=15000)
            qtbot.waitUntil(lambda: len(window.lab_scope.rows()) == len(made), timeout=15000)
        finally:
            close_window(window)
    finally:
        gate.shut()


def test_the_desk_station_never_takes_a_password(qtbot, tmp_path, settings, capsys):
    import main
    from gui.desk_window import DeskWindow
    from lab.connection import LabError
    with pytest.raises(LabError, match="holds a password"):
        DeskWindow("postgresql://reader:hunter2@127.0.0.1:5/lab", tmp_path / "cache.sqlite", settings)
    assert main.main(["--lab", "postgresql://reader:hunter2@127.0.0.1:5/lab"]) == 2
    err = capsys.readouterr().err
    assert "holds a password" in err and "hunter2" not in err
    assert main.main(["--lab", "postgresql://reader@127.0.0.1:5/lab", "runs"]) == 2
    assert "give it after the command" in capsys.readouterr().err


@pytest.mark.parametrize("server_up", [True, False], ids=["lab-up", "lab-down"])
def test_main_py_opens_the_desk_station(tmp_path, lab_with_runs, server_up):
    """`python main.py --lab URL` as a user starts it: the window is up (the event loop
    idle) whether or not the server answers; --startup-time closes it again."""
    lab_store, (reader, _password), _made = lab_with_runs
    url = lab_store.url_for(reader)
    if not server_up:
        closed = TcpGate(lab_store.db.server.port)
        closed.shut()
        url = f"postgresql://{reader}@127.0.0.1:{closed.port}/{lab_store.db.name}"
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path), QT_QPA_PLATFORM="offscreen")
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "main.py", "--lab", url, "--db", str(tmp_path / "cache.sqlite"),
                             "--startup-time"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ready"
    assert time.perf_counter() - started < 60
    assert not (tmp_path / "SolidStack" / "notebook.sqlite").exists()     # no station notebook made


# -- fit and screenshots --
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_desk_station_fits_and_is_pictured(qtbot, tmp_path, lab_with_runs, settings, size, shots):
    lab_store, (reader, _password), made = lab_with_runs
    window = open_desk(lab_store.url_for(reader), tmp_path, settings)
    try:
        window.setWindowState(QtCore.Qt.WindowState.WindowNoState)
        window.resize(*size)
        qtbot.waitUntil(lambda: len(window.lab_scope.rows()) == len(made), timeout=15000)
        qtbot.waitUntil(lambda: window.lab_controls.button.text() == "lab: connected", timeout=15000)
        window.lab_scope.select_uuids([made[0]["uuid"]])
        fit_check.settle(QtWidgets.QApplication.instance())
        assert (window.width(), window.height()) == size
        for index in range(window.tabs.count()):
            window.tabs.setCurrentIndex(index)
            fit_check.settle(QtWidgets.QApplication.instance())
            assert fit_check.problems(window) == [], window.tabs.tabText(index)
        window.tabs.setCurrentWidget(window.lab_scope)
        fit_check.settle(QtWidgets.QApplication.instance())
        out = shots / f"desk-station-{size[0]}x{size[1]}.png"
        assert window.grab().save(str(out))
        assert out.stat().st_size > 20000
    finally:
        close_window(window)


def test_pictures_of_the_lab_states_in_the_status_bar(qtbot, tmp_path, lab_store, open_station, shots):
    """docs/lab-status-*.png: the station's status bar at 1280 px in each lab state, from real workers."""
    role, password = new_station(lab_store, "epsilon")

    def picture(window, name: str) -> None:
        window.setWindowState(QtCore.Qt.WindowState.WindowNoState)
        window.resize(1280, 800)
        window.set_status("Ready.")
        fit_check.settle(QtWidgets.QApplication.instance())
        button = window.lab_controls.button
        assert fit_check.problems(window.statusBar()) == []
        assert button.width() >= button.sizeHint().width()          # never elided
        out = shots / f"lab-status-{name}.png"
        assert window.statusBar().grab().save(str(out))

    nb = Notebook(tmp_path / "unset.sqlite")
    window = open_station(nb)
    picture(window, "not-set-up")

    gate = TcpGate(lab_store.db.server.port, answer=False)
    try:
        nb2 = Notebook(tmp_path / "station.sqlite")
        make_run(nb2)
        station.set_lab_url(nb2.conn, gated_url(lab_store, role, gate, password, "?connect_timeout=30"))
        behind = open_station(nb2)
        qtbot.waitUntil(lambda: behind.lab_controls.button.text().endswith("samples behind"), timeout=10000)
        picture(behind, "behind")
    finally:
        gate.shut()
    qtbot.waitUntil(lambda: behind.lab_controls.button.text().startswith("lab: offline since"), timeout=40000)
    picture(behind, "offline")

    nb3 = Notebook(tmp_path / "synced.sqlite")
    station.set_lab_url(nb3.conn, lab_store.url_for(role))
    synced = open_station(nb3)
    qtbot.waitUntil(lambda: synced.lab_controls.button.text() == "lab: synced", timeout=20000)
    picture(synced, "synced")

    # the settings dialog, after a test of the connection
    dialog = synced.lab_controls.open_settings()
    dialog.test.click()
    qtbot.waitUntil(lambda: not dialog.testing(), timeout=15000)
    assert dialog.message_role() == "ok"
    fit_check.settle(QtWidgets.QApplication.instance())
    assert fit_check.problems(dialog) == []
    assert dialog.grab().save(str(shots / "lab-settings.png"))
