"""dashboard: one-time sign-in links and browser sessions of the organizers' dashboard

Only a hash of each token is stored (a leaked database opens no session).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 15:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'dashboard_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_dashboard_tokens_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dashboard_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_dashboard_tokens_token_hash')),
    )
    with op.batch_alter_table('dashboard_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dashboard_tokens_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dashboard_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dashboard_tokens_user_id'))
    op.drop_table('dashboard_tokens')
