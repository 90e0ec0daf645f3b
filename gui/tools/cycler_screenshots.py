"""Makes docs/cyclers-overview-1280x800.png (the Cyclers tab with 32 watched channels of
four emulated cyclers, three of them in alarm) and docs/cyclers-alarm-1280x800.png (a
cycler channel in alarm selected: its plots and the latched banner), on a throw-away
notebook. The Arbin unit's user has no control rights, so its short says the cycler
keeps running.

    python gui/tools/cycler_screenshots.py [OUT_FOLDER] [WIDTHxHEIGHT]
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from acquisition.cycler_sim import parse_cells, sim_channels  # noqa: E402
from gui.tools.station_session import settle, throwaway_station, wait_for  # noqa: E402
from instruments.sim.cyclers.arbin_emulator import ArbinEmulator, ArbinServer  # noqa: E402
from instruments.sim.cyclers.maccor_emulator import MaccorEmulator, MaccorServer  # noqa: E402
from instruments.sim.cyclers.neware_emulator import NewareEmulator, NewareServer  # noqa: E402

SPEED, SAMPLE_S = 4000.0, 10.0
HEALTHY = "sym-agc,full-agc,sym-agc,full-agc,sym-agc,full-agc,sym-agc"


def servers() -> list[tuple[str, object]]:
    def cells(text: str, seed: int):
        return sim_channels(parse_cells(text), seed=seed, sample_interval_s=SAMPLE_S)
    return [("neware", NewareServer(NewareEmulator(cells("asym-agc," + HEALTHY, 0), speed=SPEED))),
            ("neware", NewareServer(NewareEmulator(cells("full-agc," + HEALTHY, 10), speed=SPEED))),
            ("maccor", MaccorServer(MaccorEmulator(cells("full-bare," + HEALTHY, 20), speed=SPEED))),
            ("arbin", ArbinServer(ArbinEmulator(cells(HEALTHY + ",full-bare", 30), speed=SPEED, allow_control=False)))]


def main(argv: list[str]) -> int:
    folder_out = Path(argv[1]) if len(argv) > 1 else ROOT / "docs"
    width, height = (int(v) for v in (argv[2] if len(argv) > 2 else "1280x800").split("x"))
    running = servers()
    try:
        with throwaway_station(width, height) as (app, window, _settings):
            view = window.cyclers
            window.tabs.setCurrentWidget(view)
            for protocol, server in running:
                view.add_cycler(protocol, "127.0.0.1", server.port, poll_s=0.2)
            wait_for(app, lambda: sum(f.alarm is not None for f in view.feeds()) >= 3
                     and all(f.stop_note not in ("", "stop asked") for f in view.feeds() if f.alarm), 90.0)
            wait_for(app, lambda: len(view.tiles) == 32, 90.0)
            settle(app, 1.0)
            view.split.setSizes([height, 0])          # the overview: every tile, no plots
            view.refresh()
            settle(app, 0.5)
            path = folder_out / f"cyclers-overview-{width}x{height}.png"
            window.grab().save(str(path))
            print(f"wrote {path}")
            keeps = next(f for f in view.feeds() if f.stop_note == "keeps running")
            for feed in view.feeds():        # the others acknowledged: the banner holds the selected channel's
                if feed.alarm is not None and feed is not keeps:
                    window.banner.acknowledge(feed.run_id)
            view.select(keeps)
            view.split.setSizes([190, 400])
            settle(app, 1.0)
            path = folder_out / f"cyclers-alarm-{width}x{height}.png"
            window.grab().save(str(path))
            print(f"wrote {path}")
    finally:
        for _, server in running:
            server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
