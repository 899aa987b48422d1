"""Governance: role scopes, provisioning, budgets, exceptions, contracts.

On PostgreSQL also the application role and its grants:

- ``apportion_app`` (NOLOGIN) is the role every person's login is made a member of
  (``GRANT apportion_app TO alice``). It may read and write the application's tables, except:
  the audit trail (``audit_events``) it may only SELECT and INSERT: no UPDATE, DELETE or
  TRUNCATE. Future tables get the same default grants.
- Posted journals cannot be changed by anyone but a superuser: a trigger refuses UPDATE or
  DELETE of a journal line whose journal is posted or reversed, DELETE of such a journal, and any
  UPDATE of it except the one step the lifecycle needs (posted -> reversed, with its message).
  A trigger rather than a grant, because the reversal must still update the posted row's status
  and grants cannot tell one row (or one column change) from another.
- The same trigger mechanism refuses UPDATE, DELETE and TRUNCATE of audit events for every role
  but a superuser, so that the table owner too cannot quietly rewrite history (a superuser can
  do anything; ``apportion audit verify`` catches what they do).

Creating the role needs CREATEROLE; without it the grants are skipped with a notice and the
administrator runs this migration's SQL as a superuser. On SQLite none of this applies: the file
is a single-user trust boundary, and the hash chain detects tampering.

Revision ID: 0010_governance
Revises: 0009_licences
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_governance'
down_revision = '0009_licences'
branch_labels = None
depends_on = None

APP_ROLE = "apportion_app"

POSTGRES_UPGRADE = [
    # The role is cluster-wide: create it once, whoever migrates first.
    f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        BEGIN
            CREATE ROLE {APP_ROLE} NOLOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN NULL;
            WHEN insufficient_privilege THEN
                RAISE NOTICE 'cannot create role {APP_ROLE} (needs CREATEROLE): grants skipped';
        END;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO {APP_ROLE}', current_database());
        GRANT USAGE ON SCHEMA public TO {APP_ROLE};
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE};
        GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE};
        REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM {APP_ROLE};
        ALTER DEFAULT PRIVILEGES IN SCHEMA public
            GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE};
        ALTER DEFAULT PRIVILEGES IN SCHEMA public
            GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE};
    END IF;
END
$$;
""",
    """
CREATE OR REPLACE FUNCTION apportion_is_superuser() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false)
$$;
""",
    """
CREATE OR REPLACE FUNCTION apportion_refuse_audit_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF apportion_is_superuser() THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only: % of audit events is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
""",
    """
CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION apportion_refuse_audit_change();
""",
    """
CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION apportion_refuse_audit_change();
""",
    """
CREATE OR REPLACE FUNCTION apportion_guard_posted_journal() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF apportion_is_superuser() OR OLD.status NOT IN ('posted', 'reversed') THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.status = 'posted' AND NEW.status = 'reversed'
       AND (to_jsonb(NEW) - 'status' - 'message') = (to_jsonb(OLD) - 'status' - 'message') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'journal % is %: a posted journal is corrected by a reversal, never changed',
        OLD.id, OLD.status USING ERRCODE = 'insufficient_privilege';
END
$$;
""",
    """
CREATE TRIGGER journals_posted_immutable
    BEFORE UPDATE OR DELETE ON journals
    FOR EACH ROW EXECUTE FUNCTION apportion_guard_posted_journal();
""",
    """
CREATE OR REPLACE FUNCTION apportion_guard_posted_line() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    state text;
BEGIN
    SELECT status INTO state FROM journals WHERE id = OLD.journal_id;
    IF apportion_is_superuser() OR state IS NULL OR state NOT IN ('posted', 'reversed') THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'journal % is %: its lines cannot change', OLD.journal_id, state
        USING ERRCODE = 'insufficient_privilege';
END
$$;
""",
    """
CREATE TRIGGER journal_lines_posted_immutable
    BEFORE UPDATE OR DELETE ON journal_lines
    FOR EACH ROW EXECUTE FUNCTION apportion_guard_posted_line();
""",
]

