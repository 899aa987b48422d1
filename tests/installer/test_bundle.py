"""The desktop bundle as a user gets it: it starts without Python installed, knows its version,
carries its migrations, data files and Qt, and its tarball installs and uninstalls cleanly.

Slow (see conftest.py): the first test to ask for the bundle builds it with installer/build.sh.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
import tomllib
from pathlib import Path

import pytest

from tests.installer.conftest import ROOT, Bundle

pytestmark = pytest.mark.installer

PACKAGES = ("client", "connectors", "ledger", "resources")
MIGRATIONS = "ledger.persistence.migrations"


def run(bundle_exe: Path | str, *args: str, timeout: float = 120,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the bundled executable with a plain environment: no venv, no PYTHONPATH."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return subprocess.run([str(bundle_exe), *args], capture_output=True, text=True,
                          timeout=timeout, env={**clean, **(env or {})}, check=False)


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stderr[-3000:]}"
    return done.stdout


def source_modules() -> set[str]:
    """Every module of our packages in the source tree (the migrations are files, not modules)."""
    names = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            if not name.startswith(MIGRATIONS):
                names.add(name)
    return names


def frozen_modules(executable: Path) -> set[str]:
    """The modules frozen into the executable's PYZ archive, read with PyInstaller's reader."""
    from PyInstaller.archive.readers import CArchiveReader

    archive = CArchiveReader(str(executable))
    names: set[str] = set()
    for name, (*_, typecode) in archive.toc.items():
        if typecode == "z":  # a PYZ: the frozen pure-Python modules
            names.update(archive.open_embedded_archive(name).toc)
    return names


def test_the_bundle_starts_without_python_and_says_its_version(bundle: Bundle) -> None:
    out = ok(run(bundle.executable, "--version", env={"PATH": "/usr/bin:/bin"}))
    assert out.strip() == f"apportion, version {bundle.version}"


def test_every_module_of_ours_is_frozen_in_including_those_loaded_by_name(
        bundle: Bundle) -> None:
    # client/commands/* and client/gui are imported through importlib: only the spec's
    # hidden imports bring them in, so a new module must show up here or the bundle lacks it.
    missing = source_modules() - frozen_modules(bundle.executable)
    assert not missing, f"not in the bundle: {sorted(missing)}"


def test_every_data_file_of_ours_is_in_the_bundle(bundle: Bundle) -> None:
    # The files pip installs as package data (pyproject.toml) are the ones the code reads with
    # importlib.resources: the bundle must have each, where the frozen modules look for it.
    with (ROOT / "pyproject.toml").open("rb") as f:
        patterns = tomllib.load(f)["tool"]["setuptools"]["package-data"]["*"]
    wanted = {path.relative_to(ROOT) for package in PACKAGES for pattern in patterns
              for path in (ROOT / package).rglob(pattern) if "__pycache__" not in path.parts}
    assert wanted, "no package data found: the patterns in pyproject.toml changed?"
    internal = bundle.folder / "_internal"
    missing = sorted(str(path) for path in wanted if not (internal / path).is_file())
    assert not missing, f"not in the bundle: {missing}"


def test_the_bundle_creates_the_demo_database_with_every_migration_and_reports_on_it(
        bundle: Bundle, database_url: str) -> None:
    from click.testing import CliRunner
    from sqlalchemy import create_engine

    from client.cli import cli
    from ledger.persistence.database import normalise_url
    from ledger.persistence.migrate import current_revision, head_revision

    created = json.loads(ok(run(bundle.executable, "--db", database_url, "init", "--demo",
                                "--json")))
    assert created["schema_upgraded"] is True and created["demo"] is True
    assert created["created"] > 1000

    status = json.loads(ok(run(bundle.executable, "--db", database_url, "status", "--json")))
    assert status["company"] == "MRD1"
    assert status["assets"] > 200 and status["cost_centres"] > 30 and status["audit_events"] > 0
    # The bundle reads the database exactly as the source tree does.
    in_process = CliRunner().invoke(cli, ["--db", database_url, "status", "--json"])
    assert in_process.exit_code == 0, in_process.output
    assert json.loads(in_process.output) == status

    engine = create_engine(normalise_url(database_url))
    try:  # the bundle's newest migration is the source tree's: none was left out
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_the_bundle_runs_the_demo_month_end_and_posts_it_to_the_sandbox_erp_over_soap(
        bundle: Bundle, tmp_path: Path) -> None:
    # The newcomer's command: needs the WSDL, zeep, lxml, the demo data and the rule set.
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    demo = json.loads(ok(run(bundle.executable, "--db", db, "demo", "--headless", "--json")))
    assert demo["posting"]["failed"] == [] and demo["posting"]["unknown"] == []
    assert demo["posting"]["posted"] == demo["posting"]["submitted"] != []
    assert demo["posting"]["erp_documents"] == len(demo["posting"]["posted"])


def test_the_bundle_carries_qt_for_the_desktop_client_and_leaves_qml_out(
        bundle: Bundle) -> None:
    qt = bundle.folder / "_internal" / "PySide6"
    for needed in ("QtCore.abi3.so", "QtGui.abi3.so", "QtWidgets.abi3.so",
                   "Qt/plugins/platforms/libqxcb.so", "Qt/plugins/platforms/libqwayland.so",
                   "Qt/plugins/platforms/libqoffscreen.so"):
        assert (qt / needed).is_file(), f"{needed} is missing from the bundle"
    assert not list(qt.glob("QtQml*")) and not list(qt.glob("Qt/lib/libQt6Quick*"))


def test_the_bundle_opens_the_desktop_client_on_an_x_display_with_its_own_qt(
        bundle: Bundle, tmp_path: Path) -> None:
    # The desktop path: the bundled xcb platform plugin and X libraries, under Xvfb. Qt aborts
    # at once when its platform plugin cannot load; the client must still be running after it.
    xvfb_run = shutil.which("xvfb-run")
    if xvfb_run is None:
        pytest.skip("xvfb-run is not installed (Debian: xvfb; .ci/run installs it)")
    db = f"sqlite:///{tmp_path / 'gui.db'}"
    ok(run(bundle.executable, "--db", db, "init", "--demo"))
    log = tmp_path / "qt.log"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "QT_QPA_PLATFORM", "DISPLAY",
                        "WAYLAND_DISPLAY")}
    env["QT_DEBUG_PLUGINS"] = "1"  # Qt says which plugin file it loaded
    loaded = f'{bundle.folder}/_internal/PySide6/Qt/plugins/platforms/libqxcb.so" loaded'
    with log.open("w") as out:
        process = subprocess.Popen([xvfb_run, "-a", str(bundle.executable), "gui", "--db", db],
                                   env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while loaded not in log.read_text(errors="replace") and time.monotonic() < deadline:
            assert process.poll() is None, f"the client stopped:\n{log.read_text()[-3000:]}"
            time.sleep(0.5)
        assert loaded in log.read_text(errors="replace"), "the bundled xcb plugin never loaded"
        time.sleep(5)  # the main window is built and shown
        assert process.poll() is None, f"the client stopped:\n{log.read_text()[-3000:]}"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # xvfb-run, its Xvfb and the client
        process.wait(timeout=60)


def test_the_tarball_holds_the_bundle_the_desktop_entry_the_icons_and_the_scripts(
        bundle: Bundle) -> None:
    stem = f"apportion-{bundle.version}-linux-{os.uname().machine}"
    with tarfile.open(bundle.tarball) as tar:
        names = set(tar.getnames())
    assert {f"{stem}/{name}" for name in (
        "install.sh", "apportion.desktop", "apportion.svg", "apportion.png",
        "apportion-scheduler.service", "apportion/apportion")} <= names
    assert all(name.startswith(f"{stem}/") for name in names)
    assert any(name.startswith(f"{stem}/apportion/_internal/ledger/persistence/migrations/"
                               "versions/") for name in names)


@pytest.fixture(scope="module")
def unpacked(bundle: Bundle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("tarball")
    with tarfile.open(bundle.tarball) as tar:
        tar.extractall(where, filter="tar")
    return where / f"apportion-{bundle.version}-linux-{os.uname().machine}"


def install_sh(unpacked: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(unpacked / "install.sh"), *args], capture_output=True,
                          text=True, timeout=300, check=False)


def desktop_entry(path: Path) -> dict[str, str]:
    lines = path.read_text("utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if "=" in line)


def test_install_sh_installs_for_the_user_upgrades_in_place_and_uninstalls(
        bundle: Bundle, unpacked: Path, tmp_path: Path) -> None:
    prefix = tmp_path / "home" / ".local"
    ok(install_sh(unpacked, "--prefix", str(prefix)))
    ok(install_sh(unpacked, "--prefix", str(prefix)))  # again: an upgrade over itself

    command = prefix / "bin" / "apportion"
    assert command.is_symlink()
    assert ok(run(command, "--version")).strip() == f"apportion, version {bundle.version}"
    entry = desktop_entry(prefix / "share" / "applications" / "apportion.desktop")
    assert entry["Exec"] == f'"{prefix}/lib/apportion/apportion" gui'
    assert entry["TryExec"] == f"{prefix}/lib/apportion/apportion"
    assert entry["Icon"] == "apportion" and entry["Type"] == "Application"
    icons = prefix / "share" / "icons" / "hicolor"
    assert (icons / "scalable" / "apps" / "apportion.svg").read_bytes() == (
        ROOT / "resources" / "icons" / "apportion.svg").read_bytes()
    assert (icons / "256x256" / "apps" / "apportion.png").is_file()
    data = prefix / "share" / "apportion"  # a user's database, which uninstall must keep
    data.mkdir()
    (data / "apportion.db").write_bytes(b"kept")

    ok(install_sh(unpacked, "--prefix", str(prefix), "--uninstall"))
    left = sorted(str(p.relative_to(prefix)) for p in prefix.rglob("*") if p.is_file())
    # update-desktop-database's index of the folder is the desktop's, not ours.
    assert [f for f in left if f != "share/applications/mimeinfo.cache"] == [
        "share/apportion/apportion.db"]
    assert not command.exists() and not command.is_symlink()


def test_install_sh_leaves_an_apportion_command_it_did_not_put_there(
        unpacked: Path, tmp_path: Path) -> None:
    prefix = tmp_path / "local"
    (prefix / "bin").mkdir(parents=True)
    pip_script = prefix / "bin" / "apportion"
    pip_script.write_text("#!/bin/sh\necho pip-installed\n")
    refused = install_sh(unpacked, "--prefix", str(prefix))
    assert refused.returncode == 1
    assert "is not ours" in refused.stderr
    ok(install_sh(unpacked, "--prefix", str(prefix), "--uninstall"))
    assert pip_script.read_text() == "#!/bin/sh\necho pip-installed\n"


VALIDATE = Path("/usr/bin/desktop-file-validate")


def problems_of_desktop_entry(path: Path) -> str:
    """What desktop-file-validate (the freedesktop.org checker) says about the entry."""
    done = subprocess.run([str(VALIDATE), str(path)], capture_output=True, text=True,
                          check=False)
    return "" if done.returncode == 0 and not done.stdout.strip() else done.stdout + done.stderr


@pytest.mark.skipif(not VALIDATE.exists(),
                    reason="desktop-file-validate is not installed (Debian: desktop-file-utils)")
def test_the_desktop_entry_as_shipped_and_as_installed_is_valid(
        unpacked: Path, tmp_path: Path) -> None:
    assert problems_of_desktop_entry(ROOT / "installer" / "apportion.desktop") == ""
    prefix = tmp_path / "with space" / ".local"  # Exec quotes the path
    ok(install_sh(unpacked, "--prefix", str(prefix)))
    assert problems_of_desktop_entry(prefix / "share/applications/apportion.desktop") == ""


def unit_settings(text: str) -> dict[str, list[str]]:
    """The [Service] section of a systemd unit (keys may repeat, as Environment= does)."""
    settings: dict[str, list[str]] = {}
    section = None
    for line in text.splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def test_the_scheduler_unit_runs_the_bundle_where_install_sh_system_puts_it(
        unpacked: Path, tmp_path: Path) -> None:
    # install.sh --system is --prefix /usr/local: install under a stand-in for /usr/local and
    # point the unit there, then run its ExecStart with its environment until it is serving.
    prefix = tmp_path / "usr-local"
    ok(install_sh(unpacked, "--prefix", str(prefix)))
    unit = (unpacked / "apportion-scheduler.service").read_text("utf-8")
    local_unit = tmp_path / "apportion-scheduler.service"
    local_unit.write_text(unit.replace("/usr/local/", f"{prefix}/"))
    analyze = "/usr/bin/systemd-analyze"
    if Path(analyze).exists():
        verified = subprocess.run([analyze, "verify", str(local_unit)], capture_output=True,
                                  text=True, timeout=60, check=False)
        assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr

    settings = unit_settings(local_unit.read_text())
    command, *args = settings["ExecStart"][0].split()
    assert command == f"{prefix}/bin/apportion"
    env = dict(value.split("=", 1) for value in settings["Environment"])
    state = tmp_path / "state"  # the unit's /var/lib/apportion
    env.update(XDG_DATA_HOME=str(state), HOME=str(state),
               APPORTION_DB=f"sqlite:///{tmp_path / 'scheduler.db'}")
    ok(run(command, "init", env=env))
    config = tmp_path / "scheduler.toml"
    config.write_text('[scheduler]\nlease_seconds = 5\n\n[jobs.anomalies]\n'
                      'kind = "anomaly_detection"\ncron = "0 0 1 1 *"\n')
    args[args.index("/etc/apportion/scheduler.toml")] = str(config)
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    process = subprocess.Popen([command, *args], env={**clean, **env}, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watchdog = threading.Timer(120, process.kill)  # a hung start fails instead of hanging
    watchdog.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:  # the unit's journal: stderr
            if "started with jobs anomalies" in line:
                break
        else:
            pytest.fail(f"the scheduler stopped (exit {process.wait()}) before serving")
    finally:
        process.send_signal(2)  # SIGINT, as Ctrl-C
        rest, _ = process.communicate(timeout=60)
        watchdog.cancel()
    assert process.returncode == 0, rest
    assert "Scheduler stopped." in rest
    log = state / "apportion" / "logs" / "scheduler.log"
    assert "started with jobs anomalies" in log.read_text("utf-8")


def test_the_icon_png_is_the_svg_rendered_at_256_pixels(tmp_path: Path) -> None:
    # The PNG is committed; after an edit of the SVG, make_icons.py must be run again.
    from PySide6.QtGui import QImage

    fresh = tmp_path / "apportion.png"
    ok(subprocess.run([sys.executable, str(ROOT / "installer" / "make_icons.py"),
                       str(ROOT / "resources" / "icons" / "apportion.svg"), str(fresh)],
                      capture_output=True, text=True, timeout=60, check=False))
    committed = QImage(str(ROOT / "resources" / "icons" / "apportion.png"))
    rendered = QImage(str(fresh))
    assert (committed.width(), committed.height()) == (256, 256)
    assert committed.convertToFormat(QImage.Format.Format_ARGB32) == rendered.convertToFormat(
        QImage.Format.Format_ARGB32), "apportion.png is stale: run installer/make_icons.py"

