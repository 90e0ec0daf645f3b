"""Cycling figures against hand-computed values and the vendor's own table in a real
Neware export, and the rate table of a real rate test."""
from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.cycling import CellBasis, cycle_summary
from analysis.segments import derive_cycles, half_cycle_labels
from conftest import TEST_DATA
from notebook.formats import read_timeseries

CYCLING = TEST_DATA / "cycling"


def two_cycles(charge_a=1e-3, discharge_a=0.9e-3, n=3600, rest=600):
    """Per cycle: charge at 3.9 V, rest, discharge at 3.7 V, rest; 1 s samples."""
    i = np.concatenate([np.full(n, charge_a), np.zeros(rest), np.full(n, -discharge_a), np.zeros(rest)])
    v = np.concatenate([np.full(n, 3.9), np.full(rest, 3.8), np.full(n, 3.7), np.full(rest, 3.75)])
    i, v = np.tile(i, 2), np.tile(v, 2)
    t = np.arange(1, i.size + 1, dtype=float)
    cycle = np.repeat([1, 2], i.size // 2)
    return t, i, v, cycle


def test_figures_by_hand():
    t, i, v, cycle = two_cycles()
    basis = CellBasis(active_mass_mg=5.0, area_cm2=2.0, stack_mass_mg=41.0, stack_thickness_um=100.0, one_c_mA=1.0)
    s = cycle_summary(t, i, v, cycle, basis=basis)
    c = s.cycles
    assert c["cycle"].tolist() == [1, 2]
    assert c["charge_mAh"].tolist() == pytest.approx([1.0, 1.0])          # 1 mA x 1 h
    assert c["discharge_mAh"].tolist() == pytest.approx([0.9, 0.9])
    assert c["discharge_mAh_g"].tolist() == pytest.approx([180.0, 180.0])  # 0.9 mAh / 5 mg
    assert c["charge_mAh_cm2"].tolist() == pytest.approx([0.5, 0.5])
    assert c["ce"].tolist() == pytest.approx([0.9, 0.9])
    assert s.average_ce == pytest.approx(0.9) and s.ce_convention == "discharge/charge"
    # 0.9 mAh at 3.7 V = 3.33 mWh: the first discharge sample's interval is under discharge, so
    # the rest voltage before it (3.8 V) takes no part
    assert c["discharge_Wh"].iloc[0] == pytest.approx(0.9 * 3.7 * 1e-3, rel=1e-12)
    assert c["discharge_V_avg"].iloc[1] == pytest.approx(3.7, abs=1e-4)
    assert c["discharge_Wh_kg"].iloc[1] == pytest.approx(c["discharge_Wh"].iloc[1] / 41e-6)
    assert c["discharge_Wh_L"].iloc[1] == pytest.approx(c["discharge_Wh"].iloc[1] / (2.0 * 100e-4 / 1000))
    assert c["discharge_current_mA"].tolist() == pytest.approx([0.9, 0.9])
    assert c["charge_time_s"].tolist() == [3600.0, 3600.0]
    assert s.retention == pytest.approx(1.0)
    row = s.rate_table.iloc[0]
    assert len(s.rate_table) == 1 and row.n_cycles == 2 and row.c_rate == pytest.approx(0.9)
    assert s.to_dict()["cycles"][0]["discharge_mAh_g"] == pytest.approx(180.0)


def test_paper_energy_density_check():
    """DOMAIN.md: 1.39 mAh/cm2 at 3.70 V over a 100 um, 20.5 mg/cm2 stack = 250.6 Wh/kg, 514.3 Wh/L."""
    n = 3600                                               # 1.39 mA for 1 h = 1.39 mAh
    i = np.concatenate([np.full(n, 1.39e-3), np.full(n, -1.39e-3)])
    v = np.full(2 * n, 3.70)
    s = cycle_summary(np.arange(1, 2 * n + 1, dtype=float), i, v,
                      basis=CellBasis(area_cm2=1.0, stack_mass_mg=20.5, stack_thickness_um=100.0))
    row = s.cycles.iloc[0]
    assert row.discharge_mAh_cm2 == pytest.approx(1.39, rel=1e-3)
    assert row.discharge_Wh_L == pytest.approx(514.3, rel=1e-3)
    assert row.discharge_Wh_kg == pytest.approx(250.9, rel=1e-3)   # 5.143 mWh/cm2 / 20.5 mg/cm2


def test_convention_reverses_the_pairing_and_is_stored():
    t, i, v, _ = two_cycles()
    s = cycle_summary(t, -i, v, ce_convention="charge/discharge")   # discharge first: an anode half cell
    assert s.ce_convention == "charge/discharge"
    assert s.cycles["ce"].tolist() == pytest.approx([0.9, 0.9])    # Q_chg / Q_dis
    assert s.to_dict()["ce_convention"] == "charge/discharge"
    assert "no cycle column" in s.notes[0]
    with pytest.raises(ValueError, match="unknown CE convention"):
        cycle_summary(t, i, v, ce_convention="dis/chg")


def test_derived_cycles_follow_the_sign_changes():
    current = np.array([0, 1, 1, 0, -1, -1, 0, 1, 0, -1, 1])
    direction, half = half_cycle_labels(current)
    assert half.tolist() == [-1, 0, 0, 0, 1, 1, 1, 2, 2, 3, 4]
    assert derive_cycles(direction, half, +1).tolist() == [1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 3]
    assert derive_cycles(direction, half, -1).tolist() == [1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3]


def test_unfinished_cycle_average_ce_and_retention():
    t, i, v, cycle = two_cycles()
    keep = t <= 7200 + 1200 + 3600                          # cycle 2 stops after its charge
    s = cycle_summary(t[keep], i[keep], v[keep], cycle[keep])
    assert math.isnan(s.cycles["discharge_mAh"].iloc[1]) and math.isnan(s.cycles["ce"].iloc[1])
    assert math.isnan(s.average_ce)                          # no cycle 2..N has both halves
    assert s.to_dict()["average_ce"] is None
    assert s.retention == pytest.approx(1.0)


def test_bad_input_is_refused():
    t, i, v, cycle = two_cycles()
    t[100] = 5.0
    with pytest.raises(ValueError, match="time goes backwards at sample 100"):
        cycle_summary(t, i, v, cycle)
    with pytest.raises(ValueError, match="active_mass_mg must be a positive number"):
        CellBasis(active_mass_mg=-1)
    assert cycle_summary(np.zeros(0), np.zeros(0), np.zeros(0)).cycles.empty


def test_neware_records_match_the_vendors_cycle_table():
    series = read_timeseries(CYCLING / "nw_regular_export_ife_example.csv")
    f = series.frame
    s = cycle_summary(f.t_s, f.current_A, f.voltage_V, f.cycle)
    vendor = series.meta["vendor_cycles"]
    assert s.cycles["cycle"].tolist() == vendor["cycle"].tolist() == list(range(1, 21))
    # the records carry whole seconds: a 171 s charge step can be off by 1 s in 600
    np.testing.assert_allclose(s.cycles["charge_mAh"], vendor["charge_mAh"], rtol=2e-3)
    np.testing.assert_allclose(s.cycles["discharge_mAh"], vendor["discharge_mAh"], rtol=1e-3)
    np.testing.assert_allclose(s.cycles["ce"], vendor["ce"], rtol=2e-3)
    np.testing.assert_allclose(s.cycles["charge_Wh"], vendor["charge_Wh"], rtol=3e-3)
    np.testing.assert_allclose(s.cycles["discharge_Wh"], vendor["discharge_Wh"], rtol=1e-3)
    assert s.retention == pytest.approx(263.20 / 330.67, rel=2e-3)    # cycle 20 vs cycle 1 discharge


def test_rate_test_without_cycle_numbers_gives_a_rate_table():
    series = read_timeseries(CYCLING / "SINTEF__SLPBA842124HV__2024-10-23__Rate_25degC__Neware__Time_Bug.bdf.csv")
    f = series.frame
    s = cycle_summary(f.t_s, f.current_A, f.voltage_V, f.cycle)
    assert "constant" in s.notes[0]
    assert len(s.cycles) == 5
    rates = s.rate_table
    assert rates["current_mA"].round(-1).tolist() == pytest.approx([650, 6550, 13100, 32750, 59460], rel=2e-3)
    # first discharge: 0.6538 A from 15755.64 s to 55840.52 s (steady CC) = 7280 mAh
    assert rates["capacity_mAh"].iloc[0] == pytest.approx(0.6538 * (55840.52 - 15755.64) / 3.6, rel=5e-3)
    assert (np.diff(rates["capacity_mAh"]) < 0).all()        # less capacity at every higher rate


def test_landt_half_cell_is_discharge_first():
    series = read_timeseries(CYCLING / "SINTEF__LiGrR2032__2024-04-30__25degC__Landt.bdf.csv")
    f = series.frame
    s = cycle_summary(f.t_s, f.current_A, f.voltage_V, ce_convention="charge/discharge")
    # 0.2 mA as recorded, from 43200.0 s to 171788.294 s: 7.1438 mAh lithiation
    assert s.cycles["discharge_mAh"].iloc[0] == pytest.approx(0.0002 * (171788.294 - 43200.0) / 3.6, rel=1e-6)
    assert s.cycles["charge_mAh"].iloc[0] == pytest.approx(0.0002 * (235928.830 - 171788.294) / 3.6, rel=1e-6)
    assert len(s.cycles) == 2 and math.isnan(s.cycles["charge_mAh"].iloc[1])
