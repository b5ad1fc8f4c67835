"""campaigns: who edits the organizer's progress message, and what it shows

With several engines each one used to edit the progress message from its own memory, so two
could send the same text (Telegram refuses an edit that changes nothing) and together edit it
more often than the interval. A conditional UPDATE on these columns now claims each edit.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 13:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('progress_digest', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('progress_edited_at', storage.models.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('progress_edited_at')
        batch_op.drop_column('progress_digest')
