"""The app database (应用数据库): visits, problems, accounts; SQLite or PostgreSQL.

::

    from geodata import store
    store.upgrade("sqlite:///zoufang.sqlite")          # create / migrate (Alembic)
    engine = store.make_engine("sqlite:///zoufang.sqlite")
    with store.session_scope(engine) as s:
        camp = store.ensure_campaign(s, "demo")
    results = store.submit_visits(engine, batch, campaign_id=camp.id)

Everything a web blueprint or the CLI needs is re-exported here.
"""

from geodata.store.accounts import (
    ROLES,
    SCOPE_LEVELS,
    check_scope,
    account_for_token,
    authenticate,
    create_account,
    issue_token,
    revoke_token,
)
from geodata.store.areas import (
    ImportDataError,
    area_geometry,
    campaign_rows,
    coverage_in_polygon,
    file_fingerprint,
    import_campaign,
    places_in_view,
    rebuild_area_counters,
    rollup,
    totals,
)
from geodata.store.plan import (
    PlanDataError,
    cadre_counties,
    cadre_dates,
    cadre_stops,
    must_visits_status,
)
from geodata.store.engine import default_url, make_engine, normalise_url, session_factory, session_scope
from geodata.store.migrate import current, upgrade
from geodata.store.models import (
    Account,
    ApiToken,
    Area,
    AreaCounter,
    Base,
    CampaignRow,
    EntityCounter,
    Place,
    PlanMustVisit,
    PlanStop,
    Problem,
    ProblemEvent,
    Visit,
)
from geodata.store.spatial import ensure_postgis, has_postgis
from geodata.store.problems import (
    NotOwner,
    ProblemNotFound,
    problem_history,
    problems_frame,
    transition_problem,
)
from geodata.store.visits import (
    MAX_BATCH,
    counters_frame,
    ensure_campaign,
    rebuild_counters,
    record_visits,
    submit_visits,
    visits_frame,
)
from geodata.store.vocab import IllegalTransition

__all__ = [
    "SCOPE_LEVELS", "check_scope",
    "PlanDataError", "PlanMustVisit", "PlanStop", "cadre_counties", "cadre_dates", "cadre_stops",
    "must_visits_status",
    "Area", "AreaCounter", "ImportDataError", "Place", "area_geometry", "campaign_rows", "coverage_in_polygon",
    "ensure_postgis", "file_fingerprint", "has_postgis", "import_campaign", "places_in_view",
    "rebuild_area_counters", "rollup", "totals",
    "ROLES", "MAX_BATCH", "Account", "ApiToken", "Base", "CampaignRow", "EntityCounter", "IllegalTransition",
    "NotOwner", "Problem", "ProblemEvent", "ProblemNotFound", "Visit", "account_for_token", "authenticate",
    "counters_frame", "create_account", "current", "default_url", "ensure_campaign", "issue_token",
    "make_engine", "normalise_url", "problem_history", "problems_frame", "rebuild_counters", "record_visits",
    "revoke_token", "session_factory", "session_scope", "submit_visits", "transition_problem", "upgrade",
    "visits_frame",
]
