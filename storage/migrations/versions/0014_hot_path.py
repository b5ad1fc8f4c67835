"""hot path: a poll answer is one row a vote writes with INSERT … ON CONFLICT

``poll_answers.slot``: -1 for the one answer of a single-choice, scale or text question, the
option index for each option chosen in a multiple-choice question; unique per (response,
question, slot). Rows a re-run tap doubled are removed first (the latest one stays).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 19:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
# On the hotpath branch this follows 0011: 0012 and 0013 are written on other branches. At the
# merge this becomes '0013' (the chain's previous head).
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('poll_answers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('slot', sa.Integer(), server_default='-1', nullable=False))
    op.execute(
        "UPDATE poll_answers SET slot = choice WHERE choice IS NOT NULL AND question_id IN "
        "(SELECT id FROM poll_questions WHERE kind = 'multi')"
    )
    op.execute(
        "DELETE FROM poll_answers WHERE id NOT IN "
        "(SELECT keep FROM (SELECT MAX(id) AS keep FROM poll_answers GROUP BY response_id, question_id, slot) AS k)"
    )
    with op.batch_alter_table('poll_answers', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_poll_answers_slot', ['response_id', 'question_id', 'slot'])


def downgrade() -> None:
    with op.batch_alter_table('poll_answers', schema=None) as batch_op:
        batch_op.drop_constraint('uq_poll_answers_slot', type_='unique')
        batch_op.drop_column('slot')
