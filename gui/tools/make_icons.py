"""Renders the hand-drawn resources/solidstack.svg into the raster icons the operating
systems want: packaging/solidstack.png (256 px, Linux desktop entry) and
packaging/solidstack.ico (16-256 px, the Windows executable), with the same renderer as
the window icon (gui.app.icon_image). After editing the SVG: `make icons`, and commit.
"""
from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6 import QtCore, QtGui  # noqa: E402

from gui.app import ICON_SIZES, icon_image  # noqa: E402

PNG = ROOT / "packaging" / "solidstack.png"
ICO = ROOT / "packaging" / "solidstack.ico"


def png_bytes(size: int) -> bytes:
    data = QtCore.QByteArray()
    buffer = QtCore.QBuffer(data)
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    if not icon_image(size).save(buffer, "PNG"):
        raise RuntimeError(f"could not encode the {size} px icon as PNG")
    return bytes(data)


def ico(images: dict[int, bytes]) -> bytes:
    """An .ico holding PNG images. Qt's ico writer stores one size only; Windows (Vista
    and later) reads PNG entries, so the container is all we need to write."""
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = len(header) + 16 * len(images)
    entries, payload = b"", b""
    for size, png in sorted(images.items()):
        # width/height 0 means 256 in the ICO directory
        entries += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(png), offset + len(payload))
        payload += png
    return header + entries + payload


def main() -> int:
    app = QtGui.QGuiApplication(sys.argv[:1])  # noqa: F841 (QPainter needs one)
    images = {size: png_bytes(size) for size in ICON_SIZES}
    PNG.write_bytes(images[256])
    ICO.write_bytes(ico(images))
    print(f"wrote {PNG.relative_to(ROOT)} and {ICO.relative_to(ROOT)} ({', '.join(map(str, ICON_SIZES))} px)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
