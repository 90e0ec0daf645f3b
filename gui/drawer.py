"""The main window's side panel (the cell to run and the run panel): docked beside the
tabs on a wide window, a drawer that slides over the tab pages on a narrow one, so that a
1024 px panel PC gives the whole width to the page and still reaches Start and Stop.

A `footer` (Start, Pause, Stop) stays in view below the panel when the panel has to scroll.
A toggle in the tab bar's corner shows and hides it in either form; each form remembers
its own state (docked: shown unless hidden; drawer: closed until opened). The drawer
closes when the page changes or a run starts; Escape closes it too."""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from gui.layout import FittingScrollArea, PageTabs

DOCK_BELOW_PX = 1200      # narrower windows get the drawer
DRAWER_MAX_FRACTION = 0.8  # of the page area's width: the page stays visible at its side


class SideDrawer(QtCore.QObject):
    """Moves `panel` between the left pane of `splitter` and a drawer over `tabs`' pages."""
    mode_changed = QtCore.Signal(bool)      # True: the panel is a drawer now

    def __init__(self, window: QtWidgets.QMainWindow, panel: QtWidgets.QWidget, splitter: QtWidgets.QSplitter,
                 tabs: PageTabs, footer: QtWidgets.QWidget | None = None, label: str = "Cell && run"):
        super().__init__(window)
        self.window = window
        self.splitter = splitter
        self.tabs = tabs
        self.panel = panel
        # the panel scrolls if it is taller than the window (large fonts, glove mode); the
        # footer follows it directly, or sits at the bottom when the panel scrolls
        self.scroll = FittingScrollArea(panel)
        self.area = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(self.area)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.scroll)
        if footer is not None:
            footer.layout().setContentsMargins(12, 0, 12, 8)
            column.addWidget(footer)
        column.addStretch(1)
        self.frame = QtWidgets.QFrame(window)
        self.frame.setObjectName("runDrawer")
        self.frame.setProperty("overlay", True)          # covers the page: gui.tools.fit_check knows
        self.frame.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.frame.setAutoFillBackground(True)
        self.frame.setLayout(QtWidgets.QVBoxLayout())
        self.frame.layout().setContentsMargins(4, 4, 4, 4)
        self.frame.hide()
        shadow = QtWidgets.QGraphicsDropShadowEffect(self.frame, blurRadius=18, offset=QtCore.QPointF(4, 0))
        self.frame.setGraphicsEffect(shadow)
        self.toggle = QtWidgets.QToolButton()
        self.toggle.setText("☰ " + label)
        self.toggle.setCheckable(True)
        self.toggle.setToolTip("Show or hide the cell to run and the run panel")
        self.toggle.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly)
        tabs.setCornerWidget(self.toggle, QtCore.Qt.Corner.TopLeftCorner)
        self._drawer = False
        self._docked_shown = True
        self._drawer_open = False
        splitter.insertWidget(0, self.area)
        splitter.setCollapsible(0, False)
        splitter.setStretchFactor(0, 0)       # a wider window widens the pages, not the panel
        splitter.setStretchFactor(1, 1)
        self.toggle.toggled.connect(self.set_open)
        tabs.currentChanged.connect(lambda _index: self.close_drawer())
        escape = QtGui.QShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_Escape), self.frame)
        escape.setContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
        escape.activated.connect(self.close_drawer)
        window.installEventFilter(self)
        # a page asking for more (or less) room, e.g. glove mode switched on: decide again
        self._recheck = QtCore.QTimer(self, singleShot=True, interval=0)
        self._recheck.timeout.connect(self.update_form)
        for k in range(tabs.count()):
            tabs.page_area(tabs.widget(k)).installEventFilter(self)
        self.scroll.installEventFilter(self)     # and the panel itself
        self._sync_toggle()

    # -- state --
    def is_drawer(self) -> bool:
        return self._drawer

    def is_open(self) -> bool:
        """Whether the panel can be seen, docked or as a drawer."""
        return self._drawer_open if self._drawer else self._docked_shown

    def set_open(self, shown: bool) -> None:
        if self._drawer:
            self._drawer_open = shown
            self.frame.setVisible(shown)
            if shown:
                self.place()
                self.frame.raise_()
                self._raise_alarms()
        else:
            self._docked_shown = shown
            self.area.setVisible(shown)
        self._sync_toggle()

    def close_drawer(self) -> None:
        if self._drawer and self._drawer_open:
            self.set_open(False)

    def _sync_toggle(self) -> None:
        with QtCore.QSignalBlocker(self.toggle):
            self.toggle.setChecked(self.is_open())

    def _raise_alarms(self) -> None:
        """Alarm controls stay above the drawer."""
        for widget in self.window.findChildren(QtWidgets.QWidget, "alarmBanner"):
            if widget.isVisible():
                widget.raise_()

    # -- form: docked or drawer --
    def dock_width(self) -> int:
        # its minimum, not its size hint: wrapped labels hint at a long single line
        return self.area.minimumSizeHint().width()

    def wants_drawer(self, width: int) -> bool:
        """Too narrow for the panel beside the widest page at its minimum width."""
        margins = self.window.centralWidget().contentsMargins()
        room = width - self.dock_width() - self.splitter.handleWidth() - margins.left() - margins.right()
        return width < DOCK_BELOW_PX or room < self.tabs.pages_minimum_width() + 8

    def update_form(self) -> None:
        drawer = self.wants_drawer(self.window.width())
        if drawer == self._drawer:
            if drawer and self._drawer_open:
                self.place()
            elif not drawer:
                self._share_width()
            return
        self._drawer = drawer
        if drawer:
            self.frame.layout().addWidget(self.area)
            self.area.show()
            self.frame.setVisible(self._drawer_open)
            if self._drawer_open:
                self.place()
        else:
            self.frame.hide()
            self.splitter.insertWidget(0, self.area)
            self.area.setVisible(self._docked_shown)
            self.splitter.setSizes([self.dock_width(), max(1, self.window.width() - self.dock_width())])
            self._share_width()
        self._sync_toggle()
        self.mode_changed.emit(drawer)

    def _share_width(self) -> None:
        """Docked: the panel gives up width (down to its minimum) until every page fits, and
        takes what its minimum grew to (a larger font, glove mode)."""
        panel, pages = self.splitter.sizes()
        if not self.area.isVisible():
            return
        total = panel + pages
        wanted = self.tabs.pages_minimum_width() + 8
        fitted = panel
        if pages < wanted and panel > self.dock_width():
            fitted = max(self.dock_width(), total - wanted)
        fitted = max(fitted, self.dock_width())       # and never below the panel's own minimum
        if fitted != panel:
            self.splitter.setSizes([fitted, total - fitted])

    def place(self) -> None:
        """Over the left of the tab pages, below the tab bar, their full height."""
        bar = self.tabs.tabBar()
        top = self.tabs.mapTo(self.window, QtCore.QPoint(0, bar.geometry().bottom() + 1))
        height = self.tabs.height() - bar.geometry().bottom() - 1
        width = min(self.dock_width() + 8, int(self.tabs.width() * DRAWER_MAX_FRACTION))
        self.frame.setGeometry(top.x(), top.y(), width, max(height, 0))
        self.frame.raise_()
        self._raise_alarms()

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if watched is self.window and event.type() in (QtCore.QEvent.Type.Resize, QtCore.QEvent.Type.Show):
            self.update_form()
        elif event.type() == QtCore.QEvent.Type.LayoutRequest and watched is not self.window:
            self._recheck.start()
        return False
