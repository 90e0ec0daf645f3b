"""lab/outcomes.py: a run's outcome figures, checked against notebooks written with known
truth through the station's own run writer (capacities, CE, retention and energy worked
out by hand from the currents and durations written; impedance spectra made from a
circuit with known resistances), and against the simulated bench's asymmetric cell,
which shorts in its 5th cycle near 9.5 h (DOMAIN.md)."""
from __future__ import annotations

import sqlite3

import numpy as np
import pytest

import cell
from lab.outcomes import OUTCOME_KEYS, RUN_COLUMNS, SHORT_KINDS, TWO_ARCS, outcome_rows, run_outcomes
from notebook import Notebook, NotebookError, empty_samples
from notebook.writer import RunWriter

V_CHARGE, V_DISCHARGE = 4.0, 3.6
I_A = 1e-3                       # 1 mA: 3600 one-second samples pass 1 mAh


def cycling_samples(halves: list[tuple[int, int, int]]) -> np.ndarray:
    """Samples one second apart (time-stamped at the end of each second, as the SMU does):
    for each (cycle, direction, seconds) a constant-current half at 1 mA, then a 60 s rest."""
    parts, t0, step = [], 0, 0
    for cycle, direction, seconds in halves:
        for current, voltage, n in ((direction * I_A, V_CHARGE if direction > 0 else V_DISCHARGE, seconds),
                                    (0.0, 3.8, 60)):
            s = empty_samples(n)
            s["t"] = t0 + np.arange(1, n + 1)
            s["current"], s["voltage"], s["step"], s["cycle"] = current, voltage, step, cycle
            parts.append(s)
            t0 += n
            step += 1
    return np.concatenate(parts)


def write_run(path, stack, samples=None, *, status="completed", events=(), spectra=()) -> int:
    """A run written through the station's RunWriter, as a live run would be."""
    with Notebook(path) as nb:
        build_id = nb.save_build(stack)
    writer = RunWriter(path)
    run_id = writer.start_run(build_id, "synthetic", "{}", {})
    if samples is not None:
        writer.append(samples)
    for event in events:
        writer.event(event)
    for spectrum in spectra:
        writer.spectrum(spectrum)
    writer.finish(status)
    return run_id


def outcomes_of(path, run_id) -> dict:
    conn = sqlite3.connect(path)
    try:
        return run_outcomes(conn, run_id)
    finally:
        conn.close()


# three full cycles: charge 3600 / 3420 / 3348 s (1.00 / 0.95 / 0.93 mAh), discharge
# 3420 / 3384 / 3312 s (0.95 / 0.94 / 0.92 mAh)
THREE_CYCLES = [(1, +1, 3600), (1, -1, 3420), (2, +1, 3420), (2, -1, 3384), (3, +1, 3348), (3, -1, 3312)]


@pytest.fixture
def full_cell():
    return cell.from_template("full-agc", area_cm2=0.8)


def test_capacity_retention_ce_and_energy_of_a_full_cell_match_the_hand_calculation(db_path, full_cell):
    run_id = write_run(db_path, full_cell, cycling_samples(THREE_CYCLES))
    out = outcomes_of(db_path, run_id)
    assert set(out) == set(OUTCOME_KEYS)
    assert out["n_cycles"] == 3
    assert out["capacity_first_mah"] == pytest.approx(0.95, rel=1e-9)
    assert out["capacity_n_mah"] == pytest.approx(0.92, rel=1e-9)
    assert out["retention_cycle"] == 3
    assert out["retention_pct"] == pytest.approx(100 * 0.92 / 0.95, rel=1e-9)
    # CE over cycles 2..N (DOMAIN.md): discharge / charge
    assert out["ce_avg_pct"] == pytest.approx(100 * (0.94 / 0.95 + 0.92 / 0.93) / 2, rel=1e-9)
    # first discharge: 0.95 mAh at 3.6 V = 3.42 mWh over the stack's mass (sum of its sheets x area)
    stack_mass_kg = sum(layer.areal_mass_mg_cm2 for layer in full_cell.layers) * 0.8 * 1e-6
    assert out["energy_wh_kg"] == pytest.approx(0.95e-3 * 3.6 / stack_mass_kg, rel=1e-9)
    assert out["t_short_h"] is None and out["r_int_ohm_cm2"] is None      # no alarm, no spectra
    assert out["computed_utc"].endswith("+00:00")


