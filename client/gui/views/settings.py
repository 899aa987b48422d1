"""Settings: the database and who you are, ERP connections with a connection test.

Secrets typed here go to the OS keyring (:mod:`client.secrets`), never to the database or the
client's settings file.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from client.gui.access import guard
from client.gui.paging import Column
from client.gui.views.base import ClientContext, View, follow_selection, rows_table
from ledger.access import Permission
from ledger.erp import ERP_KINDS, ErpProfile
from ledger.services import erp_profiles


def test_connection(profile_name: str, app: Any) -> int:
    """Read the ERP's documents of the last week (what ``apportion erp test`` does)."""
    from client.erp import close, gateway_for

    with app.uow(read_only=True) as uow:
        profile = erp_profiles.get_profile(uow=uow, name=profile_name)
    gateway = gateway_for(profile)
    try:
        today = date.today()
        return len(gateway.documents_between(profile.company_code, today - timedelta(days=7),
                                             today))
    finally:
        close(gateway)


class SettingsView(View):
    title = "Settings"
    interests = frozenset({"erp_profile", "user"})

    def __init__(self, context: ClientContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        app = context.app
        self.who = QLabel()
        self.who.setObjectName("who")
        database = QGroupBox("Database")
        form = QFormLayout(database)
        form.addRow("Connected to", QLabel(app.where))
        form.addRow("Acting as", self.who)
        form.addRow(QLabel("Open another database with: apportion gui --db URL "
                           "(SQLite file or postgresql://USER@HOST/DB)"))
        self.profiles, self.profiles_model = rows_table((
            Column("name", "Name", width=100), Column("kind", "Kind", width=80),
            Column("url", "URL", width=260), Column("company", "Company", width=80),
            Column("username", "User", width=90)))
        follow_selection(self.profiles, self._edit)
        self.name, self.url, self.company, self.username = (QLineEdit() for _ in range(4))
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setPlaceholderText("kept in the OS keyring; leave empty to keep the old one")
        self.kind = QComboBox()
        self.kind.addItems(list(ERP_KINDS))
        editor = QFormLayout()
        for label, widget in (("Name", self.name), ("Kind", self.kind), ("URL", self.url),
                              ("Company code", self.company), ("User", self.username),
                              ("Secret", self.secret)):
            widget.setObjectName(f"erp-{label.lower().replace(' ', '-')}")
            editor.addRow(label, widget)
        self.save_button = QPushButton("Save connection")
        self.save_button.clicked.connect(self.save)
        self.test_button = QPushButton("Test connection")
        self.test_button.setObjectName("test-connection")
        self.test_button.clicked.connect(self.test)
        self.test_state = QLabel()
        self.test_state.setObjectName("test-state")
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.test_button)
        buttons.addWidget(self.test_state, 1)
        erp = QGroupBox("ERP connections")
        erp_layout = QVBoxLayout(erp)
        erp_layout.addWidget(self.profiles)
        erp_layout.addLayout(editor)
        erp_layout.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(database)
        layout.addWidget(erp, 1)

    def refresh(self) -> None:
        self.runner.query(lambda uow: erp_profiles.list_profiles(uow=uow), success=self._show,
                          failure=self.failed, title="Reading ERP connections")

    def _show(self, profiles: list[ErpProfile]) -> None:
        self._profiles = profiles
        self.profiles_model.set_rows([(p.name, p.kind, p.url, p.company_code, p.username or "")
                                      for p in profiles])
        if profiles and not self.name.text():
            self._edit(0)

    def _edit(self, row: int) -> None:
        if row < 0 or row >= len(getattr(self, "_profiles", [])):
            return
        profile = self._profiles[row]
        self.name.setText(profile.name)
        self.kind.setCurrentText(profile.kind)
        self.url.setText(profile.url)
        self.company.setText(profile.company_code)
        self.username.setText(profile.username or "")
        self.secret.clear()

    def apply_actor(self) -> None:
        actor = self.actor
        roles = ", ".join(sorted(r.value for r in actor.roles)) if actor else "?"
        self.who.setText(f"{actor.login if actor else '?'} ({roles or 'no role'})")
        guard(self.save_button, actor, Permission.MANAGE_REFERENCE_DATA,
              doing="configure ERP connections", tip="Save the connection (the secret goes "
                                                     "to the OS keyring)")
        guard(self.test_button, actor, Permission.READ, doing="read ERP connections",
              tip="Ask the ERP for last week's documents")

    def save(self) -> None:
        from client.secrets import store_secret

        try:
            profile = ErpProfile(self.name.text().strip(), self.kind.currentText(),
                                 self.url.text().strip(), self.company.text().strip(),
                                 self.username.text().strip() or None)
        except Exception as exc:
            self.failed(exc)
            return
        secret = self.secret.text()
        self.secret.clear()

        def work(uow: Any, _ctx: Any) -> Any:
            changes = erp_profiles.save_profile(uow=uow, profile=profile)
            kept = store_secret(profile.name, profile.username, secret) if secret else None
            return kept, changes

        def saved(kept: bool | None) -> None:
            note = {None: "", True: " (secret kept in the OS keyring)",
                    False: " (no keyring here: set APPORTION_ERP_SECRET)"}[kept]
            self.notice(f"Saved ERP connection {profile.name}{note}")

        self.runner.write(work, success=saved, failure=self.failed,
                          title=f"Saving ERP {profile.name}")

    def test(self) -> None:
        name = self.name.text().strip()
        self.test_state.setText(f"Testing {name}…")
        app = self.context.app
        self.runner.run(lambda _ctx: test_connection(name, app), network=True,
                        title=f"Testing ERP {name}",
                        success=lambda n: self.test_state.setText(
                            f"<b style='color:#2e7d32'>{name} answers</b>: {n} document(s) in "
                            "the last week"),
                        failure=lambda e: self.test_state.setText(
                            f"<b style='color:#c62828'>{name} failed</b>: {e}"))
