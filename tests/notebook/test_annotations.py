"""Schema v3: operators, material lots, versioned protocols, notes and tags, the
migration from v2 with its data, and searching builds and runs as the browser does."""
from __future__ import annotations

import json
import sqlite3
from datetime import date

import pytest

import cell
from notebook import Notebook, NotebookError
from notebook.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from notebook.search import RunQuery
from notebook.writer import RunWriter


def lots(stack, *names):
    for i, lot in enumerate(names):
        if lot:
            stack = stack.edit_layer(i, "lot", lot)
    return stack


def a_run(db_path, build_id, protocol="plate-strip-0.16", definition='{"cycles": 50}', status="completed"):
    writer = RunWriter(db_path)
    run_id = writer.start_run(build_id, protocol, definition, {"app_version": "test"})
    writer.finish(status)
    return run_id


def test_a_version_2_notebook_is_migrated_to_3_with_its_data(db_path):
    conn = sqlite3.connect(db_path)
    for version in (1, 2):
        conn.executescript(MIGRATIONS[version])
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 2")
    stack = lots(cell.from_template("sym-agc", operator="CW"), "Li-9", "AgC-3")
    for build_id, operator in ((1, "CW"), (2, "BE")):
        conn.execute("INSERT INTO builds (id, created_utc, template, description, operator, area_cm2, stack_pressure_mpa,"
                     " densification_pressure_mpa, temperature_c, stack_json) VALUES (?, ?, 'sym-agc', 'Li | Li', ?, 1, 5,"
                     " 375, 25, ?)", (build_id, f"2026-01-0{build_id}T00:00:00+00:00", operator,
                                      json.dumps(stack.with_changes(operator=operator).to_dict())))
    conn.executemany("INSERT INTO build_layers VALUES (?,?,?,?,?,?)",
                     [(1, 0, "Li", 30, 1.6, "Li-9"), (1, 1, "AgC", 2, 0.4, "AgC-3"), (2, 0, "Li", 30, 1.6, "Li-9")])
    runs = [(1, 1, "plate-strip-0.16", '{"cycles": 50}'), (2, 1, "plate-strip-0.16", '{"cycles": 10}'),
            (3, 2, "plate-strip-0.16", '{"cycles": 50}'), (4, 2, "eis-only", '{}')]
    conn.executemany("INSERT INTO runs (id, build_id, protocol, protocol_json, status, started_utc, provenance_json)"
                     " VALUES (?, ?, ?, ?, 'completed', '2026-01-05T00:00:00+00:00', '{}')", runs)
    conn.execute("INSERT INTO events (run_id, t_s, sample_index, kind, severity, message) VALUES (3, 1, 0, 'hard_short', 'alarm', 'm')")
    conn.commit()
    conn.close()
    with Notebook(db_path) as nb:
        assert nb.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 4
        versions = {r["id"]: (r["name"], r["version"]) for r in nb.conn.execute(
            "SELECT r.id, p.name, p.version FROM runs r JOIN protocols p ON p.id = r.protocol_id")}
        # one version per distinct definition, numbered in order of first use
        assert versions == {1: ("plate-strip-0.16", 1), 2: ("plate-strip-0.16", 2), 3: ("plate-strip-0.16", 1),
                            4: ("eis-only", 1)}
        assert nb.protocol(2) == {"name": "plate-strip-0.16", "version": 2, "definition": {"cycles": 10}}
        assert [r[0] for r in nb.conn.execute("SELECT name FROM operators ORDER BY name")] == ["BE", "CW"]
        assert [tuple(r) for r in nb.conn.execute("SELECT material, lot FROM material_lots ORDER BY material")] == \
            [("AgC", "AgC-3"), ("Li", "Li-9")]
        overview = {r["run_id"]: r for r in nb.runs()}
        assert overview[3]["n_events"] == 1 and overview[3]["operator"] == "BE" and overview[3]["source"] == ""
        # the new tables take annotations on the old rows
        nb.add_tag("baseline", run_id=1)
        assert nb.runs()[0]["tags"] == "baseline"
        # v4 adds empty columns: the old alarm is still unacknowledged, by nobody
        assert tuple(nb.conn.execute("SELECT acknowledged_utc, acknowledged_by FROM events").fetchone()) == (None, None)


