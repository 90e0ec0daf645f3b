"""The packaged build's recipe and checks, tested without building it (that takes a
minute; .ci/run does it): build.spec's choices, the Qt plugin filter, the QtOpenGL
placeholder, the self-check, the frozen-build checker, the desktop entry and the CI file."""
from __future__ import annotations

import configparser
import importlib.util
import json
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import resources
from gui import self_check

ROOT = Path(__file__).resolve().parent.parent  # not from conftest: tests/gui has its own
PACKAGING = ROOT / "packaging"


def load(path: Path):
    """A script from packaging/ (not a package: the name would shadow the `packaging` library)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# What the analysis finds on a Linux build machine, in PyInstaller's (dest, source, kind) form
# (sources that exist nowhere, so build.spec strips none of them): what the spec must keep
# and what it leaves to the system or replaces.
FOUND_BINARIES = {
    "kept": ["libQt6Core.so.6", "libsqlite3.so.0", "libglib-2.0.so.0", "libzstd.so.1", "libbz2.so.1.0",
             "psycopg_binary.libs/libpq-e9b5c9ac.so.5.18", "psycopg_binary.libs/libssl-6a9b88ec.so.3",
             "psycopg_binary.libs/libcrypto-3a0647ea.so.3", "psycopg_binary.libs/libgssapi_krb5-923083ce.so.2.2",
             "psycopg_binary.libs/libcom_err-2abe824b.so.2.1", "numpy.libs/libgfortran-040039e1-0352e75f.so.5.0.0"],
    "left out": ["libstdc++.so.6", "libgcc_s.so.1", "libz.so.1", "libX11.so.6", "libX11-xcb.so.1", "libXau.so.6",
                 "libfontconfig.so.1", "libfreetype.so.6", "libpng16.so.16", "libexpat.so.1", "libcups.so.2",
                 "libgssapi_krb5.so.2", "libcom_err.so.2", "libssl.so.3", "libcrypto.so.3"],
}
FOUND_DATAS = ["pyqtgraph/icons/peegee/peegee_512px.png", "pyqtgraph/icons/auto.png",
               "PySide6/Qt/translations/qt_de.qm", "pyqtgraph/colors/maps/CET-L1.csv"]


@pytest.fixture(scope="module")
def spec_run(tmp_path_factory):
    """build.spec executed with PyInstaller's build steps replaced by recorders; COLLECT
    writes a one-byte file for each binary and data file it is given."""
    tmp = tmp_path_factory.mktemp("spec")
    seen = {"exe": []}

    class Analysis:
        def __init__(self, scripts, **options):
            seen["scripts"], seen["analysis"] = scripts, options
            self.datas = [(dest, f"/found/{dest}", "DATA") for dest in FOUND_DATAS]
            self.binaries = [(dest, f"/found/{dest}", "BINARY") for kind in FOUND_BINARIES.values() for dest in kind]
            self.pure, self.scripts = [], []

    def exe(*args, **options):
        seen["exe"].append(options)
        return options["name"]

    def collect(*args, name):
        seen["collect"] = args
        internal = tmp / "dist" / name / "_internal"
        internal.mkdir(parents=True)
        for toc in args[1:]:
            for dest, _, _ in toc:
                (internal / dest).parent.mkdir(parents=True, exist_ok=True)
                (internal / dest).write_bytes(b"x")

    namespace = {"SPECPATH": str(ROOT), "workpath": str(tmp / "build"), "DISTPATH": str(tmp / "dist"),
                 "Analysis": Analysis, "PYZ": lambda *a, **k: "pyz", "EXE": exe, "COLLECT": collect}
    exec(compile((ROOT / "build.spec").read_text(), "build.spec", "exec"), namespace)
    return seen, tmp


def test_every_resource_file_is_mapped_one_to_one(spec_run):
    seen, _ = spec_run
    datas = {(Path(src).resolve(), dest) for src, dest in seen["analysis"]["datas"]}
    on_disk = [p for p in (ROOT / "resources").rglob("*")
               if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts]
    assert len(on_disk) >= 3
    for path in on_disk:
        assert (path.resolve(), str(path.relative_to(ROOT).parent)) in datas, f"{path} is not in build.spec's datas"


def test_the_spec_bundles_the_self_check_manifest_and_pyvisa(spec_run):
    seen, tmp = spec_run
    options = seen["analysis"]
    manifest = json.loads((tmp / "build" / self_check.MANIFEST).read_text())
    assert manifest["version"] == resources.APP_VERSION
    assert {"gui.main_window", "instruments.bench", "notebook.store"} <= set(manifest["modules"])
    assert "gui.tools.screenshots" not in manifest["modules"]  # a docs tool, not part of the station
    assert (str(tmp / "build" / self_check.MANIFEST), ".") in options["datas"]
    assert any(src.endswith(os.path.join("pyvisa_sim", "default.yaml")) for src, _ in options["datas"])
    assert {"pyvisa_py", "pyvisa_py.tcpip", "pyvisa_sim"} <= set(options["hiddenimports"])
    assert set(manifest["modules"]) <= set(options["hiddenimports"])


def test_the_spec_excludes_other_bindings_but_no_qt_module_the_station_uses(spec_run):
    excludes = set(spec_run[0]["analysis"]["excludes"])
    assert {"PyQt5", "PyQt6", "PySide2", "PySide6.QtNetwork", "PySide6.QtOpenGL"} <= excludes
    assert not excludes & {"PySide6", "PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets", "PySide6.QtSvg",
                           "PySide6.QtOpenGLWidgets", "pyvisa", "pyvisa_py", "pyvisa_sim", "yaml", "scipy"}
    assert str(PACKAGING / "hooks") in spec_run[0]["analysis"]["hookspath"]


def test_the_spec_bundles_psycopg_on_its_own_libpq_with_its_licence(spec_run):
    options = spec_run[0]["analysis"]
    assert {"psycopg_binary", "psycopg_binary.pq", "psycopg_binary._psycopg"} <= set(options["hiddenimports"])
    # psycopg_binary imports ssl: leaving it out makes psycopg fail to import (the frozen self-check caught it)
    assert not {"psycopg", "psycopg_binary", "ssl", "_ssl"} & set(options["excludes"])
    assert options["module_collection_mode"] == {"psycopg": "pyc"}  # LGPL: replaceable files, not the archive
    licences = {Path(src).name for src, _ in options["datas"]}
    assert {"psycopg-3.3.9.dist-info", "psycopg_binary-3.3.9.dist-info"} <= licences


def test_the_spec_leaves_highs_out_behind_a_placeholder(spec_run):
    options = spec_run[0]["analysis"]
    assert {"scipy.optimize._highspy._core", "scipy.optimize._highspy._highs_options"} <= set(options["excludes"])
    assert str(PACKAGING / "rthook_scipy_highs.py") in options["runtime_hooks"]


@pytest.mark.skipif(sys.platform != "linux", reason="the system libraries left out are Linux ones")
def test_linux_build_leaves_desktop_libraries_to_the_system_and_keeps_one_openssl(spec_run):
    _, tmp = spec_run
    internal = tmp / "dist" / "solidstack" / "_internal"
    collected = {p.relative_to(internal).as_posix() for p in internal.rglob("*") if p.is_file() and not p.is_symlink()}
    assert set(FOUND_BINARIES["kept"]) <= collected
    assert not set(FOUND_BINARIES["left out"]) & collected
    # Python's _ssl finds psycopg-binary's OpenSSL under the names it links
    assert os.readlink(internal / "libssl.so.3") == "psycopg_binary.libs/libssl-6a9b88ec.so.3"
    assert os.readlink(internal / "libcrypto.so.3") == "psycopg_binary.libs/libcrypto-3a0647ea.so.3"
    assert (internal / "libssl.so.3").resolve() == (internal / "psycopg_binary.libs/libssl-6a9b88ec.so.3").resolve()
    assert {"pyqtgraph/icons/auto.png", "pyqtgraph/colors/maps/CET-L1.csv"} <= collected
    assert not {"pyqtgraph/icons/peegee/peegee_512px.png", "PySide6/Qt/translations/qt_de.qm"} & collected


def test_scipy_fits_with_the_highs_placeholder_and_linprog_says_it_is_left_out():
    # a fresh interpreter, as in the packaged build: the hook runs before scipy is imported
    code = f"""