def test_a_cycle_cut_short_by_the_end_of_an_aborted_run_is_not_counted(db_path, full_cell):
    # a 4th cycle whose discharge stopped after 0.30 mAh: it has both halves, but the run was aborted in it
    halves = THREE_CYCLES + [(4, +1, 3240), (4, -1, 1080)]
    run_id = write_run(db_path, full_cell, cycling_samples(halves), status="aborted")
    out = outcomes_of(db_path, run_id)
    assert out["n_cycles"] == 3 and out["retention_cycle"] == 3
    assert out["capacity_n_mah"] == pytest.approx(0.92, rel=1e-9)
    # the same record ended `completed` counts its last cycle (the protocol ended there)
    run_id = write_run(db_path, full_cell, cycling_samples(halves), status="completed")
    out = outcomes_of(db_path, run_id)
    assert out["n_cycles"] == 4 and out["capacity_n_mah"] == pytest.approx(0.30, rel=1e-9)
    assert out["ce_avg_pct"] == pytest.approx(100 * (0.94 / 0.95 + 0.92 / 0.93 + 0.30 / 0.90) / 3, rel=1e-9)


def test_a_charge_with_no_discharge_after_it_is_no_complete_cycle(db_path, full_cell):
    run_id = write_run(db_path, full_cell, cycling_samples(THREE_CYCLES + [(4, +1, 1800)]))
    out = outcomes_of(db_path, run_id)
    assert out["n_cycles"] == 3 and out["capacity_n_mah"] == pytest.approx(0.92, rel=1e-9)


def alarm(kind: str, t_s: float, severity: str = "alarm") -> dict:
    return {"t_s": t_s, "sample_index": int(t_s) - 1, "kind": kind, "severity": severity, "message": kind}


def test_time_to_short_is_the_first_short_alarm_in_hours(db_path):
    stack = cell.from_template("sym-bare")
    samples = cycling_samples([(1, +1, 3600), (1, -1, 3600), (2, +1, 3600), (2, -1, 3600)])
    events = [alarm("voltage_limit", 1800.0),                 # a limit breach is no short
              alarm("hard_short", 3000.0, severity="warning"),  # nor is a warning
              alarm("hard_short", 9000.0), alarm("soft_short", 11_700.0)]
    run_id = write_run(db_path, stack, samples, status="shorted", events=events)
    out = outcomes_of(db_path, run_id)
    assert out["t_short_h"] == pytest.approx(2.5)               # 9000 s
    assert out["n_cycles"] == 1                                 # cycle 2 ended with the short
    # a Li | Li cell's plated charge is set by the protocol: no capacity, CE or energy figures
    assert out["capacity_first_mah"] is None and out["ce_avg_pct"] is None and out["energy_wh_kg"] is None


def test_short_kinds_are_the_run_engines():
    from acquisition.engine import SHORT_KINDS as ENGINE_SHORT_KINDS
    from gui.analysis_eis_runs import TWO_ARCS as VIEW_TWO_ARCS        # Qt-free module
    assert set(SHORT_KINDS) == set(ENGINE_SHORT_KINDS) and TWO_ARCS == VIEW_TWO_ARCS


# -- impedance: spectra made from R0 + R1 || CPE1 (+ R2 || CPE2), resistances known --
def rc_cpe(w: np.ndarray, r: float, tau_s: float, n: float) -> np.ndarray:
    """R || CPE with its peak at 1 / tau: Z = R / (1 + (j w tau)^n)."""
    return r / (1.0 + (1j * w * tau_s) ** n)


def spectrum(number: int, z: np.ndarray, f: np.ndarray, t_s: float) -> dict:
    return {"spectrum": number, "t_s": t_s, "step": 0, "cycle": 1, "amplitude_v": 0.01, "instrument": "test",
            "freq_hz": f, "z": z}


F = np.logspace(6, np.log10(20.0), 61)
W = 2 * np.pi * F


def noisy(z: np.ndarray, seed: int, rel: float = 1e-3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return z + np.abs(z) * rel * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size))


def test_r_int_of_a_symmetric_cell_is_half_the_arc_per_area_from_the_first_good_spectrum(db_path):
    stack = cell.from_template("sym-bare", area_cm2=0.8)
    r0, r1 = 7.0, 16.475                                       # 16.475 ohm x 0.8 cm2 / 2 = 6.59 ohm cm2
    good = noisy(r0 + rc_cpe(W, r1, 2e-5, 0.85), seed=1)
    later = noisy(r0 + rc_cpe(W, 2 * r1, 2e-5, 0.85), seed=2)
    rng = np.random.default_rng(3)
    garbage = (10 + 5 * rng.standard_normal(F.size)) - 1j * np.abs(5 * rng.standard_normal(F.size))
    spectra = [spectrum(0, garbage, F, 10.0), spectrum(1, good, F, 20.0), spectrum(2, later, F, 30.0)]
    run_id = write_run(db_path, stack, spectra=spectra)
    out = outcomes_of(db_path, run_id)
    assert out["r_int_ohm_cm2"] == pytest.approx(r1 * 0.8 / 2, rel=0.01)


