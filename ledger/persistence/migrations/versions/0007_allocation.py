"""Allocation: rule-set versions, runs, lines and lineage, driver revisions, vendor invoices
and the exceptions register.

Revision ID: 0007_allocation
Revises: 0006_findings
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_allocation'
down_revision = '0006_findings'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('allocation_driver_revisions',
    sa.Column('driver', sa.String(length=60), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('saved_by', sa.String(length=200), nullable=False),
    sa.Column('saved_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('driver', 'revision', name=op.f('pk_allocation_driver_revisions'))
    )
    op.create_table('allocation_exceptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('cost_centre', sa.String(length=40), nullable=False),
    sa.Column('service', sa.String(length=200), nullable=True),
    sa.Column('pool', sa.String(length=64), nullable=True),
    sa.Column('period_from', sa.String(length=7), nullable=False),
    sa.Column('period_to', sa.String(length=7), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('share_percent', sa.String(length=64), nullable=True),
    sa.Column('amount', sa.String(length=64), nullable=True),
    sa.Column('target_cost_centre', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approved_by', sa.String(length=200), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_exceptions')),
    sqlite_autoincrement=True
    )
    op.create_table('allocation_invoice_files',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=400), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('imported_by', sa.String(length=200), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_allocation_invoice_files'))
    )
    op.create_table('allocation_manual_costs',
    sa.Column('entry_id', sa.String(length=100), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('pool', sa.String(length=64), nullable=False),
    sa.Column('amount', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('cost_centre', sa.String(length=40), nullable=True),
    sa.Column('saved_by', sa.String(length=200), nullable=False),
    sa.Column('saved_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('entry_id', name=op.f('pk_allocation_manual_costs'))
    )
    with op.batch_alter_table('allocation_manual_costs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_manual_costs_period'), ['period'], unique=False)

    op.create_table('allocation_rulesets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('parent_version', sa.Integer(), nullable=True),
    sa.Column('author', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('activated_by', sa.String(length=200), nullable=True),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_rulesets')),
    sa.UniqueConstraint('name', 'version', name=op.f('uq_allocation_rulesets_name')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('allocation_rulesets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_rulesets_name'), ['name'], unique=False)

    op.create_table('allocation_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('ruleset_name', sa.String(length=64), nullable=False),
    sa.Column('ruleset_version', sa.Integer(), nullable=False),
    sa.Column('cost_basis', sa.String(length=20), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('conserved', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('journal_ids', sa.JSON(), nullable=False),
    sa.Column('exceptions', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_runs')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('allocation_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_runs_period'), ['period'], unique=False)

    op.create_table('allocation_invoice_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('row', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.String(length=100), nullable=False),
    sa.Column('billing_account_id', sa.String(length=100), nullable=False),
    sa.Column('billing_period', sa.String(length=7), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['file_sha256'], ['allocation_invoice_files.sha256'], name=op.f('fk_allocation_invoice_lines_file_sha256_allocation_invoice_files')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_invoice_lines')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('allocation_invoice_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_invoice_lines_file_sha256'), ['file_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_allocation_invoice_lines_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('allocation_lineage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('origin', sa.String(length=40), nullable=False),
    sa.Column('pool', sa.String(length=64), nullable=True),
    sa.Column('cost_centre', sa.String(length=40), nullable=True),
    sa.Column('rule', sa.String(length=100), nullable=True),
    sa.Column('reason', sa.String(length=40), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('amount', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['allocation_runs.id'], name=op.f('fk_allocation_lineage_run_id_allocation_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_lineage')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('allocation_lineage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_lineage_run_id'), ['run_id'], unique=False)

    op.create_table('allocation_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('cost_centre', sa.String(length=40), nullable=False),
    sa.Column('account', sa.String(length=40), nullable=False),
    sa.Column('pool', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.String(length=64), nullable=False),
    sa.Column('charged', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['allocation_runs.id'], name=op.f('fk_allocation_lines_run_id_allocation_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_lines')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('allocation_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_lines_run_id'), ['run_id'], unique=False)

    op.create_table('allocation_run_totals',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('source_total', sa.String(length=64), nullable=False),
    sa.Column('allocated_total', sa.String(length=64), nullable=False),
    sa.Column('unallocated_total', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['allocation_runs.id'], name=op.f('fk_allocation_run_totals_run_id_allocation_runs')),
    sa.PrimaryKeyConstraint('run_id', 'currency', name=op.f('pk_allocation_run_totals'))
    )
    op.create_table('allocation_unallocated',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('pool', sa.String(length=64), nullable=True),
    sa.Column('rule', sa.String(length=100), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['allocation_runs.id'], name=op.f('fk_allocation_unallocated_run_id_allocation_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_unallocated')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('allocation_unallocated', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_unallocated_run_id'), ['run_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('allocation_unallocated', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_unallocated_run_id'))

    op.drop_table('allocation_unallocated')
    op.drop_table('allocation_run_totals')
    with op.batch_alter_table('allocation_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_lines_run_id'))

    op.drop_table('allocation_lines')
    with op.batch_alter_table('allocation_lineage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_lineage_run_id'))

    op.drop_table('allocation_lineage')
    with op.batch_alter_table('allocation_invoice_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_invoice_lines_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_allocation_invoice_lines_file_sha256'))

    op.drop_table('allocation_invoice_lines')
    with op.batch_alter_table('allocation_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_runs_period'))

    op.drop_table('allocation_runs')
    with op.batch_alter_table('allocation_rulesets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_rulesets_name'))

    op.drop_table('allocation_rulesets')
    with op.batch_alter_table('allocation_manual_costs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_manual_costs_period'))

    op.drop_table('allocation_manual_costs')
    op.drop_table('allocation_invoice_files')
    op.drop_table('allocation_exceptions')
    op.drop_table('allocation_driver_revisions')