import runpy, sys
runpy.run_path({str(PACKAGING / "rthook_scipy_highs.py")!r})
import numpy as np
import scipy.interpolate, scipy.ndimage, scipy.signal, scipy.stats
from scipy.optimize import least_squares, linprog, milp, nnls
a = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
x, _ = nnls(a, a @ np.array([0.5, 1.5]))
t = np.arange(6.0)
fit = least_squares(lambda p: p[0] * t + p[1] - (2.0 * t + 1.0), [0.0, 0.0])
refusals = []
for call in (lambda: linprog([1, 1], A_ub=[[-1, -1]], b_ub=[-1]), lambda: milp([1, 1])):
    try:
        call()
        refusals.append("ran")
    except ImportError as exc:
        refusals.append(str(exc))
print(type(sys.modules["scipy.optimize._highspy._core"]).__name__)
print(*np.round(x, 9), *np.round(fit.x, 9))
print(*refusals, sep=chr(10))
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    kind, numbers, *refusals = result.stdout.strip().splitlines()
    assert kind == "_LeftOut"
    # nnls recovers the exact non-negative solution; the line fit gives slope 2, intercept 1
    assert [float(v) for v in numbers.split()] == [0.5, 1.5, 2.0, 1.0]
    assert len(refusals) == 2
    assert all("HiGHS solver (scipy.optimize.linprog, milp) is not in this build" in r for r in refusals), refusals


