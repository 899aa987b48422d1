"""Foundation: company, cost centres, GL accounts, periods, FX rates, drivers, journals, user roles,
audit events.

Revision ID: 0001_foundation
Revises: 
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa


revision = '0001_foundation'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=80), nullable=False),
    sa.Column('entity', sa.String(length=60), nullable=False),
    sa.Column('entity_key', sa.String(length=200), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_occurred_at'), ['occurred_at'], unique=False)

    op.create_table('company',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('functional_currency', sa.String(length=3), nullable=False),
    sa.Column('fiscal_year_start_month', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_company')),
    sa.UniqueConstraint('code', name=op.f('uq_company_code'))
    )
    op.create_table('cost_centres',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('parent_code', sa.String(length=40), nullable=True),
    sa.Column('business_unit', sa.String(length=100), nullable=True),
    sa.Column('owner', sa.String(length=200), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_cost_centres'))
    )
    with op.batch_alter_table('cost_centres', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cost_centres_business_unit'), ['business_unit'], unique=False)
        batch_op.create_index(batch_op.f('ix_cost_centres_parent_code'), ['parent_code'], unique=False)

    op.create_table('fx_rates',
    sa.Column('base', sa.String(length=3), nullable=False),
    sa.Column('quote', sa.String(length=3), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('rate', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('base', 'quote', 'day', name=op.f('pk_fx_rates'))
    )
    op.create_table('gl_accounts',
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_gl_accounts'))
    )
    op.create_table('periods',
    sa.Column('key', sa.String(length=7), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_periods'))
    )
    with op.batch_alter_table('periods', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_periods_fiscal_year'), ['fiscal_year'], unique=False)

    op.create_table('user_roles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('login', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_roles')),
    sa.UniqueConstraint('login', 'role', name=op.f('uq_user_roles_login'))
    )
    with op.batch_alter_table('user_roles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_roles_login'), ['login'], unique=False)

    op.create_table('driver_quantities',
    sa.Column('driver', sa.String(length=60), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('cost_centre', sa.String(length=40), nullable=False),
    sa.Column('quantity', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['cost_centre'], ['cost_centres.code'], name=op.f('fk_driver_quantities_cost_centre_cost_centres')),
    sa.PrimaryKeyConstraint('driver', 'period', 'cost_centre', name=op.f('pk_driver_quantities'))
    )
    op.create_table('journals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_date', sa.Date(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('description', sa.String(length=400), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['period'], ['periods.key'], name=op.f('fk_journals_period_periods')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journals')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('journals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journals_period'), ['period'], unique=False)
        batch_op.create_index('ix_journals_source_reference', ['source', 'reference'], unique=False)
        batch_op.create_index(batch_op.f('ix_journals_status'), ['status'], unique=False)

    op.create_table('journal_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('journal_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=40), nullable=False),
    sa.Column('cost_centre', sa.String(length=40), nullable=True),
    sa.Column('side', sa.String(length=6), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('memo', sa.String(length=400), nullable=False),
    sa.Column('source_ref', sa.String(length=400), nullable=False),
    sa.ForeignKeyConstraint(['account'], ['gl_accounts.number'], name=op.f('fk_journal_lines_account_gl_accounts')),
    sa.ForeignKeyConstraint(['cost_centre'], ['cost_centres.code'], name=op.f('fk_journal_lines_cost_centre_cost_centres')),
    sa.ForeignKeyConstraint(['journal_id'], ['journals.id'], name=op.f('fk_journal_lines_journal_id_journals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_lines'))
    )
    with op.batch_alter_table('journal_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journal_lines_journal_id'), ['journal_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('journal_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_journal_lines_journal_id'))

    op.drop_table('journal_lines')
    with op.batch_alter_table('journals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_journals_status'))
        batch_op.drop_index('ix_journals_source_reference')
        batch_op.drop_index(batch_op.f('ix_journals_period'))

    op.drop_table('journals')
    op.drop_table('driver_quantities')
    with op.batch_alter_table('user_roles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_roles_login'))

    op.drop_table('user_roles')
    with op.batch_alter_table('periods', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_periods_fiscal_year'))

    op.drop_table('periods')
    op.drop_table('gl_accounts')
    op.drop_table('fx_rates')
    with op.batch_alter_table('cost_centres', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cost_centres_parent_code'))
        batch_op.drop_index(batch_op.f('ix_cost_centres_business_unit'))

    op.drop_table('cost_centres')
    op.drop_table('company')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_occurred_at'))

    op.drop_table('audit_events')
