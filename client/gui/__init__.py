"""The desktop client (PySide6). Everything Qt lives in this package; nothing else imports Qt,
so the headless commands and the scheduler start fast on a server.

:func:`run` opens a database, shows the main window and runs the event loop; the CLI's
``apportion gui`` and ``apportion demo`` import this package only inside their functions.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from client.bootstrap import App
    from client.gui.mainwindow import MainWindow

ORGANISATION = "Apportion"
APPLICATION = "apportion"


def application() -> object:
    """The QApplication (created once), named so QSettings has a stable home."""
    from PySide6.QtWidgets import QApplication

    from client.gui.theme import apply_system_palette

    existing = QApplication.instance()
    if existing is not None:
        return existing
    qt_app = QApplication(sys.argv[:1])
    qt_app.setOrganizationName(ORGANISATION)
    qt_app.setApplicationName(APPLICATION)
    qt_app.setApplicationDisplayName("Apportion")
    apply_system_palette(qt_app)
    return qt_app


def main_window(app: App) -> MainWindow:
    """The main window over an opened database, with its own operation runner."""
    from client.gui.mainwindow import MainWindow
    from client.gui.operations import OperationRunner
    from client.gui.views.base import ClientContext

    runner = OperationRunner(app)
    window = MainWindow(ClientContext(app, runner))
    runner.setParent(window)
    return window


def run(app: App, *, on_ready: Callable[[MainWindow], None] | None = None) -> int:
    """Show the client on ``app`` and run until the window closes; returns the exit code."""
    qt_app = application()
    window = main_window(app)
    window.show()
    if on_ready is not None:
        on_ready(window)
    try:
        return int(qt_app.exec())  # type: ignore[attr-defined]
    finally:
        window.context.runner.shutdown(wait=True)
