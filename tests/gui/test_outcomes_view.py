"""The Outcomes view (gui/outcomes_view.py) on rows with known figures: group medians and
spreads against numpy over the same runs picked out by hand, the filters, the two-click
answer to "which electrolyte lot shorts, and how soon", selection, sorting, the plot's
strips and scatter, and a screenshot at 1280x800 (docs/outcomes-1280x800.png with SOLIDSTACK_SHOTS=docs)."""
from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from PySide6 import QtCore

from gui.outcomes_view import JITTER, OutcomesView
from lab.outcomes import NO_VALUE, OUTCOME_KEYS, RUN_COLUMNS, outcome_rows

# lot -> times to short (h) of its runs; None: the run did not short
SHORTS = {
    "LPSCl-S1": [4.2, 6.0, 7.5, 9.1, 11.0, None],
    "LPSCl-S2": [18.0, 35.5, None, None, None],
    "LPSCl-S3": [None, None, None, None],
}


def make_rows() -> list[dict]:
    """Runs on three lots, two stations and two templates, with known figures."""
    rows, k = [], 0
    for lot, shorts in SHORTS.items():
        for t_short in shorts:
            k += 1
            agc = k % 2 == 0
            row = dict.fromkeys((*RUN_COLUMNS, *OUTCOME_KEYS))
            row.update(
                uuid=f"01900000-0000-7000-8000-{k:012d}", station="glovebox-a" if k % 3 else "glovebox-b",
                station_role=None, local_id=k, status="shorted" if t_short is not None else "completed",
                protocol="plate-strip-0.16", build_name=f"CW-{k:03d}", template="sym-agc" if agc else "sym-bare",
                description="Li | Ag-C | LPSCl | Ag-C | Li" if agc else "Li | LPSCl | Li",
                operator="CW" if k < 8 else "AB", area_cm2=1.0, stack_pressure_mpa=5.0 if k % 4 else 10.0,
                temperature_c=25.0, has_interlayer=agc, interlayer_um=4.0 if agc else 0.0,
                lots=f"LPSCl:{lot}" + (f", AgC:AgC-{'S2' if k % 3 else 'S3'}" if agc else ""),
                electrolyte_lot=lot, tags="", n_events=1 if t_short is not None else 0,
                t_short_h=t_short, r_int_ohm_cm2=0.58 + 0.01 * k if agc else 6.59 + 0.1 * k, n_cycles=k + 3,
                started_utc=f"2026-11-{k:02d}T09:00:00+00:00")
            rows.append(row)
    return rows


@pytest.fixture
def view(qtbot):
    w = OutcomesView()
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    w.set_rows(make_rows())
    yield w
    w.close()


def cell_text(table, row: int, header: str) -> str:
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    return table.item(row, headers.index(header)).text()


def click_item(qtbot, widget, text: str) -> None:
    (item,) = widget.findItems(text, QtCore.Qt.MatchFlag.MatchExactly)
    widget.scrollToItem(item)
    qtbot.mouseClick(widget.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=widget.visualItemRect(item).center())


def test_the_lot_question_is_answered_in_two_clicks(qtbot, view):
    view.set_outcome("r_int_ohm_cm2")                      # start elsewhere: the clicks must do it
    click_item(qtbot, view.outcome_list, "Time to short (h)")
    click_item(qtbot, view.group_list, "Electrolyte lot")
    g = view.groups
    assert g.rowCount() == 3
    assert [g.item(r, 0).text() for r in range(3)] == ["LPSCl-S1", "LPSCl-S2", "LPSCl-S3"]
    assert [cell_text(g, r, "Runs") for r in range(3)] == ["6", "5", "4"]
    assert [cell_text(g, r, "Shorted") for r in range(3)] == ["5", "2", "0"]
    # S1: median of 4.2, 6.0, 7.5, 9.1, 11.0 is 7.5 h; S2: of 18.0 and 35.5, 26.75 h; S3 never shorted
    assert [cell_text(g, r, "Median\n(h)") for r in range(3)] == ["7.5", "26.75", ""]
    assert cell_text(g, 0, "IQR\n(h)") == "6–9.1" and cell_text(g, 0, "Min–max\n(h)") == "4.2–11"
    assert view.groups_caption.text().startswith("Time to short by electrolyte lot")
    # and the plot strips the runs by lot, one strip per lot in the same order
    ticks = view.plot.getPlotItem().getAxis("bottom")._tickLevels[0]
    assert [label for _, label in ticks] == ["LPSCl-S1 (5/6)", "LPSCl-S2 (2/5)", "LPSCl-S3 (0/4)"]
    assert view.plot.getPlotItem().getAxis("bottom").labelText == "Electrolyte lot"
    assert view.plot.getPlotItem().getAxis("left").labelText == "Time to short (h)"
    assert "8 without time to short (did not short)" in view.plot_caption.text()


