"""Themes, font size and glove mode (gui/theme.py) on the real station window: colours
only from the theme, readable contrast in every theme (WCAG, from the palettes), a live
switch that reaches widgets and plots, the View menu remembering choices, controls and
rows large enough for gloves, drag-scrolling lists, and the overview's tiles (OUTPUT OFF,
large readouts, a tap selects)."""
from __future__ import annotations

import re

import pyqtgraph as pg
import pytest
import shiboken6
from PySide6 import QtCore, QtGui, QtTest, QtWidgets

from conftest import ROOT
from gui import theme
from gui.overview import ChannelOverview, ChannelStatus, si_text
from gui.settings import StationSettings, has_touch_screen

# Colour literals a module of gui/ must not hold: hex colours (not HTML entities such as
# &#8209;), QColor/mkColor/mkPen/mkBrush of literals, pyqtgraph's one-letter colours and
# CSS colour names in style sheets.
COLOUR_LITERALS = [
    re.compile(r"(?<![&\w])#(?:[0-9a-fA-F]{8}|[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b(?![\w-])"),
    re.compile(r"\b(?:QColor|mkColor|mkPen|mkBrush|intColor)\(\s*(?:[\"'\d(]|QtCore\.Qt\.GlobalColor\.(?!transparent))"),
    re.compile(r"\b(?:background|foreground|labelTextColor|color|colour)\s*=\s*[\"'](?:[rgbcmykw]|#)"),
    re.compile(r"\bset(?:Text)?Pen\(\s*[\"']"),
    re.compile(r"(?:color|background|border)[^;\"'\n]*:\s*[^;\"'\n]*\b(?:white|black|red|green|blue|yellow|grey|gray|orange)\b",
               re.IGNORECASE),
]


def colour_literals(source: str) -> list[str]:
    return [m.group(0) for pattern in COLOUR_LITERALS for m in pattern.finditer(source)]


def test_the_colour_grep_finds_what_it_must_and_spares_the_rest():
    for bad in ('x.setStyleSheet("color: #555;")', 'pg.PlotWidget(background="w")', 'QtGui.QColor("#c62828")',
                'pg.mkPen(144, 164, 174)', 'axis.setTextPen("k")', '"QLabel { color: white; }"',
                'QtGui.QColor(QtCore.Qt.GlobalColor.red)', 'labelOpts={"color": "#c62828"}'):
        assert colour_literals(bad), bad
    for fine in ('"<p>Li&#8209;metal</p>"', 'theme.set_style(w, "color: {error};")', 'theme.pen("voltage")',
                 'DEFINITION_LINK = "#definition"', 'image.fill(QtCore.Qt.GlobalColor.transparent)',
                 'QtGui.QColor(material.color)', '"pyqtgraph issue #3485"'):
        assert not colour_literals(fine), fine


def test_no_fixed_colours_outside_the_theme():
    gui = ROOT / "gui"
    found = {}
    for path in sorted(gui.rglob("*.py")):
        if path.name == "theme.py" or "tools" in path.relative_to(gui).parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            hits = colour_literals(line)
            if hits:
                found[f"{path.relative_to(ROOT)}:{number}"] = hits
    assert not found, f"fixed colours outside gui/theme.py: {found}"


def test_contrast_ratio_matches_the_wcag_reference_values():
    # values from the WCAG 2.x definition: black/white 21:1, equal colours 1:1,
    # #767676 is the lightest grey that passes 4.5:1 on white, #777777 just fails it
    assert theme.contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert theme.contrast_ratio("#3a7bd5", "#3a7bd5") == pytest.approx(1.0)
    assert theme.contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert theme.contrast_ratio("#777777", "#ffffff") < 4.5


