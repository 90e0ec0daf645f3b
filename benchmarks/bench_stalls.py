"""Runs gui/tools/bench_stalls.py: the benchmark drives Qt widgets, and only gui/ imports Qt
(DESIGN.md). Prints the same JSON lines as the other benchmarks; arguments pass through."""
import runpy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
runpy.run_module("gui.tools.bench_stalls", run_name="__main__", alter_sys=True)
