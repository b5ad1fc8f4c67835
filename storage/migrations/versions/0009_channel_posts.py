"""channel posts: what was published to the public channel, once each

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 18:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('channel_posts',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ref_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.Column('posted_by', sa.BigInteger(), nullable=True),
    sa.Column('posted_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'ref_id', name=op.f('pk_channel_posts'))
    )


def downgrade() -> None:
    op.drop_table('channel_posts')
