"""Fixtures for the desktop client's tests: real Qt (offscreen), real databases, real widgets.

The client's tests run on SQLite: backend parity is the service tests' job (the one SQL paging
test that matters on PostgreSQL asks for it explicitly). Settings go to a temporary folder so
no test reads or writes the developer's client settings.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("PySide6")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here needs Qt: mark them ``gui`` (``-m "not gui"`` leaves them out)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.gui)


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture(autouse=True)
def _isolated_qsettings(tmp_path: Path, qapp) -> None:
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                      str(tmp_path / "settings"))
    qapp.setOrganizationName("ApportionTests")
    qapp.setApplicationName("apportion-tests")


@pytest.fixture(scope="session")
def _month_end_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo company with its month-end run (drafts to review), built once per session:
    loading and depreciating it takes seconds, copying the file takes milliseconds."""
    from client.bootstrap import open_app
    from client.demo import demo_period, load_demo, run_month_end
    from ledger.services.users import bootstrap_administrator
    from tests.conftest import FakeClock

    folder = tmp_path_factory.mktemp("month-end")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(folder / "xdg-data"))
        patch.setenv("APPORTION_USER", "admin")
        app = open_app(f"sqlite:///{folder / 'demo.db'}", create=True, clock=FakeClock())
        try:
            with app.uow() as uow:
                bootstrap_administrator(uow=uow)
                uow.commit()
            load_demo(app)
            run_month_end(app, demo_period(app))
        finally:
            app.close()
    return folder


@pytest.fixture
def month_end_app(_month_end_template: Path, tmp_path: Path, clock):
    """A fresh copy of the demo company after its month-end run, the admin acting."""
    from client.bootstrap import open_app

    for item in _month_end_template.iterdir():
        if item.name.startswith("demo"):
            target = tmp_path / item.name
            if item.is_dir():
                shutil.copytree(item, target)
            else:
                shutil.copy2(item, target)
    app = open_app(f"sqlite:///{tmp_path / 'demo.db'}", clock=clock)
    yield app
    app.close()


def acting_as(app, login: str):
    """The same SQLite database on behalf of one of the demo's named users."""
    return dataclasses.replace(app, uow=app.uow.as_user(login), login=login)


@pytest.fixture
def open_window(qtbot, tmp_path: Path) -> Iterator[Callable[..., object]]:
    """Open the main window on an app (as a given user) and wait until it knows the user."""
    from client.gui import main_window

    windows = []

    def open_(app, login: str | None = None, page: str | None = None):
        window = main_window(acting_as(app, login) if login else app)
        window.context.export_dir = tmp_path / "exports"
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.context.actor is not None, timeout=30000)
        if page is not None:
            window.go(page)
        windows.append(window)
        return window

    yield open_
    for window in windows:
        window.context.runner.shutdown(wait=True)


def idle(window) -> bool:
    """No operation is queued or running."""
    return not window.context.runner.running
