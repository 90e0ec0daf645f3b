"""The station's look: the light, dark and high-contrast themes (a QPalette, a small
application style sheet, and every colour a widget or plot draws with, by role), the font
size, and glove mode (controls at least 60 px, rows 48 px, 12 px between actions, lists
that scroll by dragging). No other module of gui/ names a colour: they ask for a role here
(`color("error")`, `pen("voltage")`), so a theme change reaches every widget and plot.

`install(settings)` applies the settings' theme, font size and glove mode to the
application and follows `StationSettings.changed` from then on. Widgets whose style sheet
carries a colour set it with `set_style(widget, "color: {muted};")`: the template is kept
on the widget and filled in again on every theme change. Plots are styled with
`style_plot`; owners of curves re-pen them on `notifier().changed`.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

import pyqtgraph as pg
import shiboken6
from PySide6 import QtCore, QtGui, QtWidgets

GLOVE_CONTROL_PX = 60    # about 16 mm on a 96 dpi panel: hit reliably in butyl gloves
GLOVE_ROW_PX = 48
GLOVE_GAP_PX = 12
TEXT_CONTRAST = {"light": 4.5, "dark": 4.5, "high-contrast": 7.0}   # WCAG AA; AAA for high contrast
GRAPHIC_CONTRAST = {"light": 3.0, "dark": 3.0, "high-contrast": 4.5}  # WCAG 1.4.11 for plot lines
TILE_STATES = ("idle", "starting", "running", "paused", "completed", "aborted", "failed", "shorted")
TRACE_ROLES = ("voltage", "current", "ref", "pressure", "temperature", "event", "spectrum", "flagged", "cursor")
_STYLE_PROPERTY = "themeStyle"    # a widget's style-sheet template, refilled on each change


@dataclass(frozen=True)
class Theme:
    name: str
    title: str
    colours: dict[str, str]
    run_colours: tuple[str, ...]   # overlaid runs in the analysis view, told apart by colour

    def __getitem__(self, role: str) -> str:
        return self.colours[role]


def _tiles(**states: tuple[str, str]) -> dict[str, str]:
    out = {}
    for state, (background, text) in states.items():
        out[f"tile_{state}"], out[f"tile_{state}_text"] = background, text
    return out


# Okabe-Ito: runs stay distinguishable for colour-blind eyes; black/white swap with the background.
_OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")

THEMES: dict[str, Theme] = {t.name: t for t in (
    Theme("light", "Light", {
        "window": "#f5f5f5", "base": "#ffffff", "alt_base": "#f0f0f0", "text": "#1a1a1a", "muted": "#595959",
        "button": "#e8e8e8", "button_text": "#1a1a1a", "highlight": "#1565c0", "highlight_text": "#ffffff",
        "link": "#0b57d0", "border": "#9e9e9e", "disabled_text": "#8a8a8a",
        "tooltip_base": "#ffffdc", "tooltip_text": "#1a1a1a",
        "ok": "#1b6e1b", "warning": "#8a5300", "error": "#b00020", "error_bg": "#ffd7d7", "warning_bg": "#ffedc2",
        "alarm": "#c62828", "alarm_text": "#ffffff", "alarm_edge": "#7f0000", "selected": "#1565c0",
        "output_off": "#000000", "output_off_text": "#ffeb3b",
        "plot_bg": "#ffffff", "plot_fg": "#1a1a1a", "legend_bg": "#ffffff",
        "voltage": "#1565c0", "current": "#c45500", "ref": "#6a1b9a", "pressure": "#2e7d32",
        "temperature": "#ad1457", "event": "#c62828", "flagged": "#d32f2f", "cursor": "#616161", "spectrum": "#0d47a1",
        "spectrum_old": "#90a4ae",
        **_tiles(idle=("#eeeeee", "#424242"), starting=("#e3f2fd", "#0d47a1"), running=("#e8f5e9", "#1b5e20"),
                 paused=("#fff8e1", "#8a4b00"), completed=("#e3f2fd", "#0d47a1"), aborted=("#eceff1", "#37474f"),
                 failed=("#fbe9e7", "#a3300b"), shorted=("#ffebee", "#b71c1c")),
    }, _OKABE_ITO + ("#000000",)),
    Theme("dark", "Dark", {
        "window": "#1e1f22", "base": "#141517", "alt_base": "#1b1c1f", "text": "#e6e6e6", "muted": "#a8a8a8",
        "button": "#2d2f33", "button_text": "#e6e6e6", "highlight": "#2f6bd0", "highlight_text": "#ffffff",
        "link": "#8ab4f8", "border": "#5f6368", "disabled_text": "#6f6f6f",
        "tooltip_base": "#2d2f33", "tooltip_text": "#e6e6e6",
        "ok": "#6cc96c", "warning": "#f0b44c", "error": "#ff6b6b", "error_bg": "#5a1d1d", "warning_bg": "#4d3a12",
        "alarm": "#b71c1c", "alarm_text": "#ffffff", "alarm_edge": "#ff8a80", "selected": "#64b5f6",
        "output_off": "#ffeb3b", "output_off_text": "#000000",
        "plot_bg": "#141517", "plot_fg": "#d0d0d0", "legend_bg": "#1e1f22",
        "voltage": "#64b5f6", "current": "#ffb74d", "ref": "#ce93d8", "pressure": "#81c784",
        "temperature": "#f48fb1", "event": "#ff6b6b", "flagged": "#ff5252", "cursor": "#9e9e9e", "spectrum": "#64b5f6",
        "spectrum_old": "#607d8b",
        **_tiles(idle=("#26282c", "#bdbdbd"), starting=("#132a44", "#90caf9"), running=("#12301a", "#a5d6a7"),
                 paused=("#3a2c0c", "#ffcc80"), completed=("#132a44", "#90caf9"), aborted=("#2b3033", "#cfd8dc"),
                 failed=("#3e1a12", "#ffab91"), shorted=("#3d1418", "#ef9a9a")),
    }, _OKABE_ITO[:3] + ("#e08ec0",) + _OKABE_ITO[4:] + ("#f0f0f0",)),
    Theme("high-contrast", "High contrast", {
        "window": "#000000", "base": "#000000", "alt_base": "#101010", "text": "#ffffff", "muted": "#d0d0d0",
        "button": "#000000", "button_text": "#ffffff", "highlight": "#ffff00", "highlight_text": "#000000",
        "link": "#00ffff", "border": "#ffffff", "disabled_text": "#9e9e9e",
        "tooltip_base": "#000000", "tooltip_text": "#ffffff",
        "ok": "#80ff80", "warning": "#ffff00", "error": "#ff8080", "error_bg": "#400000", "warning_bg": "#403c00",
        "alarm": "#ffff00", "alarm_text": "#000000", "alarm_edge": "#ffffff", "selected": "#00ffff",
        "output_off": "#ffffff", "output_off_text": "#000000",
        "plot_bg": "#000000", "plot_fg": "#ffffff", "legend_bg": "#000000",
        "voltage": "#00ffff", "current": "#ffff00", "ref": "#ff80ff", "pressure": "#00ff00",
        "temperature": "#ffa0a0", "event": "#ff6060", "flagged": "#ff4040", "cursor": "#ffffff", "spectrum": "#00ffff",
        "spectrum_old": "#a0a0a0",
        **_tiles(idle=("#000000", "#ffffff"), starting=("#000000", "#00ffff"), running=("#000000", "#00ff00"),
                 paused=("#000000", "#ffff00"), completed=("#000000", "#00ffff"), aborted=("#000000", "#ffffff"),
                 failed=("#000000", "#ff8080"), shorted=("#000000", "#ff8080")),
    }, ("#00ffff", "#ffff00", "#00ff00", "#ff80ff", "#ffa040", "#80c0ff", "#ffffff")),
)}

# (text, background) pairs a person must read: each passes TEXT_CONTRAST of its theme.
TEXT_PAIRS = (
    ("text", "window"), ("text", "base"), ("text", "alt_base"), ("muted", "window"), ("muted", "base"),
    ("button_text", "button"), ("highlight_text", "highlight"), ("link", "base"), ("tooltip_text", "tooltip_base"),
    ("ok", "window"), ("ok", "base"), ("warning", "window"), ("warning", "base"), ("error", "window"),
    ("error", "base"), ("text", "error_bg"), ("text", "warning_bg"), ("error", "error_bg"),
    ("alarm_text", "alarm"), ("output_off_text", "output_off"), ("plot_fg", "plot_bg"), ("plot_fg", "legend_bg"),
    *((f"tile_{s}_text", f"tile_{s}") for s in TILE_STATES),
)

_state = {"theme": THEMES["light"], "glove": False, "font_pt": 0, "system_font": None}
_plots: weakref.WeakSet = weakref.WeakSet()  # every plot style_plot has styled, restyled by apply()
_styled: weakref.WeakSet = weakref.WeakSet()  # every widget set_style has styled, refilled by apply()
_notifier: QtCore.QObject | None = None
_style: QtWidgets.QStyle | None = None


class _Notifier(QtCore.QObject):
    changed = QtCore.Signal(str)    # the theme's name, after it (or glove mode, or the font) changed


def notifier() -> _Notifier:
    """The object whose `changed` signal tells curve owners to re-pen."""
    global _notifier
    if _notifier is None:
        _notifier = _Notifier()
    return _notifier


def current() -> Theme:
    return _state["theme"]


def glove_mode() -> bool:
    return _state["glove"]


def color(role: str) -> str:
    """The current theme's colour for `role` as #rrggbb (KeyError names an unknown role)."""
    return _state["theme"].colours[role]


