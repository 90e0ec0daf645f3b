"""`main.py --self-check`: does this build have everything the station needs?

A packaged build fails late and far from its cause when a module, a data file, a pyvisa
backend or a Qt plugin was left out (pyvisa's "Wrapper not found" is the classic). This
check imports every module of ours and everything our code imports, reads every resource
file, opens pyvisa's '@py' and '@sim' backends and renders the icon, then names what is
missing and exits non-zero.

From source, the lists come from reading the source tree. The packaged build has no
sources, so build.spec writes the same lists (`manifest()`) into the bundle as MANIFEST.
Imports inside `try: ... except ImportError` (optional extras) and under TYPE_CHECKING
are not required. This module imports Qt only inside `check_qt` so that build.spec can
call `manifest()` without it.
"""
from __future__ import annotations

import ast
import importlib
import json
import os
import sys
from pathlib import Path

import resources

MANIFEST = "self_check_manifest.json"
SOURCE_ROOT = Path(__file__).resolve().parent.parent
NOT_SHIPPED = ("tests/", "gui/tools/")   # in the tree, not in the station: tests, docs and bench tools
OPTIONAL_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError"}
NATIVE_PLATFORMS = {"linux": ("qxcb", "qwayland"), "win32": ("qwindows",), "darwin": ("qcocoa",)}


# -- what the station consists of, read from the source tree --
def source_files(root: Path) -> list[Path]:
    """main.py and every module of every package of ours."""
    packages = sorted(p.parent for p in root.glob("*/__init__.py") if not f"{p.parent.name}/".startswith(NOT_SHIPPED))
    return [root / "main.py"] + [f for package in packages for f in sorted(package.rglob("*.py"))
                                 if not f.relative_to(root).as_posix().startswith(NOT_SHIPPED)]


def app_modules(root: Path) -> list[str]:
    """Dotted names of the modules of our packages (main.py is the frozen entry script, not a module)."""
    names = []
    for path in source_files(root)[1:]:
        parts = path.relative_to(root).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _optional(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """True for an import in the body of a try that catches ImportError, or under TYPE_CHECKING."""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.Try) and child in parent.body:
            caught = set()
            for handler in parent.handlers:
                kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
                caught |= {k.id for k in kinds if isinstance(k, ast.Name)}
            if caught & OPTIONAL_IMPORT_ERRORS:
                return True
        if isinstance(parent, ast.If) and child in parent.body and "TYPE_CHECKING" in ast.unparse(parent.test):
            return True
        child, parent = parent, parents.get(parent)
    return False


def required_imports(root: Path) -> dict[str, list[str]]:
    """Every absolute import in our code: module -> names imported from it ([] for `import m`)."""
    imports: dict[str, set[str]] = {}
    for path in source_files(root):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and not _optional(node, parents):
                for alias in node.names:
                    imports.setdefault(alias.name, set())
            elif (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module != "__future__"
                  and not _optional(node, parents)):
                imports.setdefault(node.module, set()).update(a.name for a in node.names if a.name != "*")
    return {module: sorted(names) for module, names in sorted(imports.items())}


def resource_files(root: Path) -> list[str]:
    """Every data file under resources/ (not its code), as a path relative to it."""
    base = root / "resources"
    return sorted(p.relative_to(base).as_posix() for p in base.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".py", ".pyc"))


def manifest(root: Path = SOURCE_ROOT) -> dict:
    return {"version": resources.APP_VERSION, "modules": app_modules(root),
            "imports": required_imports(root), "resources": resource_files(root)}


def load_manifest() -> dict:
    if getattr(sys, "frozen", False):
        return json.loads((Path(sys._MEIPASS) / MANIFEST).read_text(encoding="utf-8"))
    return manifest()


# -- the checks; each returns a list of problems, empty when all is well --
def check_imports(modules: list[str], imports: dict[str, list[str]]) -> list[str]:
    problems = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            problems.append(f"module {name} does not import: {exc}")
    for name, members in imports.items():
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            problems.append(f"module {name} is missing: {exc}")
            continue
        for member in members:
            if hasattr(module, member):
                continue
            try:  # `from package import submodule`
                importlib.import_module(f"{name}.{member}")
            except ImportError as exc:
                problems.append(f"{name}.{member} is missing: {exc}")
    return problems


def check_resources(names: list[str]) -> list[str]:
    problems = []
    for name in names:
        try:
            resources.read_bytes(name)
        except OSError as exc:
            problems.append(f"resource file {name} is missing: {exc}")
    return problems


