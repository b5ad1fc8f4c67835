"""security: a pseudonym per report and per proposal; who a relayed message names

Existing reports and proposals get a random pseudonym each (the old one was per person and
linked a named report to the anonymous ones). Columns only: added without rebuilding a table.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 19:00:00
"""
from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _alias() -> str:
    return "R-" + "".join(secrets.choice(ALPHABET) for _ in range(5))


def upgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alias', sa.String(length=16), nullable=True))
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alias', sa.String(length=16), nullable=True))
    with op.batch_alter_table('report_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('author_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_report_messages_author_id'), ['author_id'], unique=False)
    conn = op.get_bind()
    for table in ('reports', 'proposals'):
        ids = [row[0] for row in conn.execute(sa.text(f'SELECT id FROM {table}'))]
        for row_id in ids:
            conn.execute(sa.text(f'UPDATE {table} SET alias = :alias WHERE id = :id'),
                         {'alias': _alias(), 'id': row_id})


def downgrade() -> None:
    with op.batch_alter_table('report_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_messages_author_id'))
        batch_op.drop_column('author_id')
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_column('alias')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('alias')
