"""What a scanned code is, looked up in a real notebook: badge, cell id, lot, operator,
unknown, in that order of precedence."""
from __future__ import annotations

import cell
from notebook import Notebook
from notebook.scan import classify, known_operators, taken_cell_ids


def test_codes_are_told_apart_by_what_the_notebook_holds(db_path):
    with Notebook(db_path) as nb:
        stack = cell.from_template("full-agc", name="CW-031", operator="CW")
        stack = stack.edit_layer(1, "lot", "NMC-2026-04")          # layer 1 is the NMC cathode
        first = nb.save_build(stack)
        second = nb.save_build(stack.with_changes(area_cm2=2.0))   # the same cell id, edited: a newer build
        nb.save_build(cell.from_template("sym-agc", operator="JD"))
        scan = classify(nb, "CW-031\r\n")          # a scanner's line end is not part of the code
        assert (scan.kind, scan.value, scan.build_id, scan.builds) == ("cell", "CW-031", second, 2)
        assert classify(nb, f"#{first}").build_id == first
        assert classify(nb, "#999").kind == "unknown"
        lot = classify(nb, "nmc-2026-04")          # caps lock on the scanner
        assert (lot.kind, lot.value, lot.material) == ("lot", "NMC-2026-04", "NMC")
        assert classify(nb, "OP:Ann").value == "Ann" and classify(nb, "op: Ann").kind == "operator"
        assert classify(nb, "OP:").kind == "unknown"
        assert classify(nb, "BADGE-Ann", badge_prefix="BADGE-").value == "Ann"
        assert (classify(nb, "jd").kind, classify(nb, "jd").value) == ("operator", "JD")
        assert classify(nb, "CW-032").kind == "unknown" and classify(nb, "  ").kind == "unknown"
        assert taken_cell_ids(nb) == {"CW-031"}
        assert known_operators(nb) == ["JD", "CW"]


def test_a_lot_of_two_materials_names_no_material(db_path):
    with Notebook(db_path) as nb:
        stack = cell.from_template("sym-agc")
        nb.save_build(stack.edit_layer(0, "lot", "L-1").edit_layer(1, "lot", "L-1"))
        scan = classify(nb, "L-1")
        assert scan.kind == "lot" and len(scan.materials) == 2 and scan.material is None