def check_visa() -> list[str]:
    """pyvisa finds backends by module name at run time, so a build can lack them silently."""
    import pyvisa
    problems = []
    # Any exception from opening a backend is the finding itself: report it, go on checking.
    try:
        rm = pyvisa.ResourceManager("@py")
        info = rm.visalib.get_debug_info()
        rm.close()
        for kind in ("TCPIP INSTR", "TCPIP SOCKET"):  # LAN instruments and the simulated bench
            if not str(info.get(kind, "")).startswith("Available"):
                problems.append(f"pyvisa-py cannot open {kind} resources: {info.get(kind)}")
    except Exception as exc:  # noqa: BLE001
        problems.append(f"pyvisa backend '@py' (pyvisa_py) does not load: {type(exc).__name__}: {exc}")
    try:
        rm = pyvisa.ResourceManager("@sim")
        # ASRL1::INSTR is defined in pyvisa-sim's own default.yaml: this also proves its data file is there
        instrument = rm.open_resource("ASRL1::INSTR", read_termination="\n", write_termination="\r\n")
        idn = instrument.query("?IDN")
        rm.close()
        if not idn.startswith("LSG Serial"):
            problems.append(f"pyvisa-sim's simulated instrument answered {idn!r}")
    except Exception as exc:  # noqa: BLE001
        problems.append(f"pyvisa backend '@sim' (pyvisa_sim) does not work: {type(exc).__name__}: {exc}")
    return problems


def check_lab_driver() -> list[str]:
    """The lab store's driver runs on the libpq that psycopg-binary bundles. Without that
    binding psycopg would quietly fall back to a system libpq (or fail only at the first sync)."""
    import psycopg
    problems = []
    if psycopg.pq.__impl__ != "binary":
        problems.append(f"psycopg uses its '{psycopg.pq.__impl__}' libpq binding, not the bundled one "
                        "(psycopg_binary and psycopg_binary.libs are missing)")
    version = psycopg.pq.version()
    if version < 100000:  # libpq numbers its versions major * 10000 + minor since 10
        problems.append(f"psycopg reports libpq version {version}")
    return problems


def lab_driver_versions() -> str:
    import psycopg
    return f"psycopg {psycopg.__version__}, libpq {psycopg.pq.version_pretty(psycopg.pq.version())} ({psycopg.pq.__impl__})"


def check_qt() -> list[str]:
    """The icon renders and the platform plugins a desktop needs are in the build."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore, QtWidgets

    from gui.app import app_icon

    problems = []
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    if app_icon().pixmap(64, 64).isNull():
        problems.append("the application icon does not render")
    plugins = Path(QtCore.QLibraryInfo.path(QtCore.QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    present = {p.name for p in plugins.glob("*")} if plugins.is_dir() else set()
    for plugin in NATIVE_PLATFORMS.get(sys.platform, ()) + ("qoffscreen",):
        if not any(plugin in name for name in present):
            problems.append(f"Qt platform plugin {plugin} is missing from {plugins}")
    return problems


def run() -> int:
    expected = load_manifest()
    frozen = "packaged build" if getattr(sys, "frozen", False) else "from source"
    print(f"{resources.APP_NAME} {resources.APP_VERSION} self-check ({frozen}, {sys.platform})")
    if expected["version"] != resources.APP_VERSION:
        print(f"FAIL  the build's manifest is for version {expected['version']}")
        return 1
    checks = [
        (f"{len(expected['modules'])} modules of ours, {len(expected['imports'])} imported modules",
         lambda: check_imports(expected["modules"], expected["imports"])),
        (f"{len(expected['resources'])} resource files", lambda: check_resources(expected["resources"])),
        ("pyvisa backends @py and @sim", check_visa),
        ("lab store driver psycopg and its libpq", check_lab_driver),
        ("Qt platform plugins and icon", check_qt),
    ]
    problems = []
    for label, check in checks:
        try:
            found = check()
        except ImportError as exc:  # a check's own tools are missing: that is a finding too
            found = [f"{label}: {exc}"]
        print(("ok    " if not found else "FAIL  ") + label)
        problems += found
    if not problems:  # gui.app needs numpy and Qt, which the checks above have proven importable
        from gui.app import data_dir, settings_path
        print(f"notebook and settings: {data_dir()} (settings file {settings_path().name})")
        print(f"lab store driver: {lab_driver_versions()}")
    for problem in problems:
        print(f"  missing: {problem}")
    print("self-check passed" if not problems else f"self-check failed: {len(problems)} problem(s)")
    return 1 if problems else 0
