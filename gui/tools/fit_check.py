"""Does the station fit? Finds every visible control (button, input, box, slider, tab) of a
window that lies outside the window, is cut off by a parent too small for it, is squeezed
below the size its text needs, or overlaps another control; and every primary action
(Next/Back, Start/Stop, Acknowledge, Save) that cannot be seen without scrolling.

tests/gui/test_fit.py uses `problems` in-process at 1x, and runs this module as a script
at 2x scale (QT_SCALE_FACTOR is read once, when the QApplication is made):

    QT_SCALE_FACTOR=2 python -m gui.tools.fit_check --size 1024x768 [--glove]

The script gives the offscreen platform a screen of that logical size, opens the station
as main.py does (the window sizes itself to the screen), visits every tab and every step
of the builder, and prints one line per problem; no output means it fits."""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from PySide6 import QtCore, QtWidgets

W = QtWidgets
SLACK_PX = 1      # a style may let a corner widget overlap its tab widget's frame by a pixel
CONTROLS = (W.QAbstractButton, W.QLineEdit, W.QAbstractSpinBox, W.QComboBox, W.QSlider, W.QTabBar,
            W.QTextEdit, W.QPlainTextEdit)


def is_control(widget: QtWidgets.QWidget) -> bool:
    if not isinstance(widget, CONTROLS):
        return False
    if isinstance(widget, (W.QTextEdit, W.QPlainTextEdit)):
        return not widget.isReadOnly()            # an input, not a text display
    return True


def controls(window: QtWidgets.QWidget) -> list[QtWidgets.QWidget]:
    """Visible controls of `window`, not counting the parts of a control (a spin box's line
    edit, a tab bar's scroll arrows): those go with their control."""
    found = []
    for widget in window.findChildren(QtWidgets.QWidget):
        if widget.isWindow() or not widget.isVisible() or not is_control(widget):
            continue
        parent = widget.parentWidget()
        inside_control = False
        while parent is not None and parent is not window:
            if is_control(parent):
                inside_control = True
                break
            parent = parent.parentWidget()
        if not inside_control:
            found.append(widget)
    return found


def describe(widget: QtWidgets.QWidget) -> str:
    name = ""
    for attribute in ("text", "placeholderText", "currentText"):
        getter = getattr(widget, attribute, None)
        if callable(getter):
            try:
                value = getter()
            except TypeError:
                continue
            if isinstance(value, str) and value.strip():
                name = value.strip().replace("\n", " ")[:40]
                break
    name = name or widget.objectName() or widget.accessibleName()
    owners = []
    parent = widget.parentWidget()
    while parent is not None and len(owners) < 3:
        if type(parent).__module__.startswith("gui."):
            owners.append(type(parent).__name__)
        parent = parent.parentWidget()
    where = " in " + "/".join(reversed(owners)) if owners else ""
    return f"{type(widget).__name__} {name!r}{where}"


def _rect_in(widget: QtWidgets.QWidget, window: QtWidgets.QWidget) -> QtCore.QRect:
    return QtCore.QRect(widget.mapTo(window, QtCore.QPoint(0, 0)), widget.size())


def _scroll_area_of_viewport(widget: QtWidgets.QWidget) -> QtWidgets.QAbstractScrollArea | None:
    parent = widget.parentWidget()
    if isinstance(parent, QtWidgets.QAbstractScrollArea) and parent.viewport() is widget:
        return parent
    return None


def _is_overlay(widget: QtWidgets.QWidget) -> bool:
    """The run drawer says so with a property; the alarm banner (gui/alarm_overlay.py) by its name."""
    return bool(widget.property("overlay")) or widget.objectName() == "alarmBanner"


def _overlays(window: QtWidgets.QWidget) -> list[QtWidgets.QWidget]:
    return [w for w in window.findChildren(QtWidgets.QWidget) if _is_overlay(w) and w.isVisible()]