def test_r_int_of_a_full_cell_is_its_low_frequency_arc_times_the_area(db_path, full_cell):
    r0, r1, r2 = 5.0, 3.0, 40.0                                # interface: the lower-frequency arc, R2
    z = noisy(r0 + rc_cpe(W, r1, 1e-6, 0.9) + rc_cpe(W, r2, 1e-3, 0.85), seed=4)
    run_id = write_run(db_path, full_cell, spectra=[spectrum(0, z, F, 5.0)])
    assert outcomes_of(db_path, run_id)["r_int_ohm_cm2"] == pytest.approx(r2 * 0.8, rel=0.02)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")     # the fit of noise, as expected
def test_r_int_is_none_when_no_spectrum_is_good(db_path):
    rng = np.random.default_rng(5)
    garbage = (10 + 5 * rng.standard_normal(F.size)) - 1j * np.abs(5 * rng.standard_normal(F.size))
    run_id = write_run(db_path, cell.from_template("sym-agc"), spectra=[spectrum(0, garbage, F, 1.0)])
    assert outcomes_of(db_path, run_id)["r_int_ohm_cm2"] is None


def test_r_int_agrees_with_the_analysis_views_fit_over_the_run(db_path):
    """The figure is the one `analyze eis --all-spectra` reports for the run's first spectrum."""
    from gui.analysis_runs import compute, load_run                     # Qt-free
    stack = cell.from_template("sym-agc")
    z = noisy(6.0 + rc_cpe(W, 1.16, 3e-6, 0.8), seed=6)
    run_id = write_run(db_path, stack, spectra=[spectrum(0, z, F, 1.0)])
    run = load_run(db_path, run_id)
    table = compute("eis-run", run, {}).table
    assert outcomes_of(db_path, run_id)["r_int_ohm_cm2"] == pytest.approx(table["R1_per_interface"].iloc[0], rel=1e-6)


# -- the simulated bench --
def test_the_simulated_asymmetric_cell_shorts_in_its_5th_cycle_near_9_5_h(shorted_run):
    path, run_id, event = shorted_run
    out = outcomes_of(path, run_id)
    assert out["t_short_h"] == pytest.approx(event["t_s"] / 3600.0, rel=1e-12)
    assert out["t_short_h"] == pytest.approx(9.5, rel=0.10)
    with Notebook(path, read_only=True) as nb:
        cycle_at_short = int(nb.samples(run_id)["cycle"][event["sample_index"]])
    assert cycle_at_short == 5 and out["n_cycles"] == cycle_at_short - 1


@pytest.mark.parametrize("template, r_int, rel", [("sym-bare", 6.59, 0.01), ("sym-agc", 0.58, 0.04)])
def test_the_simulated_symmetric_cells_give_the_papers_interfacial_resistance(db_path, template, r_int, rel):
    from acquisition.protocol import preset
    from acquisition.session import prepare_run
    with Notebook(db_path) as nb:
        session = prepare_run(nb, cell.from_template(template), preset("eis"), speed="max", seed=0)
        try:
            assert session.engine.run() == "completed"
        finally:
            session.close()
    assert outcomes_of(db_path, session.engine.run_id)["r_int_ohm_cm2"] == pytest.approx(r_int, rel=rel)


# -- reading only, bad input, rows for the Outcomes view --
def test_reading_changes_nothing_and_leaves_the_callers_connection_as_it_was(db_path, full_cell):
    run_id = write_run(db_path, full_cell, cycling_samples(THREE_CYCLES))
    conn = sqlite3.connect(db_path)
    before = conn.total_changes
    run_outcomes(conn, run_id)
    outcome_rows(conn)
    assert conn.total_changes == before and not conn.in_transaction and conn.row_factory is None
    conn.close()


def test_a_missing_run_is_named(db_path, full_cell):
    write_run(db_path, full_cell, cycling_samples(THREE_CYCLES))
    conn = sqlite3.connect(db_path)
    with pytest.raises(NotebookError, match="no run 99"):
        run_outcomes(conn, 99)
    conn.close()


