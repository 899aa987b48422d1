"""Light and dark palettes that follow the system setting (and its changes while running)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


def dark_palette() -> QPalette:
    palette = QPalette()
    roles = QPalette.ColorRole
    for role, colour in (
        (roles.Window, "#2b2d30"), (roles.WindowText, "#dfe1e5"), (roles.Base, "#1e1f22"),
        (roles.AlternateBase, "#26282b"), (roles.ToolTipBase, "#3c3f41"),
        (roles.ToolTipText, "#dfe1e5"), (roles.Text, "#dfe1e5"), (roles.Button, "#3c3f41"),
        (roles.ButtonText, "#dfe1e5"), (roles.BrightText, "#ff6b68"), (roles.Link, "#589df6"),
        (roles.Highlight, "#2f65ca"), (roles.HighlightedText, "#ffffff"),
        (roles.PlaceholderText, "#8c8f94"),
    ):
        palette.setColor(role, QColor(colour))
    for role in (roles.Text, roles.ButtonText, roles.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6f737a"))
    return palette


def is_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_system_palette(app: QApplication) -> None:
    """Fusion style with the palette the system asks for; follow later changes."""
    app.setStyle("Fusion")

    def apply() -> None:
        app.setPalette(dark_palette() if is_dark() else app.style().standardPalette())

    apply()
    QGuiApplication.styleHints().colorSchemeChanged.connect(lambda _scheme: apply())