def _under_overlay(widget: QtWidgets.QWidget, rect: QtCore.QRect, window: QtWidgets.QWidget,
                   overlays: list[QtWidgets.QWidget]) -> bool:
    """Whether an overlay (the run drawer, the alarm banner) covers `widget`: it is hidden
    behind, not misplaced."""
    for overlay in overlays:
        if overlay is widget or overlay.isAncestorOf(widget):
            continue
        if _rect_in(overlay, window).intersects(rect):
            return True
    return False


def placement(widget: QtWidgets.QWidget, window: QtWidgets.QWidget, scroll_pages: bool,
              unscrolled: bool) -> tuple[QtCore.QRect, str | None]:
    """The part of `widget` that can be seen, in window coordinates, and why it cannot be
    reached, if it cannot. A scroll area's content may lie outside its viewport (it scrolls),
    except for `unscrolled` widgets (primary actions); a tab page may scroll only down, and
    only if `scroll_pages`."""
    rect = _rect_in(widget, window)
    seen = QtCore.QRect(rect)
    child = widget
    parent = widget.parentWidget()
    while parent is not None and child is not window:
        bounds = _rect_in(parent, window)
        area = _scroll_area_of_viewport(parent)
        if area is not None and not unscrolled:
            if area.property("page_area"):
                if rect.left() < bounds.left() or rect.right() > bounds.right():
                    return seen, f"needs sideways scrolling of its tab page ({area.widget().minimumSizeHint().width()} px wide, " \
                                 f"{bounds.width()} px shown)"
                if not scroll_pages and (rect.top() < bounds.top() or rect.bottom() > bounds.bottom()):
                    return seen, f"needs scrolling of its tab page ({area.widget().minimumSizeHint().height()} px tall, " \
                                 f"{bounds.height()} px shown)"
            # reachable by scrolling: from here on the scroll area stands for it
            seen = seen.intersected(bounds)
            rect = QtCore.QRect(bounds)
        elif not bounds.adjusted(-SLACK_PX, -SLACK_PX, SLACK_PX, SLACK_PX).contains(rect):
            what = "the window" if parent is window else f"its parent {type(parent).__name__}"
            return seen, (f"lies outside {what}: {rect.x()},{rect.y()} {rect.width()}x{rect.height()} "
                          f"not within {bounds.x()},{bounds.y()} {bounds.width()}x{bounds.height()}")
        child, parent = parent, parent.parentWidget()
    return seen, None


def squeezed(widget: QtWidgets.QWidget) -> str | None:
    """Why `widget` is smaller than it needs to show its text, if it is."""
    policy = widget.sizePolicy()
    needed = widget.minimumSizeHint()
    # as Qt's layouts take it: an explicit minimum, else the hint, never above the maximum
    wants = QtCore.QSize(widget.minimumWidth() or needed.width(),
                         widget.minimumHeight() or needed.height()).boundedTo(widget.maximumSize())
    short = []
    if policy.horizontalPolicy() != QtWidgets.QSizePolicy.Policy.Ignored and widget.width() < wants.width() - 1:
        short.append(f"{widget.width()} px wide, needs {wants.width()}")
    if policy.verticalPolicy() != QtWidgets.QSizePolicy.Policy.Ignored and widget.height() < wants.height() - 1:
        short.append(f"{widget.height()} px tall, needs {wants.height()}")
    return "squeezed: " + ", ".join(short) if short else None


def _tabs_hidden(bar: QtWidgets.QTabBar) -> str | None:
    """A tab bar must show every tab or offer its scroll arrows."""
    hidden = [bar.tabText(i) for i in range(bar.count())
              if bar.isTabVisible(i) and not bar.rect().contains(bar.tabRect(i))]
    if hidden and not (bar.usesScrollButtons() and any(b.isVisible() for b in bar.findChildren(QtWidgets.QToolButton))):
        return f"tabs {hidden} are not shown"
    return None


