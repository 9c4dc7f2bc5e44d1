"""The plan's must-visits and schedule in the database (issue 7 item 3).

Adds ``plan_must_visits`` (rule, place, cadre, team, county) and ``plan_stops``
(a cadre's stops per date in route order, with times, travel, county and WGS-84
position), filled by :func:`geodata.store.import_campaign` from the plan file's
``must_visits`` and ``stops`` layers. Public columns only. ``campaigns.plan_fingerprint``:
the hash of the plan alone, so that a new plan on the same campaign updates the
places' teams and the plan rows without importing the campaign again. Existing rows are
untouched; the tables start empty until the next import (the plan's fingerprint
is cleared so that ``zoufang serve --db`` imports again at its next start).

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as b:
        b.add_column(sa.Column("plan_fingerprint", sa.String(length=64), nullable=True))
    op.create_table(
        "plan_must_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("cadre_id", sa.String(length=64), nullable=True),
        sa.Column("team_id", sa.String(length=64), nullable=True),
        sa.Column("county_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"],
                                name=op.f("fk_plan_must_visits_campaign_id_campaigns")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_must_visits")),
    )
    op.create_index("ix_plan_must_visits_campaign_county", "plan_must_visits", ["campaign_id", "county_id"])
    op.create_index("ix_plan_must_visits_campaign_cadre", "plan_must_visits", ["campaign_id", "cadre_id"])

    op.create_table(
        "plan_stops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("cadre_id", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=True),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=True),
        sa.Column("arrive", sa.String(length=5), nullable=True),
        sa.Column("depart", sa.String(length=5), nullable=True),
        sa.Column("travel_s", sa.Integer(), nullable=True),
        sa.Column("travel_m", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("county_id", sa.String(length=64), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_plan_stops_campaign_id_campaigns")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_stops")),
    )
    op.create_index("ix_plan_stops_cadre_day", "plan_stops", ["campaign_id", "cadre_id", "date", "seq"])
    op.create_index("ix_plan_stops_county_day", "plan_stops", ["campaign_id", "county_id", "date"])

    # the next import must fill the new tables even when the files are unchanged
    op.execute(sa.text("UPDATE campaigns SET import_fingerprint = NULL"))


def downgrade() -> None:
    op.drop_index("ix_plan_stops_county_day", table_name="plan_stops")
    op.drop_index("ix_plan_stops_cadre_day", table_name="plan_stops")
    op.drop_table("plan_stops")
    op.drop_index("ix_plan_must_visits_campaign_cadre", table_name="plan_must_visits")
    op.drop_index("ix_plan_must_visits_campaign_county", table_name="plan_must_visits")
    op.drop_table("plan_must_visits")
    with op.batch_alter_table("campaigns") as b:
        b.drop_column("plan_fingerprint")
