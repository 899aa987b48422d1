"""Role-aware controls: what the user may not do is disabled, with a tooltip saying why.

The reason is the services' own refusal (:meth:`ledger.access.Actor.require`), so the client
and the core never disagree about who may do what. The services check again regardless.
"""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from ledger.access import Actor, Permission
from ledger.errors import PermissionDeniedError


def refusal(actor: Actor | None, permission: Permission, *, doing: str) -> str | None:
    """Why ``actor`` may not do this (None when allowed)."""
    if actor is None:
        return "who you are is not known yet"
    try:
        actor.require(permission, doing=doing)
    except PermissionDeniedError as exc:
        return str(exc)
    return None


def guard(control: QWidget | QAction, actor: Actor | None, permission: Permission, *,
          doing: str, tip: str = "") -> bool:
    """Enable ``control`` if ``actor`` holds ``permission``; otherwise disable it and say why
    in its tooltip. Returns whether it is allowed."""
    reason = refusal(actor, permission, doing=doing)
    control.setEnabled(reason is None)
    control.setToolTip(tip if reason is None else reason)
    return reason is None
