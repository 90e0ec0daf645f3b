"""Guards the Qt pin: PySide6 6.12.0 dropped a reference to None (and True/False) on
every void call and signal emission, so a window that runs for hours aborts with
'Fatal Python error: none_dealloc'. A long-running station cannot live with that."""
from __future__ import annotations

import sys

from PySide6 import QtCore, QtWidgets

CALLS = 5000


class Emitter(QtCore.QObject):
    fired = QtCore.Signal(dict)


def drift(fn) -> int:
    """The smallest change over three rounds of CALLS calls. A leak loses one reference a
    call in every round; threads left by other tests may move the counts a little."""
    changes = []
    for _ in range(3):
        before = sys.getrefcount(None) + sys.getrefcount(True) + sys.getrefcount(False)
        for _ in range(CALLS):
            fn()
        changes.append(sys.getrefcount(None) + sys.getrefcount(True) + sys.getrefcount(False) - before)
    return min(changes, key=abs)


def test_void_calls_and_signals_keep_none_and_bool_refcounts(qapp):
    label = QtWidgets.QLabel()
    emitter = Emitter()
    received = []
    emitter.fired.connect(received.append)
    # a leak is one reference per call; allow for unrelated objects coming and going
    assert abs(drift(lambda: label.setText("x"))) < CALLS // 4
    assert abs(drift(lambda: emitter.fired.emit({"k": 1}))) < CALLS // 4
    assert abs(drift(QtCore.QCoreApplication.processEvents)) < CALLS // 4
    assert len(received) == 3 * CALLS
    label.deleteLater()
