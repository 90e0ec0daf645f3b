"""Runs gui/tools/make_icons.py (it renders with Qt, and only gui/ imports Qt: DESIGN.md):
the raster icons packaging/solidstack.png and .ico from resources/solidstack.svg."""
import runpy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
runpy.run_module("gui.tools.make_icons", run_name="__main__", alter_sys=True)