def qcolor(role: str, alpha: int = 255) -> QtGui.QColor:
    colour = QtGui.QColor(color(role))
    colour.setAlpha(alpha)
    return colour


def pen(role: str, width: float = 1, style: QtCore.Qt.PenStyle = QtCore.Qt.PenStyle.SolidLine) -> QtGui.QPen:
    return pg.mkPen(color(role), width=width, style=style)


def run_colour(index: int) -> str:
    colours = _state["theme"].run_colours
    return colours[index % len(colours)]


def css(template: str) -> str:
    """A style-sheet template with {role} fields filled from the current theme."""
    return template.format_map(_state["theme"].colours)


def set_style(widget: QtWidgets.QWidget, template: str) -> None:
    """Style `widget` from a template ("color: {error};"); it follows later theme changes.
    An empty template clears the widget's own style sheet."""
    widget.setProperty(_STYLE_PROPERTY, template or None)
    widget.setStyleSheet(css(template) if template else "")
    if template:
        _styled.add(widget)


# -- contrast (WCAG 2.x) --
def relative_luminance(colour: QtGui.QColor | str) -> float:
    c = QtGui.QColor(colour)

    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())


def contrast_ratio(a: QtGui.QColor | str, b: QtGui.QColor | str) -> float:
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


# -- palette and style sheet --
def palette(theme: Theme) -> QtGui.QPalette:
    c = theme.colours
    p = QtGui.QPalette()
    R, G = QtGui.QPalette.ColorRole, QtGui.QPalette.ColorGroup
    roles = {R.Window: "window", R.WindowText: "text", R.Base: "base", R.AlternateBase: "alt_base",
             R.Text: "text", R.Button: "button", R.ButtonText: "button_text", R.BrightText: "alarm_text",
             R.Highlight: "highlight", R.HighlightedText: "highlight_text", R.Link: "link", R.LinkVisited: "link",
             R.ToolTipBase: "tooltip_base", R.ToolTipText: "tooltip_text", R.PlaceholderText: "muted",
             R.Light: "button", R.Midlight: "button", R.Mid: "border", R.Dark: "border", R.Shadow: "border"}
    for role, name in roles.items():
        p.setColor(role, QtGui.QColor(c[name]))
    for role in (R.WindowText, R.Text, R.ButtonText):
        p.setColor(G.Disabled, role, QtGui.QColor(c["disabled_text"]))
    return p


