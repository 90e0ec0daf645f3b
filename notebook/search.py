"""Finding builds and runs: the browser's filters (date, operator, template, layer
material and lot, status, tag, free text in notes) turned into one parameterised SQL
query each. Every criterion left empty matches everything; the ones given must all hold.

A run matches a tag or a text when the run or its build carries it; a build matches
when the build or one of its runs does, so a note written on either is found from both.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta, timezone


@dataclass(frozen=True)
class RunQuery:
    # started (runs) / created (builds) on or after `since` and on or before `until`: a date is
    # a UTC day; a datetime an instant (the browser passes the user's local days as instants)
    since: date | datetime | None = None
    until: date | datetime | None = None
    operator: str = ""
    template: str = ""
    material: str = ""             # a layer of this material (with `lot`: the same layer)
    lot: str = ""                  # part of a lot id, any case
    status: str = ""
    tag: str = ""
    text: str = ""                 # part of a note, a build's notes or name, or a run's message, any case

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) in (None, "") for f in fields(self))


def _like(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own % and _ taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _utc_text(bound: date | datetime) -> str:
    """A bound as stored timestamps are written: an instant in UTC, or a UTC day."""
    if isinstance(bound, datetime):
        return bound.astimezone(timezone.utc).isoformat(timespec="seconds")
    return bound.isoformat()


def local_day_bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """The instants a range of the user's local calendar days covers: from the start of
    `first` to the start of the day after `last` (exclusive), in the local time zone."""
    def start(day: date) -> datetime:
        return datetime.combine(day, time()).astimezone()
    return (start(first) if first else None, start(last + timedelta(days=1)) if last else None)


def _build_clauses(q: RunQuery, date_column: str) -> tuple[list[str], list]:
    """Criteria on the build `b` (and on the date column given) shared by both queries."""
    where, params = [], []
    if q.since is not None:
        where.append(f"{date_column} >= ?")
        params.append(_utc_text(q.since))
    if q.until is not None:
        where.append(f"{date_column} < ?")   # ISO timestamps sort as text: before the next day
        params.append(_utc_text(q.until if isinstance(q.until, datetime) else q.until + timedelta(days=1)))
    if q.operator:
        where.append("b.operator = ?")
        params.append(q.operator)
    if q.template:
        where.append("b.template = ?")
        params.append(q.template)
    if q.material or q.lot:
        layer = ["l.build_id = b.id"]
        if q.material:
            layer.append("l.material = ?")
            params.append(q.material)
        if q.lot:
            layer.append("l.lot LIKE ? ESCAPE '\\'")
            params.append(_like(q.lot))
        where.append(f"EXISTS (SELECT 1 FROM build_layers l WHERE {' AND '.join(layer)})")
    return where, params


def find_runs(conn: sqlite3.Connection, q: RunQuery) -> list[dict]:
    """run_overview rows of the matching runs, newest first."""
    where, params = _build_clauses(q, "o.started_utc")
    if q.status:
        where.append("o.status = ?")
        params.append(q.status)
    if q.tag:
        where.append("(EXISTS (SELECT 1 FROM run_tags t WHERE t.run_id = o.run_id AND t.tag = ?)"
                     " OR EXISTS (SELECT 1 FROM build_tags t WHERE t.build_id = b.id AND t.tag = ?))")
        params += [q.tag, q.tag]
    if q.text:
        pattern = _like(q.text)
        where.append("(o.message LIKE ? ESCAPE '\\' OR b.notes LIKE ? ESCAPE '\\' OR b.name LIKE ? ESCAPE '\\'"
                     " OR EXISTS (SELECT 1 FROM notes n WHERE (n.run_id = o.run_id OR n.build_id = b.id)"
                     " AND n.text LIKE ? ESCAPE '\\'))")
        params += [pattern] * 4
    sql = "SELECT o.* FROM run_overview o JOIN builds b ON b.id = o.build_id"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return [dict(r) for r in conn.execute(sql + " ORDER BY o.run_id DESC", params)]


def find_builds(conn: sqlite3.Connection, q: RunQuery) -> list[dict]:
    """The matching builds with their lots, run count and tags, newest first."""
    where, params = _build_clauses(q, "b.created_utc")
    if q.status:
        where.append("EXISTS (SELECT 1 FROM runs r WHERE r.build_id = b.id AND r.status = ?)")
        params.append(q.status)
    if q.tag:
        where.append("(EXISTS (SELECT 1 FROM build_tags t WHERE t.build_id = b.id AND t.tag = ?)"
                     " OR EXISTS (SELECT 1 FROM run_tags t JOIN runs r ON r.id = t.run_id"
                     " WHERE r.build_id = b.id AND t.tag = ?))")
        params += [q.tag, q.tag]
    if q.text:
        pattern = _like(q.text)
        where.append("(b.notes LIKE ? ESCAPE '\\' OR b.name LIKE ? ESCAPE '\\'"
                     " OR EXISTS (SELECT 1 FROM notes n LEFT JOIN runs r ON r.id = n.run_id"
                     " WHERE (n.build_id = b.id OR r.build_id = b.id) AND n.text LIKE ? ESCAPE '\\'))")
        params += [pattern] * 3
    sql = ("SELECT b.id AS build_id, b.created_utc, b.name, b.template, b.description, b.operator, b.area_cm2,"
           " (SELECT COUNT(*) FROM runs r WHERE r.build_id = b.id) AS n_runs,"
           " (SELECT group_concat(lot, ', ') FROM (SELECT l.lot FROM build_layers l WHERE l.build_id = b.id"
           "  AND l.lot != '' ORDER BY l.position)) AS lots,"
           " (SELECT group_concat(tag, ', ') FROM (SELECT t.tag FROM build_tags t WHERE t.build_id = b.id"
           "  ORDER BY t.tag)) AS tags"
           " FROM builds b")
    if where:
        sql += " WHERE " + " AND ".join(where)
    return [dict(r) for r in conn.execute(sql + " ORDER BY b.id DESC", params)]


def lists_state(conn: sqlite3.Connection) -> tuple:
    """What the run and build lists depend on beyond their filters, in one cheap query:
    it changes when a build is saved or a run starts, ends or is imported (by this
    process or another), so a browser can poll it and re-query only on a change. Samples
    appended to a running run do not change it."""
    return tuple(conn.execute(
        "SELECT (SELECT COUNT(*) FROM builds), (SELECT MAX(id) FROM builds),"
        " COUNT(*), MAX(id), SUM(status = 'running'), MAX(COALESCE(ended_utc, '')) FROM runs").fetchone())
