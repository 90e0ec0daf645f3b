"""Makes the theme and glove-mode screenshots in docs/: the station at 1280x800 on a
throw-away notebook with runs going on channels 1-3 (channel 3 paused, so its tile says
OUTPUT OFF), the Monitor tab shown.

    python gui/tools/theme_screenshots.py [OUT_DIR]

writes station-dark-1280x800.png (dark theme), station-high-contrast-1280x800.png and
station-glove-1280x800.png (light theme, glove mode)."""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

WIDTH, HEIGHT = 1280, 800
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def _screen(width: int, height: int) -> str:
    path = Path(tempfile.mkdtemp(prefix="solidstack-theme-")) / "screen.json"
    path.write_text(json.dumps({"screens": [{"name": "shot", "x": 0, "y": 0, "width": width, "height": height,
                                             "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    return str(path)


os.environ.setdefault("QT_QPA_PLATFORM", f"offscreen:configfile={_screen(WIDTH, HEIGHT)}")

from acquisition.protocol import preset  # noqa: E402
from gui.tools.station_session import settle, start_channel, throwaway_station, wait_for  # noqa: E402

SHOTS = (("station-dark-1280x800.png", "dark", "off"),
         ("station-high-contrast-1280x800.png", "high-contrast", "off"),
         ("station-glove-1280x800.png", "light", "on"))


def main(argv: list[str]) -> int:
    out_dir = Path(argv[1]) if len(argv) > 1 else ROOT / "docs"
    with throwaway_station(WIDTH, HEIGHT) as (app, window, settings):
        for channel, template, protocol in ((1, "sym-agc", preset("plate-strip-0.16")),
                                            (2, "full-agc", preset("rate-test")),
                                            (3, "sym-agc", preset("plate-strip-0.16"))):
            start_channel(window, channel, template, protocol)
        settle(app, 4.0)
        window.manager.pause(3)
        wait_for(app, lambda: window.overview.tiles[3].status.state == "paused")
        settle(app, 2.0)
        window.select_channel(1)
        window.tabs.setCurrentWidget(window.monitor)
        for name, theme_name, glove in SHOTS:
            settings.set("theme", theme_name)
            settings.set("glove_mode", glove)
            settle(app, 1.5)
            window.grab().save(str(out_dir / name))
            print(out_dir / name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
