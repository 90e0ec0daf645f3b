"""Discovery, suggested drivers and roles, and the saved role assignment, against the
pyvisa-sim definitions shipped in resources/."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import pyvisa

import cell
import resources
from conftest import ROOT
from instruments import discovery
from instruments.bench import hardware_bench

BACKEND = resources.file_path("instruments_sim.yaml") + "@sim"
SMU = "TCPIP0::192.168.10.50::5025::SOCKET"


@pytest.fixture(scope="module")
def found():
    rm = pyvisa.ResourceManager(BACKEND)
    yield discovery.discover(rm)
    rm.close()


def test_every_instrument_is_identified_with_driver_and_role(found):
    got = {f.resource: (f.driver, f.role) for f in found}
    assert got == {
        SMU: ("Keithley2450", "smu"),
        "TCPIP0::192.168.10.51::5025::SOCKET": ("KeysightE4990A", "eis"),
        "TCPIP0::192.168.10.52::5025::SOCKET": ("Keysight34465A", "ref"),
        "ASRL1::INSTR": ("AlicatPressureController", "pressure"),
        "ASRL2::INSTR": ("Mark10ForceGauge", "force"),
    }


def test_assignment_round_trip_and_hardware_bench(found, tmp_path):
    path = tmp_path / "instruments.json"
    assignment = discovery.assign(found, [f"smu={SMU}", "pressure=ASRL1::INSTR"])
    discovery.save_assignment(assignment, path)
    assert discovery.load_assignment(path) == assignment
    bench = hardware_bench(discovery.load_assignment(path), cell.from_template("sym-agc", fixture_limit_mpa=10.0),
                           backend=BACKEND, timeout_ms=500)
    try:
        assert "MODEL 2450" in bench.identities["smu"] and "Alicat" in bench.identities["pressure"]
        assert bench.pressure.limit_mpa == 10.0 and bench.eis is None
    finally:
        bench.close()


@pytest.mark.parametrize("pairs, message", [
    (["tea=ASRL1::INSTR"], "unknown role 'tea'"),
    (["eis=" + SMU], "cannot be the impedance analyser"),
    (["smu=GPIB0::9::INSTR"], "was not found"),
    (["smu"], "write ROLE=RESOURCE"),
])
def test_bad_assignments_are_refused_with_the_reason(found, pairs, message):
    with pytest.raises(ValueError, match=message):
        discovery.assign(found, pairs)


def test_a_corrupt_assignment_file_is_reported(tmp_path):
    path = tmp_path / "instruments.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        discovery.load_assignment(path)
    with pytest.raises(FileNotFoundError, match="instruments --assign"):
        discovery.load_assignment(tmp_path / "none.json")


def cli(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_cli_lists_assigns_merges_and_shows(tmp_path):
    config = tmp_path / "instruments.json"
    listing = json.loads(cli("instruments", "--list", "--backend", BACKEND, "--json").stdout)
    assert {f["role"] for f in listing} == {"smu", "eis", "ref", "pressure", "force"}
    assert cli("instruments", "--backend", BACKEND, "--assign", f"smu={SMU}", "--config", config).returncode == 0
    assert cli("instruments", "--backend", BACKEND, "--assign", "force=ASRL2::INSTR", "--config", config).returncode == 0
    shown = json.loads(cli("instruments", "--show", "--config", config, "--json").stdout)
    assert set(shown) == {"smu", "force"}
    bad = cli("instruments", "--backend", BACKEND, "--assign", f"eis={SMU}", "--config", config)
    assert bad.returncode == 2 and "cannot be the impedance analyser" in bad.stderr
    assert set(json.loads(config.read_text())) == {"smu", "force"}   # unchanged by the refused call


def test_a_hardware_run_without_an_assignment_says_what_to_do(tmp_path):
    result = cli("run", "sym-agc", "plate-strip-0.16", "--bench", "hw", "--instruments", tmp_path / "none.json",
                 "--db", tmp_path / "n.sqlite")
    assert result.returncode == 2 and "instruments --assign" in result.stderr
