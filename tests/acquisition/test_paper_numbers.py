"""The closed loop: the simulated bench, driven by the real driver and the run engine,
reproduces the DOMAIN.md table when the logged data are analysed (here by hand, from
the step table and the samples; the analysis package checks its own code)."""
from __future__ import annotations

import numpy as np
import pytest

import cell
from acquisition.protocol import preset
from acquisition.session import prepare_run
from instruments.sim.full_cell import SHORT_SPREAD
from notebook import Notebook


def run(db_path, template, protocol, seed=0, **overrides):
    nb = Notebook(db_path)
    stack = cell.from_template(template)
    session = prepare_run(nb, stack, preset(protocol, **overrides), speed="max", seed=seed)
    try:
        session.engine.run()
    finally:
        session.close()
    return nb, session.engine, stack


def specific(stack, mah):
    return mah / (cell.figures(stack).active_mass_mg_cm2 * stack.area_cm2 / 1000.0)


def one_sample_mah_g(c_rate: float, interval_s: float) -> float:
    """What one sample interval at `c_rate` adds, in mAh/g (1C = 200 mAh/g of NMC): a step
    ends at the first sample past its cut-off, so a capacity is exact only to this."""
    return 200.0 * c_rate * interval_s / 3600.0


def test_rate_test_delivers_the_paper_capacities(db_path):
    nb, engine, stack = run(db_path, "full-agc", "rate-test")
    assert engine.status == "completed"
    discharges = [s for s in nb.steps(engine.run_id) if s["label"] == "discharge"]
    last_of_group = [specific(stack, discharges[i]["charge_mah"]) for i in (2, 5, 8, 11)]
    # The model is calibrated to the paper's figures and its 2 uV noise cannot move a cut-off
    # by a sample: seeds 0-4 all gave 174.000 / 149.444 / 130.556 / 113.611. So each must
    # be within one 10 s sample of the paper (0.06 / 0.11 / 0.19 / 0.28 mAh/g; was 3 %).
    for measured, paper, rate in zip(last_of_group, [174.0, 149.4, 130.5, 113.4], [0.1, 0.2, 1 / 3, 0.5]):
        assert measured == pytest.approx(paper, abs=one_sample_mah_g(rate, 10.0)), (rate, measured)
    # discharge ends at the 2.6 V cut-off, charge at 4.25 V
    assert all(s["v_end"] <= 2.6 for s in discharges)
    assert all(s["v_end"] >= 4.25 for s in nb.steps(engine.run_id) if s["label"] == "charge")
    nb.close()


def test_long_cycling_retention_and_coulombic_efficiency(db_path):
    nb, engine, stack = run(db_path, "full-agc", "cycling-c3-500")
    steps = nb.steps(engine.run_id)
    charge = np.array([s["charge_mah"] for s in steps if s["label"] == "charge"])
    discharge = np.array([s["charge_mah"] for s in steps if s["label"] == "discharge"])
    assert len(discharge) == 500
    # Retention: each end is exact to one 60 s sample at C/3 (1.11 mAh/g of ~131 mAh/g), so
    # the ratio to within (1 + retention) x 1.11 / 131 = 0.015. Seeds 0-4 all gave 0.8000
    # (the noise moves no cut-off; the fade follows from the model's R_ct growth); the paper's 80.2 % (was +-8 %).
    sample = one_sample_mah_g(1 / 3, 60.0) / specific(stack, discharge[0])
    assert discharge[-1] / discharge[0] == pytest.approx(0.802, abs=1.8 * sample)
    # CE: the side reaction takes 0.03 % (99.97 %); per cycle the same quantisation (0.85 %)
    # applies, averaging over 499 cycles to ~1.6e-4 (1 sigma). Seeds 0-4: 0.99970.
    assert np.mean(discharge[1:] / charge[1:]) == pytest.approx(0.9997, abs=3e-4)
    nb.close()


