"""Who may do what in the lab store, enforced by the server (grants and row-level security),
each station connecting through libpq with its own role and the password in .pgpass: a
station writes only its own rows and reads everyone's, adds notes and tags on anyone's run,
never deletes; a reader only reads; a run's status only moves forward."""
from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from lab.connection import connect
from lab_rows import insert_build, insert_run, insert_steps, new_uuid

LAYERS = [("Li", 30.0, "L1"), ("LPSCl", 600.0, "E7"), ("Li", 30.0, "L1")]


def station_conn(url):
    return connect(url, autocommit=True)


def test_each_station_reads_everything_and_writes_its_own(two_stations):
    store, alpha_url, beta_url, _ = two_stations
    with station_conn(alpha_url) as alpha, station_conn(beta_url) as beta:
        build = insert_build(alpha, LAYERS)
        run = insert_run(alpha, build)
        insert_steps(alpha, run, [(0, 1, 1e-3, 1.0, 3.8)])
        mine = insert_run(beta, build)        # a cell built at alpha, cycled at beta
        owners = dict(beta.execute("SELECT uuid::text, station FROM solidstack.runs").fetchall())
        assert owners == {run: "station_alpha", mine: "station_beta"}
        assert alpha.execute("SELECT count(*) FROM solidstack.run_steps").fetchone()[0] == 1
        assert beta.execute("SELECT count(*) FROM solidstack.lab_runs").fetchone()[0] == 2


def test_a_station_cannot_write_rows_in_another_stations_name(two_stations):
    store, alpha_url, beta_url, _ = two_stations
    with station_conn(beta_url) as beta:
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            beta.execute("INSERT INTO solidstack.builds (uuid, station, created_utc) VALUES (%s, 'station_alpha', 'x')",
                         (new_uuid(),))


def test_a_station_cannot_change_or_delete_another_stations_rows(two_stations):
    store, alpha_url, beta_url, _ = two_stations
    with station_conn(alpha_url) as alpha, station_conn(beta_url) as beta:
        build = insert_build(alpha, LAYERS, name="alpha's cell")
        run = insert_run(alpha, build)
        insert_steps(alpha, run, [(0, 1, 1e-3, 1.0, 3.8)])
        # an UPDATE sees none of alpha's rows: nothing changes
        assert beta.execute("UPDATE solidstack.builds SET name = 'taken' WHERE uuid = %s", (build,)).rowcount == 0
        assert beta.execute("UPDATE solidstack.runs SET status = 'aborted' WHERE uuid = %s", (run,)).rowcount == 0
        assert beta.execute("UPDATE solidstack.run_steps SET charge_mah = 9").rowcount == 0
        # an upsert onto alpha's uuid is refused outright
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            beta.execute("INSERT INTO solidstack.builds (uuid, created_utc, name) VALUES (%s, 'x', 'taken')"
                         " ON CONFLICT (uuid) DO UPDATE SET name = EXCLUDED.name", (build,))
        # nobody but the admin deletes
        for table in ("builds", "runs", "run_steps"):
            with pytest.raises(errors.InsufficientPrivilege, match="permission denied"):
                beta.execute(f"DELETE FROM solidstack.{table}")
            with pytest.raises(errors.InsufficientPrivilege, match="permission denied"):
                alpha.execute(f"DELETE FROM solidstack.{table}")
        # nor rewrites history by taking a row over
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            alpha.execute("UPDATE solidstack.builds SET station = 'station_beta' WHERE uuid = %s", (build,))
        assert alpha.execute("SELECT name, station FROM solidstack.builds").fetchall() == [("alpha's cell", "station_alpha")]
        assert alpha.execute("SELECT status FROM solidstack.runs").fetchone()[0] == "running"
        assert alpha.execute("SELECT charge_mah FROM solidstack.run_steps").fetchone()[0] == 1.0