@pytest.mark.parametrize("outcome, by", [("t_short_h", "electrolyte_lot"), ("r_int_ohm_cm2", "has_interlayer"),
                                         ("n_cycles", "station"), ("r_int_ohm_cm2", "stack_pressure_mpa"),
                                         ("t_short_h", "lot:AgC")])
def test_group_figures_are_numpys_over_the_runs_of_each_group(view, outcome, by):
    view.set_outcome(outcome)
    view.set_group_by(by)
    rows = make_rows()
    # the groups worked out here, from the rows themselves
    if by == "has_interlayer":
        key = lambda r: "with interlayer" if r["has_interlayer"] else "no interlayer"    # noqa: E731
    elif by == "lot:AgC":
        key = lambda r: r["lots"].split("AgC:")[1] if "AgC:" in r["lots"] else NO_VALUE   # noqa: E731
    else:
        key = lambda r: r[by] if isinstance(r[by], float) else str(r[by])       # noqa: E731
    expected = {}
    for row in rows:
        expected.setdefault(key(row), []).append(row[outcome])
    stats = {s["group"]: s for s in view.stats()}
    assert set(stats) == set(expected)
    for group, values in expected.items():
        present = np.array([v for v in values if v is not None], dtype=float)
        s = stats[group]
        assert s["runs"] == len(values) and s["n_with"] == present.size
        if present.size:
            assert s["median"] == pytest.approx(np.median(present))
            assert (s["q1"], s["q3"]) == pytest.approx(tuple(np.percentile(present, [25, 75])))
            assert (s["min"], s["max"]) == pytest.approx((present.min(), present.max()))
        else:
            assert s["median"] is None and s["q1"] is None
    # what the table shows is those figures
    shown = {view.groups.item(r, 0).text(): view.groups.item(r, 3).text() for r in range(view.groups.rowCount())}
    for group, s in stats.items():
        label = group if isinstance(group, str) else f"{group:.4g}"
        assert shown[label] == ("" if s["median"] is None else f"{s['median']:.4g}")


def test_filters_narrow_the_runs_the_table_groups_and_plot_use(view):
    rows = make_rows()
    assert len(view.visible_rows()) == len(rows) == 15
    view.status_filter.setCurrentText("shorted")
    assert len(view.visible_rows()) == 7 and view.count_label.text() == "7 of 15 runs"
    view.station_filter.setCurrentText("glovebox-b")
    by_hand = [r for r in rows if r["status"] == "shorted" and r["station"] == "glovebox-b"]
    assert sorted(r["uuid"] for r in view.visible_rows()) == sorted(r["uuid"] for r in by_hand)
    view.status_filter.setCurrentText("All")
    view.station_filter.setCurrentText("All")
    view.template_filter.setCurrentText("sym-agc")
    assert {r["template"] for r in view.visible_rows()} == {"sym-agc"} and len(view.visible_rows()) == 7
    view.template_filter.setCurrentText("All")
    view.search.setText("agc-s3")                           # the Ag-C lot, in lots; case-insensitive
    assert sorted(r["local_id"] for r in view.visible_rows()) == [k for k in range(1, 16) if k % 2 == 0 and k % 3 == 0]
    view.search.setText("cw-002 plate")                     # every word must match
    assert [r["local_id"] for r in view.visible_rows()] == [2]
    view.search.setText("")
    # the groups follow the filter
    view.template_filter.setCurrentText("sym-bare")
    view.set_outcome("t_short_h")
    view.set_group_by("electrolyte_lot")
    bare = [r for r in rows if r["template"] == "sym-bare"]
    assert [s["runs"] for s in view.stats()] == [sum(r["electrolyte_lot"] == lot for r in bare) for lot in SHORTS]
    assert len(view.scatter.data) == sum(r["t_short_h"] is not None for r in bare)


def test_new_rows_keep_the_filters_that_still_apply(view):
    view.station_filter.setCurrentText("glovebox-b")
    view.set_rows(make_rows()[:6])
    assert view.station_filter.currentText() == "glovebox-b"
    assert {r["station"] for r in view.visible_rows()} == {"glovebox-b"}
    view.set_rows([r for r in make_rows() if r["station"] == "glovebox-a"])
    assert view.station_filter.currentText() == "All" and len(view.visible_rows()) == 10


def test_a_categorical_parameter_strips_with_jitter_and_a_numeric_one_scatters(view):
    view.set_outcome("r_int_ohm_cm2")
    view.set_group_by("has_interlayer")
    data = view.scatter.data
    by_uuid = {r["uuid"]: r for r in make_rows()}
    for x, uuid in zip(data["x"], data["data"]):
        strip = 1 if by_uuid[uuid]["has_interlayer"] else 0          # "no interlayer" sorts first
        assert abs(x - strip) <= JITTER
    assert len(set(np.round(data["x"], 6))) == len(data)             # jittered: no two on one line
    view.set_group_by(None)
    view.against.setCurrentIndex(view.against.findData("stack_pressure_mpa"))
    data = view.scatter.data
    assert [x for x in data["x"]] == [by_uuid[u]["stack_pressure_mpa"] for u in data["data"]]
    assert list(data["y"]) == [by_uuid[u]["r_int_ohm_cm2"] for u in data["data"]]
    assert view.plot.getPlotItem().getAxis("bottom").labelText == "Stack pressure (MPa)"
    assert view.plot.getPlotItem().getAxis("left").labelText == "R_int (Ω·cm²)"


