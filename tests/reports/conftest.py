"""The demo company after its month-end allocation, built once per session on SQLite and
copied for each test (the demo load and the billing import take seconds; a copy takes
milliseconds). Tests that need PostgreSQL use ``demo_app`` and ``allocated_demo`` directly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import FakeClock


@pytest.fixture(scope="session")
def _allocated_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    from client.bootstrap import open_app
    from client.demo import load_demo
    from ledger.services.users import bootstrap_administrator
    from tests.reports.report_support import allocated_demo

    folder = tmp_path_factory.mktemp("allocated-demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("APPORTION_USER", "admin")
        patch.delenv("APPORTION_COSTFACTS", raising=False)
        app = open_app(f"sqlite:///{folder / 'apportion.db'}", create=True, clock=FakeClock())
        try:
            with app.uow() as uow:
                bootstrap_administrator(uow=uow)
                uow.commit()
            load_demo(app)
            period, _ = allocated_demo(app)
        finally:
            app.close()
    return folder, period


@pytest.fixture
def allocated(_allocated_template, tmp_path: Path, clock: FakeClock):
    """``(app, period)``: a private copy of the allocated demo company."""
    from client.bootstrap import open_app

    template, period = _allocated_template
    folder = tmp_path / "demo"
    shutil.copytree(template, folder)
    app = open_app(f"sqlite:///{folder / 'apportion.db'}", clock=clock)
    yield app, period
    app.close()