@pytest.mark.skipif(sys.platform != "linux", reason="the console link is how the Linux build avoids a second copy")
def test_linux_build_has_one_windowed_executable_and_a_console_link(spec_run):
    seen, tmp = spec_run
    assert [(e["name"], e["console"]) for e in seen["exe"]] == [("solidstack", False)]
    link = tmp / "dist" / "solidstack" / "solidstack-console"
    assert link.is_symlink() and os.readlink(link) == "solidstack"


def test_qt_hook_keeps_desktop_plugins_and_drops_embedded_ones(monkeypatch):
    import PyInstaller.utils.hooks.qt as qt_hooks
    plugins = {
        "platforms": ["libqxcb.so", "libqwayland.so", "libqoffscreen.so", "qwindows.dll",
                      "libqeglfs.so", "libqvnc.so", "libqlinuxfb.so"],
        "platformthemes": ["libqgtk3.so", "libqxdgdesktopportal.so"],
        "imageformats": ["libqsvg.so", "libqtiff.so"],
        "generic": ["libqevdevmouseplugin.so"],
        "iconengines": ["libqsvgicon.so"],
        "platforminputcontexts": ["libcomposeplatforminputcontextplugin.so"],
    }
    found = [(f"/qt/plugins/{folder}/{name}", f"PySide6/Qt/plugins/{folder}") for folder, names in plugins.items()
             for name in names] + [("/qt/lib/libQt6Gui.so.6", "PySide6/Qt/lib")]
    monkeypatch.setattr(qt_hooks, "add_qt6_dependencies", lambda hook_file: (["PySide6.QtCore"], found, []))
    hook = runpy.run_path(str(PACKAGING / "hooks" / "hook-PySide6.QtGui.py"))
    kept = {Path(source).name for source, _ in hook["binaries"]}
    assert kept == {"libqxcb.so", "libqwayland.so", "libqoffscreen.so", "qwindows.dll", "libqxdgdesktopportal.so",
                    "libqsvg.so", "libqsvgicon.so", "libcomposeplatforminputcontextplugin.so", "libQt6Gui.so.6"}
    assert hook["hiddenimports"] == ["PySide6.QtCore"]