def test_full_cell_without_interlayer_soft_shorts_on_first_charge_near_3_7_v(db_path):
    nb, engine, stack = run(db_path, "full-bare", "rate-test", seed=2)
    assert engine.status == "shorted"
    (event,) = nb.events(engine.run_id)
    assert event["kind"] == "soft_short"
    samples = nb.samples(engine.run_id)
    at = samples[event["sample_index"]]
    assert at["step"] == 0 and at["cycle"] == 1                  # the first charge
    # Fig 3f: near 3.7 V; seeds 0-5 gave 3.687 to 3.697 V (the OCV where the short falls, 2 mV
    # flicker): 20 mV (was 100 mV)
    assert at["voltage"] == pytest.approx(3.7, abs=0.02)
    charged = specific(stack, at["t"] * at["current"] / 3.6)
    # The model draws each cell's short point as 41 mAh/g x (1 + 5 % x N(0, 1)), so the paper's
    # figure holds only to the model's spread (seeds 0-5 drew 39.4 to 45.2); the detector is
    # judged against the point this cell actually shorted at, which is known exactly: it
    # fired 90 to 140 s later on seeds 0-5 (five flicker falls of 10 s samples), here bounded
    # by 200 s of C/10 charge = 1.11 mAh/g (was: 41 +- 15 %, whatever the cell drew).
    model = engine.bench.emulators["smu"].cell
    drawn = specific(stack, model.params.short_at_mAh_cm2 * stack.area_cm2)
    assert drawn == pytest.approx(41.0, rel=3 * SHORT_SPREAD)
    assert 0 < charged - drawn <= one_sample_mah_g(0.1, 200.0)
    assert not engine.bench.emulators["smu"].output_on
    nb.close()


