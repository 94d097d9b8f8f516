"""Exchanges of plots between two member households of one collective (互换, R04, Art. 33):
both contracts revised in one transaction, filed with the 发包方, refused in plain words for a
plot of another collective, a plot not in the named contract, or a plot that something weighs on."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.audit import trail
from app.audit.models import AuditEntry
from app.core.calendar import county_today
from app.extensions import db
from app.registry import encumbrances, exchanges, history, land
from app.registry.models import Certificate, LandContract, Plot, PlotExchange
from tests.conftest import token_for
from tests.factories import encumbrances as ef
from tests.factories import land as lf
from tests.factories.land import refused


class W(dict):
    __getattr__ = dict.__getitem__


@pytest.fixture
def two(ctx, baseline) -> W:
    made = ef.pair(baseline.collective_a)
    return W(made, coll=baseline.collective_a, other=baseline.collective_b)


def _exchange(w: W, plots_a=None, plots_b=None, **kw):
    args = dict(
        agreement_document_id=w.doc,
        filing_document_id=w.doc,
        filed_on=lf.TODAY,
        reason="互换并地，便于耕种",
    )
    args.update(kw)
    return exchanges.exchange_plots(
        w.a["household_uid"],
        plots_a if plots_a is not None else [w.a["plot_uids"][0]],
        w.b["household_uid"],
        plots_b if plots_b is not None else [w.b["plot_uids"][0]],
        **args,
    )


def _where(plot_uid: int) -> int | None:
    return history.current_of(Plot, plot_uid).contract_uid


def _unchanged(w: W) -> None:
    for side in (w.a, w.b):
        for uid in side["plot_uids"]:
            assert _where(uid) == side["contract_uid"]
            assert history.current_of(Plot, uid).version == 1
    assert (
        db.session.scalar(select(PlotExchange.id)) is None
        or not db.session.scalars(
            select(PlotExchange).where(PlotExchange.contract_a_uid == w.a["contract_uid"])
        ).first()
    )


def test_r04_an_exchange_revises_both_contracts_in_one_transaction(two):
    area_a = history.current_of(LandContract, two.a["contract_uid"]).contract_area_m2
    done = _exchange(two, plots_a=[two.a["plot_uids"][1]], plots_b=[two.b["plot_uids"][0]])
    # A's second plot (1100 m²) is now in B's contract, B's first (1000 m²) in A's.
    assert _where(two.a["plot_uids"][1]) == two.b["contract_uid"]
    assert _where(two.b["plot_uids"][0]) == two.a["contract_uid"]
    moved = history.current_of(Plot, two.a["plot_uids"][1])
    assert moved.household_uid == two.b["household_uid"] and moved.version == 2
    assert history.versions(Plot, moved.uid)[0].contract_uid == two.a["contract_uid"]
    new_area_a = history.current_of(LandContract, two.a["contract_uid"]).contract_area_m2
    assert new_area_a == area_a - 100.0
    # Filed with the 发包方 and recorded; both contracts' certificates follow.
    row = done.exchange
    assert (row.filing_document_id, row.filed_on) == (two.doc, lf.TODAY)
    assert exchanges.plot_uids(row) == ([two.a["plot_uids"][1]], [two.b["plot_uids"][0]])
    for side in (two.a, two.b):
        assert exchanges.exchanges_of_contract(side["contract_uid"])[0].id == row.id
        cert = db.session.scalar(
            select(Certificate).where(
                Certificate.right_uid == side["contract_uid"], Certificate.status == "valid"
            )
        )
        assert cert is not None
    events = set(db.session.scalars(select(AuditEntry.event)))
    assert "exchange.record" in events


def test_r04_a_failure_mid_way_leaves_both_contracts_unchanged(two):
    """B's plot overlaps a plot of the collective's own land with an open finding: once it has
    joined A's contract, A's certificate cannot follow. The plots moved before are moved back."""
    x, y = lf.origin(two.coll)
    overlapping = land.add_plot(
        two.coll,
        lf.dkbm(two.coll),
        lf.geojson(lf.square(x, y)),
        lf.CRS,
        contract_uid=two.b["contract_uid"],
        name="乙户田3",
        source_document_id=two.doc,
        reason="确权测绘",
    ).plot.uid
    land.add_plot(
        two.coll,
        lf.dkbm(two.coll),
        lf.geojson(lf.square(x + 20, y + 20)),
        lf.CRS,
        name="重叠地",
        source_document_id=two.doc,
        reason="测绘",
    )
    with refused(code="overlap_open"):
        _exchange(two, plots_b=[overlapping])
    _unchanged(two)
    assert _where(overlapping) == two.b["contract_uid"]


def test_r04_an_exchange_with_another_collectives_plot_is_refused(two):
    other = ef.contract_with_plots(two.other, "外组户", lf.make_document(two.other), plots=1)
    with refused(rule="R04", code="plot_other_collective") as r:
        _exchange(two, plots_b=[other["plot_uids"][0]])
    assert "同一" in r.error.message or "same collective" in r.error.message
    _unchanged(two)
    assert _where(other["plot_uids"][0]) == other["contract_uid"]


def test_r04_households_of_two_collectives_cannot_exchange(two):
    other = ef.contract_with_plots(two.other, "外组户", lf.make_document(two.other), plots=1)
    with refused(rule="R04", code="not_same_collective"):
        exchanges.exchange_plots(
            two.a["household_uid"],
            [two.a["plot_uids"][0]],
            other["household_uid"],
            other["plot_uids"],
            agreement_document_id=two.doc,
            filing_document_id=two.doc,
            filed_on=lf.TODAY,
            reason="互换",
        )
    # Acting in collective A, a household of B does not exist.
    with refused(code="household_not_found"):
        exchanges.exchange_plots(
            two.a["household_uid"],
            [two.a["plot_uids"][0]],
            other["household_uid"],
            other["plot_uids"],
            agreement_document_id=two.doc,
            filing_document_id=two.doc,
            filed_on=lf.TODAY,
            reason="互换",
            collective_id=two.coll,
        )


def test_a_plot_not_in_the_named_contract_is_refused(two):
    with refused(code="plot_not_in_contract"):
        _exchange(two, plots_a=[two.b["plot_uids"][1]])
    with refused(code="same_household"):
        exchanges.exchange_plots(
            two.a["household_uid"],
            [two.a["plot_uids"][0]],
            two.a["household_uid"],
            [two.a["plot_uids"][1]],
            agreement_document_id=two.doc,
            filing_document_id=two.doc,
            filed_on=lf.TODAY,
            reason="互换",
        )
    _unchanged(two)


def test_a_frozen_plot_cannot_be_exchanged_and_a_released_freeze_no_longer_blocks(two):
    with trail.acting(trail.AuditContext(actor="county", role="bureau_reviewer")):
        freeze = encumbrances.record_encumbrance(
            "freeze",
            "plot",
            two.b["plot_uids"][0],
            party_name="始兴县人民法院",
            case_number="(2026)粤0222执123号",
            starts_on=lf.TODAY,
            source_document_id=two.doc,
        )
    with refused(code="encumbered_freeze") as r:
        _exchange(two)
    assert "始兴县人民法院" in r.error.message
    _unchanged(two)
    with trail.acting(trail.AuditContext(actor="county", role="bureau_reviewer")):
        encumbrances.release_encumbrance(
            freeze.id,
            released_on=county_today(),
            reason="法院解除查封",
            source_document_id=two.doc,
        )
    _exchange(two)
    assert _where(two.b["plot_uids"][0]) == two.a["contract_uid"]


def test_a_disputed_plot_cannot_be_exchanged(two):
    encumbrances.record_encumbrance(
        "dispute",
        "plot",
        two.a["plot_uids"][0],
        party_name="邻户王某",
        starts_on=lf.TODAY,
        source_document_id=two.doc,
    )
    with refused(code="encumbered_dispute"):
        _exchange(two)
    _unchanged(two)


def test_r02_a_plot_may_not_join_a_contract_running_past_the_one_it_leaves(ctx, baseline):
    coll = baseline.collective_a
    doc = lf.make_document(coll)
    a = ef.contract_with_plots(coll, "短期户", doc, plots=1, term_end=date(2040, 12, 31))
    b = ef.contract_with_plots(coll, "长期户", doc, plots=1)
    with refused(rule="R02", code="beyond_contract_term"):
        exchanges.exchange_plots(
            a["household_uid"],
            a["plot_uids"],
            b["household_uid"],
            b["plot_uids"],
            agreement_document_id=doc,
            filing_document_id=doc,
            filed_on=lf.TODAY,
            reason="互换",
        )
    assert _where(a["plot_uids"][0]) == a["contract_uid"]


@pytest.mark.hostile
@pytest.mark.parametrize(
    "plots_a, code",
    [
        ([], "plots_required"),
        ("1", "plots_required"),
        ([True], "plots_required"),
        ([2**40], "plots_required"),
        (["7"], "plots_required"),
    ],
)
def test_hostile_plot_lists_are_refused_in_words(two, plots_a, code):
    with refused(code=code):
        _exchange(two, plots_a=plots_a)
    _unchanged(two)


@pytest.mark.hostile
def test_hostile_dates_reasons_and_documents(two):
    with refused(code="reason_required"):
        _exchange(two, reason="   ")
    with refused(code="too_long"):
        _exchange(two, reason="长" * 5000)
    with refused(code="date_required"):
        _exchange(two, filed_on="2026-13-45")
    with refused(code="future_date"):
        _exchange(two, filed_on=county_today() + timedelta(days=3))
    with refused(code="source_required"):
        _exchange(two, filing_document_id=None)
    _unchanged(two)


# --- pages and API -------------------------------------------------------------------------


@pytest.fixture
def committed(app, baseline):
    """The pair, committed in the test's transaction, for requests."""
    with app.app_context(), trail.acting(trail.AuditContext(actor="factory", role="system")):
        made = ef.pair(baseline.collective_a)
        other = ef.contract_with_plots(
            baseline.collective_b, "外组户", lf.make_document(baseline.collective_b), plots=1
        )
        db.session.commit()
    return W(made, coll=baseline.collective_a, other_plot=other["plot_uids"][0])


