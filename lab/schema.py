"""The lab store's schema `solidstack`: tables, group roles, grants, row-level security, the
forward-only run status and the analysts' views (lab_runs, lab_cycles, lab_events).

`migrate(conn)` takes a database from whatever version it holds (none, or an older one) to
LAB_SCHEMA_VERSION in one transaction under an advisory lock, so two stations initialising
at once do it once; run again it changes nothing. The version lives in
solidstack.lab_meta (key 'schema_version'). A schema newer than this build, or a `solidstack`
schema that is not ours, is refused with nothing changed. Versions: 1, the tables, roles,
policies and views below; 2, samples (sample_chunks.data) compressed by lz4 where the server
has it.

Who may do what is enforced by the server, not by SolidStack:
- solidstack_station (group of every station's login role): SELECT on everything; INSERT and
  UPDATE on the data tables, row-level security letting a row be written only when its
  `station` is the writer's own role (and a chunk, step, layer, event, spectrum or outcome
  only on the writer's own run or build); notes and tags may name any station's build or run.
  Nobody but the admin may DELETE.
- solidstack_reader: SELECT only.
The views run with their owner's rights (PostgreSQL 14 has no security_invoker views); every
row is readable by both groups anyway, so they show nothing a role could not read itself.
lab_runs reads a build's layers summed up in build_layout, which the server keeps itself
(statement triggers on builds and build_layers, running as the schema's owner), so that a search
over 100 k runs by lot or interlayer does not aggregate every build's layers each time. What
counts as an interlayer or an electrolyte comes from solidstack.materials, seeded from this
build's materials catalog by every `lab init`.

Note for writers: PostgreSQL refuses COPY FROM into a table with row-level security; bulk
writes go through INSERT (e.g. executemany in a pipeline, or COPY into a TEMP table, then
INSERT ... SELECT).
"""
from __future__ import annotations

import psycopg
from psycopg import sql

from lab.connection import LabError, connect, describe

SCHEMA = "solidstack"
LAB_SCHEMA_VERSION = 2
STATION_GROUP = "solidstack_station"
READER_GROUP = "solidstack_reader"
# pg_advisory_xact_lock key: 'SSLB' as a 32-bit number, one lock for every migration.
ADVISORY_LOCK_KEY = 0x53534C42

