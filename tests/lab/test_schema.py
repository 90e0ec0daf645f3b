"""The lab store's schema (lab/schema.py) on a real PostgreSQL server: made on an empty
database, unchanged when made again or by two stations at once, refused (nothing changed)
where it must be; its views checked against figures worked out by hand from hand-inserted rows."""
from __future__ import annotations

import threading

import pytest
from psycopg import errors, sql

from lab.connection import LabError, connect
from lab.schema import LAB_SCHEMA_VERSION, READER_GROUP, STATION_GROUP, VIEWS, init_lab, migrate
from lab_rows import insert_build, insert_run, insert_steps, new_uuid

TABLES = {"lab_meta", "stations", "materials", "builds", "build_layers", "protocols", "runs", "sample_chunks",
          "run_steps", "events", "spectra", "spectrum_points", "notes", "build_tags", "run_tags", "operators",
          "material_lots", "run_outcomes", "build_layout"}


def catalog_state(conn) -> dict:
    """Everything migrate() makes, as comparable values: relations with their ACLs, columns,
    policies, triggers, the group roles, the database's ACL and the stored rows of metadata."""
    q = conn.execute
    return {
        "relations": q("SELECT c.relname, c.relkind, c.relacl::text, c.relrowsecurity FROM pg_class c"
                       " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'solidstack'"
                       " ORDER BY 1").fetchall(),
        "columns": q("SELECT table_name, column_name, data_type, is_nullable, column_default"
                     " FROM information_schema.columns WHERE table_schema = 'solidstack' ORDER BY 1, 2").fetchall(),
        "column_acl": q("SELECT c.relname, a.attname, a.attacl::text FROM pg_attribute a JOIN pg_class c"
                        " ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
                        " WHERE n.nspname = 'solidstack' AND a.attacl IS NOT NULL ORDER BY 1, 2").fetchall(),
        "policies": q("SELECT tablename, policyname, cmd, roles::text, qual, with_check FROM pg_policies"
                      " WHERE schemaname = 'solidstack' ORDER BY 1, 2").fetchall(),
        "triggers": q("SELECT tgname, tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1").fetchall(),
        "views": q("SELECT viewname, definition FROM pg_views WHERE schemaname = 'solidstack' ORDER BY 1").fetchall(),
        "schema_acl": q("SELECT nspacl::text FROM pg_namespace WHERE nspname = 'solidstack'").fetchall(),
        "database_acl": q("SELECT datacl::text FROM pg_database WHERE datname = current_database()").fetchall(),
        "roles": q("SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'solidstack%' ORDER BY 1").fetchall(),
        "meta": q("SELECT key, value, xmin::text FROM solidstack.lab_meta ORDER BY 1").fetchall(),
        "materials": q("SELECT key, label, kind, xmin::text FROM solidstack.materials ORDER BY 1").fetchall(),
    }


def test_init_on_an_empty_database_makes_tables_views_roles(pg_database):
    assert init_lab(pg_database.url) == LAB_SCHEMA_VERSION
    with pg_database.connect() as conn:
        state = catalog_state(conn)
    relations = {name: kind for name, kind, _, _ in state["relations"] if kind in ("r", "v")}
    assert {n for n, k in relations.items() if k == "r"} == TABLES
    assert {n for n, k in relations.items() if k == "v"} == {*VIEWS, "build_layout_source"}
    assert state["meta"][0][:2] == ("schema_version", str(LAB_SCHEMA_VERSION))
    assert state["roles"] == [(READER_GROUP, False), (STATION_GROUP, False)]
    secured = {name for name, kind, _, rls in state["relations"] if kind == "r" and rls}
    assert secured == TABLES - {"lab_meta", "materials", "build_layout"}
    # the shipped catalog's kinds: what the views tell an interlayer by
    kinds = {key: kind for key, _, kind, _ in state["materials"]}
    assert kinds["AgC"] == "interlayer" and kinds["LPSCl"] == "electrolyte" and kinds["Li"] == "anode"


def test_init_again_changes_nothing(pg_database):
    init_lab(pg_database.url)
    with pg_database.connect() as conn:
        before = catalog_state(conn)
    assert init_lab(pg_database.url) == LAB_SCHEMA_VERSION
    with pg_database.connect() as conn:
        assert catalog_state(conn) == before


