"""Layout pieces that let the station fit small screens: a label that elides instead of
widening its window, a layout that wraps its widgets into rows (filter bars), a splitter
that puts its second pane below the first when it is too narrow for both side by side,
and tab pages that scroll rather than push the window past the screen.

Why these exist: a QLabel, a row of widgets or a page asks for its full width as its
minimum, and a top-level window grows to the largest minimum among all its tabs (a
QTabWidget's minimum is its widest page's). Each piece here keeps its minimum small and
shows the rest by eliding, wrapping, stacking or scrolling."""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

Qt = QtCore.Qt


class ElidedLabel(QtWidgets.QLabel):
    """One line of plain text that shrinks with an ellipsis, the whole text in its tooltip.
    `text()` stays the whole text."""

    def __init__(self, text: str = "", parent: QtWidgets.QWidget | None = None,
                 mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight, min_chars: int = 6):
        super().__init__(text, parent)
        self._mode = mode
        self._min_chars = min_chars
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)

    def minimumSizeHint(self) -> QtCore.QSize:  # noqa: N802 (Qt's name)
        hint = super().minimumSizeHint()
        return QtCore.QSize(self.fontMetrics().averageCharWidth() * self._min_chars, hint.height())

    def elided(self) -> bool:
        return self.fontMetrics().horizontalAdvance(self.text()) > self.contentsRect().width()

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(self.text(), self._mode, rect.width())
        self.setToolTip(self.text() if shown != self.text() else "")
        painter = QtGui.QPainter(self)
        self.style().drawItemText(painter, rect, int(self.alignment()), self.palette(), self.isEnabled(),
                                  shown, self.foregroundRole())