POSTGRES_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS journal_lines_posted_immutable ON journal_lines",
    "DROP TRIGGER IF EXISTS journals_posted_immutable ON journals",
    "DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events",
    "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
    "DROP FUNCTION IF EXISTS apportion_guard_posted_line()",
    "DROP FUNCTION IF EXISTS apportion_guard_posted_journal()",
    "DROP FUNCTION IF EXISTS apportion_refuse_audit_change()",
    "DROP FUNCTION IF EXISTS apportion_is_superuser()",
    # The role is shared by every database of the cluster: only this database's grants go.
    f"""
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        ALTER DEFAULT PRIVILEGES IN SCHEMA public
            REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {APP_ROLE};
        ALTER DEFAULT PRIVILEGES IN SCHEMA public
            REVOKE USAGE, SELECT ON SEQUENCES FROM {APP_ROLE};
        REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE};
        REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE};
        REVOKE USAGE ON SCHEMA public FROM {APP_ROLE};
        EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM {APP_ROLE}', current_database());
    END IF;
END
$$;
""",
]


def upgrade() -> None:
    op.create_table('user_role_scopes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('login', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('business_unit', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_role_scopes')),
    sa.UniqueConstraint('login', 'role', 'business_unit', name=op.f('uq_user_role_scopes_login'))
    )
    with op.batch_alter_table('user_role_scopes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_role_scopes_login'), ['login'], unique=False)

    op.create_table('period_close_heads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_period_close_heads')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('period_close_heads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_period_close_heads_period'), ['period'],
                              unique=False)

    op.create_table('posting_audit_anchors',
    sa.Column('journal_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('short', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['journal_id'], ['journals.id'],
                            name=op.f('fk_posting_audit_anchors_journal_id_journals')),
    sa.PrimaryKeyConstraint('journal_id', name=op.f('pk_posting_audit_anchors'))
    )
    op.create_table('provisioning_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('cost_centre', sa.String(length=40), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('environment', sa.String(length=20), nullable=False),
    sa.Column('monthly_cost', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('checks', sa.JSON(), nullable=False),
    sa.Column('escalation', sa.Text(), nullable=True),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['cost_centre'], ['cost_centres.code'],
                            name=op.f('fk_provisioning_requests_cost_centre_cost_centres')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provisioning_requests')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('provisioning_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provisioning_requests_cost_centre'),
                              ['cost_centre'], unique=False)
        batch_op.create_index(batch_op.f('ix_provisioning_requests_status'), ['status'],
                              unique=False)

    op.create_table('budgets',
    sa.Column('cost_centre', sa.String(length=40), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('amount', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('quota_mode', sa.String(length=10), nullable=False),
    sa.Column('quota_margin', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['cost_centre'], ['cost_centres.code'],
                            name=op.f('fk_budgets_cost_centre_cost_centres')),
    sa.PrimaryKeyConstraint('cost_centre', 'period', name=op.f('pk_budgets'))
    )
    op.create_table('contracts',
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('vendor', sa.String(length=200), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=True),
    sa.Column('value', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('usage_reporting', sa.Boolean(), nullable=False),
    sa.Column('tagging', sa.Boolean(), nullable=False),
    sa.Column('metering', sa.String(length=20), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_contracts'))
    )
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contracts_vendor'), ['vendor'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_DOWNGRADE:
            op.execute(statement)
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contracts_vendor'))

    op.drop_table('contracts')
    op.drop_table('budgets')
    with op.batch_alter_table('provisioning_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_provisioning_requests_status'))
        batch_op.drop_index(batch_op.f('ix_provisioning_requests_cost_centre'))

    op.drop_table('provisioning_requests')
    op.drop_table('posting_audit_anchors')
    with op.batch_alter_table('period_close_heads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_period_close_heads_period'))

    op.drop_table('period_close_heads')
    with op.batch_alter_table('user_role_scopes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_role_scopes_login'))

    op.drop_table('user_role_scopes')
