"""delivery leases: who holds a claimed delivery and until when; the campaign's finishing claim;
the late report card's claim

Columns only, no foreign keys: on SQLite they are added without rebuilding any table.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 19:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_holder', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('lease_until', storage.models.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('finish_holder', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('finish_lease_until', storage.models.UTCDateTime(timezone=True),
                                      nullable=True))

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('card_claimed_until', storage.models.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('card_claimed_until')

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('finish_lease_until')
        batch_op.drop_column('finish_holder')

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('lease_until')
        batch_op.drop_column('lease_holder')