def stylesheet(theme: Theme, glove: bool) -> str:
    """The application's style sheet: visible borders and focus for high contrast, sizes for
    glove mode. It names the theme, so that it changes with every theme: Qt then re-polishes
    every widget, and one with a sheet of its own takes the new palette too."""
    parts = [f"/* SolidStack theme: {theme.name} */"]
    if theme.name == "high-contrast":
        parts.append(css("QPushButton, QToolButton, QComboBox, QLineEdit, QAbstractSpinBox "
                         "{{ border: 2px solid {border}; padding: 3px 8px; }}\n"
                         "QTabBar::tab {{ border: 2px solid {border}; padding: 6px 14px; margin-right: 2px; }}\n"
                         "QPushButton:disabled, QToolButton:disabled {{ border-style: dotted; color: {disabled_text}; }}\n"
                         "QTabBar::tab:selected {{ border: 3px solid {highlight}; color: {highlight}; }}\n"
                         "QPushButton:focus, QToolButton:focus, QComboBox:focus, QLineEdit:focus, QAbstractSpinBox:focus "
                         "{{ border: 3px solid {highlight}; }}"))
    if glove:
        px, row, gap = GLOVE_CONTROL_PX, GLOVE_ROW_PX, GLOVE_GAP_PX
        parts.append(
            f"QPushButton, QToolButton, QComboBox, QLineEdit, QAbstractSpinBox, QDateTimeEdit, QCheckBox, QRadioButton "
            f"{{ min-height: {px}px; }}\n"
            f"QPushButton {{ min-width: {px}px; padding: 0 {gap}px; }}\n"
            f"QCheckBox, QRadioButton {{ spacing: {gap}px; }}\n"
            f"QCheckBox::indicator, QRadioButton::indicator {{ width: 36px; height: 36px; }}\n"
            f"QAbstractSpinBox::up-button, QAbstractSpinBox::down-button {{ width: 40px; }}\n"
            f"QTabBar::tab {{ min-height: {px}px; min-width: 120px; padding: 0 {gap}px; }}\n"
            f"QAbstractItemView::item {{ min-height: {row}px; }}\n"
            f"QSlider {{ min-height: {px}px; }}\n"
            f"QSlider::handle:horizontal {{ width: 40px; margin: -18px 0; }}\n"
            f"QScrollBar:vertical {{ width: 28px; }} QScrollBar:horizontal {{ height: 28px; }}")
    return "\n".join(parts)


