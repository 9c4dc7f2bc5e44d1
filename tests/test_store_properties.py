"""Property: whatever mix of new, repeated and broken records arrives in whatever batches,
each good record is stored once and the counters equal a recount (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geodata import store
from planner.coverage import visit_counts

GOOD = st.fixed_dictionaries({
    "client_id": st.sampled_from([f"c{i}" for i in range(12)]),
    "entity_type": st.just("household"),
    "entity_id": st.sampled_from(["H1", "H2", "H3"]),
    "cadre_id": st.just("C1"),
    "visited_at": st.sampled_from(["2026-03-02T10:00:00", "2026-03-03T11:30:00+08:00", "2026-03-04T02:00:00Z"]),
    "outcome": st.sampled_from(["visited", "not_home", "refused", "phone"]),
})
BAD = st.one_of(
    GOOD.map(lambda r: {**r, "outcome": "later"}),
    GOOD.map(lambda r: {k: v for k, v in r.items() if k != "entity_id"}),
    st.just(None),
)
BATCHES = st.lists(st.lists(st.one_of(GOOD, GOOD, BAD), max_size=8), min_size=1, max_size=5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=BATCHES)
def test_any_sequence_of_batches_stores_each_record_once(batches):
    engine = store.make_engine("sqlite:///:memory:")
    store.Base.metadata.create_all(engine)
    with store.session_scope(engine) as s:
        cid = store.ensure_campaign(s, "p").id
    first: dict[str, dict] = {}
    for batch in batches:
        for rec, res in zip(batch, store.submit_visits(engine, batch, campaign_id=cid)):
            good = isinstance(rec, dict) and rec.get("outcome") != "later" and "entity_id" in rec
            assert (res["status"] != "error") == good, (rec, res)
            if good:
                first.setdefault(rec["client_id"], rec)
    with store.session_scope(engine) as s:
        visits = store.visits_frame(s, campaign_id=cid)
        counters = store.counters_frame(s, campaign_id=cid)
    assert sorted(visits["client_id"]) == sorted(first)
    assert counters.equals(visit_counts(visits))
    # the first version of a client id wins; later versions are answered duplicate
    assert dict(zip(visits["client_id"], visits["outcome"])) == {k: r["outcome"] for k, r in first.items()}
    engine.dispose()
