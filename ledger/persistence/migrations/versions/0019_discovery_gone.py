"""Discovery records a source reported deleted; an index of the things audit events concern.

``discovery_records.gone_at``: when the source (AWS Config ``ResourceDeleted``) reported the
device deleted; the record is kept so that reconciliation can name the register asset gone.

``audit_event_keys``: (event, entity, key) for events about several things (a register load's
``asset.register`` events, keyed ``FIRST..LAST (N)``), so that the trail is searched by one
asset tag on an index rather than by reading every event's JSON. Events recorded before this
revision are indexed from their ``after`` (read, never changed: the hash chain is untouched).
``audit_events.entity_key`` is indexed too, so that the events about one thing are found by
their own key without a scan.

Revision ID: 0019_discovery_gone
Revises: 0018_policy_more
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = '0019_discovery_gone'
down_revision = '0018_policy_more'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('discovery_records', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('gone_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'audit_event_keys',
        sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('entity', sa.String(length=60), nullable=False),
        sa.Column('entity_key', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['audit_events.id'],
                                name=op.f('fk_audit_event_keys_event_id_audit_events')),
        sa.PrimaryKeyConstraint('event_id', 'entity', 'entity_key',
                                name=op.f('pk_audit_event_keys')),
    )
    op.create_index('ix_audit_event_keys_entity_key', 'audit_event_keys',
                    ['entity_key', 'entity'], unique=False)
    op.create_index('ix_audit_events_entity_key', 'audit_events', ['entity_key'], unique=False)
    _backfill()


def _backfill() -> None:
    """Index the chunk events (``<entity>.register``) recorded before this revision."""
    events = sa.table('audit_events', sa.column('id', sa.Integer),
                      sa.column('action', sa.String), sa.column('entity', sa.String),
                      sa.column('after', sa.JSON))
    keys = sa.table('audit_event_keys', sa.column('event_id', sa.Integer),
                    sa.column('entity', sa.String), sa.column('entity_key', sa.String))
    bind = op.get_bind()
    rows = bind.execute(sa.select(events.c.id, events.c.entity, events.c.after).where(
        events.c.action.like('%.register')).order_by(events.c.id))
    for event_id, entity, after in rows.fetchall():
        if isinstance(after, dict) and after:
            bind.execute(sa.insert(keys), [
                {'event_id': event_id, 'entity': entity, 'entity_key': str(key)[:200]}
                for key in after])


def downgrade() -> None:
    op.drop_index('ix_audit_events_entity_key', table_name='audit_events')
    op.drop_index('ix_audit_event_keys_entity_key', table_name='audit_event_keys')
    op.drop_table('audit_event_keys')
    with op.batch_alter_table('discovery_records', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('gone_at')
