"""EIS fitting: impedance.py's documented example, element formulas by hand, a
closed loop on a synthetic symmetric cell, and bad fits flagged."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.eis import Circuit, CircuitError, fit_circuit, lin_kk
from conftest import TEST_DATA
from notebook.formats import read_spectrum

EXAMPLE = TEST_DATA / "eis" / "exampleData.csv"


def test_reproduces_impedance_py_documented_fit():
    """impedance.py docs, "Getting started", step 5: the fit of exampleData.csv with
    R0-p(R1,C1)-p(R2-Wo1,C2) from initial guess [.01, .01, 100, .01, .05, 100, 1]."""
    spectrum = read_spectrum(EXAMPLE)
    fit = fit_circuit(spectrum.frequency_hz, spectrum.z_ohm, "R0-p(R1,C1)-p(R2-Wo1,C2)", [.01, .01, 100, .01, .05, 100, 1])
    documented = {"R0": "1.65e-02", "R1": "8.68e-03", "C1": "3.32e+00", "R2": "5.39e-03", "Wo1_0": "6.31e-02",
                  "Wo1_1": "2.33e+02", "C2": "2.20e-01"}
    assert {k: f"{v:.2e}" for k, v in fit.parameters.items()} == documented
    # the 1-sigma errors impedance.py 1.7.1 prints for this fit
    printed = {"R0": 1.54e-04, "R1": 1.91e-04, "C1": 1.90e-01, "R2": 2.06e-04, "Wo1_0": 1.94e-03, "Wo1_1": 1.62e+01,
               "C2": 1.75e-02}
    for name, err in printed.items():
        assert fit.stderr[name] == pytest.approx(err, rel=0.01), name
    assert fit.frequency_hz.size == 57 and "9 point(s)" in fit.notes[0]   # Im(Z) >= 0 left out, as the docs do
    assert fit.ok and fit.units["Wo1_1"] == "s"


def test_element_formulas_by_hand():
    w = 1000.0
    f = np.array([w / (2 * np.pi)])
    # R || C at omega = 1/RC: R / (1 + j)
    assert Circuit("p(R1,C1)").impedance([10.0, 1e-4], f)[0] == pytest.approx(5 - 5j)
    # a CPE with n = 1 is a capacitor; with n = 0.5 its phase is -45 degrees
    assert Circuit("CPE1").impedance([1e-3, 1.0], f)[0] == pytest.approx(1 / (1j * w * 1e-3))
    assert np.angle(Circuit("CPE1").impedance([1e-3, 0.5], f)[0], deg=True) == pytest.approx(-45)
    assert Circuit("W1").impedance([2.0], f)[0] == pytest.approx(2 * (1 - 1j) / np.sqrt(w))
    assert Circuit("L1-R1").impedance([1e-6, 3.0], f)[0] == pytest.approx(3 + 1e-3j)
    # finite Warburg limits at low frequency: Wo -> a capacitor, Ws -> its resistance Z0
    low = np.array([1e-6])
    assert Circuit("Ws1").impedance([4.0, 10.0], low)[0].real == pytest.approx(4.0, rel=1e-6)
    assert Circuit("Wo1").impedance([4.0, 10.0], low)[0].real == pytest.approx(4.0 / 3, rel=1e-4)
    c = Circuit("R0-p(R1,CPE1)-p(R2-Wo1,C2)")
    assert c.parameter_names == ["R0", "R1", "CPE1_0", "CPE1_1", "R2", "Wo1_0", "Wo1_1", "C2"]
    assert c.interface_default() == ["R2"]


@pytest.mark.parametrize("text, message", [
    ("R0-p(R1,C1", "expected ',' or ')' at position 11"),
    ("R0-X1", "unknown element 'X1'"),
    ("R0-p(R1)", "at least two branches"),
    ("R1-R1", "more than once"),
    ("R0--C1", "expected an element"),
    ("", "empty circuit"),
])
def test_bad_circuit_strings_say_where(text, message):
    with pytest.raises(CircuitError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Circuit(text)


def symmetric_cell(noise=0.001, seed=3):
    """Li | LPSCl | Li, 1 cm2: leads 1 ohm, a 40 um electrolyte at 0.6 mS/cm (6.7 ohm)
    and two Li interfaces of 0.58 ohm cm2 each (DOMAIN.md, with Ag-C at 5 MPa)."""
    area = 1.0
    true = [1.0, 6.7, 1e-6, 0.9, 2 * 0.58 / area, 1e-3, 0.85]
    f = np.geomspace(1e6, 0.1, 60)
    # written out here, not made by the Circuit under test: R0 in series with two arcs,
    # each R || CPE with Z_CPE = 1 / (Q (j w)^n), so R / (1 + R Q (j w)^n)
    r0, r1, q1, n1, r2, q2, n2 = true
    jw = 1j * 2 * np.pi * f
    z = r0 + r1 / (1 + r1 * q1 * jw ** n1) + r2 / (1 + r2 * q2 * jw ** n2)
    rng = np.random.default_rng(seed)
    return f, z * (1 + noise * rng.standard_normal(f.size)), area, true


def test_closed_loop_symmetric_cell_per_interface_asr():
    f, z, area, true = symmetric_cell()
    fit = fit_circuit(f, z, "R0-p(R1,CPE1)-p(R2,CPE2)", area_cm2=area, symmetric=True)   # no guess: automatic
    assert fit.ok, fit.flags
    assert fit.per_interface_ohm_cm2["R2"] == pytest.approx(0.58, rel=0.02)        # DOMAIN.md, Ag-C at 5 MPa
    assert fit.area_specific_ohm_cm2["R1"] == pytest.approx(fit.parameters["R1"] * area)
    assert abs(fit.parameters["R2"] - true[4]) < 3 * fit.stderr["R2"]
    out = fit.to_dict()
    assert set(out) >= {"circuit", "parameters", "stderr", "area_specific_ohm_cm2"}


def test_a_circuit_missing_an_arc_is_flagged():
    f, z, area, _ = symmetric_cell()
    fit = fit_circuit(f, z, "R0-p(R1,CPE1)", area_cm2=area)
    assert not fit.ok and any("does not describe this spectrum" in flag for flag in fit.flags)


def test_kramers_kronig_catches_inconsistent_data():
    f, z, _, _ = symmetric_cell(noise=0)
    assert lin_kk(f, z).residual_rms_pct < 0.5
    drifted = z.real * (1 + 0.6 * np.linspace(0, 1, f.size)) + 1j * z.imag     # the real part drifts during the sweep
    kk = lin_kk(f, drifted)
    assert kk.residual_rms_pct > 2.0
    fit = fit_circuit(f, drifted, "R0-p(R1,CPE1)-p(R2,CPE2)")
    assert any("Kramers-Kronig" in flag for flag in fit.flags)


def test_fit_input_errors():
    f, z, _, _ = symmetric_cell()
    with pytest.raises(ValueError, match="needs 7 values"):
        fit_circuit(f, z, "R0-p(R1,CPE1)-p(R2,CPE2)", [1, 2, 3])
    with pytest.raises(ValueError, match="not resistances"):
        fit_circuit(f, z, "R0-p(R1,CPE1)-p(R2,CPE2)", symmetric=True, interface=["CPE2_0"])
    with pytest.raises(ValueError, match="cannot determine"):
        fit_circuit(f[:3], z[:3], "R0-p(R1,CPE1)-p(R2,CPE2)")
