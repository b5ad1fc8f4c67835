"""mediators: offline residents (code, mediator, phone, link token), acting, "assisted" marks

Also voice notes as event feedback and as discussion statements (their file_id).
Columns only, no foreign keys: on SQLite they are added without rebuilding any table.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 20:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('discussion_statements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voice_file_id', sa.String(length=255), nullable=True))

    with op.batch_alter_table('event_rsvps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assisted_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('feedback_voice_file_id', sa.String(length=255), nullable=True))

    with op.batch_alter_table('poll_responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assisted_by', sa.Integer(), nullable=True))

    with op.batch_alter_table('proposal_supports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assisted_by', sa.Integer(), nullable=True))

    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assisted_by', sa.Integer(), nullable=True))

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assisted_by', sa.Integer(), nullable=True))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('mediator_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('link_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('linked_at', storage.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('acting_for_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_code'), ['code'], unique=True)
        batch_op.create_index(batch_op.f('ix_users_link_token'), ['link_token'], unique=True)
        batch_op.create_index(batch_op.f('ix_users_mediator_id'), ['mediator_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_mediator_id'))
        batch_op.drop_index(batch_op.f('ix_users_link_token'))
        batch_op.drop_index(batch_op.f('ix_users_code'))
        batch_op.drop_column('acting_for_id')
        batch_op.drop_column('linked_at')
        batch_op.drop_column('link_token')
        batch_op.drop_column('phone')
        batch_op.drop_column('mediator_id')
        batch_op.drop_column('code')

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('assisted_by')

    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_column('assisted_by')

    with op.batch_alter_table('proposal_supports', schema=None) as batch_op:
        batch_op.drop_column('assisted_by')

    with op.batch_alter_table('poll_responses', schema=None) as batch_op:
        batch_op.drop_column('assisted_by')

    with op.batch_alter_table('event_rsvps', schema=None) as batch_op:
        batch_op.drop_column('feedback_voice_file_id')
        batch_op.drop_column('assisted_by')

    with op.batch_alter_table('discussion_statements', schema=None) as batch_op:
        batch_op.drop_column('voice_file_id')