# -- version 1 --
_TABLES_V1 = """
CREATE TABLE solidstack.lab_meta (
    key text PRIMARY KEY,
    value text NOT NULL
);
-- a row per login role made by `lab add-station` / `lab add-reader`; a station sets its
-- own uuid (the notebook's station identity) at its first sync
CREATE TABLE solidstack.stations (
    role name PRIMARY KEY,
    name text UNIQUE NOT NULL,
    uuid uuid UNIQUE,
    created_utc text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('station', 'reader'))
);
-- the materials catalog's kinds and labels (cell/materials.py), so that the views can tell
-- an interlayer or an electrolyte from a material key; `lab init` adds what it lacks
CREATE TABLE solidstack.materials (
    key text PRIMARY KEY,
    label text NOT NULL,
    kind text NOT NULL
);
CREATE TABLE solidstack.builds (
    uuid uuid PRIMARY KEY,
    station name NOT NULL DEFAULT current_user,
    station_uuid uuid,
    local_id bigint,
    created_utc text NOT NULL,
    name text NOT NULL DEFAULT '',
    template text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    operator text NOT NULL DEFAULT '',
    area_cm2 float8,
    stack_pressure_mpa float8,
    densification_pressure_mpa float8,
    temperature_c float8,
    notes text NOT NULL DEFAULT '',
    stack_json jsonb
);
CREATE INDEX builds_station ON solidstack.builds (station);
CREATE TABLE solidstack.build_layers (
    build_uuid uuid NOT NULL REFERENCES solidstack.builds (uuid),
    position integer NOT NULL,          -- 0 = bottom of the stack
    material text NOT NULL,
    thickness_um float8,
    areal_mass_mg_cm2 float8,
    lot text NOT NULL DEFAULT '',
    station name NOT NULL DEFAULT current_user,
    PRIMARY KEY (build_uuid, position)
);
CREATE INDEX build_layers_lot ON solidstack.build_layers (material, lot);
-- a build's layers summed up for lab_runs, kept by a trigger on build_layers: searching 100 k
-- runs by lot or interlayer must not aggregate every build's layers each time
CREATE TABLE solidstack.build_layout (
    build_uuid uuid PRIMARY KEY REFERENCES solidstack.builds (uuid) ON DELETE CASCADE,
    has_interlayer boolean NOT NULL,
    interlayer_um float8 NOT NULL,
    layers text,                        -- bottom to top: 'Li 30 µm | LPSCl 600 µm | ...'
    lots text,                          -- 'material:lot, ...' of the layers that name a lot
    electrolyte_lot text
);
CREATE INDEX build_layout_electrolyte_lot ON solidstack.build_layout (electrolyte_lot);
CREATE TABLE solidstack.protocols (
    uuid uuid PRIMARY KEY,
    station name NOT NULL DEFAULT current_user,
    name text NOT NULL,
    version integer,
    protocol_json jsonb,
    created_utc text
);
CREATE TABLE solidstack.runs (
    uuid uuid PRIMARY KEY,
    station name NOT NULL DEFAULT current_user,
    station_uuid uuid,
    local_id bigint,
    build_uuid uuid REFERENCES solidstack.builds (uuid),
    protocol_uuid uuid REFERENCES solidstack.protocols (uuid),
    protocol text NOT NULL DEFAULT '',
    protocol_json jsonb,
    status text NOT NULL,
    started_utc text NOT NULL,
    ended_utc text,
    n_samples bigint NOT NULL DEFAULT 0,
    message text NOT NULL DEFAULT '',
    provenance_json jsonb,
    source text NOT NULL DEFAULT ''
);
CREATE INDEX runs_station ON solidstack.runs (station);
CREATE INDEX runs_build ON solidstack.runs (build_uuid);
CREATE INDEX runs_started ON solidstack.runs (started_utc);
-- samples as the notebook keeps them: SAMPLE_DTYPE records, little-endian (notebook/samples.py)
CREATE TABLE solidstack.sample_chunks (
    run_uuid uuid NOT NULL REFERENCES solidstack.runs (uuid),
    first_index bigint NOT NULL,
    n integer NOT NULL,
    t_first float8,
    t_last float8,
    data bytea NOT NULL,
    station name NOT NULL DEFAULT current_user,
    PRIMARY KEY (run_uuid, first_index)
);
CREATE TABLE solidstack.run_steps (
    run_uuid uuid NOT NULL REFERENCES solidstack.runs (uuid),
    step integer NOT NULL,
    cycle integer NOT NULL,
    label text NOT NULL DEFAULT '',
    current_a float8,
    t_start float8,
    t_end float8,
    n_samples bigint,
    charge_mah float8,                  -- integral of |I| dt
    v_mean float8,
    v_end float8,
    station name NOT NULL DEFAULT current_user,
    PRIMARY KEY (run_uuid, step)
);
CREATE TABLE solidstack.events (
    uuid uuid PRIMARY KEY,
    run_uuid uuid NOT NULL REFERENCES solidstack.runs (uuid),
    station name NOT NULL DEFAULT current_user,
    t_s float8,
    sample_index bigint,
    kind text NOT NULL,
    severity text NOT NULL DEFAULT '',
    message text NOT NULL DEFAULT '',
    evidence_json jsonb,
    acknowledged_utc text,
    acknowledged_by text
);
CREATE INDEX events_run ON solidstack.events (run_uuid);
CREATE TABLE solidstack.spectra (
    uuid uuid PRIMARY KEY,
    run_uuid uuid NOT NULL REFERENCES solidstack.runs (uuid),
    spectrum integer NOT NULL,
    t_s float8,
    step integer,
    cycle integer,
    amplitude_v float8,
    instrument text NOT NULL DEFAULT '',
    station name NOT NULL DEFAULT current_user,
    UNIQUE (run_uuid, spectrum)
);
CREATE TABLE solidstack.spectrum_points (
    spectrum_uuid uuid NOT NULL REFERENCES solidstack.spectra (uuid),
    point integer NOT NULL,
    freq_hz float8 NOT NULL,
    z_real_ohm float8 NOT NULL,
    z_imag_ohm float8 NOT NULL,
    flag text,
    station name NOT NULL DEFAULT current_user,
    PRIMARY KEY (spectrum_uuid, point)
);
-- appended by any station, on any station's build or run
CREATE TABLE solidstack.notes (
    uuid uuid PRIMARY KEY,
    station name NOT NULL DEFAULT current_user,
    station_uuid uuid,
    build_uuid uuid REFERENCES solidstack.builds (uuid),
    run_uuid uuid REFERENCES solidstack.runs (uuid),
    created_utc text NOT NULL,
    author text NOT NULL DEFAULT '',
    text text NOT NULL CHECK (length(btrim(text)) > 0),
    CHECK ((build_uuid IS NULL) <> (run_uuid IS NULL))
);
CREATE INDEX notes_build ON solidstack.notes (build_uuid);
CREATE INDEX notes_run ON solidstack.notes (run_uuid);
-- a tag removed at its station gets removed_utc: nothing is deleted in the lab
CREATE TABLE solidstack.build_tags (
    uuid uuid PRIMARY KEY,
    station name NOT NULL DEFAULT current_user,
    build_uuid uuid NOT NULL REFERENCES solidstack.builds (uuid),
    tag text NOT NULL CHECK (length(btrim(tag)) > 0),
    created_utc text NOT NULL,
    removed_utc text
);
CREATE INDEX build_tags_build ON solidstack.build_tags (build_uuid);
CREATE INDEX build_tags_tag ON solidstack.build_tags (tag);
CREATE TABLE solidstack.run_tags (
    uuid uuid PRIMARY KEY,
    station name NOT NULL DEFAULT current_user,
    run_uuid uuid NOT NULL REFERENCES solidstack.runs (uuid),
    tag text NOT NULL CHECK (length(btrim(tag)) > 0),
    created_utc text NOT NULL,
    removed_utc text
);
CREATE INDEX run_tags_run ON solidstack.run_tags (run_uuid);
CREATE INDEX run_tags_tag ON solidstack.run_tags (tag);
CREATE TABLE solidstack.operators (
    station name NOT NULL DEFAULT current_user,
    name text NOT NULL,
    full_name text NOT NULL DEFAULT '',
    created_utc text,
    PRIMARY KEY (station, name)
);
CREATE TABLE solidstack.material_lots (
    station name NOT NULL DEFAULT current_user,
    material text NOT NULL,
    lot text NOT NULL,
    supplier text NOT NULL DEFAULT '',
    received text NOT NULL DEFAULT '',
    notes text NOT NULL DEFAULT '',
    created_utc text,
    PRIMARY KEY (station, material, lot)
);
-- computed by the station (lab/outcomes.py) once a run has ended
CREATE TABLE solidstack.run_outcomes (
    run_uuid uuid PRIMARY KEY REFERENCES solidstack.runs (uuid),
    station name NOT NULL DEFAULT current_user,
    computed_utc text,
    r_int_ohm_cm2 float8,
    t_short_h float8,
    capacity_first_mah float8,
    capacity_n_mah float8,
    retention_cycle integer,
    retention_pct float8,
    ce_avg_pct float8,
    n_cycles integer,
    energy_wh_kg float8
);

-- what build_layout holds, worked out from the layers and the materials catalog
CREATE VIEW solidstack.build_layout_source AS
    SELECT b.uuid AS build_uuid,
           COALESCE(bool_or(m.kind = 'interlayer'), false) AS has_interlayer,
           COALESCE(sum(l.thickness_um) FILTER (WHERE m.kind = 'interlayer'), 0) AS interlayer_um,
           string_agg(COALESCE(m.label, l.material) || ' ' || trim_scale(l.thickness_um::numeric)::text || ' µm',
                      ' | ' ORDER BY l.position) AS layers,
           string_agg(l.material || ':' || l.lot, ', ' ORDER BY l.position) FILTER (WHERE l.lot <> '') AS lots,
           string_agg(l.lot, ', ' ORDER BY l.position) FILTER (WHERE m.kind = 'electrolyte' AND l.lot <> '')
               AS electrolyte_lot
    FROM solidstack.builds b
    LEFT JOIN solidstack.build_layers l ON l.build_uuid = b.uuid
    LEFT JOIN solidstack.materials m ON m.key = l.material
    GROUP BY b.uuid;
-- the layout of the builds in `targets` (every build when NULL); rows already right are left
-- alone, so that refreshing twice changes nothing
CREATE FUNCTION solidstack.refresh_build_layout(targets uuid[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO solidstack.build_layout AS o
        SELECT * FROM solidstack.build_layout_source s WHERE targets IS NULL
        UNION ALL
        SELECT * FROM solidstack.build_layout_source s WHERE s.build_uuid = ANY (targets)
    ON CONFLICT (build_uuid) DO UPDATE SET has_interlayer = EXCLUDED.has_interlayer,
        interlayer_um = EXCLUDED.interlayer_um, layers = EXCLUDED.layers, lots = EXCLUDED.lots,
        electrolyte_lot = EXCLUDED.electrolyte_lot
    WHERE (o.has_interlayer, o.interlayer_um, o.layers, o.lots, o.electrolyte_lot) IS DISTINCT FROM
          (EXCLUDED.has_interlayer, EXCLUDED.interlayer_um, EXCLUDED.layers, EXCLUDED.lots, EXCLUDED.electrolyte_lot);
END
$$;
REVOKE EXECUTE ON FUNCTION solidstack.refresh_build_layout(uuid[]) FROM PUBLIC;
-- runs as its owner: stations may not write build_layout themselves, only cause it to follow
-- their layers (one statement's rows at a time, however many layers a sync sends)
CREATE FUNCTION solidstack.build_layers_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM solidstack.refresh_build_layout(ARRAY(SELECT DISTINCT build_uuid FROM old_rows));
    ELSE
        PERFORM solidstack.refresh_build_layout(ARRAY(SELECT DISTINCT build_uuid FROM new_rows));
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION solidstack.build_layers_changed() FROM PUBLIC;
CREATE TRIGGER build_layers_inserted AFTER INSERT ON solidstack.build_layers
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION solidstack.build_layers_changed();
CREATE TRIGGER build_layers_updated AFTER UPDATE ON solidstack.build_layers
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION solidstack.build_layers_changed();
CREATE TRIGGER build_layers_deleted AFTER DELETE ON solidstack.build_layers
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION solidstack.build_layers_changed();
-- a build with no layers yet has a layout too (no interlayer, nothing to list)
CREATE FUNCTION solidstack.builds_inserted() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM solidstack.refresh_build_layout(ARRAY(SELECT uuid FROM new_rows));
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION solidstack.builds_inserted() FROM PUBLIC;
CREATE TRIGGER builds_inserted AFTER INSERT ON solidstack.builds
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION solidstack.builds_inserted();

-- a run's status moves only forward: from 'running' to anything; once ended, its status and
-- end time stay whatever an update says (silently: a replayed sync must never fail)
CREATE FUNCTION solidstack.runs_status_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'running' THEN
        NEW.status := OLD.status;
        NEW.ended_utc := OLD.ended_utc;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER runs_status_forward BEFORE UPDATE ON solidstack.runs
    FOR EACH ROW EXECUTE FUNCTION solidstack.runs_status_forward();
"""

