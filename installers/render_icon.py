"""Render ``resources/icons/tuning-studio.svg`` to the PNG sizes launchers use.

Run it after editing the SVG: ``QT_QPA_PLATFORM=offscreen python installers/render_icon.py``.
It also wraps the 256 px PNG as ``.ico`` (Windows shortcuts) and ``.icns`` (macOS app bundles);
both formats may hold a PNG as is. The results are committed, so installing needs no Qt.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
SIZES = (256,)


def render(svg: Path, size: int, out: Path) -> None:
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    if not image.save(str(out)):
        raise SystemExit(f"cannot write {out}")


def write_ico(png: bytes, out: Path) -> None:
    """An ICO with one 256 px PNG entry (width and height 0 mean 256)."""
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png), 6 + 16)
    out.write_bytes(header + entry + png)


def write_icns(png: bytes, out: Path) -> None:
    """An ICNS with one ``ic08`` (256 px) PNG element."""
    element = b"ic08" + struct.pack(">I", 8 + len(png)) + png
    out.write_bytes(b"icns" + struct.pack(">I", 8 + len(element)) + element)


def main() -> int:
    app = QGuiApplication(sys.argv[:1])
    svg = ICONS / "tuning-studio.svg"
    for size in SIZES:
        name = "tuning-studio.png" if size == 256 else f"tuning-studio-{size}.png"
        render(svg, size, ICONS / name)
    png = (ICONS / "tuning-studio.png").read_bytes()
    write_ico(png, ICONS / "tuning-studio.ico")
    write_icns(png, ICONS / "tuning-studio.icns")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