def adapt(widget: QtWidgets.QWidget) -> None:
    """Touch scrolling, table row height and spacing between adjacent actions for `widget`."""
    glove = _state["glove"]
    if isinstance(widget, (QtWidgets.QAbstractItemView, QtWidgets.QScrollArea, QtWidgets.QPlainTextEdit,
                           QtWidgets.QTextEdit)):
        viewport = widget.viewport()
        viewport.setAttribute(QtCore.Qt.WidgetAttribute.WA_AcceptTouchEvents, True)
        # In glove mode a drag scrolls: a finger, a stylus, or a glove on a resistive panel
        # (these arrive as mouse events); dragging to select is not wanted there. Each grab
        # registers a gesture recognizer, so grab only on a change.
        grabbed = bool(viewport.property("themeScroller"))
        if glove and not grabbed:
            QtWidgets.QScroller.grabGesture(viewport, QtWidgets.QScroller.ScrollerGestureType.LeftMouseButtonGesture)
        elif grabbed and not glove:
            QtWidgets.QScroller.ungrabGesture(viewport)
        viewport.setProperty("themeScroller", glove)
    if isinstance(widget, QtWidgets.QTableView):
        header = widget.verticalHeader()
        normal = header.property("themeNormalRow")
        if normal is None:
            normal = header.defaultSectionSize()
            header.setProperty("themeNormalRow", normal)
        header.setMinimumSectionSize(GLOVE_ROW_PX if glove else -1)
        header.setDefaultSectionSize(max(normal, GLOVE_ROW_PX) if glove else normal)
    if widget.layout() is not None and _space_actions(widget, glove) and widget.isVisible():
        widget.layout().activate()     # a changed nested spacing posts no layout request: lay out now


def adapt_all() -> None:
    """adapt() every widget of every window (on every apply)."""
    for window in QtWidgets.QApplication.topLevelWidgets():
        for widget in [window, *window.findChildren(QtWidgets.QWidget)]:
            adapt(widget)


def adapt_tree(root: QtWidgets.QWidget | None) -> None:
    """adapt() `root` and what it holds: for pages built after the last apply (a tab's
    tables, a dialog) when they are shown in glove mode."""
    if root is not None and _state["glove"]:
        for widget in [root, *root.findChildren(QtWidgets.QWidget)]:
            adapt(widget)


def _space_actions(widget: QtWidgets.QWidget, glove: bool) -> bool:
    """At least GLOVE_GAP_PX between neighbours in any of `widget`'s (nested) layouts that
    holds two actions. Asked through indexOf, not itemAt: Python wrappers of layout items
    outlive the items and can later stand for other objects at the same address."""
    actions = [c for c in widget.children() if isinstance(c, (QtWidgets.QAbstractButton, QtWidgets.QComboBox))]
    if len(actions) < 2:
        return False
    top = widget.layout()
    changed = False
    for layout in [top, *top.findChildren(QtWidgets.QLayout)]:
        if not isinstance(layout, (QtWidgets.QBoxLayout, QtWidgets.QGridLayout)):
            continue
        if sum(layout.indexOf(action) >= 0 for action in actions) < 2:
            continue
        normal = layout.property("themeNormalSpacing")
        if normal is None:
            normal = layout.spacing()
            layout.setProperty("themeNormalSpacing", normal)
        spacing = max(normal, GLOVE_GAP_PX) if glove else normal
        if spacing == layout.spacing():
            continue
        if isinstance(layout, QtWidgets.QGridLayout):
            layout.setHorizontalSpacing(spacing)
            layout.setVerticalSpacing(spacing)
        else:
            layout.setSpacing(spacing)
        changed = True
    return changed


