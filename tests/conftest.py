"""Shared fixtures: the environment every test runs in, and databases on SQLite and PostgreSQL.

Database-backed tests take the ``database_url`` fixture, which runs each of them twice: on a fresh
SQLite file and on a fresh database in a real PostgreSQL server named by
``APPORTION_TEST_POSTGRES_URL`` (``.ci/run`` starts one). Without that variable the PostgreSQL
runs are skipped locally, and fail in CI, where skipping them would hide a broken backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

# Before anything imports Qt or keyring.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")

POSTGRES_ENV = "APPORTION_TEST_POSTGRES_URL"
SHARED_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
LOCAL_FIXTURES = Path(__file__).resolve().parent / "fixtures"


class FakeClock:
    """A clock that says what the test tells it."""

    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2026, 11, 27, 9, 30, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads or writes the developer's real data directory or database."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.delenv("APPORTION_DB", raising=False)
    monkeypatch.setenv("APPORTION_USER", "admin")


def _postgres_server_url() -> str | None:
    url = os.environ.get(POSTGRES_ENV)
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"{POSTGRES_ENV} is not set in CI: the PostgreSQL runs would be skipped")
    return None


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'apportion.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database on the test PostgreSQL server, dropped afterwards."""
    server = _postgres_server_url()
    if server is None:
        pytest.skip(f"no PostgreSQL server: set {POSTGRES_ENV} (.ci/run does)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from ledger.persistence.database import normalise_url

    admin_url = make_url(normalise_url(server))
    name = f"apportion_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test that takes this runs on SQLite and on PostgreSQL."""
    if request.param == "postgresql":
        request.applymarker(pytest.mark.postgresql)
        return request.getfixturevalue("postgres_url")
    return request.getfixturevalue("sqlite_url")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(database_url: str, clock: FakeClock):
    """A new, migrated, empty database; the acting user is its administrator."""
    from client.bootstrap import open_app
    from ledger.services.users import bootstrap_administrator

    opened = open_app(database_url, create=True, clock=clock)
    with opened.uow() as uow:
        bootstrap_administrator(uow=uow)
        uow.commit()
    yield opened
    opened.close()


@pytest.fixture
def demo_app(app):
    """The demo company loaded into a fresh database."""
    from client.demo import load_demo

    load_demo(app)
    return app


@pytest.fixture
def ledger(app):
    """A small company with a maker (carol), approvers (bob, erin) and a controller (dave)."""
    from tests.services.ledger_support import Ledger

    return Ledger(app)


def shared_fixture(*parts: str) -> Path:
    """A file from ../shared/fixtures, or skip with the reason when it is not beside the clone."""
    path = SHARED_FIXTURES.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not here: the shared fixtures sit beside the clone in CI")
    return path
