"""Replay of a 10 M-sample run through the monitor (issue 8's goals): time from the
request to the first frame on screen (< 1 s), a seek anywhere until the monitor shows
the new place (< 100 ms), and the redraw rate while playing at 1000x (>= 30 fps).
The goals are absolute; the read of the whole run is printed for scale."""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402

import cell  # noqa: E402
from notebook import Notebook, empty_samples  # noqa: E402
from notebook.writer import RunWriter  # noqa: E402

N = 10_000_000


def make_run(path: Path) -> int:
    with Notebook(path) as nb:
        build_id = nb.save_build(cell.from_template("sym-agc"))
    writer = RunWriter(path)
    run_id = writer.start_run(build_id, "plate-strip-0.16", "{}", {"detectors": {}})
    per = 3600
    for start in range(0, N, 500_000):
        k = np.arange(start, min(start + 500_000, N))
        s = empty_samples(k.size)
        s["t"] = k + 1.0
        s["current"] = np.where((k // per) % 2 == 0, 1.6e-4, -1.6e-4)
        s["voltage"] = s["current"] * 8.0 * (1 + 0.3 * (k % per) / per)
        s["step"], s["cycle"] = k // per, k // (2 * per) + 1
        writer.append(s)
    writer.finish("completed")
    return run_id


def wait(app, condition, timeout_s=30.0) -> float:
    start = time.perf_counter()
    while not condition():
        app.processEvents()
        if time.perf_counter() - start > timeout_s:
            raise TimeoutError
    return time.perf_counter() - start


def main() -> None:
    from PySide6 import QtWidgets

    from gui.replay_window import ReplayWindow
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.sqlite"
        run_id = make_run(path)
        firsts, seeks, fps, reads = [], [], [], []
        for _ in range(3):
            with Notebook(path, read_only=True) as nb:
                t0 = time.perf_counter()
                window = ReplayWindow(nb, run_id, speed=1000.0)
                window.show()
                wait(app, lambda: window.monitor.points_drawn > 0)
                firsts.append(time.perf_counter() - t0)
                for target in (2.5e6, 9.0e6, 4.0e5):
                    t0 = time.perf_counter()
                    window.seek(target)
                    wait(app, lambda: window.monitor.points_drawn > 0 and window.buffer.snapshot().t_first >= target - 1)
                    seeks.append(time.perf_counter() - t0)
                frames, t0 = 0, time.perf_counter()
                last = window.monitor.points_drawn
                while time.perf_counter() - t0 < 3.0:
                    app.processEvents()
                    if window.monitor.points_drawn != last:
                        frames += 1
                        last = window.monitor.points_drawn
                    time.sleep(0.001)
                fps.append(frames / (time.perf_counter() - t0))
                window.shutdown()
                window.deleteLater()
                app.processEvents()
                t0 = time.perf_counter()
                nb.samples(run_id)
                reads.append(time.perf_counter() - t0)
    print(json.dumps({"figure": "replay 10 M samples: request -> first frame", "value": statistics.median(firsts),
                      "unit": "s", "baseline": None, "ratio": None,
                      "goal": f"< 1 s (a second read of the run alone: {statistics.median(reads):.2f} s)"}))
    print(json.dumps({"figure": "replay: seek -> new place on screen", "value": statistics.median(seeks) * 1e3, "unit": "ms",
                      "baseline": None, "ratio": None, "goal": f"< 100 ms (worst {max(seeks) * 1e3:.0f} ms)"}))
    print(json.dumps({"figure": "replay at 1000x: frames drawn", "value": statistics.median(fps), "unit": "fps",
                      "baseline": None, "ratio": None, "goal": ">= 30 fps"}))


if __name__ == "__main__":
    main()
