"""Inventory: discovery imports, reconciliation and decisions.

``apportion import glpi|snipeit-assets|jamf|sccm|intune|aws-config PATH`` store what a discovery
source saw (all or nothing; the same file again changes nothing); ``apportion reconcile``
matches it with the register; ``apportion reconcile list`` shows the findings with their
evidence; ``apportion reconcile decide`` records the asset manager's ruling.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from client.commands.common import (
    Options,
    console,
    err_console,
    json_option,
    opened,
    print_json,
    read,
    show,
)
from ledger.discovery import DeviceRef, DiscoveredDevice, SourceKind
from ledger.errors import InputError
from ledger.reconciliation import DecisionKind, Finding, Outcome
from ledger.staging import Staged

#: Environment variables for the Jamf Pro API pull (an API client, else a user).
JAMF_ENV = ("APPORTION_JAMF_CLIENT_ID", "APPORTION_JAMF_CLIENT_SECRET", "APPORTION_JAMF_USER",
            "APPORTION_JAMF_PASSWORD")
#: The OS keyring's service for Jamf secrets; the entry is ``CLIENT_ID@host`` or ``USER@host``.
JAMF_KEYRING = "apportion-jamf"


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file (or of a folder's files in name order), read in chunks."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    for file in files:
        digest.update(file.name.encode() if path.is_dir() else b"")
        with open(file, "rb") as handle:
            for chunk in iter(lambda h=handle: h.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _reader(kind: str, path: Path,
            progress: Callable[[int], None]) -> Iterable[Staged[DiscoveredDevice]]:
    """The staged devices of ``path`` for importer ``kind`` (streamed where the format is)."""
    if kind == "glpi":
        from connectors.inventory.glpi import read_glpi, read_glpi_folder

        return read_glpi_folder(path) if path.is_dir() else read_glpi(path)
    if kind == "snipeit-assets":
        from connectors.inventory.snipeit import read_snipeit_assets

        return read_snipeit_assets(path)
    if kind == "jamf":
        from connectors.inventory.jamf import read_jamf_page

        if path.is_dir():
            return [item for page in sorted(path.glob("*.json")) for item in
                    read_jamf_page(page)]
        return read_jamf_page(path)
    if kind == "sccm":
        from connectors.inventory.sccm import iter_sccm_csv

        return iter_sccm_csv(path, progress=progress)
    if kind == "intune":
        from connectors.inventory.intune import iter_intune

        return iter_intune(path, progress=progress)
    from connectors.inventory.aws_config import read_aws_config

    return read_aws_config(path)


SOURCES = {"glpi": SourceKind.GLPI, "snipeit-assets": SourceKind.SNIPEIT,
           "jamf": SourceKind.JAMF, "sccm": SourceKind.SCCM, "intune": SourceKind.INTUNE,
           "aws-config": SourceKind.AWS_CONFIG}
HELP = {
    "glpi": "GLPI / FusionInventory / OCS agent XML or GLPI JSON (a file or a folder)",
    "snipeit-assets": "a Snipe-IT assets CSV export",
    "jamf": "Jamf Pro computers-inventory JSON pages (a file or a folder), or --api URL",
    "sccm": "a ConfigMgr hardware inventory CSV (streamed)",
    "intune": "Intune managed devices, Graph JSON or CSV export (CSV streamed)",
    "aws-config": "an AWS Config snapshot or change notification",
}


def _progress_bar(options: Options) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err_console, transient=True,
                    disable=options.json or not err_console.is_terminal)


def _jamf_pull(url: str, progress: Callable[[int], None], *, client_id: str | None = None,
               user: str | None = None) -> list[Staged[DiscoveredDevice]]:
    from connectors.inventory.jamf import JamfProClient, JamfSettings

    client_id, secret, user, password = _jamf_credentials(url, client_id, user)
    settings = JamfSettings(base_url=url, client_id=client_id, client_secret=secret,
                            username=user, password=password)
    with JamfProClient(settings) as client:
        return client.computers(progress=progress)


def _jamf_credentials(url: str, client_id: str | None, user: str | None
                      ) -> tuple[str | None, str | None, str | None, str | None]:
    """(client id, client secret, user, password): an API client before a user; each secret
    from its environment variable if set, else from the OS keyring (never a plain-text one)."""
    env = {name: os.environ.get(name) or None for name in JAMF_ENV}
    client_id = client_id or env[JAMF_ENV[0]]
    user = user or env[JAMF_ENV[2]]
    if client_id:
        return client_id, env[JAMF_ENV[1]] or _jamf_secret(url, client_id, JAMF_ENV[1]), None, None
    if user:
        return None, None, user, env[JAMF_ENV[3]] or _jamf_secret(url, user, JAMF_ENV[3])
    raise InputError(f"give --client-id (or set {JAMF_ENV[0]}) for an API client, or --user (or "
                     f"{JAMF_ENV[2]}), to pull from Jamf Pro", field="--api")


def _jamf_secret(url: str, identity: str, variable: str) -> str:
    from client.secrets import SecretStoreError, read_secret

    entry = f"{identity}@{urlsplit(url).hostname or url}"
    try:
        return read_secret(JAMF_KEYRING, entry, missing=f"keep it there with: keyring set "
                           f"{JAMF_KEYRING} {entry}, or set {variable}")
    except SecretStoreError as exc:
        if variable in str(exc):
            raise
        raise SecretStoreError(f"{exc}; for Jamf Pro set {variable} instead") from None


def _staged_sha256(staged: list[Staged[DiscoveredDevice]]) -> str:
    """A content hash of pulled devices: the same inventory pulled twice changes nothing."""
    digest = hashlib.sha256()
    for item in staged:
        digest.update(repr(item.value).encode())
    return digest.hexdigest()


def run_import(ctx: click.Context, kind: str, path: Path | None, api: str | None,
               **jamf: str | None) -> None:
    from ledger.services.inventory import import_discovery

    options = ctx.ensure_object(Options)
    source = SOURCES[kind].value
    with opened(ctx) as app, _progress_bar(options) as bar:
        task = bar.add_task(f"{kind} {path.name if path else api}", total=None)

        def progress(done: int) -> None:
            bar.update(task, completed=done)

        devices: Iterable[Staged[DiscoveredDevice]]
        if api is not None:
            staged = _jamf_pull(api, progress, **jamf)
            devices, sha, file = staged, _staged_sha256(staged), api
        else:
            assert path is not None
            if not path.exists():
                raise InputError("no such file or folder", source=str(path))
            sha, file = file_sha256(path), str(path)
            devices = _reader(kind, path, progress)
        with app.uow() as uow:
            result = import_discovery(uow=uow, source=source, kind=kind, file=file, sha256=sha,
                                      devices=devices, progress=progress)
            uow.commit()
    if options.json:
        print_json({"import_id": result.import_id, "source": result.source, "kind": kind,
                    "file": result.file, "sha256": result.sha256, "records": result.records,
                    "created": result.created, "updated": result.updated,
                    "unchanged": result.unchanged, "gone": result.gone,
                    "already_imported": result.already_imported})
    else:
        console.print(f"{result.message}.")


def _add_import(group: click.Group, kind: str) -> None:
    def command(ctx: click.Context, path: Path | None, api: str | None = None,
                **jamf: str | None) -> None:
        if (path is None) == (api is None):
            raise click.UsageError("give PATH" + (" or --api URL" if kind == "jamf" else ""))
        run_import(ctx, kind, path, api, **jamf)

    command.__doc__ = f"Import {HELP[kind]}; all or nothing, the same file again is a no-op."
    decorated: Any = click.argument("path", required=kind != "jamf",
                                    type=click.Path(path_type=Path))(command)
    if kind == "jamf":
        decorated = click.option(
            "--user", "user", metavar="NAME",
            help=f"Jamf user for --api (else {JAMF_ENV[2]}); the password from "
                 f"{JAMF_ENV[3]}, else the keyring ({JAMF_KEYRING}, NAME@host).")(decorated)
        decorated = click.option(
            "--client-id", "client_id", metavar="ID",
            help=f"Jamf API client for --api (else {JAMF_ENV[0]}); the secret from "
                 f"{JAMF_ENV[1]}, else the keyring ({JAMF_KEYRING}, ID@host).")(decorated)
        decorated = click.option(
            "--api", metavar="URL",
            help="Pull from Jamf Pro at URL (an API client, else a user; secrets from the "
                 "environment or the OS keyring, never a plain-text store).")(decorated)
    group.command(kind)(click.pass_context(json_option(decorated)))


# --- reconcile --------------------------------------------------------------------------

def _finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "outcome": finding.outcome.value, "asset_tag": finding.asset_tag,
        "device": str(finding.device) if finding.device else None,
        "confidence": finding.confidence,
        "evidence": [e.value for e in finding.evidence],
        "conflicts": [{"field": c.field, "register": c.register_value,
                       "discovered": c.discovered_value} for c in finding.conflicts],
        "others": list(finding.others),
        "identifier": ({"kind": finding.identifier[0].value, "key": finding.identifier[1]}
                       if finding.identifier else None),
        "last_seen": finding.last_seen.isoformat() if finding.last_seen else None,
        "decision": ({"kind": finding.decision.kind.value, "by": finding.decision.decided_by,
                      "reason": finding.decision.reason} if finding.decision else None),
    }


def _detail(finding: Finding) -> str:
    if finding.conflicts:
        return "; ".join(f"{c.field}: {c.register_value} ≠ {c.discovered_value}"
                         for c in finding.conflicts)
    if finding.identifier:
        return f"{finding.identifier[0].value} {finding.identifier[1]} shared with " + \
            ", ".join(finding.others)
    if finding.others:
        return "also claimed by " + ", ".join(finding.others)
    if finding.outcome is Outcome.DELETED and finding.last_seen:
        return f"deleted in the source {finding.last_seen:%Y-%m-%d}"
    if finding.outcome in (Outcome.MISSING, Outcome.DECOMMISSIONED):
        return f"last seen {finding.last_seen:%Y-%m-%d}" if finding.last_seen else "never seen"
    return ""


def _parse_device(text: str | None) -> DeviceRef | None:
    if text is None:
        return None
    source, _, record_id = text.partition(":")
    if not source or not record_id:
        raise InputError("name the discovery record as SOURCE:ID (e.g. sccm:16777220)",
                         field="--device", value=text)
    return DeviceRef(source, record_id)


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
    import_group = cli.commands["import"]
    assert isinstance(import_group, click.Group)
    for kind in SOURCES:
        _add_import(import_group, kind)

    @cli.group(invoke_without_command=True)
    @click.option("--missing-days", type=click.IntRange(0), default=30, show_default=True,
                  help="An in-service asset unseen for this many days is missing.")
    @json_option
    @click.pass_context
    def reconcile(ctx: click.Context, missing_days: int) -> None:
        """Match discovery records with the register and count what disagrees."""
        ctx.meta["missing_days"] = missing_days
        if ctx.invoked_subcommand is not None:
            return
        from ledger.services.inventory import reconciliation_counts

        counts = read(ctx, lambda uow: reconciliation_counts(uow=uow,
                                                             missing_days=missing_days))
        if ctx.ensure_object(Options).json:
            print_json(counts)
            return
        console.print(", ".join(f"{n} {name}" for name, n in counts.items()))

    @reconcile.command("list")
    @click.option("--outcome", type=click.Choice([o.value for o in Outcome]))
    @click.option("--missing-days", type=click.IntRange(0), default=None,
                  help="An in-service asset unseen for this many days is missing (30).")
    @json_option
    @click.pass_context
    def reconcile_list(ctx: click.Context, outcome: str | None,
                       missing_days: int | None) -> None:
        """The findings with their evidence, confidence and decisions."""
        from ledger.services.inventory import reconcile_inventory

        days = missing_days if missing_days is not None else ctx.meta.get("missing_days", 30)
        result = read(ctx, lambda uow: reconcile_inventory(
            uow=uow, missing_days=days, outcome=Outcome(outcome) if outcome else None))
        findings = sorted(result.findings, key=lambda f: (f.outcome.value, f.asset_tag or "",
                                                          str(f.device or "")))
        if ctx.ensure_object(Options).json:
            print_json({**({"counts": result.counts()} if outcome is None else {}),
                        "findings": [_finding_json(f) for f in findings],
                        "stale_decisions": len(result.stale_decisions)})
            return
        show(ctx, "findings", findings, [
            ("outcome", lambda f: f.outcome.value), ("asset", lambda f: f.asset_tag),
            ("device", lambda f: f.device), ("confidence", lambda f: f.confidence or None),
            ("evidence", lambda f: ", ".join(e.value for e in f.evidence)),
            ("detail", _detail)])

    @reconcile.command("decide")
    @click.argument("kind", type=click.Choice([k.value for k in DecisionKind]))
    @click.argument("asset_tag")
    @click.option("--device", metavar="SOURCE:ID", help="The discovery record concerned.")
    @click.option("--reason", required=True, help="Why (recorded in the audit trail).")
    @json_option
    @click.pass_context
    def reconcile_decide(ctx: click.Context, kind: str, asset_tag: str, device: str | None,
                         reason: str) -> None:
        """Record a decision on a finding: accept, link, reject, decommission, take_owner,
        take_location or take_cost_centre. It holds for every later reconciliation."""
        from client.commands.common import write
        from ledger.services.inventory import decide

        ref = _parse_device(device)
        write(ctx, f"{kind} {asset_tag}", lambda uow: decide(
            uow=uow, kind=kind, asset_tag=asset_tag, device=ref, reason=reason))


# --- scheduled jobs (client.scheduler) -----------------------------------------------------

def pickup_folder(app: Any, folder: Path) -> dict[str, int]:
    """Import every file dropped in ``folder/<kind>/`` (kind: glpi, sccm, intune ...); move it
    to ``imported/`` or to ``rejected/`` with the reason beside it. All or nothing per file."""
    import shutil

    from ledger.errors import ApportionError
    from ledger.services.inventory import import_discovery

    counts = {"imported": 0, "already_imported": 0, "rejected": 0}
    for kind in SOURCES:
        drop = folder / kind
        drop.mkdir(parents=True, exist_ok=True)
        for path in sorted(p for p in drop.iterdir() if not p.name.startswith(".")
                           and p.name not in ("imported", "rejected")):
            try:
                with app.uow() as uow:
                    result = import_discovery(
                        uow=uow, source=SOURCES[kind].value, kind=kind, file=str(path),
                        sha256=file_sha256(path), devices=_reader(kind, path, lambda _: None))
                    uow.commit()
            except ApportionError as exc:
                counts["rejected"] += 1
                target = drop / "rejected"
                target.mkdir(exist_ok=True)
                (target / f"{path.name}.error.txt").write_text(f"{exc}\n", "utf-8")
                shutil.move(str(path), target / path.name)
                continue
            counts["already_imported" if result.already_imported else "imported"] += 1
            target = drop / "imported"
            target.mkdir(exist_ok=True)
            shutil.move(str(path), target / path.name)
    return counts


def nightly_reconcile(app: Any, missing_days: int = 30) -> dict[str, int]:
    """The reconciliation counts, for the scheduler's job history."""
    from ledger.services.inventory import reconciliation_counts

    with app.uow(read_only=True) as uow:
        return reconciliation_counts(uow=uow, missing_days=missing_days)
