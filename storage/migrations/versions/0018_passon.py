"""reports: the organisation a report is passed on to (one of /orgs, not a typed label)

``routed_to`` keeps the name as the moderators read it (exports, the audit trail);
``routed_org_id`` says which organisation's representatives got the report and may act on it.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 16:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('routed_org_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('routed_org_id')