@pytest.mark.parametrize("table, columns", [
    ("sample_chunks", "(run_uuid, first_index, n, data) VALUES (%s, 0, 1, '\\x00')"),
    ("run_steps", "(run_uuid, step, cycle) VALUES (%s, 0, 1)"),
    ("events", "(uuid, run_uuid, kind) VALUES (gen_random_uuid(), %s, 'hard_short')"),
    ("spectra", "(uuid, run_uuid, spectrum) VALUES (gen_random_uuid(), %s, 0)"),
    ("run_outcomes", "(run_uuid, n_cycles) VALUES (%s, 1)"),
])
def test_a_station_cannot_add_data_to_another_stations_run(two_stations, table, columns):
    """Even as rows of its own (station = itself): a run's data comes from the run's station."""
    store, alpha_url, beta_url, _ = two_stations
    with station_conn(alpha_url) as alpha, station_conn(beta_url) as beta:
        run = insert_run(alpha, insert_build(alpha, LAYERS))
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            beta.execute(f"INSERT INTO solidstack.{table} {columns}", (run,))
        with alpha.transaction():       # the run's own station may, the same statement
            alpha.execute(f"INSERT INTO solidstack.{table} {columns}", (run,))
        assert alpha.execute(f"SELECT count(*) FROM solidstack.{table}").fetchone()[0] == 1


def test_layers_and_spectrum_points_only_on_ones_own_build_and_spectrum(two_stations):
    store, alpha_url, beta_url, _ = two_stations
    with station_conn(alpha_url) as alpha, station_conn(beta_url) as beta:
        build = insert_build(alpha, LAYERS)
        spectrum = new_uuid()
        alpha.execute("INSERT INTO solidstack.spectra (uuid, run_uuid, spectrum) VALUES (%s, %s, 0)",
                      (spectrum, insert_run(alpha, build)))
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            beta.execute("INSERT INTO solidstack.build_layers (build_uuid, position, material) VALUES (%s, 9, 'Cu')",
                         (build,))
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            beta.execute("INSERT INTO solidstack.spectrum_points (spectrum_uuid, point, freq_hz, z_real_ohm, z_imag_ohm)"
                         " VALUES (%s, 0, 1e3, 10, -1)", (spectrum,))


def test_notes_and_tags_go_on_any_stations_run_with_their_author(two_stations):
    store, alpha_url, beta_url, _ = two_stations
    with station_conn(alpha_url) as alpha, station_conn(beta_url) as beta:
        build = insert_build(alpha, LAYERS)
        run = insert_run(alpha, build)
        beta.execute("INSERT INTO solidstack.notes (uuid, run_uuid, created_utc, author, text)"
                     " VALUES (%s, %s, '2026-12-02T09:00:00Z', 'CD', 'shorted like lot E7 did')", (new_uuid(), run))
        beta.execute("INSERT INTO solidstack.build_tags (uuid, build_uuid, tag, created_utc)"
                     " VALUES (%s, %s, 'E7 suspect', '2026-12-02T09:00:00Z')", (new_uuid(), build))
        beta.execute("INSERT INTO solidstack.run_tags (uuid, run_uuid, tag, created_utc)"
                     " VALUES (%s, %s, 'check', '2026-12-02T09:00:00Z')", (new_uuid(), run))
        assert alpha.execute("SELECT station, author, text FROM solidstack.notes").fetchall() == [
            ("station_beta", "CD", "shorted like lot E7 did")]
        assert alpha.execute("SELECT tags, build_tags FROM solidstack.lab_runs").fetchone() == ("check", "E7 suspect")
        # alpha cannot edit beta's note or take its tag away
        assert alpha.execute("UPDATE solidstack.notes SET text = 'no'").rowcount == 0
        assert alpha.execute("UPDATE solidstack.run_tags SET removed_utc = 'now'").rowcount == 0
        assert beta.execute("UPDATE solidstack.run_tags SET removed_utc = '2026-12-02T10:00:00Z'").rowcount == 1
        assert alpha.execute("SELECT tags FROM solidstack.lab_runs").fetchone()[0] is None


