"""What the tabs of the "Methodology and costs" page share: the period chosen on the page, a
place to save a document, and a confirmation asked before a change that costs money.

Each tab is a :class:`~client.gui.views.base.View` of its own (its banner, its interests, its
refresh when shown and stale), held by :class:`client.gui.views.reports_more.MoreReportsView`,
which owns the period selector and passes the chosen period down.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from client.gui.views.base import ClientContext, View


class ReportTab(View):
    """A tab of the page: knows the page's period and reloads when it changes."""

    def __init__(self, context: ClientContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.period = ""

    def set_period(self, period: str) -> None:
        """The page chose ``period``: reload now if shown, else when next shown."""
        if period == self.period:
            return
        self.period = period
        self._stale = True
        if self.isVisible():
            self.activate()

    def save_path(self, name: str, suffix: str, filters: str, title: str) -> Path | None:
        """Where to save a document: a chosen file, or (tests, scripts) the export folder."""
        if self.context.export_dir is not None:
            return self.context.export_dir / f"{name}{suffix}"
        last = str(self.context.settings.value("export/folder", str(Path.home())))
        chosen, _ = QFileDialog.getSaveFileName(self, title, str(Path(last) / f"{name}{suffix}"),
                                                filters)
        if not chosen:
            return None
        self.context.settings.setValue("export/folder", str(Path(chosen).parent))
        return Path(chosen)

    def confirm(self, title: str, text: str) -> bool:
        """Ask before a change is made (tests replace this with an answer)."""
        answer = QMessageBox.question(self, title, text,
                                      QMessageBox.StandardButton.Yes
                                      | QMessageBox.StandardButton.Cancel,
                                      QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes
