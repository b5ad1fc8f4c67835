"""recommendations to the council: recommendations, their evidence, steps, endorsements, supports

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 08:03:50
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recommendations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.JSON(), nullable=False),
    sa.Column('text', sa.JSON(), nullable=False),
    sa.Column('problem', sa.Text(), nullable=False),
    sa.Column('proposal', sa.Text(), nullable=False),
    sa.Column('district', sa.String(length=64), nullable=True),
    sa.Column('body', sa.String(length=64), nullable=False),
    sa.Column('default_locale', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('open_until', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('submitted_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('submitted_to', sa.String(length=64), nullable=True),
    sa.Column('submitted_how', sa.String(length=16), nullable=True),
    sa.Column('answer', sa.String(length=16), nullable=True),
    sa.Column('answer_text', sa.Text(), nullable=True),
    sa.Column('answer_file_id', sa.String(length=255), nullable=True),
    sa.Column('answered_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('closed_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('supporters', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_recommendations_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recommendations'))
    )
    with op.batch_alter_table('recommendations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recommendations_status'), ['status'], unique=False)

    op.create_table('recommendation_endorsements',
    sa.Column('recommendation_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_recommendation_endorsements_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recommendation_id'], ['recommendations.id'], name=op.f('fk_recommendation_endorsements_recommendation_id_recommendations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recommendation_endorsements_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('recommendation_id', 'org_id', name=op.f('pk_recommendation_endorsements'))
    )
    with op.batch_alter_table('recommendation_endorsements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recommendation_endorsements_user_id'), ['user_id'], unique=False)

    op.create_table('recommendation_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recommendation_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('ref_id', sa.Integer(), nullable=True),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recommendation_id'], ['recommendations.id'], name=op.f('fk_recommendation_evidence_recommendation_id_recommendations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recommendation_evidence')),
    sa.UniqueConstraint('recommendation_id', 'ref', name='uq_recommendation_evidence_ref')
    )
    with op.batch_alter_table('recommendation_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recommendation_evidence_recommendation_id'), ['recommendation_id'], unique=False)

    op.create_table('recommendation_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recommendation_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('old_status', sa.String(length=16), nullable=True),
    sa.Column('new_status', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_recommendation_steps_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recommendation_id'], ['recommendations.id'], name=op.f('fk_recommendation_steps_recommendation_id_recommendations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recommendation_steps'))
    )
    with op.batch_alter_table('recommendation_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recommendation_steps_recommendation_id'), ['recommendation_id'], unique=False)

    op.create_table('recommendation_supports',
    sa.Column('recommendation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recommendation_id'], ['recommendations.id'], name=op.f('fk_recommendation_supports_recommendation_id_recommendations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recommendation_supports_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('recommendation_id', 'user_id', name=op.f('pk_recommendation_supports'))
    )
    with op.batch_alter_table('recommendation_supports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recommendation_supports_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('recommendation_supports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recommendation_supports_user_id'))

    op.drop_table('recommendation_supports')
    with op.batch_alter_table('recommendation_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recommendation_steps_recommendation_id'))

    op.drop_table('recommendation_steps')
    with op.batch_alter_table('recommendation_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recommendation_evidence_recommendation_id'))

    op.drop_table('recommendation_evidence')
    with op.batch_alter_table('recommendation_endorsements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recommendation_endorsements_user_id'))

    op.drop_table('recommendation_endorsements')
    with op.batch_alter_table('recommendations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recommendations_status'))

    op.drop_table('recommendations')