def test_a_reader_reads_and_cannot_write(two_stations):
    store, alpha_url, _, reader_url = two_stations
    with station_conn(alpha_url) as alpha:
        build = insert_build(alpha, LAYERS)
        run = insert_run(alpha, build)
    with station_conn(reader_url) as reader:
        assert reader.execute("SELECT count(*) FROM solidstack.lab_runs").fetchone()[0] == 1
        assert reader.execute("SELECT count(*) FROM solidstack.builds").fetchone()[0] == 1
        for statement, params in [
            ("INSERT INTO solidstack.builds (uuid, created_utc) VALUES (%s, 'x')", (new_uuid(),)),
            ("INSERT INTO solidstack.notes (uuid, run_uuid, created_utc, text) VALUES (%s, %s, 'x', 'hi')",
             (new_uuid(), run)),
            ("UPDATE solidstack.runs SET status = 'aborted'", None),
            ("UPDATE solidstack.stations SET uuid = gen_random_uuid()", None),
            ("DELETE FROM solidstack.runs", None),
            ("CREATE TABLE solidstack.mine (x int)", None),
        ]:
            with pytest.raises(errors.InsufficientPrivilege):
                reader.execute(statement, params)
    with store.connect() as admin:
        assert admin.execute("SELECT status FROM solidstack.runs").fetchone()[0] == "running"
        assert admin.execute("SELECT count(*) FROM solidstack.notes").fetchone()[0] == 0


def test_stations_cannot_touch_the_schema_or_the_registry(two_stations):
    store, alpha_url, _, _ = two_stations
    with station_conn(alpha_url) as alpha:
        for statement in ("INSERT INTO solidstack.lab_meta VALUES ('schema_version', '99')",
                          "UPDATE solidstack.lab_meta SET value = '99'",
                          "INSERT INTO solidstack.materials VALUES ('X', 'X', 'interlayer')",
                          "UPDATE solidstack.stations SET name = 'boss'",
                          "ALTER TABLE solidstack.runs DISABLE ROW LEVEL SECURITY",
                          "DROP VIEW solidstack.lab_runs",
                          "CREATE TABLE solidstack.mine (x int)"):
            with pytest.raises(errors.InsufficientPrivilege, match="permission denied|must be owner"):
                alpha.execute(statement)


def test_a_station_sets_its_own_uuid_only(two_stations):
    store, alpha_url, beta_url, _ = two_stations
    mine, theirs = new_uuid(), new_uuid()
    with station_conn(alpha_url) as alpha:
        assert alpha.execute("UPDATE solidstack.stations SET uuid = %s WHERE role = current_user",
                             (mine,)).rowcount == 1
        assert alpha.execute("UPDATE solidstack.stations SET uuid = %s WHERE role = 'station_beta'",
                             (theirs,)).rowcount == 0
        rows = dict(alpha.execute("SELECT name, uuid::text FROM solidstack.stations").fetchall())
    assert rows == {"alpha": mine, "beta": None, "desk": None}


@pytest.mark.parametrize("end", ["completed", "aborted", "shorted", "interrupted", "failed"])
def test_a_runs_status_only_moves_forward(two_stations, end):
    store, alpha_url, _, _ = two_stations
    with station_conn(alpha_url) as alpha:
        run = insert_run(alpha, insert_build(alpha, LAYERS))
        alpha.execute("UPDATE solidstack.runs SET status = %s, ended_utc = '2026-12-01T12:00:00Z', n_samples = 10"
                      " WHERE uuid = %s", (end, run))
        # a replayed older update (the run still running) or another end: silently kept as it was,
        # while the other columns still take the update
        for status, ended in (("running", None), ("completed" if end != "completed" else "aborted", "later")):
            alpha.execute("UPDATE solidstack.runs SET status = %s, ended_utc = %s, n_samples = n_samples + 1"
                          " WHERE uuid = %s", (status, ended, run))
        assert alpha.execute("SELECT status, ended_utc, n_samples FROM solidstack.runs").fetchone() == (
            end, "2026-12-01T12:00:00Z", 12)


def test_a_role_of_another_group_cannot_log_in_without_its_password(two_stations):
    """The server checks the password (scram-sha-256): a role with no .pgpass line is refused."""
    from lab.admin import add_station
    from lab.connection import LabError
    store = two_stations[0]
    role = add_station(store.url, "gamma", password="not-in-pgpass")
    with pytest.raises(LabError, match="asks a password") as caught:
        connect(store.url_for(role))
    assert "not-in-pgpass" not in str(caught.value)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(store.url_for(role), password="wrong", connect_timeout=5).close()