def test_protocol_versions_follow_the_definition(db_path):
    with Notebook(db_path) as nb:
        build_id = nb.save_build(cell.from_template("sym-agc"))
    first = a_run(db_path, build_id, definition='{"cycles": 50, "current": 0.16}')
    same = a_run(db_path, build_id, definition='{"current": 0.16, "cycles": 50}')   # same parameters, other order
    other = a_run(db_path, build_id, definition='{"cycles": 20, "current": 0.16}')
    with Notebook(db_path) as nb:
        assert [nb.protocol(r)["version"] for r in (first, same, other)] == [1, 1, 2]
        assert nb.conn.execute("SELECT COUNT(*) FROM protocols").fetchone()[0] == 2


def test_saving_a_build_registers_its_operator_and_lots(db_path):
    with Notebook(db_path) as nb:
        nb.save_build(lots(cell.from_template("sym-agc", operator="CW"), "Li-9", "AgC-3", "LP-118"))
        nb.save_build(lots(cell.from_template("sym-bare", operator="CW"), "Li-9"))
        assert [r[0] for r in nb.conn.execute("SELECT name FROM operators")] == ["CW"]
        assert nb.conn.execute("SELECT COUNT(*) FROM material_lots").fetchone()[0] == 3
        vocabulary = nb.vocabulary()
        assert vocabulary["operators"] == ["CW"] and vocabulary["lots"] == ["AgC-3", "LP-118", "Li-9"]
        assert vocabulary["templates"] == ["sym-agc", "sym-bare"]


def test_notes_and_tags_on_builds_and_runs(db_path):
    with Notebook(db_path) as nb:
        build_id = nb.save_build(cell.from_template("sym-agc"))
    run_id = a_run(db_path, build_id)
    with Notebook(db_path) as nb:
        nb.add_note("Li foil wrinkled at one edge", build_id=build_id, author="CW")
        nb.add_note("  voltage noise after 3 h  ", run_id=run_id)
        assert [n["text"] for n in nb.notes(run_id=run_id)] == ["voltage noise after 3 h"]
        assert nb.notes(build_id=build_id)[0]["author"] == "CW"
        assert nb.add_tag("  Ag-C   batch 3 ", run_id=run_id) == "Ag-C batch 3"
        nb.add_tag("Ag-C batch 3", run_id=run_id)                      # twice is once
        nb.add_tag("baseline", run_id=run_id)
        assert nb.tags(run_id=run_id) == ["Ag-C batch 3", "baseline"]
        assert nb.runs()[0]["tags"] == "Ag-C batch 3, baseline"
        assert nb.remove_tag("baseline", run_id=run_id) and not nb.remove_tag("baseline", run_id=run_id)
        for bad, message in ((lambda: nb.add_tag("a, b", run_id=run_id), "without commas"),
                             (lambda: nb.add_tag("   ", run_id=run_id), "non-empty"),
                             (lambda: nb.add_note("  ", run_id=run_id), "needs some text"),
                             (lambda: nb.add_note("x", run_id=99), "no run 99"),
                             (lambda: nb.add_tag("x", build_id=99), "no build 99")):
            with pytest.raises(NotebookError, match=message):
                bad()
        with pytest.raises(ValueError, match="not both"):
            nb.add_note("x", run_id=run_id, build_id=build_id)
    with Notebook(db_path, read_only=True) as nb:
        with pytest.raises(NotebookError, match="read-only"):
            nb.add_note("x", run_id=run_id)
        assert nb.tags(run_id=run_id) == ["Ag-C batch 3"]


