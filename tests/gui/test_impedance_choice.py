"""The impedance analyser in the GUI: the run form offers the three the simulated bench
can emulate (locked while a run goes), and the analysis view shows the points an
analyser flagged as crosses of their own, apart from the fitted points."""
from __future__ import annotations

import numpy as np
import pytest

import cell
from acquisition.protocol import preset
from acquisition.session import prepare_run
from gui.analysis_view import AnalysisView
from gui.protocol_editor import ProtocolEditor
from gui.run_panel import RunPanel
from instruments.bench import IMPEDANCE_ANALYSERS
from notebook import Notebook


def test_the_run_form_offers_each_emulated_analyser(qtbot):
    editor = ProtocolEditor()
    qtbot.addWidget(editor)
    panel = RunPanel(editor, lambda: cell.from_template("sym-agc"))
    qtbot.addWidget(panel)
    offered = [panel.impedance.itemData(k) for k in range(panel.impedance.count())]
    assert offered == list(IMPEDANCE_ANALYSERS) == ["e4990a", "im3590", "solartron1260"]
    assert panel.impedance.currentData() == "e4990a"          # what the existing runs were made with
    assert "1 mHz – 200 kHz" in panel.impedance.itemText(1)
    panel.set_state("running")
    assert not panel.impedance.isEnabled()
    panel.set_state("idle")
    assert panel.impedance.isEnabled()


@pytest.fixture
def flagged_run(db_path):
    """sym-bare swept by an IM3590 held on its 10 ohm range: the low-frequency points overflow."""
    with Notebook(db_path) as nb:
        session = prepare_run(nb, cell.from_template("sym-bare"), preset("eis", f_stop_hz=0.1, points=71),
                              speed="max", impedance="im3590")
        try:
            session.engine.bench.eis.configure(range_ohm=10.0)
            session.engine.run()
        finally:
            session.close()
        flags = nb.spectra(session.engine.run_id)[0]["flags"]
    return db_path, session.engine.run_id, sum(flag is not None for flag in flags)


def test_the_analysis_view_shows_flagged_points_apart_and_says_they_were_not_fitted(qtbot, flagged_run):
    path, run_id, n_flagged = flagged_run
    assert n_flagged > 10
    with Notebook(path) as nb:
        view = AnalysisView(nb)
    qtbot.addWidget(view)
    view.resize(1280, 760)
    view.show()
    try:
        view.show_run(path, run_id)
        qtbot.waitUntil(lambda: not view.busy, timeout=30000)
        page = view.pages["eis"]
        items = {item.name(): item for item in page.plots["nyquist"].listDataItems()}
        (name,) = [n for n in items if "flagged by the analyser" in n]
        x, y = items[name].getData()
        assert x.size == n_flagged
        assert items[name].opts["symbol"] == "x"
        # the flagged points read 11 ohm, the 10 ohm range's full scale (x 1 cm2), and are not in the fit
        assert np.allclose(np.hypot(x, y), 11.0, rtol=1e-3)
        assert f"fit ok; {n_flagged} point(s) flagged by the analyser (overload): red crosses, not fitted" \
            in page.notes.text()
    finally:
        view.shutdown()