def test_init_again_rewrites_no_row_of_a_store_in_use(two_stations):
    store, alpha_url, _, _ = two_stations
    with connect(alpha_url, autocommit=True) as alpha:
        insert_run(alpha, insert_build(alpha, [("Li", 30.0, ""), ("AgC", 5.0, "S3")]))
    versions = ("SELECT (SELECT string_agg(xmin::text, ',') FROM solidstack.build_layout),"
                " (SELECT string_agg(xmin::text, ',') FROM solidstack.stations),"
                " (SELECT string_agg(xmin::text, ',') FROM solidstack.builds)")
    with store.connect() as conn:
        before = catalog_state(conn), conn.execute(versions).fetchone()
    assert init_lab(store.url) == LAB_SCHEMA_VERSION
    with store.connect() as conn:
        assert (catalog_state(conn), conn.execute(versions).fetchone()) == before


def test_two_stations_initialising_at_once_both_succeed_once(pg_database):
    """Two connections migrate the same empty database at the same moment: the advisory
    lock makes the second wait and then find the work done."""
    results, failures = [], []
    start = threading.Barrier(2)

    def initialise():
        try:
            conn = connect(pg_database.url)
            try:
                start.wait(5)
                results.append(migrate(conn))
            finally:
                conn.close()
        except Exception as exc:   # noqa: BLE001  (reported to the test below, not hidden)
            failures.append(exc)

    threads = [threading.Thread(target=initialise) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert failures == [] and results == [LAB_SCHEMA_VERSION] * 2
    with pg_database.connect() as conn:
        assert conn.execute("SELECT count(*) FROM solidstack.lab_meta").fetchone()[0] == 1


def test_a_newer_schema_is_refused_and_left_alone(lab_store):
    with lab_store.connect() as conn:
        conn.execute("UPDATE solidstack.lab_meta SET value = %s WHERE key = 'schema_version'",
                     (str(LAB_SCHEMA_VERSION + 1),))
        before = catalog_state(conn)
    newer = rf"version {LAB_SCHEMA_VERSION + 1}, newer than this SolidStack understands \({LAB_SCHEMA_VERSION}\)"
    with pytest.raises(LabError, match=newer):
        init_lab(lab_store.url)
    with lab_store.connect() as conn:
        assert catalog_state(conn) == before


def test_a_solidstack_schema_that_is_not_ours_is_refused(pg_database):
    with pg_database.connect() as conn:
        conn.execute("CREATE SCHEMA solidstack")
        conn.execute("CREATE TABLE solidstack.things (x int)")
    with pytest.raises(LabError, match="not a SolidStack lab store"):
        init_lab(pg_database.url)
    with pg_database.connect() as conn:
        tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'solidstack'").fetchall()
        assert tables == [("things",)]
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'solidstack%'").fetchone()[0] == 0


def test_a_role_that_may_not_create_roles_is_refused_with_nothing_made(pg_database):
    with pg_database.connect() as conn:
        conn.execute("CREATE ROLE plain LOGIN PASSWORD 'plain-pw'")
        conn.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO plain").format(sql.Identifier(pg_database.name)))
    pg_database.server.add_password("plain", "plain-pw", pg_database.name)
    with pytest.raises(LabError, match="'plain' may not set up the lab store: it needs to be a superuser") as caught:
        init_lab(pg_database.url_for("plain"))
    assert "plain-pw" not in str(caught.value)
    with pg_database.connect() as conn:
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'solidstack'").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'solidstack%'").fetchone()[0] == 0


def test_a_managed_servers_admin_role_sets_up_the_store_and_adds_stations(pg_database):
    """As on a managed server (RDS, Azure, Cloud SQL): the admin is no superuser but has
    CREATEROLE and CREATE on the database; row-level security still binds the stations."""
    from lab.admin import add_station
    with pg_database.connect() as conn:
        conn.execute("CREATE ROLE managed LOGIN CREATEROLE PASSWORD 'managed-pw'")
        conn.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO managed").format(sql.Identifier(pg_database.name)))
    pg_database.server.add_password("managed", "managed-pw", pg_database.name)
    admin_url = pg_database.url_for("managed")
    assert init_lab(admin_url) == LAB_SCHEMA_VERSION
    assert init_lab(admin_url) == LAB_SCHEMA_VERSION
    role = add_station(admin_url, "alpha", password="alpha-pw")
    pg_database.server.add_password(role, "alpha-pw", pg_database.name)
    with connect(pg_database.url_for(role), autocommit=True) as alpha:
        build = insert_build(alpha, [("Li", 30.0, "")])
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            alpha.execute("INSERT INTO solidstack.builds (uuid, station, created_utc) VALUES (%s, 'managed', 'x')",
                          (new_uuid(),))
    with pg_database.connect("managed") as conn:
        assert conn.execute("SELECT uuid::text, station FROM solidstack.builds").fetchall() == [(build, role)]