# Data tables and who may write a row: the station's own role, and for rows that belong to
# a run or a build, only on its own run or build. Notes and tags may name anyone's.
_OWN = "station = current_user"
_OWN_RUN = ("EXISTS (SELECT 1 FROM solidstack.runs r WHERE r.uuid = run_uuid AND r.station = current_user)")
_OWN_BUILD = ("EXISTS (SELECT 1 FROM solidstack.builds b WHERE b.uuid = build_uuid AND b.station = current_user)")
_OWN_SPECTRUM = ("EXISTS (SELECT 1 FROM solidstack.spectra s WHERE s.uuid = spectrum_uuid "
                 "AND s.station = current_user)")
WRITE_CHECKS_V1 = {
    "builds": _OWN,
    "build_layers": f"{_OWN} AND {_OWN_BUILD}",
    "protocols": _OWN,
    "runs": _OWN,
    "sample_chunks": f"{_OWN} AND {_OWN_RUN}",
    "run_steps": f"{_OWN} AND {_OWN_RUN}",
    "events": f"{_OWN} AND {_OWN_RUN}",
    "spectra": f"{_OWN} AND {_OWN_RUN}",
    "spectrum_points": f"{_OWN} AND {_OWN_SPECTRUM}",
    "notes": _OWN,
    "build_tags": _OWN,
    "run_tags": _OWN,
    "operators": _OWN,
    "material_lots": _OWN,
    "run_outcomes": f"{_OWN} AND {_OWN_RUN}",
}

