"""Journal lifecycle: review and posting columns, the posting log, leases, ERP profiles.

Revision ID: 0003_journal_lifecycle
Revises: 0002_assets
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_journal_lifecycle'
down_revision = '0002_assets'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('erp_profiles',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('url', sa.String(length=400), nullable=False),
    sa.Column('company_code', sa.String(length=40), nullable=False),
    sa.Column('username', sa.String(length=200), nullable=True),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_erp_profiles'))
    )
    op.create_table('leases',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_leases'))
    )
    op.create_table('posting_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('journal_id', sa.Integer(), nullable=False),
    sa.Column('erp_profile', sa.String(length=60), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['journal_id'], ['journals.id'], name=op.f('fk_posting_attempts_journal_id_journals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_posting_attempts')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('posting_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_posting_attempts_journal_id'), ['journal_id'], unique=False)

    # Keep AUTOINCREMENT when SQLite recreates the table: a journal id is never reused.
    with op.batch_alter_table('journals', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('submitted_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('approved_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('external_reference', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('erp_profile', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('erp_document', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reversal_of', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('message', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_journals_erp_document'), ['erp_document'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_journals_external_reference'), ['external_reference'])
        batch_op.create_foreign_key(batch_op.f('fk_journals_reversal_of_journals'), 'journals', ['reversal_of'], ['id'])



def downgrade() -> None:
    # Keep AUTOINCREMENT when SQLite recreates the table: a journal id is never reused.
    with op.batch_alter_table('journals', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_journals_reversal_of_journals'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_journals_external_reference'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_journals_erp_document'))
        batch_op.drop_column('message')
        batch_op.drop_column('reversal_of')
        batch_op.drop_column('posted_at')
        batch_op.drop_column('erp_document')
        batch_op.drop_column('erp_profile')
        batch_op.drop_column('idempotency_key')
        batch_op.drop_column('external_reference')
        batch_op.drop_column('approved_at')
        batch_op.drop_column('approved_by')
        batch_op.drop_column('submitted_by')

    with op.batch_alter_table('posting_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_posting_attempts_journal_id'))

    op.drop_table('posting_attempts')
    op.drop_table('leases')
    op.drop_table('erp_profiles')
