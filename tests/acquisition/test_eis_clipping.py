"""A protocol asks for the paper's range; the analyser in the impedance role takes what it
can: the engine clips the sweep to it (never sends it as is), notes that as a warning
event and in the run's provenance, stores the points the analyser flagged with their
flag, and the fit leaves those out. Also: the simulated bench's analyser is chosen by name."""
from __future__ import annotations

import numpy as np
import pytest

import cell
from acquisition.channels import ChannelManager
from acquisition.protocol import preset
from acquisition.session import prepare_run
from analysis.eis import fit_circuit
from instruments.hioki_im3590 import HiokiIM3590
from instruments.impedance_range import OVERLOAD
from instruments.solartron_1260 import Solartron1260
from notebook import Notebook

PAPER = {"f_start_hz": 1e6, "f_stop_hz": 0.1, "points": 71}       # 10 points a decade


def run(nb, template, protocol, impedance="e4990a", before=None, seed=0):
    session = prepare_run(nb, cell.from_template(template), protocol, speed="max", seed=seed, impedance=impedance)
    try:
        if before is not None:
            before(session.engine.bench)
        session.engine.run()
    finally:
        session.close()
    return session.engine


def test_the_e4990a_sweeps_from_20_hz_with_a_note_in_the_run(db_path):
    nb = Notebook(db_path)
    engine = run(nb, "sym-bare", preset("eis", **PAPER))
    assert engine.status == "completed"
    (spectrum,) = nb.spectra(engine.run_id)
    # by hand: log10(1e6 / 20) = 4.70 decades x 10 a decade -> 48 points, 1 MHz down to 20 Hz
    assert spectrum["freq_hz"].size == 48
    assert spectrum["freq_hz"][0] == pytest.approx(1e6) and spectrum["freq_hz"][-1] == pytest.approx(20.0)
    note = ("the Keysight E4990A covers 20 Hz to 120 MHz: the sweep asked, 1 MHz to 0.1 Hz in 71 points, "
            "was clipped to 1 MHz to 20 Hz, 48 points")
    (event,) = [e for e in nb.events(engine.run_id) if e["kind"] == "eis_range_clipped"]
    assert event["severity"] == "warning" and event["message"] == note
    assert event["evidence"]["sent"] == [1e6, 20.0, 48]
    provenance = nb.provenance(engine.run_id)["impedance"]
    assert provenance["clipped"] == [note] and provenance["capability"]["f_min_hz"] == 20.0
    # never sent as is: the emulator would have queued "-222 Data out of range" for < 20 Hz
    assert engine.bench.emulators["eis"]._errors == []
    nb.close()


def test_one_note_for_a_sweep_repeated_every_cycle(db_path):
    nb = Notebook(db_path)
    engine = run(nb, "sym-agc", preset("eis", cycles=3, rest_s=60.0, **PAPER), impedance="im3590")
    assert len(nb.spectra(engine.run_id)) == 3
    assert [e["kind"] for e in nb.events(engine.run_id)].count("eis_range_clipped") == 1
    nb.close()


def test_a_sweep_inside_the_analyser_span_is_sent_as_asked_without_a_note(db_path):
    nb = Notebook(db_path)
    engine = run(nb, "sym-agc", preset("eis", **PAPER), impedance="solartron1260")
    (spectrum,) = nb.spectra(engine.run_id)
    assert spectrum["freq_hz"].size == 71 and spectrum["freq_hz"][-1] == pytest.approx(0.1)
    assert spectrum["instrument"] == "Impedance analyser (Solartron 1260)"
    assert not [e for e in nb.events(engine.run_id) if e["kind"] == "eis_range_clipped"]
    assert nb.provenance(engine.run_id)["impedance"]["clipped"] == []
    nb.close()


def test_a_bias_the_analyser_cannot_apply_is_refused_before_the_run(db_path):
    nb = Notebook(db_path)
    with pytest.raises(ValueError) as err:
        prepare_run(nb, cell.from_template("sym-agc"), preset("eis", dc_bias_v=3.7), speed="max", impedance="im3590")
    assert str(err.value) == ("step 1 (eis): the Hioki IM3590's DC bias range is -2.5..2.5 V; 3.7 V was asked")
    assert nb.conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
    nb.close()


def test_points_the_analyser_flags_are_stored_and_left_out_of_the_fit(db_path):
    nb = Notebook(db_path)
    # Hold the IM3590 on its 10 ohm range: sym-bare (1 cm2) runs from 6.7 ohm at high
    # frequency to 19.9 ohm at low, so the low-frequency part overflows (above 11 ohm).
    engine = run(nb, "sym-bare", preset("eis", **PAPER), impedance="im3590",
                 before=lambda bench: bench.eis.configure(range_ohm=10.0))
    (spectrum,) = nb.spectra(engine.run_id)
    truth = np.abs(engine.bench.emulators["eis"].cell.impedance(spectrum["freq_hz"]))
    clear_over, clear_under = truth > 11.0 * 1.01, truth < 11.0 * 0.99       # clear of the 0.2 % noise
    flags = np.array(spectrum["flags"], dtype=object)
    assert clear_over.sum() > 10 and clear_under.sum() > 10
    assert all(flags[clear_over] == OVERLOAD) and all(flags[clear_under] == None)  # noqa: E711
    rows = nb.conn.execute("SELECT COUNT(*) FROM spectrum_points WHERE run_id = ? AND flag = 'overload'",
                           (engine.run_id,)).fetchone()[0]
    assert rows == sum(flag == OVERLOAD for flag in spectrum["flags"])
    fit = fit_circuit(spectrum["freq_hz"], spectrum["z"], "R0-p(R1,CPE1)", point_flags=spectrum["flags"])
    flagged = flags != None  # noqa: E711
    assert set(fit.flagged_frequency_hz) == set(spectrum["freq_hz"][flagged])
    assert not set(fit.frequency_hz) & set(fit.flagged_frequency_hz)
    assert f"{int(flagged.sum())} point(s) the analyser flagged left out of the fit ({int(flagged.sum())} overload)" \
        in fit.notes
    nb.close()


def test_the_channel_manager_opens_the_analyser_asked_for(db_path):
    nb = Notebook(db_path)
    manager = ChannelManager(nb)
    for index, (impedance, cls) in enumerate((("im3590", HiokiIM3590), ("solartron1260", Solartron1260)), start=1):
        session = manager.start(index, cell.from_template("sym-agc"), preset("eis"), speed="max",
                                impedance=impedance)
        assert isinstance(session.engine.bench.eis, cls)
    manager.shutdown()
    nb.close()
