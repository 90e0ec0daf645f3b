"""Done-when of issue 17 for the analysers: sym-bare and sym-agc measured over the paper's
range (1 MHz to 0.1 Hz, clipped to what each analyser covers) give the paper's
interfacial resistance per interface, 6.59 and 0.58 ohm cm2 (DOMAIN.md, Fig 2c), from
the equivalent-circuit fit. The IM3590 through the command line as a user runs it, the
Solartron 1260 through the same session and analysis the GUI uses."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

import cell
from acquisition.protocol import preset
from acquisition.session import prepare_run
from conftest import ROOT
from gui.analysis_runs import compute, load_run
from notebook import Notebook

PAPER_RANGE = preset("eis", f_start_hz=1e6, f_stop_hz=0.1, points=71)
R_INT = {"sym-bare": 6.59, "sym-agc": 0.58}
# Seeds 0 of each: IM3590 6.589 / 0.5895, Solartron 6.591 / 0.5762 (ohm cm2). The sym-agc
# arc is 1.16 ohm under a 6.7 ohm bulk read with 0.2 % noise, hence its wider margin;
# both are inside the 10 %.
TOLERANCE = {"sym-bare": 0.01, "sym-agc": 0.05}


def main(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=180)


@pytest.mark.parametrize("template", ["sym-bare", "sym-agc"])
def test_the_im3590_gives_the_paper_interfacial_resistance_from_the_command_line(tmp_path, template):
    protocol = tmp_path / "eis-paper.json"
    protocol.write_text(PAPER_RANGE.to_json())
    db = tmp_path / "notebook.sqlite"
    ran = main("run", template, protocol, "--impedance", "im3590", "--db", db, "--json")
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert [e["kind"] for e in result["events"]] == ["eis_range_clipped"]
    assert "clipped to 200 kHz to 0.1 Hz, 64 points" in result["events"][0]["message"]
    analysed = main("analyze", "eis", "--db", db, "--run", result["run_id"], "--json")
    assert analysed.returncode == 0, analysed.stderr
    fit = json.loads(analysed.stdout)
    assert fit["ok"] and fit["circuit"] == "R0-p(R1,CPE1)"
    assert fit["per_interface_ohm_cm2"]["R1"] == pytest.approx(R_INT[template], rel=TOLERANCE[template])


@pytest.mark.parametrize("template", ["sym-bare", "sym-agc"])
def test_the_solartron_1260_gives_the_paper_interfacial_resistance(db_path, template):
    with Notebook(db_path) as nb:
        session = prepare_run(nb, cell.from_template(template), PAPER_RANGE, speed="max", impedance="solartron1260")
        try:
            session.engine.run()
        finally:
            session.close()
    run = load_run(db_path, session.engine.run_id)
    assert run.spectra[0]["freq_hz"].size == 71           # the 1260 covers the whole range asked
    result = compute("eis", run, {"spectrum": -1, "circuit": "R0-p(R1,CPE1)"})
    assert result.fit.ok
    assert result.fit.per_interface_ohm_cm2["R1"] == pytest.approx(R_INT[template], rel=TOLERANCE[template])


def test_the_impedance_choice_is_for_the_simulated_bench_only(tmp_path):
    result = main("run", "sym-agc", "eis", "--bench", "hw", "--impedance", "im3590", "--db", tmp_path / "n.sqlite")
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error: --impedance picks the simulated bench's analyser; with --bench hw the role assignment says which"]
    assert not (tmp_path / "n.sqlite").exists()
