"""A view whose service is not part of this build yet: it says so plainly."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from client.gui.views.base import ClientContext, View


class UnavailableView(View):
    """Shown for Reconciliation, Licences, Cost pools and rules or Allocation runs when the
    build has no service for them yet."""

    def __init__(self, context: ClientContext, title: str, needs: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.title = title
        self.setObjectName(f"Unavailable-{title}")
        label = QLabel(f"<h2>{title}</h2><p><b>Not available in this build.</b></p>"
                       f"<p>This view needs {needs}, which this version of Apportion does not "
                       "have yet. The rest of the client works without it.</p>")
        label.setObjectName("unavailable")
        label.setWordWrap(True)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
