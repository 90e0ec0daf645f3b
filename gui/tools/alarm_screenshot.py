"""Makes docs/station-alarm-1280x800.png: the station at 1280x800 on a throw-away notebook,
channel 1 cycling a good cell, channel 2 a bare Li | Li cell run until it shorts, with the
alarm latched over the Monitor and the readout showing OUTPUT OFF.

    python gui/tools/alarm_screenshot.py [OUT.png] [WIDTHxHEIGHT]
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from acquisition.protocol import preset  # noqa: E402
from gui.tools.station_session import settle, start_channel, throwaway_station, wait_for  # noqa: E402


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "docs" / "station-alarm-1280x800.png"
    width, height = (int(v) for v in (argv[2] if len(argv) > 2 else "1280x800").split("x"))
    with throwaway_station(width, height) as (app, window, _settings):
        start_channel(window, 1, "sym-agc", preset("plate-strip-0.16"), "3600")
        start_channel(window, 2, "sym-bare", preset("plate-strip-0.16"), "max")
        wait_for(app, lambda: window.overview.tiles[2].status.state == "shorted")
        settle(app, 1.0)
        if not window.grab().save(str(out)):
            raise OSError(f"could not write {out}")
        print(f"wrote {out} ({window.width()}x{window.height()})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
