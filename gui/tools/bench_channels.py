"""Eight simulated channels sampling at 1 kHz each in real time, through the real
drivers, detectors and notebook writer (issue 5's performance goals, Qt-free part).

Figures: samples per second stored across channels and the count lost (taken by the
instruments minus stored); wall-clock latency from a short's first sample to the
safe-state command (goal < 100 ms) and to the alarm reaching the GUI thread (goal
< 250 ms, measured to the banner slot through the real EngineBridge). Baseline: one
channel read the naive way, one `:READ?` per sample over the same connection, as
fast as it goes."""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import cell  # noqa: E402
from acquisition.channels import ChannelManager  # noqa: E402
from acquisition.protocol import plate_strip  # noqa: E402
from instruments.bench import simulated_bench  # noqa: E402
from instruments.clock import SimClock  # noqa: E402
from notebook import Notebook  # noqa: E402

CHANNELS = 8
SECONDS = 8.0
REPEATS = 3


def one_round(tmp: Path, k: int, app, bridge_cls, banner_times: list) -> dict:
    nb = Notebook(tmp / f"channels{k}.sqlite")
    manager = ChannelManager(nb)
    protocol = plate_strip(half_cycle_h=SECONDS / 2 / 3600, cycles=1, sample_interval_s=0.001)
    bridge = bridge_cls(1)
    bridge.event.connect(lambda channel, event: banner_times.append(time.monotonic()))
    for channel in range(1, CHANNELS + 1):
        # at 1 kHz a second is plenty to settle after a current step (the default, 30 s, is for 1 Hz logging)
        manager.start(channel, cell.from_template("sym-agc"), protocol, speed="1", seed=channel,
                      listeners=[bridge] if channel == 1 else [], detector_overrides={"hard_short": {"settle_s": 1.0}})
    # channel 1's cell shorts a little after it starts: lower its dendrite's critical charge
    model = manager.channel(1).session.engine.bench.emulators["smu"].cell
    model.params = replace(model.params, short_after_mAh_cm2=0.16 * 3.0 / 3600)     # 3 s at 0.16 mA/cm2
    while any(c.busy for c in manager.channels):
        app.processEvents()
        time.sleep(0.005)
    app.processEvents()
    engine1 = manager.channel(1).session.engine
    emulator1 = engine1.bench.emulators["smu"]
    clock = engine1.clock
    first_short_wall = clock._wall_start + model.shorted_at / clock.speed
    taken = sum(c.session.engine.bench.emulators["smu"]._count for c in manager.channels)
    counts = [(nb.samples(c.session.engine.run_id).size, c.session.engine.t_now) for c in manager.channels]
    stored = sum(n for n, _ in counts)
    result = {"rate": sum(n / t for n, t in counts if t > 0), "lost": taken - stored,
              "safe_ms": (emulator1.switched_off_at - first_short_wall) * 1e3,
              "banner_ms": (banner_times[-1] - first_short_wall) * 1e3 if banner_times else float("nan")}
    manager.shutdown()
    nb.close()
    return result


def naive_rate() -> float:
    clock = SimClock(1.0)
    bench = simulated_bench(cell.from_template("sym-agc"), clock)
    smu = bench.smu
    smu.reset()
    smu.set_current(1.6e-4)
    smu.output(True)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 2.0:
        smu.connection.query(":READ?")
        n += 1
    smu.safe_off()
    bench.close()
    return n / (time.perf_counter() - t0)


def main() -> None:
    from PySide6 import QtWidgets

    from gui.bridge import EngineBridge
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(REPEATS):
            results.append(one_round(Path(tmp), k, app, EngineBridge, []))
    med = {key: statistics.median(r[key] for r in results) for key in results[0]}
    baseline = naive_rate()
    print(json.dumps({"figure": f"{CHANNELS} channels x 1 kHz, stored", "value": med["rate"], "unit": "S/s",
                      "baseline": baseline, "ratio": med["rate"] / baseline,
                      "goal": f"8000 S/s, none lost (lost: {max(r['lost'] for r in results)})"}))
    print(json.dumps({"figure": "short's first sample -> safe-state command", "value": med["safe_ms"], "unit": "ms",
                      "baseline": None, "ratio": None, "goal": "< 100 ms"}))
    print(json.dumps({"figure": "short's first sample -> alarm at the GUI thread", "value": med["banner_ms"],
                      "unit": "ms", "baseline": None, "ratio": None, "goal": "< 250 ms"}))


if __name__ == "__main__":
    main()
