"""Allocation policy additions: each stored run's policy report kept with the run.

Statements read a run's policy report (both figures of shadow chargeback) by run id instead of
scanning the audit trail. Runs stored before this revision get theirs from their
``allocation.run`` audit event, which carried the report.

Revision ID: 0018_policy_more
Revises: 0017_reports_more
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = '0018_policy_more'
down_revision = '0017_reports_more'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('policy_run_reports',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('policy', sa.String(length=80), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['allocation_runs.id'],
                            name=op.f('fk_policy_run_reports_run_id_allocation_runs')),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_policy_run_reports'))
    )
    _backfill()


def _backfill() -> None:
    """The reports of runs stored earlier, from their audit events (read, never changed)."""
    events = sa.table('audit_events', sa.column('entity_key', sa.String),
                      sa.column('action', sa.String), sa.column('after', sa.JSON),
                      sa.column('occurred_at', sa.DateTime(timezone=True)))
    runs = sa.table('allocation_runs', sa.column('id', sa.Integer))
    reports = sa.table('policy_run_reports', sa.column('run_id', sa.Integer),
                       sa.column('policy', sa.String), sa.column('report', sa.JSON),
                       sa.column('created_at', sa.DateTime(timezone=True)))
    connection = op.get_bind()
    known = set(connection.scalars(sa.select(runs.c.id)))
    found = {}
    for key, after, at in connection.execute(
            sa.select(events.c.entity_key, events.c.after, events.c.occurred_at)
            .where(events.c.action == 'allocation.run')):
        report = (after or {}).get('policy')
        if report and key.isdigit() and int(key) in known:
            found[int(key)] = {'run_id': int(key), 'policy': report.get('policy', '?'),
                               'report': report, 'created_at': at}
    if found:
        op.bulk_insert(reports, [found[k] for k in sorted(found)])


def downgrade() -> None:
    op.drop_table('policy_run_reports')
