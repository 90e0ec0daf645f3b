"""Renders the hand-drawn resources/solidstack.svg into the raster icons the operating
systems want: packaging/solidstack.png (256 px, Linux desktop entry) and
packaging/solidstack.ico (16-256 px, the Windows executable). Run it after editing the
SVG and commit the results:  .venv/bin/python packaging/make_icons.py
"""
from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtGui, QtSvg  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "solidstack.svg"
PNG = ROOT / "packaging" / "solidstack.png"
ICO = ROOT / "packaging" / "solidstack.ico"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(renderer: QtSvg.QSvgRenderer, size: int) -> bytes:
    """The icon at size x size pixels, as PNG bytes."""
    image = QtGui.QImage(size, size, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QtCore.Qt.GlobalColor.transparent)
    painter = QtGui.QPainter(image)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QtCore.QByteArray()
    buffer = QtCore.QBuffer(data)
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
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
    renderer = QtSvg.QSvgRenderer(str(SVG))
    if not renderer.isValid():
        print(f"error: {SVG} is not a valid SVG", file=sys.stderr)
        return 1
    images = {size: render(renderer, size) for size in ICO_SIZES}
    PNG.write_bytes(images[256])
    ICO.write_bytes(ico(images))
    print(f"wrote {PNG.relative_to(ROOT)} and {ICO.relative_to(ROOT)} ({', '.join(map(str, ICO_SIZES))} px)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
