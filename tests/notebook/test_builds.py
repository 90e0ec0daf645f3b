"""Builds in the notebook: every layer and set-point kept, listing with run counts,
cloning to start the next cell, lots used so far, and runs pointing at their build."""
from __future__ import annotations

import pytest

import cell
from notebook import Notebook, NotebookError
from notebook.writer import RunWriter


def a_full_cell(**settings):
    stack = cell.from_template("full-agc", operator="CW", name="CW-031", notes="Li foil wrinkled",
                               area_cm2=0.785, stack_pressure_mpa=7.5, fixture_limit_mpa=40.0, **settings)
    for i, lot in enumerate(["Al-22", "NMC-7", "LP-118", "AgC-3", "Li-9"]):
        stack = stack.edit_layer(i, "lot", lot)
    return stack


def test_a_build_keeps_every_layer_and_set_point(db_path):
    stack = a_full_cell()
    with Notebook(db_path) as nb:
        build_id = nb.save_build(stack)
        assert nb.build(build_id) == stack
        row = nb.conn.execute("SELECT * FROM builds WHERE id = ?", (build_id,)).fetchone()
        assert (row["name"], row["operator"], row["area_cm2"], row["stack_pressure_mpa"],
                row["densification_pressure_mpa"], row["temperature_c"]) == ("CW-031", "CW", 0.785, 7.5, 375.0, 60.0)
        layers = nb.conn.execute("SELECT position, material, thickness_um, areal_mass_mg_cm2, lot FROM build_layers"
                                 " WHERE build_id = ? ORDER BY position", (build_id,)).fetchall()
        assert [tuple(r) for r in layers] == [(0, "Al", 10.0, 2.7, "Al-22"), (1, "NMC", 28.0, 9.412, "NMC-7"),
                                              (2, "LPSCl", 40.0, 6.8, "LP-118"), (3, "AgC", 2.0, 0.4, "AgC-3"),
                                              (4, "Li", 20.0, 1.068, "Li-9")]


def test_clone_starts_the_next_cell_with_the_same_sheets_and_set_points(db_path):
    with Notebook(db_path) as nb:
        first = nb.save_build(a_full_cell())
        clone = nb.clone_build(first)
        assert clone.based_on_build == first
        assert (clone.name, clone.notes) == ("", "")                 # the next cell's own
        assert clone.layers == a_full_cell().layers                  # lots included
        assert (clone.operator, clone.area_cm2, clone.stack_pressure_mpa, clone.fixture_limit_mpa) == ("CW", 0.785, 7.5, 40.0)
        second = nb.save_build(clone.with_changes(name="CW-032"))
        listing = nb.builds()
        assert [b["build_id"] for b in listing] == [second, first]   # newest first
        assert listing[0]["based_on_build"] == first and listing[1]["based_on_build"] is None
        assert listing[0]["name"] == "CW-032" and listing[0]["description"] == "Al | NMC | LPSCl | Ag-C | Li"
        with pytest.raises(NotebookError, match="no build 99"):
            nb.clone_build(99)


def test_lots_used_so_far_most_recent_first(db_path):
    with Notebook(db_path) as nb:
        nb.save_build(cell.from_template("full-agc-3e"))
        assert nb.lots() == {}                                     # blank lots are not lots
        nb.save_build(a_full_cell())
        nb.save_build(cell.from_template("sym-bare").edit_layer(1, "lot", "LP-120"))
        lots = nb.lots()
        assert lots["LPSCl"] == ["LP-120", "LP-118"]
        assert lots["NMC"] == ["NMC-7"] and set(lots) == {"Al", "NMC", "LPSCl", "AgC", "Li"}


def test_every_run_points_at_its_build_and_builds_count_their_runs(db_path):
    with Notebook(db_path) as nb:
        used = nb.save_build(cell.from_template("sym-agc"))
        unused = nb.save_build(cell.from_template("sym-bare"))
    for _ in range(2):
        writer = RunWriter(db_path)
        writer.start_run(used, "plate-strip-0.16", "{}", {"app_version": "test"})
        writer.finish("completed")
    with Notebook(db_path) as nb:
        assert {b["build_id"]: b["n_runs"] for b in nb.builds()} == {used: 2, unused: 0}
        assert {r["build_id"] for r in nb.runs()} == {used}
        assert {r["template"] for r in nb.runs()} == {"sym-agc"}
