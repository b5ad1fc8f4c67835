"""discussions: statements, anonymous participants (keyed hashes) and their votes

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 19:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('discussions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question', sa.JSON(), nullable=False),
    sa.Column('default_locale', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('closes_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_discussions_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discussions'))
    )
    with op.batch_alter_table('discussions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discussions_closes_at'), ['closes_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_discussions_status'), ['status'], unique=False)

    op.create_table('discussion_participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('discussion_id', sa.Integer(), nullable=False),
    sa.Column('participant', sa.String(length=80), nullable=False),
    sa.Column('district', sa.String(length=32), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['discussion_id'], ['discussions.id'], name=op.f('fk_discussion_participants_discussion_id_discussions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discussion_participants')),
    sa.UniqueConstraint('discussion_id', 'participant', name='uq_discussion_participants_key')
    )
    op.create_table('discussion_statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('discussion_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('norm', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('votes', sa.Integer(), server_default='0', nullable=False),
    sa.Column('seed', sa.Boolean(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('moderated_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('moderated_by', sa.BigInteger(), nullable=True),
    sa.Column('card_chat_id', sa.BigInteger(), nullable=True),
    sa.Column('card_message_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_discussion_statements_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['discussion_id'], ['discussions.id'], name=op.f('fk_discussion_statements_discussion_id_discussions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discussion_statements')),
    sa.UniqueConstraint('discussion_id', 'norm', name='uq_discussion_statements_norm')
    )
    with op.batch_alter_table('discussion_statements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discussion_statements_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_discussion_statements_discussion_id'), ['discussion_id'], unique=False)

    op.create_table('discussion_votes',
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('vote', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['discussion_participants.id'], name=op.f('fk_discussion_votes_participant_id_discussion_participants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['statement_id'], ['discussion_statements.id'], name=op.f('fk_discussion_votes_statement_id_discussion_statements'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('participant_id', 'statement_id', name=op.f('pk_discussion_votes'))
    )
    with op.batch_alter_table('discussion_votes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discussion_votes_statement_id'), ['statement_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('discussion_votes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_discussion_votes_statement_id'))

    op.drop_table('discussion_votes')
    with op.batch_alter_table('discussion_statements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_discussion_statements_discussion_id'))
        batch_op.drop_index(batch_op.f('ix_discussion_statements_author_id'))

    op.drop_table('discussion_statements')
    op.drop_table('discussion_participants')
    with op.batch_alter_table('discussions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_discussions_status'))
        batch_op.drop_index(batch_op.f('ix_discussions_closes_at'))

    op.drop_table('discussions')
