"""``apportion gui``: opens the client on the database; refuses plainly without a display."""

from __future__ import annotations

from click.testing import CliRunner
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from client.cli import cli


def test_apportion_gui_opens_the_client_on_the_database_and_closes_cleanly(
        qapp, month_end_app):
    seen = []

    def look_and_close() -> None:
        seen.extend(w.windowTitle() for w in QApplication.topLevelWidgets() if w.isVisible())
        QApplication.closeAllWindows()

    QTimer.singleShot(300, look_and_close)
    result = CliRunner().invoke(cli, ["gui", "--db", month_end_app.url])
    assert result.exit_code == 0, result.output
    assert any("demo.db" in title for title in seen)


def test_without_a_display_the_client_says_so_instead_of_crashing(monkeypatch, month_end_app):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, ["--db", month_end_app.url, "gui"])
    assert result.exit_code != 0
    assert "no display found" in result.output