_VIEWS_V1 = """
-- a row per run: where it ran, what was built, its set-points, lots, tags and outcome figures
CREATE VIEW solidstack.lab_runs AS
    SELECT r.uuid, COALESCE(st.name, r.station::text) AS station, r.station AS station_role, r.station_uuid,
           r.local_id, r.status, r.started_utc, r.ended_utc, r.n_samples, r.protocol,
           p.version AS protocol_version, r.message, r.source,
           b.uuid AS build_uuid, b.name AS build_name, b.template, b.description, b.operator,
           b.area_cm2, b.stack_pressure_mpa, b.densification_pressure_mpa, b.temperature_c,
           lay.has_interlayer, lay.interlayer_um, lay.layers, lay.lots, lay.electrolyte_lot,
           (SELECT string_agg(t.tag, ', ' ORDER BY t.tag) FROM solidstack.run_tags t
             WHERE t.run_uuid = r.uuid AND t.removed_utc IS NULL) AS tags,
           (SELECT string_agg(t.tag, ', ' ORDER BY t.tag) FROM solidstack.build_tags t
             WHERE t.build_uuid = b.uuid AND t.removed_utc IS NULL) AS build_tags,
           (SELECT count(*) FROM solidstack.events e WHERE e.run_uuid = r.uuid) AS n_events,
           o.computed_utc, o.r_int_ohm_cm2, o.t_short_h, o.capacity_first_mah, o.capacity_n_mah,
           o.retention_cycle, o.retention_pct, o.ce_avg_pct, o.n_cycles, o.energy_wh_kg
    FROM solidstack.runs r
    LEFT JOIN solidstack.stations st ON st.role = r.station
    LEFT JOIN solidstack.builds b ON b.uuid = r.build_uuid
    LEFT JOIN solidstack.protocols p ON p.uuid = r.protocol_uuid
    LEFT JOIN solidstack.run_outcomes o ON o.run_uuid = r.uuid
    LEFT JOIN solidstack.build_layout lay ON lay.build_uuid = b.uuid;

-- per cycle: charge (current > 0) and discharge (current < 0) in mAh, CE = discharge / charge,
-- energy = sum over the cycle's steps of charge_mah x v_mean (mWh)
CREATE VIEW solidstack.lab_cycles AS
    SELECT s.run_uuid, COALESCE(st.name, r.station::text) AS station, s.cycle,
           sum(CASE WHEN s.current_a > 0 THEN s.charge_mah ELSE 0 END) AS charge_mah,
           sum(CASE WHEN s.current_a < 0 THEN s.charge_mah ELSE 0 END) AS discharge_mah,
           100.0 * sum(CASE WHEN s.current_a < 0 THEN s.charge_mah ELSE 0 END)
                 / NULLIF(sum(CASE WHEN s.current_a > 0 THEN s.charge_mah ELSE 0 END), 0) AS ce_pct,
           CASE WHEN bool_or(s.current_a > 0 AND s.v_mean IS NULL) THEN NULL
                ELSE sum(CASE WHEN s.current_a > 0 THEN s.charge_mah * s.v_mean ELSE 0 END) END AS charge_mwh,
           CASE WHEN bool_or(s.current_a < 0 AND s.v_mean IS NULL) THEN NULL
                ELSE sum(CASE WHEN s.current_a < 0 THEN s.charge_mah * s.v_mean ELSE 0 END) END AS discharge_mwh,
           min(s.t_start) AS t_start, max(s.t_end) AS t_end
    FROM solidstack.run_steps s
    JOIN solidstack.runs r ON r.uuid = s.run_uuid
    LEFT JOIN solidstack.stations st ON st.role = r.station
    GROUP BY s.run_uuid, st.name, r.station, s.cycle;

-- every alarm and notice, with its run's station and build
CREATE VIEW solidstack.lab_events AS
    SELECT e.uuid, e.run_uuid, COALESCE(st.name, e.station::text) AS station, e.station AS station_role,
           e.t_s, e.sample_index, e.kind, e.severity, e.message, e.evidence_json,
           e.acknowledged_utc, e.acknowledged_by,
           r.local_id AS run_local_id, r.status AS run_status, r.started_utc AS run_started_utc,
           b.uuid AS build_uuid, b.name AS build_name
    FROM solidstack.events e
    JOIN solidstack.runs r ON r.uuid = e.run_uuid
    LEFT JOIN solidstack.stations st ON st.role = e.station
    LEFT JOIN solidstack.builds b ON b.uuid = r.build_uuid;
"""

