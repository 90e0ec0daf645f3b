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
    before = sys.getrefcount(None) + sys.getrefcount(True) + sys.getrefcount(False)
    for _ in range(CALLS):
        fn()
    return sys.getrefcount(None) + sys.getrefcount(True) + sys.getrefcount(False) - before


def test_void_calls_and_signals_keep_none_and_bool_refcounts(qapp):
    label = QtWidgets.QLabel()
    emitter = Emitter()
    received = []
    emitter.fired.connect(received.append)
    # a leak is one reference per call; allow for unrelated objects coming and going
    assert abs(drift(lambda: label.setText("x"))) < CALLS // 10
    assert abs(drift(lambda: emitter.fired.emit({"k": 1}))) < CALLS // 10
    assert abs(drift(QtCore.QCoreApplication.processEvents)) < CALLS // 10
    assert len(received) == CALLS
    label.deleteLater()
