"""What an export writes is safe to open: the mode any new file of the user's gets, any
legal name, a build sheet whose user text cannot add markup, and CSV tables whose text
cells a spreadsheet will not run as formulas."""
from __future__ import annotations

import os
import stat
import sys

import numpy as np
import pandas as pd
import pytest

import cell
from gui.analysis_runs import write_csv
from notebook import Notebook, empty_samples
from notebook.export import build_sheet, export
from notebook.writer import RunWriter


@pytest.fixture
def notebook_with_run(db_path):
    with Notebook(db_path) as nb:
        stack = cell.from_template("sym-agc").with_changes(
            name="<script>alert(1)</script>", operator="CW\n# Injected heading\n<img src=x onerror=alert(1)>")
        build_id = nb.save_build(stack)
        nb.add_note("[click](http://example.invalid) **bold**", build_id=build_id, author="=cmd")
    writer = RunWriter(db_path)
    run_id = writer.start_run(build_id, "plate-strip-0.16", "{}", {})
    samples = empty_samples(10)
    samples["t"] = np.arange(10.0)
    writer.append(samples)
    writer.finish("completed")
    return db_path, build_id, run_id


@pytest.mark.skipif(sys.platform == "win32", reason="Windows files have no POSIX mode bits for a umask to clear")
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_an_exported_file_gets_the_users_umask_mode(notebook_with_run, tmp_path, umask):
    path, _, run_id = notebook_with_run
    old = os.umask(umask)
    try:
        with Notebook(path, read_only=True) as nb:
            out = export(nb, "bdf-csv", tmp_path / "run.csv", run_id=run_id)
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


def test_a_name_at_the_file_system_limit_exports(notebook_with_run, tmp_path):
    path, _, run_id = notebook_with_run
    folder = tmp_path / "exports"
    folder.mkdir()
    out = folder / ("r" * 246 + ".csv")        # 250 characters: legal, with no room for a suffix
    with Notebook(path, read_only=True) as nb:
        export(nb, "bdf-csv", out, run_id=run_id)
    assert len(pd.read_csv(out)) == 10
    assert [p.name for p in folder.iterdir()] == [out.name]     # no temporary file left


def test_user_text_in_a_build_sheet_is_literal(notebook_with_run):
    path, build_id, _ = notebook_with_run
    with Notebook(path, read_only=True) as nb:
        sheet = build_sheet(nb, build_id)
    assert "<" not in sheet and ">" not in sheet.replace("&gt;", "")
    assert "\n# Injected" not in sheet and "\\# Injected heading" in sheet
    assert "[click](" not in sheet and "\\[click\\](http" in sheet
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in sheet
    headings = [line for line in sheet.splitlines() if line.startswith("#")]
    assert len(headings) == len([h for h in headings if h.startswith(("# ", "## "))])
    assert headings[0].startswith("# &lt;script&gt;")


def test_csv_text_cells_that_start_a_formula_are_neutralised(tmp_path):
    frame = pd.DataFrame({"message": ['=HYPERLINK("http://x","y")', "+1+1", "@SUM(A1)", "-2+3", "plain", "\tx"],
                          "value": [-1.5, 2.0, 3.0, -4.0, 5.0, 6.0]})
    out = tmp_path / "events.csv"
    write_csv(frame, out)
    back = pd.read_csv(out, encoding="utf-8-sig", keep_default_na=False)
    assert list(back["message"]) == ["'=HYPERLINK(\"http://x\",\"y\")", "'+1+1", "'@SUM(A1)", "'-2+3", "plain", "'\tx"]
    assert list(back["value"]) == [-1.5, 2.0, 3.0, -4.0, 5.0, 6.0]     # numbers stay numbers
