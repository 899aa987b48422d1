"""Render the application icon's PNG from its SVG: ``python installer/make_icons.py [SVG PNG]``.

The SVG in ``resources/icons`` is the source; desktops that cannot scale SVG icons (and the
256 px slot of the hicolor theme) want a PNG, so it is rendered here with Qt's SVG renderer
rather than drawn twice. Run it again after editing the SVG and commit both files.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
SIZE = 256


def render(svg: Path, png: Path, size: int = SIZE) -> None:
    """Paint ``svg`` onto a transparent ``size`` x ``size`` image and save it as ``png``."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    if not image.save(str(png), "PNG"):
        raise SystemExit(f"{png}: could not be written")
    del app


if __name__ == "__main__":
    source, target = (Path(a) for a in sys.argv[1:3]) if len(sys.argv) == 3 else (
        ICONS / "apportion.svg", ICONS / "apportion.png")
    render(source, target)
    print(target)