# -- the views, against rows written by hand and figures worked out by hand --
def test_lab_runs_describes_the_build_behind_each_run(two_stations):
    store, alpha_url, beta_url, _ = two_stations
    with connect(alpha_url, autocommit=True) as alpha:
        # bottom to top: Li 30 | LPSCl 600 (lot E7) | Ag-C 5 (lot S3) | Cu 10; a second interlayer, C 2.5
        build = insert_build(alpha, [("Li", 30.0, "L1"), ("LPSCl", 600.0, "E7"), ("AgC", 5.0, "S3"),
                                     ("C", 2.5, ""), ("Cu", 10.0, "")], name="agc-1", pressure_mpa=7.5)
        run = insert_run(alpha, build, local_id=42)
        alpha.execute("INSERT INTO solidstack.events (uuid, run_uuid, kind, severity, message) VALUES"
                      " (%s, %s, 'hard_short', 'alarm', 'V fell'), (%s, %s, 'notice', 'info', 'x')",
                      (new_uuid(), run, new_uuid(), run))
        alpha.execute("INSERT INTO solidstack.run_outcomes (run_uuid, t_short_h, n_cycles) VALUES (%s, 9.5, 3)", (run,))
    with connect(beta_url, autocommit=True) as beta:
        plain = insert_run(beta, insert_build(beta, [("Li", 30.0, ""), ("LPSCl", 600.0, "E8"), ("Li", 30.0, "")]))
        bare = insert_run(beta, None, local_id=2)
        rows = {r[0]: r for r in beta.execute(
            "SELECT uuid::text, station, station_role, local_id, build_name, stack_pressure_mpa, has_interlayer,"
            " interlayer_um, layers, lots, electrolyte_lot, n_events, t_short_h, n_cycles FROM solidstack.lab_runs")}
    assert rows[run][1:] == ("alpha", "station_alpha", 42, "agc-1", 7.5, True, 7.5,
                             "Li 30 µm | LPSCl 600 µm | Ag-C 5 µm | C 2.5 µm | Cu 10 µm",
                             "Li:L1, LPSCl:E7, AgC:S3", "E7", 2, 9.5, 3)
    assert rows[plain][1:] == ("beta", "station_beta", 1, "cell 1", 5.0, False, 0.0,
                               "Li 30 µm | LPSCl 600 µm | Li 30 µm", "LPSCl:E8", "E8", 0, None, None)
    assert rows[bare][4:] == (None,) * 7 + (0, None, None)


def test_a_builds_layout_follows_its_layers_as_a_sync_rewrites_them(two_stations):
    """build_layout (behind lab_runs' layer columns) is kept by the server: on insert, on an
    upsert that changes a layer, for a build with no layers yet; stations cannot write it."""
    store, alpha_url, _, _ = two_stations
    with connect(alpha_url, autocommit=True) as alpha:
        bare = insert_build(alpha, [])
        build = insert_build(alpha, [("Li", 30.0, ""), ("LPSCl", 600.0, "E7"), ("Li", 30.0, "")])
        layout = "SELECT has_interlayer, interlayer_um, layers, lots, electrolyte_lot FROM solidstack.build_layout" \
                 " WHERE build_uuid = %s"
        assert alpha.execute(layout, (bare,)).fetchone() == (False, 0.0, None, None, None)
        assert alpha.execute(layout, (build,)).fetchone() == (
            False, 0.0, "Li 30 µm | LPSCl 600 µm | Li 30 µm", "LPSCl:E7", "E7")
        with alpha.cursor() as cur:          # a sync sending the layers again, one now Ag-C on lot S2
            cur.executemany("INSERT INTO solidstack.build_layers (build_uuid, position, material, thickness_um, lot)"
                            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (build_uuid, position) DO UPDATE SET"
                            " material = EXCLUDED.material, thickness_um = EXCLUDED.thickness_um, lot = EXCLUDED.lot",
                            [(build, 1, "LPSCl", 600.0, "E8"), (build, 2, "AgC", 10.0, "S2"), (build, 3, "Cu", 8, "")])
        assert alpha.execute(layout, (build,)).fetchone() == (
            True, 10.0, "Li 30 µm | LPSCl 600 µm | Ag-C 10 µm | Cu 8 µm", "LPSCl:E8, AgC:S2", "E8")
        for statement in ("UPDATE solidstack.build_layout SET has_interlayer = true",
                          "INSERT INTO solidstack.build_layout VALUES (gen_random_uuid(), true, 1, 'x', 'y', 'z')",
                          "SELECT solidstack.refresh_build_layout(NULL)"):
            with pytest.raises(errors.InsufficientPrivilege):
                alpha.execute(statement)