VIEWS = ("lab_runs", "lab_cycles", "lab_events")


def _policies(conn: psycopg.Connection, checks: dict[str, str]) -> None:
    """Row-level security on each data table: everyone reads every row; a station writes
    only rows that `checks[table]` allows (a literal SQL expression of this module)."""
    for table, check in checks.items():
        ident = sql.Identifier(SCHEMA, table)
        conn.execute(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(ident))
        conn.execute(sql.SQL("CREATE POLICY read_all ON {} FOR SELECT USING (true)").format(ident))
        conn.execute(sql.SQL("CREATE POLICY insert_own ON {} FOR INSERT TO {} WITH CHECK ({})").format(
            ident, sql.Identifier(STATION_GROUP), sql.SQL(check)))
        conn.execute(sql.SQL("CREATE POLICY update_own ON {} FOR UPDATE TO {} USING ({}) WITH CHECK ({})").format(
            ident, sql.Identifier(STATION_GROUP), sql.SQL(_OWN), sql.SQL(check)))
    stations = sql.Identifier(SCHEMA, "stations")
    conn.execute(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(stations))
    conn.execute(sql.SQL("CREATE POLICY read_all ON {} FOR SELECT USING (true)").format(stations))
    conn.execute(sql.SQL("CREATE POLICY set_own_uuid ON {} FOR UPDATE TO {} USING (role = current_user) "
                         "WITH CHECK (role = current_user)").format(stations, sql.Identifier(STATION_GROUP)))