@pytest.fixture
def lab(db_path):
    """Three builds by two operators, five runs, a note and tags: the browser's world."""
    with Notebook(db_path) as nb:
        agc = nb.save_build(lots(cell.from_template("sym-agc", operator="CW", name="CW-031"), "Li-9", "AgC-3", "LP-118"))
        bare = nb.save_build(lots(cell.from_template("sym-bare", operator="BE", name="BE-007"), "Li-9", "LP-120"))
        full = nb.save_build(lots(cell.from_template("full-agc", operator="CW", name="CW-040"), "Al-1", "NMC-7"))
    runs = {"agc1": a_run(db_path, agc), "agc2": a_run(db_path, agc, status="shorted"),
            "bare": a_run(db_path, bare, status="shorted"), "full": a_run(db_path, full, "rate-test", "{}"),
            "full2": a_run(db_path, full, "rate-test", "{}", status="aborted")}
    with Notebook(db_path) as nb:
        nb.conn.execute("UPDATE runs SET started_utc = '2026-03-01T23:59:59+00:00' WHERE id = ?", (runs["agc1"],))
        nb.conn.execute("UPDATE runs SET started_utc = '2026-03-02T00:00:00+00:00' WHERE id = ?", (runs["agc2"],))
        nb.conn.execute("UPDATE builds SET created_utc = '2026-02-01T10:00:00+00:00' WHERE id = ?", (agc,))
        nb.conn.commit()
        nb.add_note("dendrite visible 100% at the edge_zone", run_id=runs["bare"])
        nb.add_note("pressure drifted", build_id=full)
        nb.add_tag("paper-fig3", run_id=runs["agc2"])
        nb.add_tag("paper-fig3", build_id=bare)
    return {"build:agc": agc, "build:bare": bare, "build:full": full, **runs}


@pytest.mark.parametrize("query, expected", [
    (RunQuery(), ["full2", "full", "bare", "agc2", "agc1"]),
    (RunQuery(operator="CW"), ["full2", "full", "agc2", "agc1"]),
    (RunQuery(template="sym-bare"), ["bare"]),
    (RunQuery(material="AgC"), ["full2", "full", "agc2", "agc1"]),           # full-agc has an Ag-C layer too
    (RunQuery(material="AgC", lot="agc-3"), ["agc2", "agc1"]),               # the same layer, lot in any case
    (RunQuery(lot="LP-12"), ["bare"]),
    (RunQuery(status="shorted"), ["bare", "agc2"]),
    (RunQuery(tag="paper-fig3"), ["bare", "agc2"]),                          # run tag or build tag
    (RunQuery(text="DENDRITE"), ["bare"]),
    (RunQuery(text="100%"), ["bare"]),                                       # % and _ are literal
    (RunQuery(text="0%"), ["bare"]),
    (RunQuery(text="e_z"), ["bare"]),
    (RunQuery(text="x_z"), []),
    (RunQuery(text="drifted"), ["full2", "full"]),                           # a build note finds its runs
    (RunQuery(text="CW-031"), ["agc2", "agc1"]),                             # the cell's name
    (RunQuery(since=date(2026, 3, 2)), ["full2", "full", "bare", "agc2"]),
    (RunQuery(until=date(2026, 3, 1)), ["agc1"]),                            # the whole day, inclusive
    (RunQuery(since=date(2026, 3, 2), until=date(2026, 3, 2)), ["agc2"]),
    (RunQuery(operator="CW", status="aborted"), ["full2"]),
])
def test_finding_runs(db_path, lab, query, expected):
    with Notebook(db_path, read_only=True) as nb:
        assert [r["run_id"] for r in nb.find_runs(query)] == [lab[name] for name in expected]


@pytest.mark.parametrize("query, expected", [
    (RunQuery(), ["build:full", "build:bare", "build:agc"]),
    (RunQuery(status="shorted"), ["build:bare", "build:agc"]),
    (RunQuery(tag="paper-fig3"), ["build:bare", "build:agc"]),                           # build tag or a run's tag
    (RunQuery(text="dendrite"), ["build:bare"]),                                   # a run's note finds its build
    (RunQuery(until=date(2026, 2, 1)), ["build:agc"]),
    (RunQuery(lot="NMC-7", operator="CW"), ["build:full"]),
])
def test_finding_builds(db_path, lab, query, expected):
    with Notebook(db_path, read_only=True) as nb:
        found = nb.find_builds(query)
        assert [b["build_id"] for b in found] == [lab[name] for name in expected]
    if query == RunQuery():
        assert found[2]["lots"] == "Li-9, AgC-3, LP-118" and found[2]["n_runs"] == 2
        assert found[1]["tags"] == "paper-fig3"