def test_the_admin_exchanges_plots_on_a_page_and_both_contracts_show_it(
    app, client, auth, committed
):
    w = committed
    auth.login("admin_a")
    url = f"/collectives/{w.coll}/exchanges/new"
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "甲户" in html and "乙户田1" in html  # households and plots chosen by name
    data = {
        "household_a_uid": w.a["household_uid"],
        "plot_a_uids": [w.a["plot_uids"][0]],
        "household_b_uid": w.b["household_uid"],
        "plot_b_uids": [w.b["plot_uids"][0]],
        "agreement_document_id": w.doc,
        "filing_document_id": w.doc,
        "filed_on": lf.TODAY.isoformat(),
        "reason": "互换并地",
    }
    r = client.post(url, data=data)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    shown = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "甲户田1" in shown and "乙户田1" in shown
    for side in (w.a, w.b):
        contract_page = client.get(f"/contracts/{side['contract_uid']}").get_data(as_text=True)
        assert "互换" in contract_page or "Exchange" in contract_page
    with app.app_context():
        assert history.current_of(Plot, w.a["plot_uids"][0]).contract_uid == w.b["contract_uid"]


def test_the_page_refuses_another_collectives_plot_in_words(app, client, auth, committed):
    w = committed
    auth.login("admin_a")
    r = client.post(
        f"/collectives/{w.coll}/exchanges/new",
        data={
            "household_a_uid": w.a["household_uid"],
            "plot_a_uids": [w.a["plot_uids"][0]],
            "household_b_uid": w.b["household_uid"],
            "plot_b_uids": [w.other_plot],
            "agreement_document_id": w.doc,
            "filing_document_id": w.doc,
            "filed_on": lf.TODAY.isoformat(),
            "reason": "互换",
        },
    )
    assert r.status_code == 422
    with app.app_context():
        assert history.current_of(Plot, w.a["plot_uids"][0]).contract_uid == w.a["contract_uid"]