def _migrate_to_1(conn: psycopg.Connection) -> None:
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCHEMA)))
    conn.execute(_TABLES_V1)
    _policies(conn, WRITE_CHECKS_V1)
    conn.execute(_VIEWS_V1)


# -- version 2 --
def lz4_available(conn: psycopg.Connection) -> bool:
    """Whether the server was built with lz4: then, and only then, `default_toast_compression`
    offers it (PostgreSQL 14+; a server built --without-lz4 lists pglz alone)."""
    row = conn.execute("SELECT 'lz4' = ANY (enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
                       ).fetchone()
    return bool(row and row[0])


def _migrate_to_2(conn: psycopg.Connection) -> None:
    """Samples compressed by lz4 rather than PostgreSQL's default pglz: pglz was most of the
    cost of draining a backlog (benchmarks/bench_lab_sync.py: a drain 4.6x faster with lz4).
    Applies to values written from now on (a v1 store's chunks stay pglz, and both read back
    alike). A server built without lz4 keeps its default: version 2 either way."""
    if lz4_available(conn):
        conn.execute("ALTER TABLE solidstack.sample_chunks ALTER COLUMN data SET COMPRESSION lz4")


MIGRATIONS = {1: _migrate_to_1, 2: _migrate_to_2}   # version -> what takes the previous version to it
DATA_TABLES = tuple(WRITE_CHECKS_V1)


