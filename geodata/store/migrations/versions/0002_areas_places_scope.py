"""Areas, places and area counters (a shared database for many offices), account scopes (issue 7).

Adds ``areas`` (county/town/village/grid), ``places`` (households and enterprises,
public columns only), ``area_counters`` (pre-aggregated coverage), the campaign's
import fingerprint and the accounts' scope (province / city / county). On
PostgreSQL with PostGIS, geometry columns and GiST indexes too
(:func:`geodata.store.spatial.ensure_postgis`). Existing rows keep their
values: accounts get no scope (they see the whole campaign, as before).

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as b:
        b.add_column(sa.Column("import_fingerprint", sa.String(length=64), nullable=True))
        b.add_column(sa.Column("imported_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("accounts") as b:
        b.add_column(sa.Column("scope_level", sa.String(length=16), nullable=True))
        b.add_column(sa.Column("scope_id", sa.String(length=64), nullable=True))
        b.add_column(sa.Column("scope_counties", sa.Text(), nullable=True))

    op.create_table(
        "areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("area_id", sa.String(length=64), nullable=False),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.Column("county_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("minx", sa.Float(), nullable=True),
        sa.Column("miny", sa.Float(), nullable=True),
        sa.Column("maxx", sa.Float(), nullable=True),
        sa.Column("maxy", sa.Float(), nullable=True),
        sa.Column("geom_wkb", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_areas_campaign_id_campaigns")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_areas")),
        sa.UniqueConstraint("campaign_id", "level", "area_id", name="uq_areas_campaign_level_area"),
    )
    op.create_index("ix_areas_campaign_county", "areas", ["campaign_id", "county_id", "level"])

    op.create_table(
        "places",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("county_id", sa.String(length=64), nullable=True),
        sa.Column("town_id", sa.String(length=64), nullable=True),
        sa.Column("village_id", sa.String(length=64), nullable=True),
        sa.Column("grid_id", sa.String(length=64), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("team_id", sa.String(length=64), nullable=True),
        sa.Column("cadre_id", sa.String(length=64), nullable=True),
        sa.Column("phone_ok", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_places_campaign_id_campaigns")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_places")),
        sa.UniqueConstraint("campaign_id", "entity_type", "entity_id", name="uq_places_campaign_entity"),
    )
    op.create_index("ix_places_campaign_county", "places", ["campaign_id", "county_id"])
    op.create_index("ix_places_campaign_lon_lat", "places", ["campaign_id", "lon", "lat"])

    op.create_table(
        "area_counters",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("area_id", sa.String(length=64), nullable=False),
        sa.Column("county_id", sa.String(length=64), nullable=True),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("households_covered", sa.Integer(), nullable=False),
        sa.Column("enterprises", sa.Integer(), nullable=False),
        sa.Column("enterprises_covered", sa.Integer(), nullable=False),
        sa.Column("not_home_backlog", sa.Integer(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"],
                                name=op.f("fk_area_counters_campaign_id_campaigns")),
        sa.PrimaryKeyConstraint("campaign_id", "level", "area_id", name=op.f("pk_area_counters")),
    )
    op.create_index("ix_area_counters_campaign_county", "area_counters", ["campaign_id", "county_id", "level"])

    from geodata.store.spatial import ensure_postgis

    ensure_postgis(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_area_counters_campaign_county", table_name="area_counters")
    op.drop_table("area_counters")
    op.drop_index("ix_places_campaign_lon_lat", table_name="places")
    op.drop_index("ix_places_campaign_county", table_name="places")
    op.drop_table("places")
    op.drop_index("ix_areas_campaign_county", table_name="areas")
    op.drop_table("areas")
    with op.batch_alter_table("accounts") as b:
        b.drop_column("scope_counties")
        b.drop_column("scope_id")
        b.drop_column("scope_level")
    with op.batch_alter_table("campaigns") as b:
        b.drop_column("imported_at")
        b.drop_column("import_fingerprint")
