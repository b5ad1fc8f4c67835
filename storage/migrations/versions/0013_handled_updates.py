"""handled updates: each update's effects and its record commit together (bot/updates.py)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 19:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'handled_updates',
        sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('handled_at', storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('replies', sa.JSON(), nullable=True),
        sa.Column('outbox', sa.Boolean(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('lease_until', storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('failed', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('update_id', name=op.f('pk_handled_updates')),
    )
    op.create_index('ix_handled_updates_outbox', 'handled_updates', ['outbox', 'next_attempt_at'], unique=False)
    op.create_index(op.f('ix_handled_updates_handled_at'), 'handled_updates', ['handled_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_handled_updates_handled_at'), table_name='handled_updates')
    op.drop_index('ix_handled_updates_outbox', table_name='handled_updates')
    op.drop_table('handled_updates')
