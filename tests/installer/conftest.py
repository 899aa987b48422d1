"""The built bundle, shared by the installer tests: built once, cached under ``build/``.

Building takes a minute or two (PyInstaller analyses every import and copies Qt, DuckDB and
Python), so the bundle is kept in ``build/installer-test/`` with a stamp: a hash of everything
that goes into it (our packages, the installer files, pyproject.toml, the Python and
PyInstaller versions). A changed source rebuilds it; an unchanged tree reuses it. These tests
carry the ``installer`` marker: ``pytest -m "not installer"`` leaves them out of a quick loop.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "build" / "installer-test"
#: What the bundle is made of: a change in any of these makes the cached bundle stale.
INPUTS = ("client", "connectors", "ledger", "resources", "installer", "pyproject.toml")
BUILD_TIMEOUT = 20 * 60


@dataclass(frozen=True)
class Bundle:
    folder: Path  # dist/apportion: the executable and _internal/
    tarball: Path
    version: str

    @property
    def executable(self) -> Path:
        return self.folder / "apportion"


def project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["project"]["version"]


def source_stamp() -> str:
    """A hash of every file the bundle is built from, and of the tools that build it."""
    import PyInstaller

    digest = hashlib.sha256(f"{sys.version}|{PyInstaller.__version__}".encode())
    for name in INPUTS:
        top = ROOT / name
        paths = [top] if top.is_file() else sorted(top.rglob("*"))
        for path in paths:
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def build(dist: Path, work: Path) -> None:
    """Run installer/build.sh as a developer would, with this test run's Python."""
    log = CACHE / "build.log"
    with log.open("w") as out:
        done = subprocess.run(
            ["bash", str(ROOT / "installer" / "build.sh"), "--dist", str(dist), "--work",
             str(work)],
            cwd=ROOT, env={**os.environ, "PYTHON": sys.executable}, stdout=out,
            stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT, check=False)
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        pytest.fail(f"installer/build.sh failed ({done.returncode}); {log}:\n{tail}")


@pytest.fixture(scope="session")
def bundle() -> Bundle:
    """The bundle and tarball of the current tree, built now unless the cached one is current."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the bundle and its tarball are built for Linux")
    version = project_version()
    dist, work, stamp_file = CACHE / "dist", CACHE / "work", CACHE / "stamp"
    stamp = source_stamp()
    tarball = dist / f"apportion-{version}-linux-{os.uname().machine}.tar.gz"
    current = (stamp_file.is_file() and stamp_file.read_text() == stamp
               and (dist / "apportion" / "apportion").is_file() and tarball.is_file())
    if not current:
        CACHE.mkdir(parents=True, exist_ok=True)
        stamp_file.unlink(missing_ok=True)
        build(dist, work)
        stamp_file.write_text(stamp)
    return Bundle(dist / "apportion", tarball, version)
