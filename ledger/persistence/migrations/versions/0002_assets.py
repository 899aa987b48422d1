"""Assets, depreciation books, asset events and depreciation charges.

Revision ID: 0002_assets
Revises: 0001_foundation
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa


revision = '0002_assets'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assets',
    sa.Column('tag', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('cost_centre', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('purchase_cost', sa.String(length=64), nullable=True),
    sa.Column('purchase_date', sa.Date(), nullable=True),
    sa.Column('in_service_date', sa.Date(), nullable=True),
    sa.Column('serial_number', sa.String(length=100), nullable=True),
    sa.Column('manufacturer', sa.String(length=100), nullable=True),
    sa.Column('model', sa.String(length=100), nullable=True),
    sa.Column('location', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['cost_centre'], ['cost_centres.code'], name=op.f('fk_assets_cost_centre_cost_centres')),
    sa.PrimaryKeyConstraint('tag', name=op.f('pk_assets'))
    )
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assets_cost_centre'), ['cost_centre'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_serial_number'), ['serial_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_status'), ['status'], unique=False)

    op.create_table('asset_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_tag', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('effective', sa.Date(), nullable=False),
    sa.Column('book', sa.String(length=40), nullable=True),
    sa.Column('to_cost_centre', sa.String(length=40), nullable=True),
    sa.Column('from_cost_centre', sa.String(length=40), nullable=True),
    sa.Column('remaining_life_months', sa.Integer(), nullable=True),
    sa.Column('salvage', sa.String(length=64), nullable=True),
    sa.Column('amount', sa.String(length=64), nullable=True),
    sa.Column('proceeds', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['asset_tag'], ['assets.tag'], name=op.f('fk_asset_events_asset_tag_assets')),
    sa.ForeignKeyConstraint(['to_cost_centre'], ['cost_centres.code'], name=op.f('fk_asset_events_to_cost_centre_cost_centres')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_asset_events')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('asset_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_asset_events_asset_tag'), ['asset_tag'], unique=False)

    op.create_table('depreciation_books',
    sa.Column('asset_tag', sa.String(length=40), nullable=False),
    sa.Column('book', sa.String(length=40), nullable=False),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.Column('expense_account', sa.String(length=40), nullable=False),
    sa.Column('accumulated_account', sa.String(length=40), nullable=False),
    sa.Column('posts_to_ledger', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['accumulated_account'], ['gl_accounts.number'], name=op.f('fk_depreciation_books_accumulated_account_gl_accounts')),
    sa.ForeignKeyConstraint(['asset_tag'], ['assets.tag'], name=op.f('fk_depreciation_books_asset_tag_assets')),
    sa.ForeignKeyConstraint(['expense_account'], ['gl_accounts.number'], name=op.f('fk_depreciation_books_expense_account_gl_accounts')),
    sa.PrimaryKeyConstraint('asset_tag', 'book', name=op.f('pk_depreciation_books'))
    )
    op.create_table('depreciation_charges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('book', sa.String(length=40), nullable=False),
    sa.Column('asset_tag', sa.String(length=40), nullable=False),
    sa.Column('cost_centre', sa.String(length=40), nullable=False),
    sa.Column('expense_account', sa.String(length=40), nullable=False),
    sa.Column('accumulated_account', sa.String(length=40), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.ForeignKeyConstraint(['asset_tag'], ['assets.tag'], name=op.f('fk_depreciation_charges_asset_tag_assets')),
    sa.ForeignKeyConstraint(['cost_centre'], ['cost_centres.code'], name=op.f('fk_depreciation_charges_cost_centre_cost_centres')),
    sa.ForeignKeyConstraint(['period'], ['periods.key'], name=op.f('fk_depreciation_charges_period_periods')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_depreciation_charges'))
    )
    with op.batch_alter_table('depreciation_charges', schema=None) as batch_op:
        batch_op.create_index('ix_depreciation_charges_period_book', ['period', 'book'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('depreciation_charges', schema=None) as batch_op:
        batch_op.drop_index('ix_depreciation_charges_period_book')

    op.drop_table('depreciation_charges')
    op.drop_table('depreciation_books')
    with op.batch_alter_table('asset_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_asset_events_asset_tag'))

    op.drop_table('asset_events')
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assets_status'))
        batch_op.drop_index(batch_op.f('ix_assets_serial_number'))
        batch_op.drop_index(batch_op.f('ix_assets_kind'))
        batch_op.drop_index(batch_op.f('ix_assets_cost_centre'))

    op.drop_table('assets')