@pytest.mark.parametrize("name", list(theme.THEMES))
def test_each_theme_is_readable(name):
    t = theme.THEMES[name]
    need = theme.TEXT_CONTRAST[name]
    p = theme.palette(t)
    R = QtGui.QPalette.ColorRole
    pairs = {"window text": (p.color(R.WindowText), p.color(R.Window)), "text": (p.color(R.Text), p.color(R.Base)),
             "alternate rows": (p.color(R.Text), p.color(R.AlternateBase)),
             "buttons": (p.color(R.ButtonText), p.color(R.Button)),
             "selection": (p.color(R.HighlightedText), p.color(R.Highlight)),
             "tooltips": (p.color(R.ToolTipText), p.color(R.ToolTipBase)),
             "placeholder": (p.color(R.PlaceholderText), p.color(R.Base))}
    pairs.update({f"{fg} on {bg}": (t[fg], t[bg]) for fg, bg in theme.TEXT_PAIRS})
    poor = {what: round(theme.contrast_ratio(fg, bg), 2) for what, (fg, bg) in pairs.items()
            if theme.contrast_ratio(fg, bg) < need}
    assert not poor, f"{name}: below {need}:1: {poor}"
    lines = {role: round(theme.contrast_ratio(t[role], t["plot_bg"]), 2) for role in theme.TRACE_ROLES}
    assert min(lines.values()) >= theme.GRAPHIC_CONTRAST[name], lines
    assert len(set(t.run_colours)) == len(t.run_colours)
    assert all(theme.contrast_ratio(c, t["plot_bg"]) >= 2.0 for c in t.run_colours)   # no black run on black


@pytest.fixture
def station(qtbot, tmp_path):
    """The main window with its settings in a fresh INI file; the theme is put back after."""
    from gui.main_window import MainWindow
    from notebook import Notebook
    nb = Notebook(tmp_path / "notebook.sqlite")
    settings = StationSettings(path=tmp_path / "s.ini")
    win = MainWindow(nb, settings)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    yield win
    win.shutdown()
    nb.close()
    theme.apply("light")


def plot_background(widget: pg.PlotWidget) -> str:
    return widget.backgroundBrush().color().name()


def test_the_theme_changes_live_and_reaches_widgets_and_plots(qtbot, station, tmp_path):
    app = QtWidgets.QApplication.instance()
    voltage = station.monitor.traces["voltage"]
    assert app.palette().color(QtGui.QPalette.ColorRole.Window).name() == theme.THEMES["light"]["window"]
    assert plot_background(voltage.widget) == "#ffffff"
    station.settings.set("theme", "dark")
    dark = theme.THEMES["dark"]
    assert app.palette().color(QtGui.QPalette.ColorRole.Window).name() == dark["window"]
    assert app.palette().color(QtGui.QPalette.ColorRole.Text).name() == dark["text"]
    assert plot_background(voltage.widget) == dark["plot_bg"]
    assert voltage.curve.opts["pen"].color().name() == dark["voltage"]
    assert voltage.plot.getAxis("left").textPen().color().name() == dark["plot_fg"]
    assert dark["muted"] in station.run_panel.note.styleSheet()        # a set_style label, refilled
    assert plot_background(station.browser.findChildren(pg.PlotWidget)[0]) == dark["plot_bg"]
    # an alarm tile in the theme's alarm colours
    station.overview.update_channels([ChannelStatus(2, "shorted", alarm="hard short: x", acknowledged=False)])
    assert dark["alarm"] in station.overview.tiles[2].styleSheet()
    station.settings.set("theme", "high-contrast")
    assert theme.THEMES["high-contrast"]["alarm"] in station.overview.tiles[2].styleSheet()
    assert plot_background(voltage.widget) == "#000000"


def test_the_view_menu_sets_and_remembers_theme_font_and_glove_mode(qtbot, station, tmp_path):
    menu = next(a.menu() for a in station.menuBar().actions() if a.text() == "&View")
    groups = menu.groups
    assert [a.data() for a in groups["theme"].actions()] == ["light", "dark", "high-contrast"]
    assert groups["theme"].checkedAction().data() == "light" and groups["glove_mode"].checkedAction().data() == "auto"
    next(a for a in groups["theme"].actions() if a.data() == "dark").trigger()
    next(a for a in groups["font_pt"].actions() if a.data() == 16).trigger()
    next(a for a in groups["glove_mode"].actions() if a.data() == "on").trigger()
    app = QtWidgets.QApplication.instance()
    assert app.font().pointSize() == 16 and theme.current().name == "dark" and theme.glove_mode()
    remembered = StationSettings(path=tmp_path / "s.ini")       # what the next start reads
    assert (remembered.value("theme"), remembered.value("font_pt"), remembered.value("glove_mode")) == ("dark", 16, "on")
    # a change made elsewhere ticks the menu too; 0 goes back to the system's size
    station.settings.set("font_pt", 0)
    assert groups["font_pt"].checkedAction().data() == 0
    assert app.font().pointSize() == theme._state["system_font"].pointSize() != 16


