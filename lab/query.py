"""Reading the lab store, for the browser's Lab scope and the command line's `--lab`: runs
(the `lab_runs` view, with the browser's filters plus station), stations, one run, its
cycles (`lab_cycles`) and events (`lab_events`), notes and tags; and the two things a
reader of the lab may add: a note or a tag on any station's build or run, written as the
current login (a station's or a desk station's; a reader login may only read).

Every read runs in a READ ONLY transaction; every value reaches the server as a query
parameter, never inside the SQL text. One connection is kept and opened again once when
it was lost (a server restart, a network blip); what still fails is a LabError whose
message names the store without any password.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import numpy as np
import psycopg
from psycopg.types.numeric import FloatLoader
from psycopg.types.string import TextLoader

from lab.connection import LabError, check_no_password, connect, describe, redact
from lab.schema import STATION_GROUP, check_version
from notebook.ids import is_uuid, uuid7
from notebook.samples import SAMPLE_DTYPE
from notebook.search import RunQuery, _like, _utc_text

DEFAULT_LIMIT = 1000        # rows a search returns unless told otherwise (the browser shows the newest)
KINDS = ("build", "run")    # what a note or a tag is on

T = TypeVar("T")


def check_uuid(text: object, what: str = "run") -> str:
    """`text` as a canonical lower-case UUID, or LabError naming it."""
    if not is_uuid(text):
        raise LabError(f"{str(text)[:80]!r} is not a {what} UUID (like 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b)")
    return str(text).lower()


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class LabReader:
    """The lab store at `url`, read (and annotated) as the login the URL names."""

    def __init__(self, url: str):
        check_no_password(url)      # refused before anything connects, and never kept with one
        self.url = url
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()   # the browser's worker threads share one reader

    # -- the connection --
    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> "LabReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def where(self) -> str:
        """role@host:port/db, for messages."""
        return describe(self.url)

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            conn = connect(self.url, role_hint="lab reader or station")
            try:
                check_version(conn)
                conn.rollback()     # check_version's reads opened a transaction
            except psycopg.Error as exc:
                conn.close()
                raise LabError(f"the lab store at {self.where} could not be read: {error_text(exc)}") from None
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _call(self, work: Callable[[psycopg.Connection], T], *, read_only: bool = True, what: str = "reading") -> T:
        """work(conn) in one transaction. A connection found lost is opened again and the
        work done once more (the writes here are idempotent: keyed by a UUID made before)."""
        with self._lock:
            for attempt in (1, 2):
                conn = self._connection()
                try:
                    with conn.transaction():
                        if read_only:
                            conn.execute("SET TRANSACTION READ ONLY")
                        return work(conn)
                except psycopg.OperationalError as exc:
                    broken = conn.closed or conn.broken
                    if broken:
                        conn.close()
                        self._conn = None
                    if attempt == 2 or not broken:
                        raise LabError(f"{what} the lab store at {self.where} failed: {error_text(exc)}") from None
                except psycopg.errors.InsufficientPrivilege as exc:
                    if read_only:
                        raise LabError(f"{what} the lab store at {self.where} was refused: {error_text(exc)}") from None
                    raise LabError(self._read_only_message(conn)) from None
                except psycopg.Error as exc:
                    raise LabError(f"{what} the lab store at {self.where} failed: {error_text(exc)}") from None
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _read_only_message(self, conn: psycopg.Connection) -> str:
        return (f"this login ({conn.info.user}) may only read the lab store at {self.where}: notes and tags are "
                "added from a station's login (the lab admin makes one with `lab add-station NAME`)")

    # -- reading --
    def runs(self, query: RunQuery | None = None, *, station: str | None = None, uuids: Iterable[str] | None = None,
             limit: int | None = DEFAULT_LIMIT, **criteria: Any) -> list[dict]:
        """`lab_runs` rows, newest first. Criteria as the notebook browser's (RunQuery:
        since, until, operator, template, material, lot, status, tag, text; given as a
        RunQuery or as keywords), plus `station` (its name or its login role) and `uuids`
        (these runs only). limit None: every match."""
        if query is not None and criteria:
            raise TypeError("give a RunQuery or criteria as keywords, not both")
        known = {f.name for f in fields(RunQuery)}
        unknown = set(criteria) - known
        if unknown:
            raise TypeError(f"unknown run criteria: {', '.join(sorted(unknown))}")
        q = query or RunQuery(**{k: ("" if v is None and k not in ("since", "until") else v)
                                 for k, v in criteria.items()})
        if limit is not None and limit < 1:
            raise LabError(f"a search limit must be 1 or more, got {limit}")
        # The runs are picked from the base tables first (each criterion a set of run or build
        # uuids an index or one scan finds), sorted and cut to the page; only then are the
        # view's columns (layers, tags, counts, outcomes) worked out, for the page's rows alone.
        # Each criterion matches exactly what the same test on the lab_runs row would.
        where, params = [], []
        if q.since is not None:
            where.append("r.started_utc >= %s")
            params.append(_utc_text(q.since))
        if q.until is not None:
            until = q.until if isinstance(q.until, datetime) else q.until + timedelta(days=1)
            where.append("r.started_utc < %s")      # ISO text sorts as time: before the next day
            params.append(_utc_text(until))
        if q.status:
            where.append("r.status = %s")
            params.append(q.status)
        build = []
        for column, value in (("operator", q.operator), ("template", q.template)):
            if value:
                build.append(f"b.{column} = %s")
                params.append(value)
        if build:
            where.append(f"r.build_uuid IN (SELECT b.uuid FROM solidstack.builds b WHERE {' AND '.join(build)})")
        if station:
            # lab_runs.station is the stations row's name, or the role where the role has none;
            # so: the roles of that name, and the role itself (a role name is < 64 bytes)
            where.append("r.station = ANY (ARRAY(SELECT s.role FROM solidstack.stations s WHERE s.name = %s"
                         " UNION ALL SELECT %s::name WHERE octet_length(%s) < 64))")
            params += [station, station, station]
        if q.material or q.lot:
            clause, values = _layer_builds(q.material, q.lot)
            where.append(f"r.build_uuid = ANY (ARRAY({clause}))")
            params += values
        if q.tag:
            where.append("(r.uuid IN (SELECT t.run_uuid FROM solidstack.run_tags t WHERE t.tag = %s"
                         " AND t.removed_utc IS NULL) OR r.build_uuid IN (SELECT t.build_uuid FROM"
                         " solidstack.build_tags t WHERE t.tag = %s AND t.removed_utc IS NULL))")
            params += [q.tag, q.tag]
        if q.text:
            clause, values = _text_clause(q.text)
            where.append(clause)
            params += values
        if uuids is not None:
            where.append("r.uuid = ANY(%s::uuid[])")
            params.append([check_uuid(u) for u in uuids])
        page = "SELECT r.uuid FROM solidstack.runs r"
        if where:
            page += " WHERE " + " AND ".join(where)
        page += " ORDER BY r.started_utc DESC, r.uuid DESC"
        if limit is not None:
            page += " LIMIT %s"
            params.append(int(limit))
        sql = (f"SELECT v.* FROM solidstack.lab_runs v WHERE v.uuid = ANY (ARRAY({page}))"
               " ORDER BY v.started_utc DESC, v.uuid DESC")
        return self._call(lambda conn: self._rows(conn, sql, params), what="searching")

    @staticmethod
    def _rows(conn: psycopg.Connection, sql: str, params: Iterable = ()) -> list[dict]:
        with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            # UUIDs as text and numerics as floats (what JSON and pandas want), made so as the
            # values are read: a thousand rows of forty columns looked at again in Python took
            # as long as the search itself
            cur.adapters.register_loader("uuid", TextLoader)
            cur.adapters.register_loader("numeric", FloatLoader)
            cur.execute(sql, list(params))
            return cur.fetchall()

    def stations(self) -> list[dict]:
        """Every login made by `lab add-station` / `add-reader`, with how many builds and runs
        each station has put in the lab."""
        return self._call(lambda conn: self._rows(conn, (
            "SELECT s.name, s.role::text AS role, s.kind, s.uuid, s.created_utc,"
            " (SELECT count(*) FROM solidstack.builds b WHERE b.station = s.role) AS n_builds,"
            " (SELECT count(*) FROM solidstack.runs r WHERE r.station = s.role) AS n_runs"
            " FROM solidstack.stations s ORDER BY s.name")))

    def run(self, run_uuid: str) -> dict:
        """The `lab_runs` row of one run; LabError naming it when the lab has none."""
        key = check_uuid(run_uuid)
        rows = self._call(lambda conn: self._rows(conn, "SELECT * FROM solidstack.lab_runs WHERE uuid = %s", [key]))
        if not rows:
            raise LabError(f"no run {key} in the lab store at {self.where}")
        return rows[0]

    def samples(self, run_uuid: str) -> np.ndarray:
        """Every sample of a lab run as one SAMPLE_DTYPE array (notebook/samples.py), read
        straight from its chunks up to the first one not in the lab yet: for a script or an
        analyst who wants the numbers without a cache notebook."""
        key = check_uuid(run_uuid)

        def work(conn):
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")   # the count and the chunks agree
            if conn.execute("SELECT 1 FROM solidstack.runs WHERE uuid = %s", (key,)).fetchone() is None:
                raise LabError(f"no run {key} in the lab store at {self.where}")
            total = conn.execute("SELECT COALESCE(sum(n), 0) FROM solidstack.sample_chunks WHERE run_uuid = %s",
                                 (key,)).fetchone()[0]
            out = np.empty(int(total), dtype=SAMPLE_DTYPE)
            raw, size, pos = out.view(np.uint8), SAMPLE_DTYPE.itemsize, 0
            with conn.cursor(name="samples", binary=True) as cur:    # bytea as bytes, a batch at a time
                cur.itersize = 32
                cur.execute("SELECT first_index, n, data FROM solidstack.sample_chunks WHERE run_uuid = %s"
                            " ORDER BY first_index", (key,))
                for first, n, data in cur:
                    if first * size != pos:
                        break           # a chunk its station has not sent yet: the samples before it
                    if len(data) != n * size:
                        raise LabError(f"run {key} in the lab is damaged: its sample chunk at index {first} holds "
                                       f"{len(data)} bytes for {n} samples")
                    raw[pos:pos + len(data)] = np.frombuffer(data, dtype=np.uint8)
                    pos += len(data)
            return out[:pos // size]
        return self._call(work, what="reading samples from")

    def cycles(self, run_uuids: Iterable[str]) -> list[dict]:
        """`lab_cycles` rows of these runs, by run then cycle."""
        keys = [check_uuid(u) for u in run_uuids]
        return self._call(lambda conn: self._rows(
            conn, "SELECT * FROM solidstack.lab_cycles WHERE run_uuid = ANY(%s::uuid[]) ORDER BY run_uuid, cycle",
            [keys]))

    def events(self, run_uuid: str) -> list[dict]:
        """`lab_events` rows of one run, in time order."""
        key = check_uuid(run_uuid)
        return self._call(lambda conn: self._rows(
            conn, "SELECT * FROM solidstack.lab_events WHERE run_uuid = %s ORDER BY t_s, uuid", [key]))

    def notes(self, kind: str | None = None, target_uuid: str | None = None, *, run_uuid: str | None = None,
              build_uuid: str | None = None) -> list[dict]:
        """Notes from every station on a build or a run (`kind`, `target_uuid`), or on a run
        and its build together (`run_uuid=`, `build_uuid=`), oldest first: uuid, station,
        created_utc, author, text, build_uuid, run_uuid."""
        where, params = self._targets(kind, target_uuid, run_uuid, build_uuid)
        return self._call(lambda conn: self._rows(
            conn, "SELECT n.uuid, COALESCE(s.name, n.station::text) AS station, n.created_utc, n.author, n.text,"
                  " n.build_uuid, n.run_uuid FROM solidstack.notes n"
                  " LEFT JOIN solidstack.stations s ON s.role = n.station"
                  f" WHERE {where} ORDER BY n.created_utc, n.uuid", params))

    def tags(self, kind: str | None = None, target_uuid: str | None = None, *, run_uuid: str | None = None,
             build_uuid: str | None = None) -> list[dict]:
        """The tags (not removed) a build or a run carries, or a run and its build together,
        sorted by tag: tag, station (who tagged), created_utc, build_uuid, run_uuid."""
        parts, values = [], []
        keys = dict(zip(("run", "build"), self._keys(kind, target_uuid, run_uuid, build_uuid)))
        for table, key in keys.items():
            if key is None:
                continue
            other = "NULL::uuid AS build_uuid, t.run_uuid" if table == "run" else "t.build_uuid, NULL::uuid AS run_uuid"
            parts.append(f"SELECT t.tag, COALESCE(s.name, t.station::text) AS station, t.created_utc, {other}"
                         f" FROM solidstack.{table}_tags t LEFT JOIN solidstack.stations s ON s.role = t.station"
                         f" WHERE t.{table}_uuid = %s AND t.removed_utc IS NULL")
            values.append(key)
        sql = " UNION ALL ".join(parts) + " ORDER BY tag, created_utc"
        return self._call(lambda conn: self._rows(conn, sql, values))

    @staticmethod
    def _keys(kind, target_uuid, run_uuid, build_uuid) -> tuple[str | None, str | None]:
        """(run uuid, build uuid) that notes or tags are asked of; at least one."""
        if kind is not None or target_uuid is not None:
            if run_uuid is not None or build_uuid is not None:
                raise TypeError("give kind and target_uuid, or run_uuid= and/or build_uuid=, not both")
            kind, key = _target(kind, target_uuid)
            return (key, None) if kind == "run" else (None, key)
        if run_uuid is None and build_uuid is None:
            raise TypeError("give kind and target_uuid, or run_uuid= and/or build_uuid=")
        return (None if run_uuid is None else check_uuid(run_uuid, "run"),
                None if build_uuid is None else check_uuid(build_uuid, "build"))

    def _targets(self, kind, target_uuid, run_uuid, build_uuid) -> tuple[str, list]:
        run, build = self._keys(kind, target_uuid, run_uuid, build_uuid)
        where = [f"n.{name}_uuid = %s" for name, key in (("run", run), ("build", build)) if key is not None]
        return "(" + " OR ".join(where) + ")", [key for key in (run, build) if key is not None]

    def vocabulary(self) -> dict[str, list[str]]:
        """What the Lab scope offers to filter by: values that occur in the lab."""
        def work(conn):
            def column(sql: str) -> list[str]:
                return [r[0] for r in conn.execute(sql)]
            return {
                "stations": column("SELECT name FROM solidstack.stations WHERE kind = 'station' ORDER BY 1"),
                "operators": column("SELECT DISTINCT operator FROM solidstack.builds WHERE operator <> '' ORDER BY 1"),
                "templates": column("SELECT DISTINCT template FROM solidstack.builds ORDER BY 1"),
                "materials": column("SELECT DISTINCT material FROM solidstack.build_layers ORDER BY 1"),
                "lots": column("SELECT DISTINCT lot FROM solidstack.build_layers WHERE lot <> '' ORDER BY 1"),
                "statuses": column("SELECT DISTINCT status FROM solidstack.runs ORDER BY 1"),
                "tags": column("SELECT tag FROM solidstack.run_tags WHERE removed_utc IS NULL UNION "
                               "SELECT tag FROM solidstack.build_tags WHERE removed_utc IS NULL ORDER BY 1"),
            }
        return self._call(work)

    # -- annotating --
    def add_note(self, kind: str, target_uuid: str, author: str, text: str) -> str:
        """A note on any station's build (`kind` 'build') or run ('run'), written as this
        login; its uuid. (kind and target may come in either order: one is 'build' or
        'run', the other a UUID.)"""
        kind, key = _target(kind, target_uuid)
        text = str(text).strip()
        if not text:
            raise LabError("a note needs some text")
        note = uuid7()

        def work(conn):
            self._require_writer(conn)
            self._require_target(conn, kind, key)
            conn.execute(
                "INSERT INTO solidstack.notes (uuid, station_uuid, build_uuid, run_uuid, created_utc, author, text)"
                " VALUES (%s, (SELECT uuid FROM solidstack.stations WHERE role = current_user), %s, %s, %s, %s, %s)"
                " ON CONFLICT (uuid) DO NOTHING",
                (note, key if kind == "build" else None, key if kind == "run" else None, utc_now(),
                 str(author).strip(), text))
            return note
        return self._call(work, read_only=False, what="adding a note to")

    def add_tag(self, kind: str, target_uuid: str, tag: str) -> str:
        """Tag any station's build or run as this login; the tag as stored (trimmed). A tag
        the target already carries is not added twice."""
        from notebook.errors import NotebookError
        from notebook.store import clean_tag
        kind, key = _target(kind, target_uuid)
        try:
            tag = clean_tag(tag)
        except NotebookError as exc:
            raise LabError(str(exc)) from None
        row = uuid7()

        def work(conn):
            self._require_writer(conn)
            self._require_target(conn, kind, key)
            if conn.execute(f"SELECT 1 FROM solidstack.{kind}_tags WHERE {kind}_uuid = %s AND tag = %s"
                            " AND removed_utc IS NULL", (key, tag)).fetchone() is None:
                conn.execute(f"INSERT INTO solidstack.{kind}_tags (uuid, {kind}_uuid, tag, created_utc)"
                             " VALUES (%s, %s, %s, %s) ON CONFLICT (uuid) DO NOTHING", (row, key, tag, utc_now()))
            return tag
        return self._call(work, read_only=False, what="tagging in")

    def _require_writer(self, conn: psycopg.Connection) -> None:
        member = conn.execute("SELECT pg_has_role(current_user, %s, 'MEMBER')", (STATION_GROUP,)).fetchone()[0]
        if not member:
            raise LabError(self._read_only_message(conn))

    def _require_target(self, conn: psycopg.Connection, kind: str, key: str) -> None:
        if conn.execute(f"SELECT 1 FROM solidstack.{kind}s WHERE uuid = %s", (key,)).fetchone() is None:
            raise LabError(f"no {kind} {key} in the lab store at {self.where}")


def _layer_builds(material: str, lot: str) -> tuple[str, list]:
    """SQL for the builds with a layer of `material` (when given) whose lot holds `lot` (when
    given, any case), and its parameters. A lab has few distinct (material, lot) pairs and
    many layers: the pairs are walked in the (material, lot) index one probe each, the few
    that match picked, and their layers found in that index, instead of testing every layer."""
    if not lot:
        return "SELECT l.build_uuid FROM solidstack.build_layers l WHERE l.material = %s", [material]
    if material:
        lots = ("WITH RECURSIVE lots (lot) AS ("
                "(SELECT l.lot FROM solidstack.build_layers l WHERE l.material = %s ORDER BY l.lot LIMIT 1)"
                " UNION ALL SELECT n.lot FROM lots p, LATERAL (SELECT l.lot FROM solidstack.build_layers l"
                " WHERE l.material = %s AND l.lot > p.lot ORDER BY l.lot LIMIT 1) n)"
                " SELECT p.lot FROM lots p WHERE p.lot ILIKE %s")
        return (f"SELECT l.build_uuid FROM solidstack.build_layers l WHERE l.material = %s"
                f" AND l.lot = ANY (ARRAY({lots}))"), [material, material, material, _like(lot)]
    # every layer whose material is one of M and lot one of L, where L are the lots that match
    # and M the materials that have one of them, is a layer whose lot matches: and all are
    pairs = ("WITH RECURSIVE pairs (material, lot) AS ("
             "(SELECT l.material, l.lot FROM solidstack.build_layers l ORDER BY l.material, l.lot LIMIT 1)"
             " UNION ALL SELECT n.material, n.lot FROM pairs p, LATERAL (SELECT l.material, l.lot"
             " FROM solidstack.build_layers l WHERE (l.material, l.lot) > (p.material, p.lot)"
             " ORDER BY l.material, l.lot LIMIT 1) n)"
             " SELECT array_agg(DISTINCT p.material), array_agg(DISTINCT p.lot) FROM pairs p WHERE p.lot ILIKE %s")
    return (f"SELECT l.build_uuid FROM ({pairs}) m (materials, lots), solidstack.build_layers l"
            " WHERE l.material = ANY (m.materials) AND l.lot = ANY (m.lots)"), [_like(lot)]


_UUID_DIGITS = "0123456789abcdef"
_UUID_LOW = "00000000-0000-0000-0000-000000000000"
_UUID_HIGH = "ffffffff-ffff-ffff-ffff-ffffffffffff"


def _uuid_prefix_range(prefix: str) -> tuple[str, str] | None:
    """The uuids whose canonical text starts with `prefix`, as an inclusive range (uuids sort
    as their lower-case hex text does), or None when no canonical uuid text starts so."""
    if len(prefix) > len(_UUID_LOW):
        return None
    for i, ch in enumerate(prefix):
        if (ch != "-") if _UUID_LOW[i] == "-" else (ch not in _UUID_DIGITS):
            return None
    return prefix + _UUID_LOW[len(prefix):], prefix + _UUID_HIGH[len(prefix):]


def _text_clause(text: str) -> tuple[str, list]:
    """SQL and parameters for the runs whose message, build's name or notes, or a note on the
    run or its build holds `text` (any case), or whose uuid starts with it (what lab_runs'
    columns and the notes say), as one set of run uuids: each part found by one scan or an
    index, not tested run by run in the order of the page."""
    pattern = _like(text)
    prefix = text.strip().lower()
    parts = ["SELECT t.uuid FROM solidstack.runs t WHERE t.message ILIKE %s"]
    values: list = [pattern]
    if any(ch in prefix for ch in "%_\\"):
        parts.append("SELECT t.uuid FROM solidstack.runs t WHERE t.uuid::text LIKE %s")   # its own wildcards
        values.append(prefix + "%")
    else:
        bounds = _uuid_prefix_range(prefix)
        if bounds is not None:
            parts.append("SELECT t.uuid FROM solidstack.runs t WHERE t.uuid BETWEEN %s::uuid AND %s::uuid")
            values += list(bounds)
    parts.append("SELECT n.run_uuid FROM solidstack.notes n WHERE n.run_uuid IS NOT NULL AND n.text ILIKE %s")
    parts.append("SELECT t.uuid FROM solidstack.runs t WHERE t.build_uuid = ANY (ARRAY("
                 "SELECT b.uuid FROM solidstack.builds b WHERE b.name ILIKE %s OR b.notes ILIKE %s"
                 " UNION ALL SELECT n.build_uuid FROM solidstack.notes n"
                 " WHERE n.build_uuid IS NOT NULL AND n.text ILIKE %s))")
    values += [pattern, pattern, pattern, pattern]
    return "r.uuid = ANY (ARRAY(" + " UNION ALL ".join(parts) + "))", values


def error_text(exc: psycopg.Error) -> str:
    """The server's (or libpq's) one-line reason, without any password."""
    diag = getattr(exc, "diag", None)
    text = diag.message_primary if diag is not None and diag.message_primary else str(exc).strip()
    return redact(" ".join(text.split()) or type(exc).__name__)


def _target(kind: str, target_uuid: str) -> tuple[str, str]:
    """('build' | 'run', canonical uuid); the two may come in either order."""
    if kind not in KINDS and target_uuid in KINDS:
        kind, target_uuid = target_uuid, kind
    if kind not in KINDS:
        raise LabError(f"a note or tag is on a 'build' or a 'run', not {str(kind)[:40]!r}")
    return kind, check_uuid(target_uuid, kind)

