"""DESIGN.md's boundary: only gui/ and main.py may import PySide6 or pyqtgraph, and the
Qt-free packages keep to their allowed imports of each other."""
from __future__ import annotations

import ast
import subprocess
import sys

from conftest import ROOT

QT = {"PySide6", "pyqtgraph", "shiboken6"}
OURS = {"cell", "instruments", "acquisition", "notebook", "analysis", "lab", "gui", "resources", "cli", "main"}
ALLOWED = {  # package -> packages of ours it may import (resources is shared data)
    "cell": {"resources"},
    "instruments": {"cell", "resources"},
    "acquisition": {"cell", "instruments", "analysis", "notebook", "resources"},
    "notebook": {"cell", "analysis", "resources"},   # analysis: the charge rule and counter check, pure functions
    "analysis": set(),
    # the lab store: what the notebook holds, and the analysis that gives each run's outcome figures
    "lab": {"cell", "notebook", "analysis", "resources"},
    # the command line: gui only for gui.analysis_runs, the Qt-free loader the analysis view shares
    "cli": {"cell", "instruments", "acquisition", "notebook", "analysis", "lab", "gui", "resources"},
}


def imported_roots(path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def python_files(package: str):
    return sorted((ROOT / package).rglob("*.py"))


def test_qt_only_in_gui_and_main():
    offenders = []
    for package in ALLOWED:
        for path in python_files(package):
            leaked = imported_roots(path) & QT
            if leaked:
                offenders.append(f"{path.relative_to(ROOT)} imports {sorted(leaked)}")
    assert not offenders, offenders


def test_packages_keep_their_import_boundaries():
    offenders = []
    for package, allowed in ALLOWED.items():
        for path in python_files(package):
            bad = (imported_roots(path) & OURS) - allowed - {package}
            if bad:
                offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offenders, offenders


def test_headless_packages_load_without_qt():
    code = ("import sys, acquisition.engine, acquisition.session, notebook.writer, analysis.plating, "
            "analysis.shorts, instruments.bench, cell, cli.analyze, cli.cell, cli.instruments, cli.notebook, "
            "cli.replay, cli.run, gui.analysis_runs, lab.sync, lab.query, lab.fetch, lab.outcomes, cli.lab\n"
            "leaked = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')]\n"
            "assert not leaked, leaked\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_boundary_check_sees_an_import(tmp_path):
    bad = tmp_path / "leak.py"
    bad.write_text("from PySide6 import QtCore\nimport pyqtgraph as pg\n")
    assert imported_roots(bad) & QT == {"PySide6", "pyqtgraph"}
