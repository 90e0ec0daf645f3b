"""Anode and cathode potentials against the reference, per step and per rate."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.three_electrode import electrode_potentials, three_electrode


def full_cell_3e(area=1.0):
    """Rest, 0.8 mA/cm2 charge, rest, 0.8 mA/cm2 discharge. Cathode 3.80 V at rest, +40 mV
    on charge, -40 mV on discharge; Li anode 0 V at rest, -6 mV plating, +7 mV stripping."""
    blocks = [(0.0, 3.80, 0.0), (0.8e-3, 3.84, -0.006), (0.0, 3.80, 0.0), (-0.8e-3, 3.76, 0.007)]
    i, cathode, anode = (np.concatenate([np.full(600, b[k]) for b in blocks]) for k in range(3))
    t = np.arange(1, i.size + 1, dtype=float)
    return t, i * area, cathode - anode, cathode   # ref channel: working (cathode) vs reference


def test_potentials_from_the_reference_channel():
    anode, cathode = electrode_potentials(np.array([3.79]), np.array([3.80]))
    assert anode[0] == pytest.approx(0.01) and cathode[0] == pytest.approx(3.80)
    anode, cathode = electrode_potentials(np.array([3.79]), np.array([0.01]), working="anode")
    assert cathode[0] == pytest.approx(3.80)


def test_overpotentials_per_step_and_rate():
    t, i, v, ref = full_cell_3e(area=2.0)
    r = three_electrode(t, i, v, ref, area_cm2=2.0)
    steps = r.steps
    assert steps["direction"].tolist() == ["charge", "discharge"]
    assert steps["current_mA_cm2"].tolist() == pytest.approx([0.8, -0.8])
    assert steps["anode_overpotential_mV"].tolist() == pytest.approx([-6.0, 7.0])
    assert steps["anode_max_abs_mV"].tolist() == pytest.approx([6.0, 7.0])
    assert steps["cathode_overpotential_mV"].tolist() == pytest.approx([40.0, -40.0])
    assert (steps["anode_max_abs_mV"] < 10).all()          # DOMAIN.md: < 10 mV at 0.8 mA/cm2
    assert len(r.rates) == 2 and r.rates["n_steps"].tolist() == [1, 1]
    assert r.to_dict()["steps"][0]["direction"] == "charge"


def test_no_reference_channel_is_refused():
    t, i, v, _ = full_cell_3e()
    with pytest.raises(ValueError, match="no reference-electrode potential"):
        three_electrode(t, i, v, np.full(t.size, np.nan))


def test_which_electrode_the_reference_measures_from_its_level():
    from analysis.three_electrode import guess_working
    assert guess_working(np.array([-0.006, 0.0, 0.007, np.nan])) == "anode"       # Li vs Li: millivolts
    assert guess_working(np.array([3.80, 3.84, 3.76])) == "cathode"              # NMC vs Li: volts
    with pytest.raises(ValueError, match="ref channel is empty"):
        guess_working(np.full(3, np.nan))
