"""geodata.store: migrations, idempotent visit batches, counters, problem flow and history, tokens;
each on SQLite (WAL) and on a throwaway PostgreSQL server."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from sqlalchemy import func, select, text

from geodata import store
from planner.coverage import visit_counts
from visit_factories import TINY_VISITS, new_db, new_pg_db, tiny


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    url = new_db(tmp_path) if request.param == "sqlite" else new_pg_db()
    eng = store.make_engine(url)
    yield eng
    eng.dispose()


@pytest.fixture
def camp(engine):
    with store.session_scope(engine) as s:
        return store.ensure_campaign(s, "tiny", name="小走访").id


def _known():
    t = tiny()
    return {"household": set(t.households.household_id), "enterprise": set(t.enterprises.enterprise_id),
            "village": set(t.villages.village_id), "cadre": set(t.cadres.cadre_id)}


def test_upgrade_creates_every_table_and_matches_the_models(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    url = new_db(tmp_path)
    assert store.current(url) == "0003"
    store.upgrade(url)  # a second upgrade is a no-op
    eng = store.make_engine(url)
    with eng.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), store.Base.metadata) == []
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    eng.dispose()


def test_plain_paths_and_postgres_urls_are_normalised():
    assert store.normalise_url("/tmp/x.sqlite") == "sqlite:////tmp/x.sqlite"
    assert store.normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert store.normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"


def test_a_batch_stores_good_records_and_answers_each_bad_one(engine, camp):
    bad = [
        {"client_id": "b1", "entity_type": "household", "entity_id": "H1", "cadre_id": "C1",
         "visited_at": "2026-03-02T09:00:00", "outcome": "asleep"},  # unknown outcome
        {"client_id": "b2", "entity_type": "household", "entity_id": "H99", "cadre_id": "C1",
         "visited_at": "2026-03-02T09:00:00", "outcome": "visited"},  # no such household
        {"entity_type": "household", "entity_id": "H1", "cadre_id": "C1",
         "visited_at": "2026-03-02T09:00:00", "outcome": "visited"},  # no client id
        {"client_id": "b4", "entity_type": "household", "entity_id": "H1", "cadre_id": "C1",
         "visited_at": "yesterday", "outcome": "visited"},  # not a date
        {"client_id": "b5", "entity_type": "household", "entity_id": "H1", "cadre_id": "C1",
         "visited_at": "2026-03-02T09:00:00", "outcome": "visited", "survey": {"shoe_size": 42}},  # unknown field
        {"client_id": "b6", "entity_type": "household", "entity_id": "H1", "cadre_id": "C1",
         "visited_at": "2026-03-02T09:00:00", "outcome": "not_home",
         "problems": [{"client_id": "bp", "category": "other", "description": "x"}]},  # nobody home, no problem
        "not an object",
    ]
    batch = TINY_VISITS[:3] + bad + TINY_VISITS[3:]
    res = store.submit_visits(engine, batch, campaign_id=camp, known=_known())
    assert [r["status"] for r in res] == ["created"] * 3 + ["error"] * len(bad) + ["created"] * 9
    errs = {r["client_id"]: r["errors"] for r in res if r["status"] == "error"}
    assert "outcome: 'asleep' is not one of" in errs["b1"][0]
    assert errs["b2"] == ["entity_id: no household 'H99' in this campaign"]
    assert any("client_id: required" in e for e in res[5]["errors"])
    assert any(e.startswith("visited_at:") for e in errs["b4"])
    assert any("shoe_size" in e for e in errs["b5"])
    assert any("cannot raise problems" in e for e in errs["b6"])
    assert "JSON object" in res[9]["errors"][0]
    with store.session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(store.Visit)) == len(TINY_VISITS)
        assert s.scalar(select(func.count()).select_from(store.Problem)) == 4


def test_a_resent_batch_never_duplicates(engine, camp):
    first = store.submit_visits(engine, TINY_VISITS, campaign_id=camp)
    again = store.submit_visits(engine, copy.deepcopy(TINY_VISITS) + TINY_VISITS[:2], campaign_id=camp)
    assert all(r["status"] == "duplicate" for r in again)
    assert [r["visit_id"] for r in again[:len(first)]] == [r["visit_id"] for r in first]
    assert again[0]["problem_ids"] == first[0]["problem_ids"] != []
    with store.session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(store.Visit)) == len(TINY_VISITS)
        assert s.scalar(select(func.count()).select_from(store.Problem)) == 4
        counters = store.counters_frame(s, campaign_id=camp)
        recount = visit_counts(store.visits_frame(s, campaign_id=camp))
    assert counters.equals(recount)
    h7 = counters.set_index("entity_id").loc["H7"]
    assert (h7.visits, h7.visited, h7.not_home) == (2, 1, 1)


def test_a_problem_client_id_used_by_another_visit_is_an_error(engine, camp):
    store.submit_visits(engine, TINY_VISITS[:1], campaign_id=camp)
    clash = copy.deepcopy(TINY_VISITS[1])
    clash.update(outcome="visited", problems=[{"client_id": "p1", "category": "other", "description": "again"}])
    res = store.submit_visits(engine, [clash, TINY_VISITS[2]], campaign_id=camp)
    assert res[0]["status"] == "error" and "already used" in res[0]["errors"][0]
    assert res[1]["status"] == "created"
    with store.session_scope(engine) as s:  # the refused visit left nothing behind
        assert s.scalar(select(func.count()).select_from(store.Visit)) == 2
        assert store.counters_frame(s, campaign_id=camp)["entity_id"].tolist() == ["H1", "H3"]


def test_times_with_a_zone_are_stored_as_beijing_wall_time(engine, camp):
    rec = dict(TINY_VISITS[1], client_id="z1", visited_at="2026-03-02T01:30:00Z")
    store.submit_visits(engine, [rec], campaign_id=camp)
    with store.session_scope(engine) as s:
        assert s.scalar(select(store.Visit.visited_at)) == dt.datetime(2026, 3, 2, 9, 30)


def _problem(s, client_id):
    return s.scalar(select(store.Problem).where(store.Problem.client_id == client_id))


def test_problem_flow_to_confirmation_with_a_hand_over_in_the_history(engine, camp):
    store.submit_visits(engine, TINY_VISITS, campaign_id=camp)
    with store.session_scope(engine) as s:
        p = _problem(s, "p1")
        assert (p.status, p.owner_cadre_id, p.due_date) == ("open", "C1", dt.date(2026, 3, 17))
        pid = p.id
        store.transition_problem(s, pid, "assign", actor="C1", actor_cadre_id="C1")
        store.transition_problem(s, pid, "handover", actor="planner1", to_owner="C2", to_unit="镇卫生院",
                                 note="需镇卫生院协调")
        with pytest.raises(store.NotOwner, match="owned by cadre 'C2'"):
            store.transition_problem(s, pid, "start", actor="C1", actor_cadre_id="C1")
        store.transition_problem(s, pid, "start", actor="C2", actor_cadre_id="C2")
        store.transition_problem(s, pid, "solve", actor="C2", at=dt.datetime(2026, 3, 12, 10))
        store.transition_problem(s, pid, "reject", actor="C2", note="群众不满意")
        p = _problem(s, "p1")
        assert (p.status, p.solved_at, p.reopened) == ("open", None, 1)
        store.transition_problem(s, pid, "assign", actor="C2")
        store.transition_problem(s, pid, "start", actor="C2")
        store.transition_problem(s, pid, "solve", actor="C2", at=dt.datetime(2026, 3, 14, 10))
        store.transition_problem(s, pid, "confirm", actor="C2", at=dt.datetime(2026, 3, 15, 10))
        hist = store.problem_history(s, pid)
    assert [h["action"] for h in hist] == ["create", "assign", "handover", "start", "solve", "reject", "assign",
                                           "start", "solve", "confirm"]
    hand = hist[2]
    assert (hand["from_owner"], hand["to_owner"], hand["to_unit"], hand["actor"]) == ("C1", "C2", "镇卫生院",
                                                                                      "planner1")
    assert [h["to_status"] for h in hist][-1] == "confirmed"
    with store.session_scope(engine) as s:
        p = _problem(s, "p1")
        assert (p.status, p.owner_cadre_id, p.owner_unit) == ("confirmed", "C2", "镇卫生院")
        assert p.solved_at == dt.datetime(2026, 3, 14, 10) and p.confirmed_at == dt.datetime(2026, 3, 15, 10)


@pytest.mark.parametrize("steps, action, match", [
    ([], "start", "status 'open'.*allowed: assign, handover"),  # must be assigned first
    ([], "confirm", "cannot take action 'confirm'"),  # nothing solved yet
    ([], "solve", "allowed: assign, handover"),  # not on the spot: no shortcut to solved
    (["assign", "start", "solve", "confirm"], "reject", "allowed: nothing \\(closed\\)"),  # closed stays closed
    (["assign"], "handover", "names the cadre"),  # hand-over without a receiver
    ([], "fly", "unknown action"),
])
def test_illegal_transitions_are_refused_and_change_nothing(engine, camp, steps, action, match):
    store.submit_visits(engine, TINY_VISITS, campaign_id=camp)
    with store.session_scope(engine) as s:
        pid = _problem(s, "p1").id
        for a in steps:
            store.transition_problem(s, pid, a, actor="C1")
        before = (_problem(s, "p1").status, len(store.problem_history(s, pid)))
        with pytest.raises(store.IllegalTransition, match=match):
            store.transition_problem(s, pid, action, actor="C1")
        assert (_problem(s, "p1").status, len(store.problem_history(s, pid))) == before


def test_on_the_spot_problems_may_be_solved_at_once(engine, camp):
    store.submit_visits(engine, TINY_VISITS, campaign_id=camp)
    with store.session_scope(engine) as s:
        p = _problem(s, "p2")
        assert p.level == "on_spot" and p.due_date == dt.date(2026, 3, 6)
        store.transition_problem(s, p.id, "solve", actor="C3", actor_cadre_id="C3")
        assert _problem(s, "p2").status == "solved"
        with pytest.raises(store.ProblemNotFound):
            store.transition_problem(s, 999, "solve", actor="C3")


def test_tokens_identify_their_account_until_revoked(engine):
    with store.session_scope(engine) as s:
        acc = store.create_account(s, "c1", "pw-123456", role="cadre", cadre_id="C1")
        assert store.authenticate(s, "c1", "wrong") is None
        assert store.authenticate(s, "c1", "pw-123456").id == acc.id
        token = store.issue_token(s, acc)
        assert store.account_for_token(s, token).cadre_id == "C1"
        assert store.account_for_token(s, token + "x") is None
        assert store.account_for_token(s, None) is None
        # only the hash is stored
        assert s.scalar(select(func.count()).select_from(store.ApiToken)
                        .where(store.ApiToken.token_hash == token)) == 0
        store.revoke_token(s, token)
        assert store.account_for_token(s, token) is None
        with pytest.raises(ValueError, match="names its cadre_id"):
            store.create_account(s, "c2", "pw", role="cadre")


def test_rebuild_counters_repairs_a_damaged_table(engine, camp):
    store.submit_visits(engine, TINY_VISITS, campaign_id=camp)
    with store.session_scope(engine) as s:
        before = store.counters_frame(s, campaign_id=camp)
        s.execute(text("UPDATE entity_counters SET visits = 99"))
        assert store.rebuild_counters(s, campaign_id=camp) == len(before)
    with store.session_scope(engine) as s:
        assert store.counters_frame(s, campaign_id=camp).equals(before)