# -- plots --
def style_plot(plot: pg.PlotWidget | pg.PlotItem) -> None:
    """Background, axes, text and legend of a plot in the current theme; apply() restyles
    every plot styled here when the theme changes."""
    _plots.add(plot)
    item = plot.getPlotItem() if isinstance(plot, pg.PlotWidget) else plot
    views = [plot] if isinstance(plot, pg.PlotWidget) else (item.scene().views() if item.scene() else [])
    for view in views:
        view.setBackground(color("plot_bg"))
    fg = color("plot_fg")
    font = QtWidgets.QApplication.font() if QtWidgets.QApplication.instance() else None
    for name in ("left", "bottom", "right", "top"):
        axis = item.getAxis(name)
        axis.setPen(fg)
        axis.setTextPen(fg)
        if font is not None:
            axis.setStyle(tickFont=font)
            axis.label.setFont(font)
    item.titleLabel.setAttr("color", fg)
    legend = item.legend
    if legend is not None:
        legend.setLabelTextColor(fg)
        legend.setBrush(pg.mkBrush(qcolor("legend_bg", 210)))
        legend.setPen(pg.mkPen(color("border")))


def _restyle_plots() -> None:
    for plot in list(_plots):
        # a closed plot's items are gone in C++ while Python still holds the plot
        item = plot.getPlotItem() if isinstance(plot, pg.PlotWidget) and shiboken6.isValid(plot) else plot
        if item is not None and shiboken6.isValid(plot) and shiboken6.isValid(item) \
                and all(shiboken6.isValid(item.getAxis(side)) for side in ("left", "bottom", "right", "top")):
            style_plot(plot)
        else:
            _plots.discard(plot)


# -- applying --
def apply(theme_name: str, font_pt: int = 0, glove: bool = False) -> None:
    """Make `theme_name`, `font_pt` (0: the system's) and glove mode the application's, live."""
    global _style
    app = QtWidgets.QApplication.instance()
    _state.update(theme=THEMES[theme_name], glove=glove, font_pt=font_pt)
    pg.setConfigOptions(background=color("plot_bg"), foreground=color("plot_fg"))
    if app is None:
        return
    if _state["system_font"] is None:
        _state["system_font"] = QtGui.QFont(app.font())
    font = QtGui.QFont(_state["system_font"])
    if font_pt:
        font.setPointSize(font_pt)
    if _style is None:
        _style = QtWidgets.QStyleFactory.create("Fusion")    # honours the palette on every platform
        app.setStyle(_style)
    app.setFont(font)
    app.setPalette(palette(current()))
    app.setStyleSheet(stylesheet(current(), glove))   # re-polishes every widget
    adapt_all()
    for widget in list(_styled):
        template = widget.property(_STYLE_PROPERTY) if shiboken6.isValid(widget) else None
        if template:
            widget.setStyleSheet(css(template))
        else:
            _styled.discard(widget)
    _restyle_plots()
    notifier().changed.emit(theme_name)


def install(settings) -> None:
    """Apply `settings` (a gui.settings.StationSettings) now and whenever they change."""
    def follow(name: str, _value=None) -> None:
        if name in ("theme", "font_pt", "glove_mode"):
            apply(settings.value("theme"), settings.value("font_pt"), settings.glove_mode)
    follow("theme")
    settings.changed.connect(follow)


# -- the View menu --
FONT_SIZES = (0, 9, 10, 11, 12, 14, 16, 18, 20)


def view_menu(settings, parent: QtWidgets.QWidget) -> QtWidgets.QMenu:
    """Theme, font size and glove mode, each a group of checkable choices kept in `settings`
    (and ticked again when the setting changes elsewhere)."""
    menu = QtWidgets.QMenu("&View", parent)
    groups: dict[str, QtGui.QActionGroup] = {}

    def add_group(title: str, name: str, choices: list[tuple[str, object]]) -> None:
        sub = menu.addMenu(title)
        group = QtGui.QActionGroup(sub)
        groups[name] = group
        for text, value in choices:
            action = sub.addAction(text)
            action.setCheckable(True)
            action.setData(value)
            action.setChecked(settings.value(name) == value)
            group.addAction(action)
            action.triggered.connect(lambda _checked=False, v=value: settings.set(name, v))

    add_group("&Theme", "theme", [(t.title, t.name) for t in THEMES.values()])
    add_group("&Font size", "font_pt", [("System size" if pt == 0 else f"{pt} pt", pt) for pt in FONT_SIZES])
    add_group("&Glove mode", "glove_mode", [("Auto (on with a touch screen)", "auto"), ("On", "on"), ("Off", "off")])

    def tick(name: str, value) -> None:
        for action in groups[name].actions() if name in groups else ():
            action.setChecked(action.data() == value)
    settings.changed.connect(tick)
    menu.groups = groups
    return menu