@pytest.mark.authz
def test_exchange_pages_are_404_for_farmers_and_other_collectives(app, client, auth, committed):
    w = committed
    for user in ("farmer_a", "admin_b", "bureau"):
        auth.logout()
        auth.login(user)
        assert client.get(f"/collectives/{w.coll}/exchanges/new").status_code == 404, user


def test_the_api_exchanges_plots_and_refuses_another_collectives_plot(app, client, committed):
    w = committed
    token = token_for(app, "admin_a")
    headers = {"Authorization": f"Bearer {token}"}
    body = {
        "household_a_uid": w.a["household_uid"],
        "plot_a_uids": [w.a["plot_uids"][0]],
        "household_b_uid": w.b["household_uid"],
        "plot_b_uids": [w.other_plot],
        "agreement_document_id": w.doc,
        "filing_document_id": w.doc,
        "filed_on": lf.TODAY.isoformat(),
        "reason": "互换",
    }
    r = client.post("/api/v1/exchanges", json=body, headers=headers)
    assert r.status_code == 422 and r.get_json()["error"]["rule"] == "R04"
    body["plot_b_uids"] = [w.b["plot_uids"][0]]
    r = client.post("/api/v1/exchanges", json=body, headers=headers)
    assert r.status_code == 201, r.get_json()
    got = client.get(r.headers["Location"], headers=headers)
    assert got.status_code == 200
    assert got.get_json()["plots_a"][0]["plot_uid"] == w.a["plot_uids"][0]
    other = {"Authorization": f"Bearer {token_for(app, 'admin_b')}"}
    assert client.get(r.headers["Location"], headers=other).status_code == 404