# -- roles and grants: made whatever the version, each time (GRANT of what is granted is a no-op) --
def _role_exists(conn: psycopg.Connection, role: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None


def create_groups(conn: psycopg.Connection) -> None:
    """The two NOLOGIN group roles, where the server lacks them (roles are the server's, so
    another lab store on it may have made them already)."""
    for group in (STATION_GROUP, READER_GROUP):
        if not _role_exists(conn, group):
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(group)))


def grant_groups(conn: psycopg.Connection) -> None:
    """What the two groups may do in this database's `solidstack` schema."""
    schema = sql.Identifier(SCHEMA)
    both = sql.SQL(", ").join([sql.Identifier(STATION_GROUP), sql.Identifier(READER_GROUP)])
    station = sql.Identifier(STATION_GROUP)
    # PUBLIC has CONNECT and TEMP by default, but a managed server may have revoked them;
    # a station's sync may stage rows in a TEMP table (COPY FROM is refused under RLS)
    database = sql.Identifier(conn.execute("SELECT current_database()").fetchone()[0])
    conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(database, both))
    conn.execute(sql.SQL("GRANT TEMPORARY ON DATABASE {} TO {}").format(database, station))
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, both))
    conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(schema, both))
    tables = sql.SQL(", ").join(sql.Identifier(SCHEMA, t) for t in DATA_TABLES)
    conn.execute(sql.SQL("GRANT INSERT, UPDATE ON {} TO {}").format(tables, station))
    conn.execute(sql.SQL("GRANT UPDATE (uuid) ON {} TO {}").format(sql.Identifier(SCHEMA, "stations"), station))


def seed_materials(conn: psycopg.Connection) -> None:
    """The kinds and labels of this build's materials catalog that the store lacks."""
    from cell.materials import load_catalog
    rows = [(m.key, m.short, m.kind) for m in load_catalog().values()]
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO solidstack.materials (key, label, kind) VALUES (%s, %s, %s) "
                        "ON CONFLICT (key) DO NOTHING", rows)


# -- the version --
def stored_version(conn: psycopg.Connection) -> int | None:
    """The store's schema version; None when the database has no `solidstack` schema.
    LabError when a `solidstack` schema is there but is not a SolidStack lab store."""
    has_schema = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (SCHEMA,)).fetchone()
    if not has_schema:
        return None
    row = None
    if conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.lab_meta",)).fetchone()[0] is not None:
        row = conn.execute(sql.SQL("SELECT value FROM {} WHERE key = 'schema_version'").format(
            sql.Identifier(SCHEMA, "lab_meta"))).fetchone()
    if row is None or not str(row[0]).isdigit():
        raise LabError(f"the database {conn.info.dbname!r} has a schema {SCHEMA!r} that is not a SolidStack lab "
                       "store (no schema_version in solidstack.lab_meta): use another database, or drop that schema")
    return int(row[0])