def problems(window: QtWidgets.QWidget, primary: Iterable[QtWidgets.QWidget] = (), scroll_pages: bool = False,
             label: str = "") -> list[str]:
    """Every fit problem of `window` as it is on screen now, one line each."""
    primary = [w for w in primary if w is not None and w.isVisible()]
    overlays = _overlays(window)
    found: list[str] = []
    seen: list[tuple[QtWidgets.QWidget, QtCore.QRect]] = []
    for widget in controls(window):
        if widget.width() <= 0 or widget.height() <= 0:
            continue           # an empty tab bar: nothing to see or press
        rect, problem = placement(widget, window, scroll_pages, unscrolled=any(widget is p for p in primary))
        if _under_overlay(widget, _rect_in(widget, window), window, overlays):
            continue
        if isinstance(widget, QtWidgets.QTabBar):       # tab bars elide or scroll their tabs
            problem = problem or _tabs_hidden(widget)
        else:
            problem = problem or squeezed(widget)
        if problem:
            found.append(f"{label}{describe(widget)} {problem}")
        elif not rect.isEmpty():
            seen.append((widget, rect))
    for k, (a, rect_a) in enumerate(seen):
        for b, rect_b in seen[k + 1:]:
            if a.isAncestorOf(b) or b.isAncestorOf(a):
                continue
            common = rect_a.intersected(rect_b)
            if not common.isEmpty():
                found.append(f"{label}{describe(a)} overlaps {describe(b)} by {common.width()}x{common.height()} px")
    return found


def clipped_labels(window: QtWidgets.QWidget) -> list[str]:
    """Visible one-line labels narrower than their text (cut off, not elided)."""
    found = []
    for label in window.findChildren(QtWidgets.QLabel):
        if (not label.isVisible() or label.wordWrap() or not label.text().strip()
                or label.sizePolicy().horizontalPolicy() == QtWidgets.QSizePolicy.Policy.Ignored):
            continue
        needed = label.minimumSizeHint().width()
        if label.width() < needed - 1:
            found.append(f"{describe(label)} cut: {label.width()} px wide, needs {needed}")
    return found


# -- the station: which actions are primary, and a walk through every page --
def primary_actions(window) -> list[QtWidgets.QWidget]:
    """Next/Back, Start/Pause/Stop, Save, and every Acknowledge button shown."""
    named = [getattr(window.builder, "next", None), getattr(window.builder, "back", None),
             getattr(window.run_panel, "start", None), getattr(window.run_panel, "stop", None),
             getattr(window.run_panel, "pause", None), getattr(window, "save_build", None),
             getattr(window.protocol_editor, "save_button", None)]
    acks = [b for b in window.findChildren(QtWidgets.QAbstractButton) if "acknowledge" in b.text().lower()]
    return [w for w in named + acks if isinstance(w, QtWidgets.QWidget)]


def visits(window) -> Iterator[str]:
    """Shows every tab (and every step of the builder) in turn, yielding the page's name."""
    app = QtWidgets.QApplication.instance()
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        name = window.tabs.tabText(index)
        if window.tabs.widget(index) is window.builder:
            for step in range(window.builder.pages.count()):
                window.builder.go_to_step(step)
                settle(app)
                yield f"{name} step {step + 1}"
            window.builder.go_to_step(0)
        else:
            settle(app)
            yield name


def settle(app: QtWidgets.QApplication) -> None:
    """Lets layouts (and layouts they trigger) finish."""
    for _ in range(3):
        app.processEvents()
        QtWidgets.QApplication.sendPostedEvents(None, QtCore.QEvent.Type.LayoutRequest)
    app.processEvents()


