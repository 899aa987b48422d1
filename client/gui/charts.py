"""Small charts drawn with QPainter: bars and lines, palette-aware, no extra dependency.

PySide6-Essentials has no QtCharts; finance charts here are simple (cost per cost centre, a
monthly trend, a depreciation schedule), so a hundred lines of QPainter serve better than a
plotting library. Values are Decimal in the callers; floats are used for pixels only.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

SERIES_COLOURS = ("#4472c4", "#ed7d31", "#70ad47", "#ffc000", "#5b9bd5", "#a5a5a5")


class ChartWidget(QWidget):
    """A bar or line chart of one or more series over the same categories."""

    def __init__(self, title: str = "", kind: str = "bar", parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.title = title
        self.kind = kind
        self.categories: list[str] = []
        self.series: list[tuple[str, list[float]]] = []
        self.setMinimumHeight(180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(420, 240)

    def set_data(self, categories: Sequence[str],
                 series: Sequence[tuple[str, Sequence[Decimal | int | float]]]) -> None:
        self.categories = list(categories)
        self.series = [(name, [float(v) for v in values]) for name, values in series]
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        metrics = QFontMetrics(self.font())
        top = metrics.height() + 8
        painter.setPen(text)
        painter.drawText(QRectF(0, 2, self.width(), metrics.height() + 4),
                         Qt.AlignmentFlag.AlignCenter, self.title)
        values = [v for _, vs in self.series for v in vs]
        if not self.categories or not values:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No data yet")
            return
        high = max(max(values), 0.0) or 1.0
        low = min(min(values), 0.0)
        left = metrics.horizontalAdvance(f"{high:,.0f}") + 12
        legend = metrics.height() + 6 if len(self.series) > 1 else 0
        area = QRectF(left, top, self.width() - left - 10,
                      self.height() - top - metrics.height() - 10 - legend)
        if area.width() <= 10 or area.height() <= 10:
            return
        span = (high - low) or 1.0

        def y_of(value: float) -> float:
            return area.bottom() - (value - low) / span * area.height()

        grid = QColor(text)
        grid.setAlpha(50)
        for step in range(5):
            value = low + span * step / 4
            y = y_of(value)
            painter.setPen(QPen(grid, 1))
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
            painter.setPen(text)
            painter.drawText(QRectF(0, y - metrics.height() / 2, left - 6, metrics.height()),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             f"{value:,.0f}")
        slot = area.width() / len(self.categories)
        if self.kind == "line":
            self._lines(painter, area, slot, y_of)
        else:
            self._bars(painter, area, slot, y_of)
        painter.setPen(text)
        every = max(1, int(metrics.horizontalAdvance("MMMMMMM") // max(slot, 1)) + 1)
        for number, label in enumerate(self.categories):
            if number % every:
                continue
            rect = QRectF(area.left() + number * slot - slot, area.bottom() + 2, slot * 3,
                          metrics.height())
            painter.drawText(rect, Qt.AlignmentFlag.AlignHCenter, label)
        x = area.left()
        for number, (name, _) in enumerate(self.series if legend else []):
            colour = QColor(SERIES_COLOURS[number % len(SERIES_COLOURS)])
            y = self.height() - metrics.height() - 2
            painter.fillRect(QRectF(x, y + 3, 10, 10), colour)
            painter.drawText(QPointF(x + 14, y + metrics.ascent()), name)
            x += metrics.horizontalAdvance(name) + 30

    def _bars(self, painter: QPainter, area: QRectF, slot: float, y_of: object) -> None:
        count = len(self.series)
        width = max(1.0, slot * 0.8 / count)
        zero = y_of(0.0)  # type: ignore[operator]
        for number, (_, values) in enumerate(self.series):
            colour = QColor(SERIES_COLOURS[number % len(SERIES_COLOURS)])
            for position, value in enumerate(values):
                x = area.left() + position * slot + slot * 0.1 + number * width
                y = y_of(value)  # type: ignore[operator]
                painter.fillRect(QRectF(x, min(y, zero), width, abs(zero - y)), colour)

    def _lines(self, painter: QPainter, area: QRectF, slot: float, y_of: object) -> None:
        for number, (_, values) in enumerate(self.series):
            colour = QColor(SERIES_COLOURS[number % len(SERIES_COLOURS)])
            painter.setPen(QPen(colour, 2))
            points = [QPointF(area.left() + (i + 0.5) * slot, y_of(v))  # type: ignore[operator]
                      for i, v in enumerate(values)]
            for start, end in itertools.pairwise(points):
                painter.drawLine(start, end)
            painter.setBrush(colour)
            for point in points if len(points) <= 60 else ():  # a marker per month
                painter.drawEllipse(point, 3.5, 3.5)
            painter.setBrush(Qt.BrushStyle.NoBrush)
