"""The audit trail becomes a hash chain: sequence and links on every event, and the head.

Events recorded before this version are chained in the order they were stored.

Revision ID: 0004_audit_chain
Revises: 0003_journal_lifecycle
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa

from ledger.audit import GENESIS, AuditEvent, chain_hash


revision = '0004_audit_chain'
down_revision = '0003_journal_lifecycle'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_chain_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sequence', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('previous_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))

    # Chain the events that exist, in the order they were stored.
    events = sa.table('audit_events', sa.column('id'), sa.column('occurred_at', sa.DateTime(timezone=True)),
                      sa.column('actor'), sa.column('action'), sa.column('entity'),
                      sa.column('entity_key'), sa.column('before', sa.JSON()),
                      sa.column('after', sa.JSON()), sa.column('reason'), sa.column('sequence'),
                      sa.column('previous_hash'), sa.column('hash'))
    connection = op.get_bind()
    previous, sequence = GENESIS, 0
    rows = connection.execute(sa.select(events).order_by(events.c.id)).mappings().all()
    for row in rows:
        sequence += 1
        occurred = row['occurred_at']
        if occurred.tzinfo is None:
            from datetime import UTC
            occurred = occurred.replace(tzinfo=UTC)
        event = AuditEvent(occurred, row['actor'], row['action'], row['entity'],
                           row['entity_key'], row['before'], row['after'], row['reason'])
        digest = chain_hash(previous, event, sequence)
        connection.execute(events.update().where(events.c.id == row['id']).values(
            sequence=sequence, previous_hash=previous, hash=digest))
        previous = digest
    connection.execute(sa.table('audit_chain_head', sa.column('id'), sa.column('sequence'),
                                sa.column('hash')).insert().values(id=1, sequence=sequence,
                                                                   hash=previous))

    with op.batch_alter_table('audit_events', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.alter_column('sequence', existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column('previous_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_events_sequence'), ['sequence'])


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_events_sequence'), type_='unique')
        batch_op.drop_column('hash')
        batch_op.drop_column('previous_hash')
        batch_op.drop_column('sequence')

    op.drop_table('audit_chain_head')