def station_problems(window, size: QtCore.QSize, scroll_pages: bool = False,
                     before_each: Callable[[], None] | None = None, seen: dict | None = None) -> list[str]:
    """Every problem of the station `window` on a screen of `size`, on every page: its size
    within the screen, unchanged by showing a page, and each page's controls. `seen`, if
    given, collects what was looked at: pages, controls checked, primary actions shown."""
    app = QtWidgets.QApplication.instance()
    settle(app)
    found = []
    seen = seen if seen is not None else {}
    seen.update(pages=[], controls=0, primary=set())
    start = window.size()
    if start.width() > size.width() or start.height() > size.height():
        found.append(f"the window is {start.width()}x{start.height()}, larger than the {size.width()}x{size.height()} screen")
    for page in visits(window):
        if before_each is not None:
            before_each()
        if window.size() != start:
            found.append(f"[{page}] showing it resized the window from {start.width()}x{start.height()} "
                         f"to {window.size().width()}x{window.size().height()}")
        found += problems(window, primary_actions(window), scroll_pages, label=f"[{page}] ")
        seen["pages"].append(page)
        seen["controls"] += len(controls(window))
        seen["primary"].update(w.text() for w in primary_actions(window) if w.isVisible())
        drawer = getattr(window, "drawer", None)
        if drawer is not None and drawer.is_drawer() and not drawer.is_open():
            drawer.set_open(True)
            settle(app)
            found += problems(window, primary_actions(window), scroll_pages, label=f"[{page}, drawer open] ")
            seen["primary"].update(w.text() for w in primary_actions(window) if w.isVisible())
            drawer.set_open(False)
            settle(app)
    return found


def _screen_config(width: int, height: int) -> str:
    """An offscreen-platform config file with one screen of width x height logical pixels."""
    scale = float(os.environ.get("QT_SCALE_FACTOR", "1") or 1)
    config = {"screens": [{"name": "fit", "x": 0, "y": 0, "width": round(width * scale),
                           "height": round(height * scale), "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}
    path = Path(tempfile.mkdtemp(prefix="solidstack-fit-")) / "screen.json"
    path.write_text(json.dumps(config))
    return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="print every place the station does not fit a screen")
    parser.add_argument("--size", default="1024x768", help="logical screen size, WxH")
    parser.add_argument("--glove", action="store_true", help="in glove mode")
    parser.add_argument("--alarm", action="store_true", help="with an alarm shown")
    parser.add_argument("--glove-after-show", action="store_true",
                        help="switch glove mode on once the window is shown, as the View menu does")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_screen_config(width, height)}"
    os.environ.setdefault("XDG_DATA_HOME", tempfile.mkdtemp(prefix="solidstack-fit-home-"))
    from gui.app import configure_application
    from gui.main_window import MainWindow
    from gui.settings import StationSettings
    from notebook import Notebook
    app = QtWidgets.QApplication(sys.argv[:1])
    configure_application(app)
    folder = Path(tempfile.mkdtemp(prefix="solidstack-fit-"))
    settings = StationSettings(folder / "settings.ini")
    settings.set("glove_mode", "on" if args.glove and not args.glove_after_show else "off")
    try:
        from gui import theme
    except ImportError:       # no theme module yet: glove mode cannot be shown
        theme = None
    if theme is not None:
        theme.install(settings)      # as the station does at start
    notebook = Notebook(folder / "notebook.sqlite")
    window = MainWindow(notebook, settings)
    window.show()
    if args.glove_after_show:
        settle(app)
        settings.set("glove_mode", "on")
    if args.alarm:
        window.banner.raise_alarm(1, 1, "hard short: 0.0 V for 2 s (sample 100)")
    screen = app.primaryScreen().availableGeometry().size()
    seen: dict = {}
    found = station_problems(window, screen, scroll_pages=args.glove, seen=seen)
    for line in found:
        print(line)
    # what was checked, for the test to know the check saw the station (stderr: not a problem)
    print(f"checked: screen {screen.width()}x{screen.height()} dpr {app.primaryScreen().devicePixelRatio():g}; "
          f"glove {'on' if theme is not None and theme.glove_mode() else 'off'}; "
          f"window {window.width()}x{window.height()}; {len(seen['pages'])} pages, {seen['controls']} controls; "
          f"primary: {' | '.join(sorted(seen['primary']))}", file=sys.stderr)
    window.shutdown()
    window.close()
    notebook.close()
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
