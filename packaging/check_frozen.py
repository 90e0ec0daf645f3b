"""Checks a PyInstaller build of the station the way CI does, on Linux and Windows:

1. `solidstack-console --self-check`: every module, resource file and pyvisa backend is in
   the bundle, and the notebook and settings resolve to the user data directory;
2. `solidstack --smoke OUT.png` (the windowed executable operators start), headless on
   Qt's offscreen platform: exits 0 and writes a PNG screenshot of live data;
3. `solidstack-console import` of one real file per bundled reader (tests/data): each
   format's library (NewareNDA, access-parser, openpyxl...) made it into the bundle;
4. none of these runs wrote anything into the bundle folder.
It prints the bundle's size. Exit status 0 only if every check passed.

    python packaging/check_frozen.py [DIST_DIR]      (default: dist/solidstack)
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXE = ".exe" if sys.platform == "win32" else ""
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DATA = ROOT / "tests" / "data"
# one real file per reader whose library the bundle must carry (Parquet and EC-Lab .mpr
# need optional extras the build leaves out, and say so)
READERS = ["cycling/20160805_test001_45_cc_01.res", "cycling/sample_data_arbin.csv", "cycling/maccor_two.txt",
           "cycling/TestFile.nda", "cycling/test.ndax", "cycling/neware_uio.csv",
           "cycling/nw_regular_export_ife_example.csv", "cycling/SINTEF__LiGrR2032__2024-04-30__25degC__Landt.csv",
           "cycling/batmo_bdf.csv", "cycling/Sample_data_biologic_no_header.mpt", "eis/exampleDataBioLogic.mpt",
           "eis/exampleDataGamry.DTA", "eis/exampleDataZPlot.z", "eis/exampleDataVersaStudio.par",
           "eis/exampleData.csv"]


def files_in(folder: Path) -> dict[Path, int]:
    """Every file under folder with its size; links counted once, as links."""
    return {p: p.lstat().st_size for p in folder.rglob("*") if p.is_symlink() or p.is_file()}


def run(command: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    print("$ " + " ".join(command), flush=True)
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    print(result.stdout + result.stderr, end="", flush=True)
    return result


def check(dist: Path) -> list[str]:
    station, console = dist / f"solidstack{EXE}", dist / f"solidstack-console{EXE}"
    missing = [str(p) for p in (station, console) if not p.exists()]
    if missing:
        return [f"no executable {', '.join(missing)}: build it first (make package)"]
    failures = []
    before = files_in(dist)
    with tempfile.TemporaryDirectory(prefix="solidstack-check-") as tmp:
        data_home = Path(tmp) / "data"
        # XDG_DATA_HOME moves the user data directory on Linux; Windows asks the shell API instead.
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_DATA_HOME=str(data_home))
        result = run([str(console), "--self-check"], env, timeout=300)
        if result.returncode != 0:
            failures.append(f"--self-check exited {result.returncode}")
        if sys.platform == "linux" and str(data_home / "SolidStack") not in result.stdout:
            failures.append(f"--self-check did not place the notebook and settings in {data_home / 'SolidStack'}")
        shot = Path(tmp) / "smoke.png"
        result = run([str(station), "--smoke", str(shot), "--db", str(Path(tmp) / "smoke.sqlite")], env, timeout=300)
        if result.returncode != 0:
            failures.append(f"--smoke exited {result.returncode}")
        if not shot.is_file() or shot.read_bytes()[:8] != PNG_MAGIC:
            failures.append(f"--smoke wrote no PNG screenshot to {shot}")
        notebook = Path(tmp) / "imports.sqlite"
        for name in READERS:
            result = run([str(console), "import", str(DATA / name), "--db", str(notebook), "--json"], env, timeout=300)
            if result.returncode != 0:
                failures.append(f"import of {name} exited {result.returncode}")
    after = files_in(dist)
    changed = sorted(str(p.relative_to(dist)) for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    if changed:
        failures.append("the runs changed files inside the bundle: " + ", ".join(changed[:10]))
    print(f"bundle {dist}: {sum(before.values()) / 2**20:.0f} MiB in {len(before)} files")
    return failures


def main(argv: list[str]) -> int:
    dist = Path(argv[0]) if argv else ROOT / "dist" / "solidstack"
    failures = check(dist)
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    print("packaged build: all checks passed" if not failures else f"packaged build: {len(failures)} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