class FlowLayout(QtWidgets.QLayout):
    """Items left to right, wrapping onto a new row when the width runs out (a filter bar
    on a narrow screen becomes two or three rows instead of widening the window)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None, spacing: int = 6):
        super().__init__(parent)
        self._items: list[QtWidgets.QLayoutItem] = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)      # a bar inside a page: the page has the margins

    def addItem(self, item: QtWidgets.QLayoutItem) -> None:  # noqa: N802 (Qt's name)
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QtWidgets.QLayoutItem | None:  # noqa: N802 (Qt's name)
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QtWidgets.QLayoutItem | None:  # noqa: N802 (Qt's name)
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802 (Qt's name)
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt's name)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt's name)
        return self._arrange(QtCore.QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QtCore.QRect) -> None:  # noqa: N802 (Qt's name)
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 (Qt's name)
        return self.minimumSize()

    def minimumSize(self) -> QtCore.QSize:  # noqa: N802 (Qt's name)
        size = QtCore.QSize()
        for item in self._visible():
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QtCore.QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _visible(self) -> list[QtWidgets.QLayoutItem]:
        return [item for item in self._items if not item.isEmpty()]

    def _arrange(self, rect: QtCore.QRect, move: bool) -> int:
        """Place the items in rows within `rect`; the height used. A row's items share its
        height; an item wider than the row gets the row."""
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        x, y, row_height = area.x(), area.y(), 0
        row: list[tuple[QtWidgets.QLayoutItem, int]] = []

        def width_of(item: QtWidgets.QLayoutItem) -> int:
            # the widget's own hint: a layout item reports 0 for an Ignored width (an ElidedLabel)
            hint = item.widget().sizeHint() if item.widget() is not None else item.sizeHint()
            return min(max(hint.width(), item.minimumSize().width()), area.width())

        def place_row() -> None:
            for item, left in row:
                item.setGeometry(QtCore.QRect(left, y, width_of(item), row_height))

        for item in self._visible():
            width = width_of(item)
            if row and x + width > area.x() + area.width():
                if move:
                    place_row()
                x, y, row = area.x(), y + row_height + self._spacing, []
                row_height = 0
            row.append((item, x))
            row_height = max(row_height, item.sizeHint().height())
            x += width + self._spacing
        if move and row:
            place_row()
        return y + row_height - rect.y() + margins.bottom()


def labelled(label: str, widget: QtWidgets.QWidget, stretch: bool = False) -> QtWidgets.QWidget:
    """A label and its widget kept together as one item of a FlowLayout."""
    box = QtWidgets.QWidget()
    row = QtWidgets.QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    caption = QtWidgets.QLabel(label)
    caption.setBuddy(widget)
    row.addWidget(caption)
    row.addWidget(widget, 1 if stretch else 0)
    return box


def _minimum_width(widget: QtWidgets.QWidget) -> int:
    """The width a layout will not go below: an explicit minimum, else the hint."""
    return widget.minimumWidth() or max(widget.minimumSizeHint().width(), 0)


class AdaptiveSplitter(QtWidgets.QSplitter):
    """Side by side when wide enough for both panes at their minimum widths (plus `slack`),
    one below the other otherwise: a details pane goes under its list on a narrow screen."""

    def __init__(self, slack: int = 0, parent: QtWidgets.QWidget | None = None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.slack = slack
        self.setChildrenCollapsible(False)

    def side_by_side_width(self) -> int:
        widths = [_minimum_width(self.widget(k)) for k in range(self.count())]
        return sum(widths) + self.handleWidth() * max(0, self.count() - 1) + self.slack

    def minimumSizeHint(self) -> QtCore.QSize:  # noqa: N802 (Qt's name)
        # Report the stacked minimum width: the splitter turns vertical rather than ask for more.
        hint = super().minimumSizeHint()
        if self.orientation() == Qt.Orientation.Horizontal:
            width = max((_minimum_width(self.widget(k)) for k in range(self.count())), default=0)
            return QtCore.QSize(width, hint.height())
        return hint

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        wanted = (Qt.Orientation.Horizontal if event.size().width() >= self.side_by_side_width()
                  else Qt.Orientation.Vertical)
        if wanted != self.orientation():
            self.setOrientation(wanted)
            extent = event.size().width() if wanted == Qt.Orientation.Horizontal else event.size().height()
            self.setSizes([extent // max(1, self.count())] * self.count())
        super().resizeEvent(event)


class FittingScrollArea(QtWidgets.QScrollArea):
    """Vertical scrolling only, as tall as its content when there is room (a plain
    QScrollArea hints at most 24 lines), as narrow as the content's minimum."""

    def __init__(self, content: QtWidgets.QWidget, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # never taller than the content: what follows it in a column stays right below
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Maximum)
        self.setWidget(content)

    def _bar(self) -> int:
        return self.verticalScrollBar().sizeHint().width()

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 (Qt's name)
        content = self.widget()
        hint = content.sizeHint().expandedTo(content.minimumSizeHint())
        if content.hasHeightForWidth() and self.viewport().width() > 0:
            # wrapped labels: the height at the width it has, not at the width it hints
            hint.setHeight(max(content.heightForWidth(self.viewport().width()), content.minimumSizeHint().height()))
        return QtCore.QSize(hint.width() + self._bar(), hint.height())

    def minimumSizeHint(self) -> QtCore.QSize:  # noqa: N802 (Qt's name)
        return QtCore.QSize(self.widget().minimumSizeHint().width() + self._bar(), self.fontMetrics().height() * 4)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width() and self.widget().hasHeightForWidth():
            self.updateGeometry()          # the hinted height follows the width: ask again


class PageTabs(QtWidgets.QTabWidget):
    """Tabs whose pages sit in scroll areas, so that no page's minimum size reaches the
    window: a page larger than the space scrolls instead of growing the window past the
    screen. The pages are still what `widget`, `currentWidget`, `indexOf` and
    `setCurrentWidget` take and give; `page_area(page)` is a page's scroll area."""

    def addTab(self, page: QtWidgets.QWidget, label: str) -> int:  # noqa: N802 (Qt's name)
        area = QtWidgets.QScrollArea()
        area.setWidgetResizable(True)
        area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        area.setWidget(page)
        area.setProperty("page_area", True)
        return super().addTab(area, label)

    def page_area(self, page: QtWidgets.QWidget) -> QtWidgets.QScrollArea | None:
        for k in range(self.count()):
            area = super().widget(k)
            if area.widget() is page:
                return area
        return None

    def widget(self, index: int) -> QtWidgets.QWidget | None:
        area = super().widget(index)
        return area.widget() if area is not None else None

    def currentWidget(self) -> QtWidgets.QWidget | None:  # noqa: N802 (Qt's name)
        return self.widget(self.currentIndex())

    def indexOf(self, page: QtWidgets.QWidget) -> int:  # noqa: N802 (Qt's name)
        area = self.page_area(page)
        return super().indexOf(area if area is not None else page)

    def setCurrentWidget(self, page: QtWidgets.QWidget) -> None:  # noqa: N802 (Qt's name)
        index = self.indexOf(page)
        if index >= 0:
            self.setCurrentIndex(index)

    def pages_minimum_width(self) -> int:
        """The widest page's minimum width: what the tabs need to show every page unscrolled."""
        return max((_minimum_width(self.widget(k)) for k in range(self.count())), default=0)


PREFERRED_WINDOW = (1440, 900)   # a window's size on a desk monitor; smaller screens get it maximised


def size_to_screen(window: QtWidgets.QWidget, preferred: tuple[int, int] = PREFERRED_WINDOW) -> None:
    """`preferred` size, within the screen's available area and centred on it; a smaller
    screen gets the window maximised (its frame and title bar then fit too)."""
    available = (window.screen() or QtGui.QGuiApplication.primaryScreen()).availableGeometry()
    size = QtCore.QSize(*preferred).boundedTo(available.size())
    window.resize(size)
    window.move(available.center() - QtCore.QPoint(size.width() // 2, size.height() // 2))
    if size != QtCore.QSize(*preferred):
        window.setWindowState(window.windowState() | QtCore.Qt.WindowState.WindowMaximized)
