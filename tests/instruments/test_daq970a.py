"""The DAQ970A cell-switch driver over pyvisa-py against its emulator on the loopback
interface: routing reads back what it set, channel lists parse as PROTOCOLS.md §6 says,
and the emulator catches a sequence that puts the SMU and the analyser on the cell at
once (the card itself would let it happen)."""
from __future__ import annotations

import pytest

import cell
from instruments.bench import simulated_bench
from instruments.clock import SimClock
from instruments.errors import InstrumentError
from instruments.sim.daq970a_emulator import EIS_CHANNELS, SMU_CHANNELS, parse_channel_list


@pytest.fixture
def bench():
    bench = simulated_bench(cell.from_template("full-agc"), SimClock(), seed=1)
    yield bench
    bench.close()


def test_identity_names_the_model_and_the_registry_knows_it(bench):
    from instruments.registry import match
    assert "DAQ970A" in bench.identities["switch"]
    assert match(bench.identities["switch"]).name == "KeysightDAQ970A"


@pytest.mark.parametrize("text, channels", [("(@101)", [101]), ("(@101:104,107)", [101, 102, 103, 104, 107]),
                                            ("(@ 120 , 119 )", [120, 119])])
def test_channel_lists(text, channels):
    assert parse_channel_list(text) == channels


@pytest.mark.parametrize("text", ["101", "(@100)", "(@121)", "(@105:103)", "(@1a1)"])
def test_bad_channel_lists_are_refused(text):
    with pytest.raises(ValueError):
        parse_channel_list(text)


def test_reset_opens_everything_and_route_connects_one_path_at_a_time(bench):
    switch, emulator = bench.switch, bench.emulators["switch"]
    switch.close([105, 106])
    assert switch.closed([105, 106, 107]) == [True, True, False]
    switch.reset()
    assert emulator.closed == set()
    switch.route("smu")
    assert emulator.closed == set(SMU_CHANNELS) and switch.routed == "smu"
    assert switch.closed([*SMU_CHANNELS, *EIS_CHANNELS]) == [True, True, False, False]
    switch.route("eis")
    assert emulator.closed == set(EIS_CHANNELS) and switch.routed == "eis"
    switch.route("smu")
    # Each route opened the other path (and read it back) before closing its own.
    assert [e.command for e in emulator.log] == [
        "ROUT:CLOS (@105,106)", "*RST",
        "ROUT:OPEN (@103,104)", "ROUT:CLOS (@101,102)",     # to the SMU
        "ROUT:OPEN (@101,102)", "ROUT:CLOS (@103,104)",     # to the analyser
        "ROUT:OPEN (@103,104)", "ROUT:CLOS (@101,102)"]     # back
    assert [e.paths for e in emulator.log[2:]] == [(), ("smu",), (), ("eis",), (), ("smu",)]
    assert all(len(e.paths) <= 1 for e in emulator.log)
    assert emulator.violations == []


def test_break_before_make_violation_is_recorded_when_a_bad_sequence_is_sent(bench):
    switch, emulator = bench.switch, bench.emulators["switch"]
    switch.reset()
    switch.route("smu")
    assert emulator.violations == []
    switch.close(EIS_CHANNELS)          # make before break: both instruments on the cell
    assert len(emulator.violations) == 1
    assert "SMU and the analyser" in emulator.violations[0]
    assert emulator.log[-1].paths == ("smu", "eis")


def test_connecting_the_analyser_while_the_source_is_on_is_a_violation(bench):
    switch, emulator, smu = bench.switch, bench.emulators["switch"], bench.smu
    smu.reset()
    switch.reset()
    switch.route("smu")
    smu.output(True)
    switch.route("eis")                 # the SMU path opens first, but the output is still on
    assert emulator.violations and "SMU output was on" in emulator.violations[-1]
    smu.safe_off()


def test_a_channel_the_card_lacks_is_an_instrument_error_and_changes_nothing(bench):
    switch, emulator = bench.switch, bench.emulators["switch"]
    switch.reset()
    switch.route("smu")
    switch.paths["eis"] = (103, 125)    # miswired: 125 is past the DAQM901A's 20 channels
    with pytest.raises(InstrumentError, match="Illegal parameter"):
        switch.route("eis")
    # The SMU path was opened (break first); the analyser path was not half-closed.
    assert emulator.closed == set()
    assert emulator.violations == []


def test_route_refuses_an_unknown_path(bench):
    with pytest.raises(ValueError, match="no path 'dmm'"):
        bench.switch.route("dmm")


@pytest.mark.parametrize("paths, message", [
    ({"smu": [101, 102]}, "must name exactly smu and eis"),
    ({"smu": [101, 102], "eis": [102, 103]}, "channel(s) 102 are in both paths"),
    ({"smu": [101, "102"], "eis": [103]}, "'smu' must be a list of channel numbers"),
    ({"smu": [], "eis": [103]}, "'smu' must be a list of channel numbers"),
    ({"smu": [101], "eis": [True]}, "'eis' must be a list of channel numbers"),
])
def test_a_bad_wiring_in_the_assignment_is_one_line_before_anything_opens(paths, message):
    from instruments.discovery import check_assignment
    entry = {"resource": "TCPIP0::127.0.0.1::1::SOCKET", "driver": "KeysightDAQ970A", "paths": paths}
    with pytest.raises(ValueError, match=r"^role 'switch': ") as refused:
        check_assignment({"switch": entry})
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_the_hardware_bench_opens_the_switch_with_the_assigned_wiring(bench):
    """The assignment path: the emulated DAQ970A as if it were on the LAN, wired on 105/106
    (SMU) and 115/116 (analyser)."""
    from instruments.bench import hardware_bench
    server = bench.servers["switch"]
    assignment = {
        "smu": {"resource": bench.servers["smu"].resource_name, "driver": "Keithley2450"},
        "switch": {"resource": server.resource_name, "driver": "KeysightDAQ970A",
                   "paths": {"smu": [105, 106], "eis": [115, 116]}}}
    hw = hardware_bench(assignment, cell.from_template("full-agc"))
    try:
        assert "DAQ970A" in hw.identities["switch"]
        hw.switch.route("eis")
        assert bench.emulators["switch"].closed == {115, 116}
    finally:
        hw.close()