def visible_controls(window: QtWidgets.QWidget) -> list[QtWidgets.QWidget]:
    out = []
    for w in window.findChildren(QtWidgets.QWidget):
        if not w.isVisibleTo(window) or not isinstance(w, (QtWidgets.QAbstractButton, QtWidgets.QComboBox,
                                                           QtWidgets.QLineEdit, QtWidgets.QAbstractSpinBox)):
            continue
        if isinstance(w, QtWidgets.QLineEdit) and isinstance(w.parent(), (QtWidgets.QAbstractSpinBox,
                                                                          QtWidgets.QComboBox)):
            continue      # the editor inside a spin box or combo: the box is measured
        if isinstance(w, QtWidgets.QAbstractButton) and isinstance(w.parent(), QtWidgets.QTabBar):
            continue      # the tab bar's scroll arrows: the tabs themselves are measured
        out.append(w)
    return out


def action_gaps(window: QtWidgets.QWidget) -> dict[str, int]:
    """Pixels between neighbouring visible buttons or combos in every row or column of actions
    (found through indexOf: no Python wrappers of layout items, which outlive them)."""
    gaps = {}
    for widget in window.findChildren(QtWidgets.QWidget):
        if not widget.isVisibleTo(window) or widget.layout() is None:
            continue
        actions = [c for c in widget.children() if isinstance(c, (QtWidgets.QAbstractButton, QtWidgets.QComboBox))
                   and c.isVisibleTo(window)]
        for layout in [widget.layout(), *widget.layout().findChildren(QtWidgets.QLayout)]:
            if not isinstance(layout, QtWidgets.QBoxLayout):
                continue
            horizontal = layout.direction() in (QtWidgets.QBoxLayout.Direction.LeftToRight,
                                                 QtWidgets.QBoxLayout.Direction.RightToLeft)
            placed = {layout.indexOf(a): a for a in actions if layout.indexOf(a) >= 0}
            for k, a in placed.items():
                b = placed.get(k + 1)
                if b is None:
                    continue
                ga, gb = a.geometry(), b.geometry()
                gap = abs(gb.left() - ga.right()) - 1 if horizontal else abs(gb.top() - ga.bottom()) - 1
                gaps[f"{getattr(a, 'text', lambda: '')()!r} | {getattr(b, 'text', lambda: '')()!r}"] = gap
    return gaps


def test_glove_mode_makes_every_control_and_row_large(qtbot, station):
    before = {w: w.height() for w in visible_controls(station)}
    assert min(before.values()) < theme.GLOVE_CONTROL_PX      # the desk layout is compact
    station.settings.set("glove_mode", "on")
    assert station.settings.glove_mode
    measured = {}
    for index in range(station.tabs.count()):
        station.tabs.setCurrentIndex(index)
        QtWidgets.QApplication.processEvents()
        small = {f"{type(w).__name__} {getattr(w, 'text', lambda: '')()!r}": w.height()
                 for w in visible_controls(station) if w.height() < theme.GLOVE_CONTROL_PX}
        assert not small, f"tab {station.tabs.tabText(index)}: {small}"
        bar = station.tabs.tabBar()
        assert min(bar.tabRect(k).height() for k in range(bar.count())) >= theme.GLOVE_CONTROL_PX
        for view in station.tabs.currentWidget().findChildren(QtWidgets.QAbstractItemView):
            model = QtWidgets.QAbstractItemView.model(view)
            if isinstance(view, QtWidgets.QHeaderView) or not view.isVisibleTo(station) or model is None \
                    or model.rowCount() == 0:
                continue
            if isinstance(view, QtWidgets.QTableView):
                assert view.rowHeight(0) >= theme.GLOVE_ROW_PX, view
            else:
                assert view.visualRect(model.index(0, 0)).height() >= theme.GLOVE_ROW_PX, view
            # touch and stylus: the list scrolls by dragging
            assert view.viewport().testAttribute(QtCore.Qt.WidgetAttribute.WA_AcceptTouchEvents)
            assert QtWidgets.QScroller.hasScroller(view.viewport())
        # adjacent actions stand apart
        gaps = action_gaps(station)
        assert all(gap >= theme.GLOVE_GAP_PX for gap in gaps.values()), gaps
        measured.update(gaps)
    assert len(measured) >= 3      # rows of actions were there to measure
    station.settings.set("glove_mode", "off")
    assert min(w.height() for w in visible_controls(station)) < theme.GLOVE_CONTROL_PX   # and back