def weppner_huggins(samples, thickness_cm):
    """D per pulse by hand: ΔE_t from a fit of V against sqrt(t) over the pulse (the IR
    step drops out as the intercept), ΔE_s between the relaxed voltages around it."""
    out = []
    for k in range(1, samples["step"].max() // 2):
        before, pulse, after = (samples[samples["step"] == s] for s in (2 * k - 1, 2 * k, 2 * k + 1))
        tau = pulse["t"][-1] - before["t"][-1]
        slope, _ = np.polyfit(np.sqrt(pulse["t"] - before["t"][-1]), pulse["voltage"], 1)
        d_es = abs(after["voltage"][-1] - before["voltage"][-1])
        out.append((pulse["t"][-1], 4 * thickness_cm ** 2 / (np.pi * tau) * (d_es / abs(slope * np.sqrt(tau))) ** 2))
    return np.array(out)


@pytest.mark.parametrize("template, expected", [("half-agc", 1.71e-10), ("half-c", 4.21e-11)])
def test_gitt_diffusivity_at_160_h(db_path, template, expected):
    nb, engine, stack = run(db_path, template, "gitt")
    assert engine.status == "completed"
    thickness_cm = next(l.thickness_um for l in stack.layers if stack.material(l).kind == "interlayer") * 1e-4
    d = weppner_huggins(nb.samples(engine.run_id), thickness_cm)
    at_160 = d[np.argmin(np.abs(d[:, 0] / 3600 - 160)), 1]
    # Over seeds 0-4 the by-hand D at 160 h spread -1.7..0 % (Ag-C) and -6.8..+2.4 % (carbon,
    # whose smaller voltage steps the 2 uV noise shakes more): 3 % and 8 % (were 10 %).
    assert at_160 == pytest.approx(expected, rel=0.03 if template == "half-agc" else 0.08)
    nb.close()


def test_seeded_runs_repeat_exactly(tmp_path):
    a = run(tmp_path / "a.sqlite", "asym-agc", "plate-strip-0.16", seed=7)
    b = run(tmp_path / "b.sqlite", "asym-agc", "plate-strip-0.16", seed=7)
    assert a[0].samples(a[1].run_id).tobytes() == b[0].samples(b[1].run_id).tobytes()
    a[0].close(), b[0].close()


def circle_chord(z: np.ndarray) -> float:
    """Width on the real axis of the circle best fitting the points (x, -y) of `z`:
    x^2 + y^2 + D x + E y + F = 0 by least squares; on y = 0 the roots differ by sqrt(D^2 - 4F)."""
    x, y = z.real, -z.imag
    d, _, f = np.linalg.lstsq(np.column_stack([x, y, np.ones_like(x)]), -(x * x + y * y), rcond=None)[0]
    return float(np.sqrt(d * d - 4 * f))


@pytest.mark.parametrize("template, r_int", [("sym-bare", 6.59), ("sym-agc", 0.58)])
def test_eis_of_symmetric_cells_gives_the_paper_interfacial_resistance(db_path, template, r_int):
    nb, engine, stack = run(db_path, template, "eis")
    assert engine.status == "completed"
    (spectrum,) = nb.spectra(engine.run_id)
    assert spectrum["instrument"] == "Impedance analyser (Keysight E4990A)"
    assert spectrum["freq_hz"][0] == pytest.approx(1e6) and spectrum["freq_hz"][-1] == pytest.approx(20.0)
    z = spectrum["z"]
    assert np.all(z.imag < 0.01 * np.abs(z))        # capacitive arcs below the real axis
    # by hand: the two interfaces (R || CPE each, equal) make one depressed arc, which is a
    # circle arc; fit a circle to the points (algebraic least squares) and take the chord it
    # cuts on the real axis, the arc's full width even where the sweep does not reach the
    # axis. (The end-to-end width used before fell 0.5 % / 5 % short.) Over seeds 0-5 this
    # gave -0.1..+0.2 % (bare) and -2.3..+1.3 % (Ag-C, a small arc under the 0.2 % noise of
    # a ~7 ohm bulk): 1 % and 4 % (were 10 %).
    per_interface = circle_chord(z) * stack.area_cm2 / 2
    assert per_interface == pytest.approx(r_int, rel=0.01 if template == "sym-bare" else 0.04)
    nb.close()


def test_an_eis_sweep_wholly_below_20_hz_is_refused_naming_the_analyser(db_path):
    # (one that only reaches below is clipped to 20 Hz with a note: tests/acquisition/test_eis_clipping.py)
    nb = Notebook(db_path)
    with pytest.raises(ValueError, match="Keysight E4990A covers 20 Hz to 120 MHz: none of the sweep"):
        prepare_run(nb, cell.from_template("sym-agc"), preset("eis", f_start_hz=10.0, f_stop_hz=0.1), speed="max")
    assert nb.conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
    nb.close()


def test_three_electrode_anode_potential_stays_under_10_mv_and_flat_at_0_8_ma_cm2(db_path):
    nb, engine, stack = run(db_path, "full-agc-3e", "rate-test")
    assert engine.status == "completed"
    assert "ref" in engine.bench.identities and "34465A" in engine.bench.identities["ref"]
    samples = nb.samples(engine.run_id)
    assert not np.isnan(samples["ref"]).any()          # one reference reading per SMU sample
    steps = nb.steps(engine.run_id)
    stripping_05c = [s["step"] for s in steps if s["label"] == "discharge" and s["cycle"] > 9]
    for step in stripping_05c:
        ref = samples["ref"][samples["step"] == step]
        current = samples["current"][samples["step"] == step]
        assert current[0] * 1e3 / stack.area_cm2 == pytest.approx(-0.8, rel=0.01)
        assert np.all(np.abs(ref) < 0.010)
        assert np.ptp(ref) < 0.1 * np.mean(np.abs(ref))   # flat during stripping
    nb.close()


def test_an_eis_sweep_arrives_in_growing_parts_and_is_stored_whole(db_path):
    from acquisition.live import LiveBuffer

    class Parts(LiveBuffer):
        def __init__(self):
            super().__init__()
            self.sizes = []

        def on_spectrum(self, spectrum):
            self.sizes.append(spectrum["freq_hz"].size)
            super().on_spectrum(spectrum)

    nb = Notebook(db_path)
    parts = Parts()
    session = prepare_run(nb, cell.from_template("sym-agc"), preset("eis", dc_bias_v=0.0), speed="max", listeners=[parts])
    try:
        session.engine.run()
    finally:
        session.close()
    assert parts.sizes == [8, 16, 24, 32, 40, 48, 51]        # 51 points in parts of 8
    assert len(parts.spectra) == 1 and parts.spectra[0]["complete"]
    (stored,) = nb.spectra(session.engine.run_id)
    assert np.allclose(stored["freq_hz"], np.geomspace(1e6, 20.0, 51))
    nb.close()


def test_eis_on_a_dc_bias_switches_the_bias_off_after(db_path):
    nb = Notebook(db_path)
    session = prepare_run(nb, cell.from_template("sym-agc"), preset("eis", dc_bias_v=0.005), speed="max")
    try:
        session.engine.run()
        emulator = session.engine.bench.emulators["eis"]
        assert emulator.bias_v == 0.005 and emulator.bias_on is False
    finally:
        session.close()
    with pytest.raises(ValueError, match=r"dc_bias_v: must be at most 40"):
        preset("eis", dc_bias_v=50.0)
    nb.close()