# --- two exchanges of one plot at once -----------------------------------------------------


@pytest.mark.concurrency
def test_r04_two_exchanges_of_one_plot_at_once_register_exactly_one(fresh_app):
    """甲户's first plot is offered to 乙户 and to 丙户 at the same moment, on real commits: one
    exchange registers, the other is refused in words, and the registry stays consistent (the
    plot in exactly one contract, each contract with one current version and one valid
    certificate, areas that add up, one exchange recorded)."""
    from tests.concurrency import ACTOR, race_outcomes

    app = fresh_app
    coll = app.extensions["sanquan_baseline"].collective_a
    with app.app_context(), app.test_request_context(), trail.acting(ACTOR):
        w = W(ef.pair(coll))
        w["c"] = ef.contract_with_plots(coll, "丙户", w.doc)
        areas_before = sum(
            history.current_of(LandContract, side["contract_uid"]).contract_area_m2
            for side in (w.a, w.b, w.c)
        )
        db.session.commit()
        db.session.remove()
    contested = w.a["plot_uids"][0]

    def offer(to: dict):
        return lambda: exchanges.exchange_plots(
            w.a["household_uid"],
            [contested],
            to["household_uid"],
            [to["plot_uids"][0]],
            agreement_document_id=w.doc,
            filing_document_id=w.doc,
            filed_on=lf.TODAY,
            reason="互换并地",
            collective_id=coll,
        )

    outcomes = race_outcomes(app, [offer(w.b), offer(w.c)])
    results = [o.result for o in outcomes]
    assert sorted(r == "ok" for r in results) == [False, True], outcomes
    loser = next(o for o in outcomes if o.result != "ok")
    assert loser.message and not loser.message.isascii(), loser  # words, in Chinese
    winner = (w.b, w.c)[results.index("ok")]
    other = (w.c, w.b)[results.index("ok")]
    with app.app_context(), app.test_request_context():
        assert _where(contested) == winner["contract_uid"]
        assert _where(winner["plot_uids"][0]) == w.a["contract_uid"]
        assert _where(other["plot_uids"][0]) == other["contract_uid"]
        rows = list(db.session.scalars(select(PlotExchange)))
        assert len(rows) == 1 and exchanges.plot_uids(rows[0])[0] == [contested]
        total = 0.0
        for side in (w.a, w.b, w.c):
            versions = history.versions(LandContract, side["contract_uid"])
            assert sum(v.end_lifespan is None for v in versions) == 1
            contract = history.current_of(LandContract, side["contract_uid"])
            total += contract.contract_area_m2
            valid = db.session.scalars(
                select(Certificate).where(
                    Certificate.right_uid == side["contract_uid"], Certificate.status == "valid"
                )
            ).all()
            # the two contracts of the exchange have their certificates replaced, once
            assert len(valid) == (0 if side is other else 1)
            in_contract = db.session.scalars(
                select(Plot).where(
                    Plot.contract_uid == side["contract_uid"], Plot.end_lifespan.is_(None)
                )
            ).all()
            assert len(in_contract) == 2
        assert total == pytest.approx(areas_before)
        assert sum(v.end_lifespan is None for v in history.versions(Plot, contested)) == 1