def test_selecting_runs_a_group_or_a_point_emits_their_uuids(qtbot, view):
    rows = view.visible_rows()
    with qtbot.waitSignal(view.runs_selected) as signal:
        view.table.selectRow(2)
    assert signal.args == [[rows[2]["uuid"]]]
    view.set_outcome("t_short_h")
    view.set_group_by("electrolyte_lot")
    with qtbot.waitSignal(view.runs_selected) as signal:
        view.groups.selectRow(1)                           # LPSCl-S2
    assert sorted(signal.args[0]) == sorted(r["uuid"] for r in make_rows() if r["electrolyte_lot"] == "LPSCl-S2")
    point = view.scatter.points()[0]
    with qtbot.waitSignal(view.runs_selected) as signal:
        view._points_clicked(view.scatter, [point])
    assert signal.args == [[point.data()]]
    assert len(view.selected_scatter.data) == 1


def test_sorting_puts_runs_without_the_figure_last_both_ways(view):
    column = [key for key, _ in view.model.columns].index("t_short_h")
    values = lambda: [r["t_short_h"] for r in view.visible_rows()]    # noqa: E731
    view.table.sortByColumn(column, QtCore.Qt.SortOrder.AscendingOrder)
    present = sorted(v for v in values() if v is not None)
    assert values() == present + [None] * 8
    view.table.sortByColumn(column, QtCore.Qt.SortOrder.DescendingOrder)
    assert values() == present[::-1] + [None] * 8


def test_a_notebooks_own_runs_feed_the_view(qtbot, shorted_run):
    path, run_id, event = shorted_run
    conn = sqlite3.connect(path)
    rows = outcome_rows(conn)
    conn.close()
    w = OutcomesView()
    qtbot.addWidget(w)
    w.set_rows(rows)
    w.set_outcome("t_short_h")
    w.set_group_by("template")
    assert w.stats()[0]["group"] == "asym-agc" and w.stats()[0]["n_with"] == 1
    assert w.stats()[0]["median"] == pytest.approx(event["t_s"] / 3600.0)
    w.close()


def test_it_fits_1024x768(qtbot):
    w = OutcomesView()
    qtbot.addWidget(w)
    w.set_rows(make_rows())
    hint = w.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 768, hint
    w.resize(1024, 768)
    w.show()
    qtbot.waitExposed(w)
    assert w.plot.height() >= 200 and w.table.height() >= 120 and w.groups.width() >= 250
    w.close()


def test_screenshot_of_the_lot_question_at_1280x800(qtbot, view, shots):
    view.set_outcome("t_short_h")
    view.set_group_by("electrolyte_lot")
    view.table.sortByColumn([key for key, _ in view.model.columns].index("t_short_h"),
                            QtCore.Qt.SortOrder.AscendingOrder)
    qtbot.waitExposed(view)
    qtbot.wait(50)
    image = view.grab().toImage()
    assert (image.width(), image.height()) == (1280, 800)
    out = shots / "outcomes-1280x800.png"
    assert image.save(str(out))


def test_no_runs_and_runs_without_any_figure_show_an_empty_plot_and_say_so(qtbot, view):
    view.set_outcome("energy_wh_kg")                      # symmetric cells: none has it
    view.set_group_by("template")
    assert len(view.scatter.data) == 0 and view.plot_caption.text().startswith("0 run(s) plotted; 15 without")
    assert [cell_text(view.groups, r, "Median\n(Wh/kg)") for r in range(2)] == ["", ""]
    view.set_rows([])
    assert view.count_label.text() == "0 of 0 runs" and view.groups.rowCount() == 0
    assert not view.plot.getPlotItem().getAxis("left").style["showValues"]


def test_the_labs_rows_feed_the_view_as_they_come_from_the_reader(qtbot, lab_store, shorted_run):
    """A station's run synced to the lab, read back as lab_runs rows (lab.query.LabReader)."""
    from lab.query import LabReader
    from lab.sync import sync_once
    path, run_id, event = shorted_run
    sync_once(path, lab_store.add_station("alpha"))
    rows = LabReader(lab_store.add_reader("desk")).runs()
    w = OutcomesView()
    qtbot.addWidget(w)
    w.set_rows(rows)
    w.set_outcome("t_short_h")
    w.set_group_by("station")
    (group,) = w.stats()
    assert group["group"] == "alpha" and group["runs"] == 1 and group["n_with"] == 1
    assert group["median"] == pytest.approx(event["t_s"] / 3600.0)
    with qtbot.waitSignal(w.runs_selected) as signal:
        w.table.selectRow(0)
    assert signal.args == [[str(rows[0]["uuid"])]] and isinstance(signal.args[0][0], str)
    w.close()