def check_version(conn: psycopg.Connection) -> int:
    """The store's version, for a reader or a station: LabError when the database is not a
    lab store, or when its schema is newer than this build understands."""
    version = stored_version(conn)
    if version is None:
        raise LabError(f"the database {conn.info.dbname!r} on {conn.info.host}:{conn.info.port} is not a SolidStack "
                       "lab store yet: the lab admin sets it up with `lab init URL`")
    if version > LAB_SCHEMA_VERSION:
        raise LabError(f"the lab store's schema is version {version}, newer than this SolidStack understands "
                       f"({LAB_SCHEMA_VERSION}): update SolidStack")
    return version


def _check_rights(conn: psycopg.Connection) -> None:
    row = conn.execute("SELECT rolsuper, rolcreaterole, has_database_privilege(current_database(), 'CREATE') "
                       "FROM pg_roles WHERE rolname = current_user").fetchone()
    superuser, createrole, create_in_db = row if row else (False, False, False)
    if not superuser and not (createrole and create_in_db):
        raise LabError(f"the role {conn.info.user!r} may not set up the lab store: it needs to be a superuser, or "
                       "to have CREATEROLE and CREATE on the database (connect as the server's admin role)")


def migrate(conn: psycopg.Connection) -> int:
    """Create or bring the lab schema up to LAB_SCHEMA_VERSION, in one transaction under
    an advisory lock; return the version now stored. Idempotent: a store already at this
    version is left as it is. LabError (nothing changed) for a schema newer than this
    build, a `solidstack` schema that is not ours, or a role that may not do it."""
    return migrate_report(conn)[1]


def migrate_report(conn: psycopg.Connection) -> tuple[int | None, int]:
    """migrate(), returning (the version found, None for none; the version now stored)."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise ValueError("migrate() needs a connection with no transaction open")
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_LOCK_KEY,))
            version = stored_version(conn)
            if version is not None and version > LAB_SCHEMA_VERSION:
                raise LabError(f"the lab store's schema is version {version}, newer than this SolidStack "
                               f"understands ({LAB_SCHEMA_VERSION}): update SolidStack; nothing was changed")
            _check_rights(conn)
            create_groups(conn)          # first: the policies of a new schema name them
            start = version or 0
            for target in range(start + 1, LAB_SCHEMA_VERSION + 1):
                MIGRATIONS[target](conn)
                conn.execute(sql.SQL("INSERT INTO {} (key, value) VALUES ('schema_version', %s) "
                                     "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value").format(
                    sql.Identifier(SCHEMA, "lab_meta")), (str(target),))
            grant_groups(conn)
            seed_materials(conn)
            # a material new to the catalog may change what a build's layers say (rows already
            # right are not rewritten)
            conn.execute("SELECT solidstack.refresh_build_layout(NULL)")
            return version, LAB_SCHEMA_VERSION
    except psycopg.errors.InsufficientPrivilege as exc:
        raise LabError(f"the role {conn.info.user!r} lacks a right to set up the lab store "
                       f"({exc.diag.message_primary}); connect as the server's admin role; nothing was changed") from None


def init_lab(url: str) -> int:
    """`lab init URL`: connect as the lab admin and migrate; the version now stored."""
    return init_lab_report(url)[1]


def init_lab_report(url: str) -> tuple[int | None, int]:
    """init_lab(), returning (the version found, None for none; the version now stored)."""
    conn = connect(url, role_hint="lab admin")
    try:
        return migrate_report(conn)
    except psycopg.Error as exc:
        raise LabError(f"setting up the lab store at {describe(url)} failed: "
                       f"{exc.diag.message_primary or type(exc).__name__}; nothing was changed") from None
    finally:
        conn.close()