def test_pyqtgraph_plots_with_the_qtopengl_placeholder():
    code = f"""
import runpy, sys
runpy.run_path({str(PACKAGING / "rthook_qtopengl.py")!r})
import pyqtgraph as pg
from PySide6 import QtOpenGL, QtWidgets
app = QtWidgets.QApplication([])
plot = pg.PlotWidget()
plot.plot([0, 1, 2, 3], [3.7, 3.9, 3.6, 3.8])
plot.resize(300, 200)
plot.show()
app.processEvents()
drawn = not plot.grab().isNull()
plot.close()
plot.deleteLater()
app.processEvents()
try:
    QtOpenGL.QOpenGLContext
    refused = "used"
except ImportError as exc:
    refused = str(exc)
print(type(sys.modules["PySide6.QtOpenGL"]).__name__, drawn, refused)
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert result.returncode == 0, result.stderr
    kind, drawn, refused = result.stdout.strip().split(" ", 2)
    assert kind == "_LeftOut" and drawn == "True"
    assert "QOpenGLContext is not in this build" in refused


def test_self_check_passes_from_source_and_reports_the_data_directory(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "--self-check"], cwd=ROOT, capture_output=True,
                            text=True, timeout=180, env=dict(os.environ, XDG_DATA_HOME=str(tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("\nok    ") == 5 and "self-check passed" in result.stdout
    assert "ok    lab store driver psycopg and its libpq" in result.stdout
    assert "lab store driver: psycopg 3.3.9, libpq 1" in result.stdout and "(binary)" in result.stdout
    if sys.platform == "linux":
        assert f"notebook and settings: {tmp_path / 'SolidStack'}" in result.stdout


def test_self_check_fails_without_the_bundled_libpq(monkeypatch):
    import psycopg
    assert self_check.check_lab_driver() == []
    # what a build without psycopg_binary would load: psycopg's ctypes binding on a system libpq
    monkeypatch.setattr(psycopg.pq, "__impl__", "python")
    problems = self_check.check_lab_driver()
    assert len(problems) == 1 and "'python' libpq binding, not the bundled one" in problems[0]


def test_self_check_names_what_is_missing():
    problems = self_check.check_imports(["gui.app", "no_such_module_abc"], {"numpy": ["array", "no_such_name_abc"],
                                                                          "PySide6": ["QtCore"]})
    assert len(problems) == 2
    assert "no_such_module_abc" in problems[0] and "numpy.no_such_name_abc" in problems[1]
    assert self_check.check_resources(["templates.json", "solidstack.svg"]) == []
    missing = self_check.check_resources(["templates.json", "no_such_file.json"])
    assert len(missing) == 1 and "resource file no_such_file.json is missing" in missing[0]


def test_self_check_fails_on_a_missing_module(monkeypatch, capsys):
    manifest = {"version": resources.APP_VERSION, "modules": ["gui.app"], "imports": {"json": [], "galvani_abc": []},
                "resources": ["templates.json"]}
    monkeypatch.setattr(self_check, "load_manifest", lambda: manifest)
    assert self_check.run() == 1
    out = capsys.readouterr().out
    assert "FAIL  1 modules of ours, 2 imported modules" in out and "ok    pyvisa backends" in out
    assert "missing: module galvani_abc is missing" in out and "self-check failed: 1 problem(s)" in out


def test_required_imports_skip_optional_and_type_checking_ones(tmp_path):
    (tmp_path / "main.py").write_text("import json\nfrom os import path\n")
    for package in ("pkg", "tests"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "tests" / "test_x.py").write_text("import pytest\n")
    (tmp_path / "pkg" / "mod.py").write_text(
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "try:\n    import galvani\nexcept (ImportError, OSError):\n    galvani = None\n"
        "try:\n    import fastjson\nexcept ValueError:\n    pass\n"
        "if TYPE_CHECKING:\n    from numpy.typing import NDArray\n"
        "def f():\n    import scipy.signal\n    from PySide6 import QtCore, QtGui\n    from .sibling import x\n")
    assert self_check.app_modules(tmp_path) == ["pkg", "pkg.mod"]
    assert self_check.required_imports(tmp_path) == {
        "PySide6": ["QtCore", "QtGui"], "fastjson": [], "json": [], "os": ["path"],
        "scipy.signal": [], "typing": ["TYPE_CHECKING"]}


@pytest.fixture
def fake_dist(tmp_path):
    """A stand-in bundle: shell scripts answering --self-check and --smoke like the station."""
    dist = tmp_path / "solidstack"
    dist.mkdir()
    script = dist / "solidstack"
    script.write_text('#!/bin/sh\n'
                      'if [ "$1" = --self-check ]; then echo "notebook and settings: $XDG_DATA_HOME/SolidStack"; exit 0; fi\n'
                      # only --smoke writes its second argument: `import FILE` must not overwrite FILE
                      'if [ "$1" = --smoke ] && [ -z "$NO_SHOT" ]; then printf "\\211PNG\\r\\n\\032\\n" > "$2"; fi\n'
                      'if [ -n "$LITTER" ]; then touch "$(dirname "$0")/notebook.sqlite"; fi\n')
    script.chmod(0o755)
    (dist / "solidstack-console").symlink_to("solidstack")
    return dist


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in bundle is made of shell scripts")
@pytest.mark.parametrize("env, failure", [
    ({}, None),
    ({"NO_SHOT": "1"}, "wrote no PNG screenshot"),
    ({"LITTER": "1"}, "changed files inside the bundle: notebook.sqlite"),
])
def test_frozen_build_checker(fake_dist, monkeypatch, env, failure):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    failures = load(PACKAGING / "check_frozen.py").check(fake_dist)
    assert failures == [] if failure is None else any(failure in f for f in failures), failures


def test_frozen_build_checker_needs_a_build(tmp_path):
    assert "build it first" in load(PACKAGING / "check_frozen.py").check(tmp_path)[0]


def test_desktop_entry_and_its_installation(tmp_path):
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(PACKAGING / "solidstack.desktop")
    section = entry["Desktop Entry"]
    assert (section["Type"], section["Name"], section["Exec"], section["Icon"]) == (
        "Application", resources.APP_NAME, "solidstack", "solidstack")
    assert section["Categories"].endswith(";") and "Science" in section["Categories"].split(";")
    if sys.platform != "linux":
        pytest.skip("installing a freedesktop entry (make install-desktop, a POSIX shell recipe) is for Linux")
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    station = tmp_path / "bin" / "solidstack"
    station.parent.mkdir()
    station.write_text("#!/bin/sh\n")
    station.chmod(0o755)
    data = tmp_path / "share"
    result = subprocess.run(["make", "-s", "install-desktop", f"DATA_HOME={data}", f"SOLIDSTACK={station}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    installed = (data / "applications" / "solidstack.desktop").read_text()
    assert f'Exec="{station}"' in installed and "Icon=solidstack" in installed
    assert (data / "icons/hicolor/scalable/apps/solidstack.svg").read_bytes() == (ROOT / "resources/solidstack.svg").read_bytes()
    assert (data / "icons/hicolor/256x256/apps/solidstack.png").is_file()
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(data / "applications" / "solidstack.desktop")],
                               capture_output=True, text=True)
        assert check.returncode == 0 and not check.stdout, check.stdout
    missing = subprocess.run(["make", "-s", "install-desktop", f"DATA_HOME={data}", f"SOLIDSTACK={tmp_path / 'nope'}"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "run 'make package' first" in missing.stdout


def test_ci_workflow_builds_and_checks_on_linux_and_windows():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "package.yml").read_text())
    job = workflow["jobs"]["package"]
    systems = job["strategy"]["matrix"]["os"]
    assert any(s.startswith("ubuntu") for s in systems) and any(s.startswith("windows") for s in systems)
    commands = [step.get("run", "") for step in job["steps"]]
    assert any("PyInstaller" in c and "build.spec" in c for c in commands)
    assert any("packaging/check_frozen.py" in c for c in commands)