def test_lab_cycles_sums_charge_ce_and_energy_per_cycle(two_stations):
    store, alpha_url, _, _ = two_stations
    steps = [  # (step, cycle, current A, charge mAh, mean V)
        (0, 1, 0.0, 0.0, 3.0),          # rest: no charge
        (1, 1, 1e-3, 1.00, 3.8),        # charge
        (2, 1, -1e-3, 0.90, 3.6),       # discharge
        (3, 2, 1e-3, 0.80, 3.9),        # CC charge
        (4, 2, 2e-4, 0.15, 4.2),        # CV tail, still charging
        (5, 2, -1e-3, 0.90, 3.5),
        (6, 3, 1e-3, 0.50, None),       # no mean voltage: energy unknown, not 0
    ]
    with connect(alpha_url, autocommit=True) as alpha:
        run = insert_run(alpha, insert_build(alpha, [("Li", 30.0, "")]))
        insert_steps(alpha, run, steps)
        rows = alpha.execute("SELECT station, cycle, charge_mah, discharge_mah, ce_pct, charge_mwh, discharge_mwh,"
                             " t_start, t_end FROM solidstack.lab_cycles WHERE run_uuid = %s ORDER BY cycle",
                             (run,)).fetchall()
    # by hand: cycle 1 CE 0.90 / 1.00; energy mAh x V. Cycle 2: 0.80 + 0.15 charged,
    # 0.80 x 3.9 + 0.15 x 4.2 = 3.12 + 0.63 mWh.
    expected = [("alpha", 1, 1.00, 0.90, 90.0, 3.8, 3.24, 0.0, 290.0),
                ("alpha", 2, 0.95, 0.90, 100 * 0.90 / 0.95, 3.75, 3.15, 300.0, 590.0),
                ("alpha", 3, 0.50, 0.0, 0.0, None, 0.0, 600.0, 690.0)]
    assert len(rows) == 3
    for got, want in zip(rows, expected):
        assert got[:2] == want[:2]
        assert [g is None for g in got] == [w is None for w in want]
        assert [g for g in got[2:] if g is not None] == pytest.approx([w for w in want[2:] if w is not None], rel=1e-12)


def test_lab_cycles_has_no_ce_where_nothing_was_charged(two_stations):
    store, alpha_url, _, _ = two_stations
    with connect(alpha_url, autocommit=True) as alpha:
        run = insert_run(alpha, None)
        insert_steps(alpha, run, [(0, 1, -1e-3, 0.4, 3.0)])     # stripping first: discharge only
        assert alpha.execute("SELECT charge_mah, discharge_mah, ce_pct FROM solidstack.lab_cycles").fetchone() == (
            0.0, 0.4, None)


def test_lab_events_names_station_run_and_build(two_stations):
    store, alpha_url, beta_url, reader_url = two_stations
    with connect(alpha_url, autocommit=True) as alpha:
        build = insert_build(alpha, [("Li", 30.0, "")], name="sym-3")
        run = insert_run(alpha, build, local_id=7, status="shorted")
        event = new_uuid()
        alpha.execute("INSERT INTO solidstack.events (uuid, run_uuid, t_s, sample_index, kind, severity, message,"
                      " evidence_json, acknowledged_utc, acknowledged_by) VALUES (%s, %s, 34200.5, 1234, 'hard_short',"
                      " 'alarm', 'V fell to 0.1 mV', '{\"dv\": -0.02}', '2026-12-01T12:00:00Z', 'AB')", (event, run))
    with connect(reader_url, autocommit=True) as reader:
        row = reader.execute("SELECT uuid::text, run_uuid::text, station, station_role, t_s, sample_index, kind,"
                             " severity, message, evidence_json, acknowledged_utc, acknowledged_by, run_local_id,"
                             " run_status, build_uuid::text, build_name FROM solidstack.lab_events").fetchall()
    assert row == [(event, run, "alpha", "station_alpha", 34200.5, 1234, "hard_short", "alarm", "V fell to 0.1 mV",
                    {"dv": -0.02}, "2026-12-01T12:00:00Z", "AB", 7, "shorted", build, "sym-3")]