def test_outcome_rows_give_the_lab_runs_columns_with_the_build_parameters(db_path, full_cell):
    lotted = cell.from_template("sym-agc", operator="CW", stack_pressure_mpa=7.5)
    lotted = lotted.with_changes(layers=tuple(layer.__class__(layer.material, layer.thickness_um,
                                                              layer.areal_mass_mg_cm2, f"{layer.material}-7")
                                              for layer in lotted.layers))
    first = write_run(db_path, full_cell, cycling_samples(THREE_CYCLES))
    second = write_run(db_path, lotted, cycling_samples([(1, +1, 3600), (1, -1, 3600)]), status="shorted",
                       events=[alarm("hard_short", 5400.0)])
    conn = sqlite3.connect(db_path)
    rows = outcome_rows(conn)
    conn.close()
    assert [r["local_id"] for r in rows] == [first, second]
    assert all(set(RUN_COLUMNS) | set(OUTCOME_KEYS) <= set(r) for r in rows)
    a, b = rows
    assert a["template"] == "full-agc" and a["has_interlayer"] and a["interlayer_um"] == 2.0
    assert a["electrolyte_lot"] is None and a["lots"] is None and a["area_cm2"] == 0.8
    assert a["layers"] == "Al 10 µm | NMC 28 µm | LPSCl 40 µm | Ag-C 2 µm | Li 20 µm"
    assert a["capacity_first_mah"] == pytest.approx(0.95) and a["status"] == "completed"
    assert b["electrolyte_lot"] == "LPSCl-7" and b["operator"] == "CW" and b["stack_pressure_mpa"] == 7.5
    # as the lab's view has them: lots by catalog key, the interlayers' thickness summed (2 x 2 µm)
    assert b["lots"] == "Li:Li-7, AgC:AgC-7, LPSCl:LPSCl-7, AgC:AgC-7, Li:Li-7" and b["interlayer_um"] == 4.0
    assert b["layers"] == "Li 30 µm | Ag-C 2 µm | LPSCl 40 µm | Ag-C 2 µm | Li 30 µm"
    assert b["t_short_h"] == pytest.approx(1.5) and b["n_events"] == 1 and b["status"] == "shorted"
    assert all(len(r["uuid"]) == 36 and r["station"] for r in rows)
    conn = sqlite3.connect(db_path)
    quick = outcome_rows(conn, outcomes=False)
    conn.close()
    assert quick[1]["t_short_h"] is None and quick[1]["electrolyte_lot"] == "LPSCl-7"


def test_a_synced_notebooks_rows_are_the_labs_lab_runs_rows(db_path, full_cell, lab_store):
    """outcome_rows on a station's notebook and the lab's lab_runs view after a sync agree
    column for column, so the Outcomes view shows the same whichever feeds it."""
    from lab.sync import sync_once
    lotted = cell.from_template("sym-agc", operator="CW")
    lotted = lotted.with_changes(layers=tuple(layer.__class__(layer.material, layer.thickness_um,
                                                              layer.areal_mass_mg_cm2, f"{layer.material}-S3")
                                              for layer in lotted.layers))
    write_run(db_path, full_cell, cycling_samples(THREE_CYCLES))
    write_run(db_path, lotted, cycling_samples([(1, +1, 3600), (1, -1, 3600)]), status="shorted",
              events=[alarm("hard_short", 5400.0)])
    with Notebook(db_path) as nb:
        nb.add_tag("batch-7", run_id=2)
    sync_once(db_path, lab_store.add_station("alpha"))
    conn = sqlite3.connect(db_path)
    local = {row["uuid"]: row for row in outcome_rows(conn)}
    conn.close()
    with lab_store.connect() as pg:
        cursor = pg.execute("SELECT * FROM solidstack.lab_runs")
        names = [c.name for c in cursor.description]
        lab = {str(row[0]): dict(zip(names, row)) for row in cursor.fetchall()}
    assert set(local) == set(lab) and len(lab) == 2
    skip = {"station", "station_role", "computed_utc"}     # the lab names a station by its login
    for uuid, row in local.items():
        theirs = lab[uuid]
        for key in (*RUN_COLUMNS, *OUTCOME_KEYS):
            if key in skip:
                continue
            mine, other = row[key], theirs[key]
            other = str(other) if key in ("uuid", "build_uuid", "station_uuid") and other is not None else other
            if isinstance(mine, float) and other is not None:
                assert float(other) == pytest.approx(mine, rel=1e-12), (uuid, key)
            else:
                assert mine == other, (uuid, key, mine, other)
    assert lab[[u for u, r in local.items() if r["local_id"] == 2][0]]["t_short_h"] == pytest.approx(1.5)


def test_a_damaged_run_leaves_only_its_own_figures_empty_and_says_why(db_path, full_cell):
    good = write_run(db_path, full_cell, cycling_samples(THREE_CYCLES))
    bad = write_run(db_path, full_cell, cycling_samples(THREE_CYCLES))
    conn = sqlite3.connect(db_path)
    with conn:          # a chunk lost: the run row still counts its samples
        conn.execute("DELETE FROM sample_chunks WHERE run_id = ? AND first_index > 0", (bad,))
    with pytest.raises(NotebookError, match=f"run {bad} .*damaged"):
        run_outcomes(conn, bad)
    rows = {r["local_id"]: r for r in outcome_rows(conn)}
    conn.close()
    assert rows[good]["capacity_first_mah"] == pytest.approx(0.95) and rows[good]["outcome_error"] is None
    assert rows[bad]["capacity_first_mah"] is None and "damaged" in rows[bad]["outcome_error"]