def test_glove_mode_lists_scroll_by_dragging(qtbot, station):
    station.settings.set("glove_mode", "on")
    station.tabs.setCurrentWidget(station.builder)
    view = station.builder.template_list
    view.setFixedHeight(3 * theme.GLOVE_ROW_PX)
    QtWidgets.QApplication.processEvents()
    bar = view.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == 0
    viewport = view.viewport()
    start = QtCore.QPoint(viewport.width() // 2, viewport.height() - 10)
    QtTest.QTest.mousePress(viewport, QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier, start)
    for k in range(1, 13):
        QtTest.QTest.qWait(20)
        move = QtGui.QMouseEvent(QtCore.QEvent.Type.MouseMove, QtCore.QPointF(start - QtCore.QPoint(0, 10 * k)),
                                 viewport.mapToGlobal(QtCore.QPointF(start - QtCore.QPoint(0, 10 * k))),
                                 QtCore.Qt.MouseButton.NoButton, QtCore.Qt.MouseButton.LeftButton,
                                 QtCore.Qt.KeyboardModifier.NoModifier)
        QtWidgets.QApplication.sendEvent(viewport, move)
    QtTest.QTest.mouseRelease(viewport, QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier,
                              start - QtCore.QPoint(0, 120))
    qtbot.waitUntil(lambda: bar.value() > 0, timeout=3000)


def test_tiles_say_output_off_and_show_large_readouts(qtbot):
    overview = ChannelOverview(8)
    qtbot.addWidget(overview)
    overview.resize(900, 300)
    overview.show()
    overview.update_channels([
        ChannelStatus(1, "running", cycle=3, voltage_v=0.0123, current_a=-1.6e-4),
        ChannelStatus(2, "shorted", cycle=5, voltage_v=0.0004, current_a=-1.6e-4, alarm="hard short: x",
                      acknowledged=False),
        ChannelStatus(3, "paused", voltage_v=3.91, current_a=2.5e-3)])
    tiles = overview.tiles
    assert not tiles[1].output.isVisible() and tiles[2].output.isVisible() and tiles[3].output.isVisible()
    assert tiles[2].output.text() == "OUTPUT OFF" and tiles[8].output.isVisible()      # idle: off too
    # the badge in the theme's most contrasting pair
    assert theme.contrast_ratio(theme.color("output_off_text"), theme.color("output_off")) >= 7
    device = QtTest.QTest.createTouchDevice()
    theme.apply("light", glove=True)
    try:
        assert overview.glove
        for tile in tiles.values():
            assert tile.height() >= theme.GLOVE_CONTROL_PX * 2
        rows = {tile.y() for tile in tiles.values()}
        assert len(rows) == 2                                        # two rows of four
        # a running channel's current as measured; an off one says so instead of a stale value
        assert tiles[1].current.text() == "-160 µA" and tiles[1].voltage.text() == "12.3 mV"
        assert tiles[2].current.text() == "I: off" and tiles[2].voltage.text() == "400 µV (last)"
        assert tiles[1].voltage.font().pointSizeF() >= 1.5 * tiles[1].heading.font().pointSizeF()
        # a tap (a touch event, not a mouse click) selects the channel
        qtbot.waitExposed(overview)
        qtbot.wait(100)        # the glove layout settles: the tap lands where the tile now is
        with qtbot.waitSignal(overview.selected, timeout=2000) as selected:
            centre = tiles[6].mapTo(overview, tiles[6].rect().center())
            QtTest.QTest.touchEvent(overview, device).press(0, centre).commit()
            QtTest.QTest.touchEvent(overview, device).release(0, centre).commit()
        assert selected.args == [6] and tiles[6]._selected and not tiles[1]._selected
    finally:
        # the test's touch screen goes: else every later window would find one and start in glove mode
        shiboken6.delete(device)
        theme.apply("light")
    assert not has_touch_screen()
    assert not overview.glove       # compact again: no large readouts, no tall tiles
    assert all(tile.minimumHeight() == 0 and tile.voltage.isHidden() and not tile.figures.isHidden()
               for tile in tiles.values())


def test_si_text_by_hand():
    assert si_text(-1.6e-4, "A") == "-160 µA"
    assert si_text(3.912, "V") == "3.912 V"
    assert si_text(2.5e-3, "A") == "2.5 mA"
    assert si_text(0.0, "A") == "0 A"
    assert si_text(4.2e-13, "A") == "0.42 pA"