# -- version 2: samples compressed by lz4 --
def _chunk(conn, run_uuid: str, first: int, data: bytes) -> None:
    conn.execute("INSERT INTO solidstack.sample_chunks (run_uuid, first_index, n, t_first, t_last, data)"
                 " VALUES (%s, %s, 1, 0, 0, %s)", (run_uuid, first, data))


def _compression(conn) -> tuple[str, list]:
    """(the column's setting: 'l' lz4, 'p' pglz, '' the server's default; how each stored chunk is compressed)."""
    column = conn.execute("SELECT attcompression::text FROM pg_attribute"
                          " WHERE attrelid = 'solidstack.sample_chunks'::regclass AND attname = 'data'").fetchone()[0]
    chunks = conn.execute("SELECT first_index, pg_column_compression(data) FROM solidstack.sample_chunks"
                          " ORDER BY first_index").fetchall()
    return column, chunks


def _server_built_with_lz4(server) -> bool:
    """Independently of the server's settings: how its binaries were configured."""
    import subprocess
    configure = subprocess.run([str(server.bin / "pg_config"), "--configure"], capture_output=True, text=True,
                               check=True).stdout
    return "--with-lz4" in configure


COMPRESSIBLE = bytes(range(64)) * 1024       # 64 kB, far above the 2 kB where PostgreSQL starts compressing


def test_sample_chunks_are_compressed_by_lz4_on_this_server(lab_store):
    from lab.schema import lz4_available
    assert _server_built_with_lz4(lab_store.db.server)     # Debian's PostgreSQL 15 is: else this test says so
    alpha = lab_store.add_station("alpha")
    with connect(alpha, autocommit=True) as conn:
        assert lz4_available(conn)
        _chunk(conn, insert_run(conn, insert_build(conn, [("Li", 30.0, "")])), 0, COMPRESSIBLE)
        assert _compression(conn) == ("l", [(0, "lz4")])
        assert conn.execute("SELECT data FROM solidstack.sample_chunks").fetchone()[0] == COMPRESSIBLE


def test_a_version_1_store_migrates_to_2_keeping_its_samples(pg_database, monkeypatch):
    import lab.schema
    assert LAB_SCHEMA_VERSION == 2
    monkeypatch.setattr(lab.schema, "LAB_SCHEMA_VERSION", 1)     # this build as it was before version 2
    assert init_lab(pg_database.url) == 1
    monkeypatch.undo()
    with pg_database.connect() as conn:
        run = insert_run(conn, insert_build(conn, [("Li", 30.0, "")]))
        _chunk(conn, run, 0, COMPRESSIBLE)
        assert _compression(conn) == ("", [(0, "pglz")])       # version 1: the server's default
        before = conn.execute("SELECT xmin::text FROM solidstack.sample_chunks").fetchone()
    assert init_lab(pg_database.url) == 2
    with pg_database.connect() as conn:
        assert conn.execute("SELECT value FROM solidstack.lab_meta WHERE key = 'schema_version'").fetchone() == ("2",)
        _chunk(conn, run, 1, COMPRESSIBLE[::-1])
        # what was there stays as it was (not rewritten); what comes now is lz4; both read back whole
        assert _compression(conn) == ("l", [(0, "pglz"), (1, "lz4")])
        first = conn.execute("SELECT xmin::text FROM solidstack.sample_chunks WHERE first_index = 0").fetchone()
        assert first == before
        assert [r[0] for r in conn.execute("SELECT data FROM solidstack.sample_chunks ORDER BY first_index")] == [
            COMPRESSIBLE, COMPRESSIBLE[::-1]]
        state = catalog_state(conn)
    assert init_lab(pg_database.url) == 2
    with pg_database.connect() as conn:
        assert catalog_state(conn) == state and _compression(conn)[0] == "l"


def test_a_server_without_lz4_gets_version_2_with_its_default_compression(pg_database, monkeypatch):
    """No server built without lz4 runs here: the check is replaced by its answer on one."""
    import lab.schema
    monkeypatch.setattr(lab.schema, "lz4_available", lambda conn: False)
    assert init_lab(pg_database.url) == 2
    with pg_database.connect() as conn:
        assert _compression(conn) == ("", [])
        assert conn.execute("SELECT value FROM solidstack.lab_meta WHERE key = 'schema_version'").fetchone() == ("2",)
