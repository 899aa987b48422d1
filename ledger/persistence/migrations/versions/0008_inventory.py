"""Inventory: register identifiers, discovery records, reconciliation decisions.

Revision ID: 0008_inventory
Revises: 0007_allocation
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa

from ledger.discovery import fold, normalise_asset_tag, normalise_serial


revision = '0008_inventory'
down_revision = '0007_allocation'
branch_labels = None
depends_on = None

_ASSET_COLUMNS = ('hostname', 'macs', 'hardware_uuid', 'cloud_resource_id', 'owner',
                  'environment', 'purchase_order', 'contract', 'serial_key', 'tag_key',
                  'hostname_key', 'uuid_key', 'cloud_key', 'owner_key', 'location_key',
                  'model_key')
_ASSET_INDEXES = ('cloud_key', 'hostname_key', 'serial_key', 'tag_key', 'uuid_key')


def upgrade() -> None:
    op.create_table('discovery_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('file', sa.String(length=500), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discovery_imports')),
    sa.UniqueConstraint('source', 'sha256', name=op.f('uq_discovery_imports_source')),
    sqlite_autoincrement=True
    )
    op.create_table('discovery_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('record_id', sa.String(length=400), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('hostname', sa.String(length=255), nullable=True),
    sa.Column('fqdn', sa.String(length=255), nullable=True),
    sa.Column('serial', sa.String(length=100), nullable=True),
    sa.Column('hardware_uuid', sa.String(length=64), nullable=True),
    sa.Column('cloud_resource_id', sa.String(length=400), nullable=True),
    sa.Column('asset_tag', sa.String(length=100), nullable=True),
    sa.Column('manufacturer', sa.String(length=200), nullable=True),
    sa.Column('model', sa.String(length=200), nullable=True),
    sa.Column('os', sa.String(length=200), nullable=True),
    sa.Column('owner', sa.String(length=200), nullable=True),
    sa.Column('location', sa.String(length=200), nullable=True),
    sa.Column('cost_centre', sa.String(length=100), nullable=True),
    sa.Column('partial', sa.Boolean(), nullable=False),
    sa.Column('macs', sa.String(length=400), nullable=True),
    sa.Column('serial_key', sa.String(length=100), nullable=True),
    sa.Column('tag_key', sa.String(length=100), nullable=True),
    sa.Column('hostname_key', sa.String(length=255), nullable=True),
    sa.Column('uuid_key', sa.String(length=36), nullable=True),
    sa.Column('cloud_key', sa.String(length=400), nullable=True),
    sa.Column('owner_key', sa.String(length=200), nullable=True),
    sa.Column('location_key', sa.String(length=200), nullable=True),
    sa.Column('model_key', sa.String(length=200), nullable=True),
    sa.Column('cost_centre_key', sa.String(length=100), nullable=True),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.Column('software', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['discovery_imports.id'], name=op.f('fk_discovery_records_import_id_discovery_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discovery_records')),
    sa.UniqueConstraint('source', 'record_id', name=op.f('uq_discovery_records_source')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('discovery_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discovery_records_cloud_key'), ['cloud_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_discovery_records_hostname_key'), ['hostname_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_discovery_records_import_id'), ['import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_discovery_records_seen_at'), ['seen_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_discovery_records_serial_key'), ['serial_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_discovery_records_tag_key'), ['tag_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_discovery_records_uuid_key'), ['uuid_key'], unique=False)

    op.create_table('asset_lifecycle_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_tag', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('occurred', sa.Date(), nullable=False),
    sa.Column('attribute', sa.String(length=40), nullable=True),
    sa.Column('before', sa.String(length=400), nullable=True),
    sa.Column('after', sa.String(length=400), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['asset_tag'], ['assets.tag'], name=op.f('fk_asset_lifecycle_events_asset_tag_assets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_asset_lifecycle_events')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('asset_lifecycle_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_asset_lifecycle_events_asset_tag'), ['asset_tag'], unique=False)

    op.create_table('reconciliation_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('asset_tag', sa.String(length=40), nullable=False),
    sa.Column('device_source', sa.String(length=20), nullable=True),
    sa.Column('device_record_id', sa.String(length=400), nullable=True),
    sa.Column('decided_by', sa.String(length=200), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('conflicts', sa.JSON(), nullable=False),
    sa.Column('value', sa.String(length=400), nullable=True),
    sa.ForeignKeyConstraint(['asset_tag'], ['assets.tag'], name=op.f('fk_reconciliation_decisions_asset_tag_assets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_decisions')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('reconciliation_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reconciliation_decisions_asset_tag'), ['asset_tag'], unique=False)
        batch_op.create_index('ix_reconciliation_decisions_device', ['device_source', 'device_record_id'], unique=False)

    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hostname', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('macs', sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column('hardware_uuid', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('cloud_resource_id', sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column('owner', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('environment', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('purchase_order', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('contract', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('serial_key', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('tag_key', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('hostname_key', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('uuid_key', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('cloud_key', sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column('owner_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('location_key', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('model_key', sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_assets_cloud_key'), ['cloud_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_hostname_key'), ['hostname_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_serial_key'), ['serial_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_tag_key'), ['tag_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_uuid_key'), ['uuid_key'], unique=False)



    _key_existing_assets()


def _key_existing_assets() -> None:
    """Give the assets registered before this revision the keys reconciliation matches on."""
    assets = sa.table('assets', sa.column('tag'), sa.column('serial_number'),
                      sa.column('model'), sa.column('location'), sa.column('serial_key'),
                      sa.column('tag_key'), sa.column('location_key'), sa.column('model_key'))
    connection = op.get_bind()
    rows = connection.execute(sa.select(assets.c.tag, assets.c.serial_number, assets.c.model,
                                        assets.c.location)).all()
    for tag, serial, model, location in rows:
        connection.execute(assets.update().where(assets.c.tag == tag).values(
            serial_key=normalise_serial(serial), tag_key=normalise_asset_tag(tag),
            location_key=fold(location), model_key=fold(model)))


def downgrade() -> None:
    with op.batch_alter_table('assets', schema=None) as batch_op:
        for column in _ASSET_INDEXES:
            batch_op.drop_index(batch_op.f(f'ix_assets_{column}'))
        for column in reversed(_ASSET_COLUMNS):
            batch_op.drop_column(column)
    op.drop_table('reconciliation_decisions')
    op.drop_table('asset_lifecycle_events')
    op.drop_table('discovery_records')
    op.drop_table('discovery_imports')
