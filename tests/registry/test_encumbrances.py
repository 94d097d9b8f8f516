"""What weighs on a right (issue 14 §6): a freeze blocks every change, a pledge blocks a
transfer, an exit and an exchange but not a lease, a dispute blocks listing and exchange; a
release is a fact of its own; the marketplace's title check reads them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.audit import trail
from app.audit.models import AuditEntry
from app.core.calendar import county_today
from app.core.errors import DomainError
from app.extensions import db
from app.registry import documents, encumbrances, history, land, moves
from app.registry.models import Encumbrance, Plot
from tests.conftest import token_for
from tests.factories import documents as dfx
from tests.factories import encumbrances as ef
from tests.factories import land as lf
from tests.factories import people as pf
from tests.factories.land import refused

LENDER = "始兴农商银行"
LENDER_USCC = "91440222MA4W8PT07N"  # check digit per GB 32100 (asserted below)
COURT = "始兴县人民法院"


class W(dict):
    __getattr__ = dict.__getitem__


def bureau():
    return trail.acting(trail.AuditContext(actor="county", actor_id=9100, role="bureau_reviewer"))


@pytest.fixture
def land_of_a(ctx, baseline) -> W:
    made = ef.pair(baseline.collective_a)
    return W(made, coll=baseline.collective_a, other=baseline.collective_b)


def freeze(w: W, right_kind: str, uid: int, **kw):
    with bureau():
        return encumbrances.record_encumbrance(
            "freeze",
            right_kind,
            uid,
            party_name=COURT,
            case_number="（2026）粤0222执保12号",
            starts_on=kw.pop("starts_on", lf.TODAY),
            source_document_id=w.doc,
            **kw,
        )


def pledge(w: W, contract_uid: int, **kw):
    return encumbrances.record_encumbrance(
        "pledge",
        "land_contract",
        contract_uid,
        party_name=LENDER,
        party_uscc=kw.pop("party_uscc", LENDER_USCC),
        starts_on=lf.TODAY,
        ends_on=kw.pop("ends_on", date(2031, 6, 30)),
        source_document_id=w.doc,
        **kw,
    )


def test_the_lender_code_is_a_valid_uscc():
    from app.core import codes

    assert codes.validate_uscc(LENDER_USCC) == LENDER_USCC


def test_a_freeze_blocks_every_change_and_its_release_lifts_it(land_of_a):
    w = land_of_a
    plot = w.a["plot_uids"][0]
    row = freeze(w, "plot", plot)
    for action in sorted(encumbrances.ACTIONS):
        problem = encumbrances.blocking_encumbrance("plot", plot, action=action)
        assert problem is not None and COURT in problem.message, action
    # …and the contract it is in: a listing of the whole contract is held back too.
    assert encumbrances.blocking_encumbrance(
        "land_contract", w.a["contract_uid"], action="transfer"
    )
    with refused(code="encumbered_freeze"):
        land.update_plot_attributes(plot, source_document_id=w.doc, reason="更正", name="新名")
    with refused(code="encumbered_freeze"):
        moves.request_move(
            "plot_move",
            plot,
            basis="correction",
            source_document_id=w.doc,
            reason="更正",
            to_contract_uid=w.b["contract_uid"],
        )
    with refused(code="encumbered_freeze"):
        land.renew_contract(w.a["contract_uid"], source_document_id=w.doc, reason="延包")
    assert history.current_of(Plot, plot).version == 1
    with bureau():
        release = encumbrances.release_encumbrance(
            row.id, released_on=county_today(), reason="法院解除查封", source_document_id=w.doc
        )
    assert release.encumbrance_id == row.id
    assert encumbrances.blocking_encumbrance("plot", plot, action="edit") is None
    land.update_plot_attributes(plot, source_document_id=w.doc, reason="更正", name="新名")
    # Nothing was overwritten: the freeze reads as it was recorded, the release beside it.
    again = db.session.get(Encumbrance, row.id)
    assert (again.party_name, again.ends_on) == (COURT, None)
    listed = encumbrances.encumbrances_of("plot", plot)
    assert [(x.kind, x.in_force, x.release.id) for x in listed] == [("freeze", False, release.id)]
    events = set(db.session.scalars(select(AuditEntry.event)))
    assert {"encumbrance.record", "encumbrance.release"} <= events


def test_a_pledge_blocks_transfer_exit_and_exchange_but_not_a_lease_or_a_correction(land_of_a):
    w = land_of_a
    pledge(w, w.a["contract_uid"])
    for action in ("transfer", "exit", "exchange"):
        problem = encumbrances.blocking_encumbrance(
            "land_contract", w.a["contract_uid"], action=action
        )
        assert problem is not None and LENDER in problem.message
    # a plot of the pledged contract is pledged land too
    assert encumbrances.blocking_encumbrance("plot", w.a["plot_uids"][0], action="exchange")
    for action in ("lease", "edit", "move", "certificate"):
        assert (
            encumbrances.blocking_encumbrance("land_contract", w.a["contract_uid"], action=action)
            is None
        )
    land.update_plot_attributes(
        w.a["plot_uids"][0], source_document_id=w.doc, reason="更正", name="改名"
    )


def test_a_dispute_blocks_listing_and_exchange_not_corrections(land_of_a):
    w = land_of_a
    encumbrances.record_encumbrance(
        "dispute",
        "plot",
        w.b["plot_uids"][1],
        party_name="邻户王某",
        starts_on=lf.TODAY,
        source_document_id=w.doc,
    )
    for action in ("transfer", "exit", "lease", "exchange"):
        assert encumbrances.blocking_encumbrance("plot", w.b["plot_uids"][1], action=action)
    for action in ("edit", "move", "certificate", "renew"):
        assert encumbrances.blocking_encumbrance("plot", w.b["plot_uids"][1], action=action) is None


def test_r02_a_pledge_may_not_run_past_the_contract_term(land_of_a):
    w = land_of_a
    with refused(rule="R02", code="beyond_contract_term"):
        pledge(w, w.a["contract_uid"], ends_on=ef.TERM_END + timedelta(days=1))
    pledge(w, w.a["contract_uid"], ends_on=ef.TERM_END)


def test_what_can_carry_which(land_of_a, baseline):
    """A homestead or shares are not pledged here; a lease is the leases' to record."""
    w = land_of_a
    from tests.factories import homesteads as hf

    made = hf.make(w.coll, {"source_document_id": w.doc})
    with refused(code="encumbrance_carrier"):
        encumbrances.record_encumbrance(
            "pledge",
            "homestead",
            made["homestead_uid"],
            party_name=LENDER,
            party_uscc=LENDER_USCC,
            starts_on=lf.TODAY,
            ends_on=date(2030, 1, 1),
            source_document_id=w.doc,
        )
    with refused(code="encumbrance_kind"):
        encumbrances.record_encumbrance(
            "lease",
            "plot",
            w.a["plot_uids"][0],
            party_name="某合作社",
            starts_on=lf.TODAY,
            source_document_id=w.doc,
        )
    # a freeze on the homestead blocks its transfer
    freeze(w, "homestead", made["homestead_uid"])
    assert encumbrances.blocking_encumbrance("homestead", made["homestead_uid"], action="transfer")
    from app.registry.homesteads import dispose_homestead

    with refused(code="encumbered_freeze"):
        dispose_homestead(made["homestead_uid"], "returned", "交回集体", w.doc)


def test_who_records_what(land_of_a):
    w = land_of_a
    with refused(code="encumbrance_recorder"):  # the collective admin does not record a freeze
        encumbrances.record_encumbrance(
            "freeze",
            "plot",
            w.a["plot_uids"][0],
            party_name=COURT,
            case_number="（2026）粤0222执1号",
            starts_on=lf.TODAY,
            source_document_id=w.doc,
        )
    with bureau(), refused(code="encumbrance_recorder"):  # nor the bureau a pledge
        pledge(w, w.a["contract_uid"])
    with (
        trail.acting(trail.AuditContext(actor="farmer", role="farmer")),
        refused(code="encumbrance_recorder"),
    ):
        pledge(w, w.a["contract_uid"])
    # acting in collective B, a right of A does not exist
    with refused(code="right_not_found"):
        pledge(w, w.a["contract_uid"], collective_id=w.other)


def test_open_objections_are_read_through_and_block_listing(land_of_a):
    from app.registry.notices import lodge_objection, open_notice

    w = land_of_a
    pending = ef.contract_with_plots(w.coll, "待公示户", w.doc, plots=1, confirmed=False)
    notice = open_notice("land_contract", pending["contract_uid"], county_today())
    lodge_objection(notice.id, "村民李某", "四至有误", county_today())
    listed = encumbrances.encumbrances_of("plot", pending["plot_uids"][0])
    assert [(x.kind, x.party, x.on_itself) for x in listed] == [("objection", "村民李某", False)]
    problem = encumbrances.blocking_encumbrance(
        "land_contract", pending["contract_uid"], action="transfer"
    )
    assert problem is not None and problem.code == "encumbered_objection"


@pytest.mark.hostile
@pytest.mark.parametrize(
    "change, code",
    [
        ({"party_uscc": "91440222MA4W8PT07X"}, "check_digit"),
        ({"party_uscc": None}, "uscc_required"),
        ({"party_uscc": 12345}, "uscc_required"),
        ({"ends_on": None}, "ends_required"),
        ({"ends_on": "2026-02-30"}, "date_required"),
        ({"starts_on": "not a date"}, "date_required"),
        ({"ends_on": date(2026, 1, 1)}, "date_order"),
        ({"party_name": ""}, "required"),
        ({"party_name": "银" * 500}, "too_long"),
        ({"note": "注" * 5000}, "too_long"),
        ({"source_document_id": None}, "source_required"),
        ({"source_document_id": 2**40}, "source_unknown"),
        ({"right_uid": 2**40}, "right_not_found"),
        ({"right_uid": "1"}, "right_not_found"),
        ({"right_kind": "car"}, "right_kind"),
        ({"kind": "mortgage"}, "encumbrance_kind"),
    ],
)
def test_hostile_input_is_refused_in_words(land_of_a, change, code):
    w = land_of_a
    args = dict(
        kind="pledge",
        right_kind="land_contract",
        right_uid=w.a["contract_uid"],
        party_name=LENDER,
        party_uscc=LENDER_USCC,
        starts_on=lf.TODAY,
        ends_on=date(2031, 1, 1),
        source_document_id=w.doc,
    )
    args.update(change)
    kind, right_kind, right_uid = args.pop("kind"), args.pop("right_kind"), args.pop("right_uid")
    with pytest.raises(DomainError) as caught:
        encumbrances.record_encumbrance(kind, right_kind, right_uid, **args)
    assert caught.value.code == code
    assert caught.value.message
    assert (
        db.session.scalar(
            select(Encumbrance.id).where(
                Encumbrance.right_uid == right_uid
                if isinstance(right_uid, int) and right_uid < 2**31
                else False
            )
        )
        is None
    )


@pytest.mark.hostile
def test_a_release_is_written_once_and_the_records_are_never_updated(land_of_a):
    w = land_of_a
    row = pledge(w, w.a["contract_uid"])
    encumbrances.release_encumbrance(
        row.id, released_on=county_today(), reason="贷款已还清", source_document_id=w.doc
    )
    with refused(code="already_released"):
        encumbrances.release_encumbrance(
            row.id, released_on=county_today(), reason="再次", source_document_id=w.doc
        )
    with refused(code="future_date"):
        encumbrances.release_encumbrance(
            pledge(w, w.a["contract_uid"]).id,
            released_on=county_today() + timedelta(days=2),
            reason="x",
            source_document_id=w.doc,
        )
    with pytest.raises(DBAPIError), db.session.begin_nested():
        db.session.execute(
            text("UPDATE encumbrance SET party_name = 'x' WHERE id = :id"), {"id": row.id}
        )
    with pytest.raises(DBAPIError), db.session.begin_nested():
        db.session.execute(text("DELETE FROM encumbrance_release"))


# --- the marketplace's title check ----------------------------------------------------------


def _listing(collective_id: int, contract_uid: int | None = None):
    """A land-contract transfer listing declared by its holder (witnessed), ready to publish."""
    from app.market import listings
    from tests.factories.market import _admin

    admin = _admin(collective_id)
    household = dfx.make_household(collective_id, "出让户")
    holder = dfx.make_holder(household, "出让人")
    survey = documents.store_document(
        collective_id, "survey", "测绘成果", "s.pdf", dfx.minimal_pdf("survey")
    )
    contract = dfx.make_contract(collective_id, survey.id, household=household)
    paper = documents.store_document(
        collective_id, "other", "自愿声明", "d.pdf", dfx.minimal_pdf("declaration")
    )
    listing = listings.create_listing(
        admin,
        "land_contract",
        contract.uid,
        deal_kind="transfer",
        method="negotiated",
        asking_price_fen=1_000_000,
    )
    listings.declare(listing.id, admin, person_uid=holder.uid, witnessed_paper_id=paper.id)
    return admin, listing, contract, survey.id


def test_a_frozen_plot_cannot_be_listed_and_a_released_freeze_no_longer_blocks(ctx, baseline):
    from app.market import listings

    admin, listing, contract, doc = _listing(baseline.collective_a)
    x, y = lf.origin(baseline.collective_a)
    plot = land.add_plot(
        baseline.collective_a,
        lf.dkbm(baseline.collective_a),
        lf.geojson(lf.square(x, y)),
        lf.CRS,
        contract_uid=contract.uid,
        name="冻结田",
        source_document_id=doc,
        reason="测绘",
    ).plot.uid
    w = W(doc=doc)
    row = freeze(w, "plot", plot)
    with refused(code="encumbered_freeze") as r:
        listings.publish(listing.id, admin)
    assert COURT in r.error.message
    with bureau():
        encumbrances.release_encumbrance(
            row.id, released_on=county_today(), reason="解除查封", source_document_id=doc
        )
    assert listings.title_problem(listing) is None
    listings.publish(listing.id, admin)


def test_a_pledge_blocks_a_transfer_listing(ctx, baseline):
    from app.market import listings

    admin, listing, contract, doc = _listing(baseline.collective_a)
    pledge(W(doc=doc), contract.uid)
    problem = listings.title_problem(listing)
    assert problem is not None and problem.code == "encumbered_pledge"
    with refused(code="encumbered_pledge"):
        listings.publish(listing.id, admin)


# --- pages and API --------------------------------------------------------------------------


@pytest.fixture
def committed(app, baseline):
    with app.app_context(), trail.acting(trail.AuditContext(actor="factory", role="system")):
        made = ef.pair(baseline.collective_a)
        pf.link_farmer("farmer_a", made["a"]["head_uid"])
        dispute = encumbrances.record_encumbrance(
            "dispute",
            "plot",
            made["a"]["plot_uids"][0],
            party_name="邻户王某",
            starts_on=lf.TODAY,
            source_document_id=made["doc"],
        )
        dispute_id = dispute.id
        db.session.commit()
    return W(made, coll=baseline.collective_a, dispute=dispute_id)


def test_the_right_pages_say_what_weighs_on_them(app, client, auth, committed):
    w = committed
    for user in ("admin_a", "farmer_a", "bureau"):
        auth.logout()
        auth.login(user)
        page = client.get(f"/plots/{w.a['plot_uids'][0]}").get_data(as_text=True)
        assert "邻户王某" in page, user
        contract = client.get(f"/contracts/{w.a['contract_uid']}").get_data(as_text=True)
        assert "邻户王某" in contract, user


def test_the_admin_records_and_releases_a_pledge_on_pages(app, client, auth, committed):
    w = committed
    auth.login("admin_a")
    url = f"/contracts/{w.a['contract_uid']}/encumbrances/new"
    assert client.get(url).status_code == 200
    bad = client.post(
        url,
        data={
            "kind": "pledge",
            "party_name": LENDER,
            "party_uscc": "123",
            "starts_on": lf.TODAY.isoformat(),
            "ends_on": "2031-01-01",
            "source_document_id": w.doc,
        },
    )
    assert bad.status_code == 422
    r = client.post(
        url,
        data={
            "kind": "pledge",
            "party_name": LENDER,
            "party_uscc": LENDER_USCC,
            "starts_on": lf.TODAY.isoformat(),
            "ends_on": "2031-01-01",
            "source_document_id": w.doc,
            "note": "经营权抵押贷款",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    page = client.get(r.headers["Location"])
    assert LENDER in page.get_data(as_text=True)
    release_url = r.headers["Location"] + "/release"
    r = client.post(
        release_url,
        data={
            "released_on": county_today().isoformat(),
            "source_document_id": w.doc,
            "reason": "贷款已还清",
        },
    )
    assert r.status_code == 302
    assert "贷款已还清" in client.get(r.headers["Location"]).get_data(as_text=True)


def test_the_bureau_records_a_court_freeze_on_a_page(app, client, auth, committed):
    w = committed
    auth.login("bureau")
    url = f"/plots/{w.b['plot_uids'][0]}/encumbrances/new"
    page = client.get(url).get_data(as_text=True)
    assert 'value="pledge"' not in page and 'value="freeze"' in page
    r = client.post(
        url,
        data={
            "kind": "freeze",
            "party_name": COURT,
            "case_number": "（2026）粤0222执保3号",
            "starts_on": lf.TODAY.isoformat(),
            "source_document_id": w.doc,
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    with app.app_context():
        assert encumbrances.blocking_encumbrance("plot", w.b["plot_uids"][0], action="edit")


@pytest.mark.authz
def test_others_cannot_record_or_see_encumbrances(app, client, auth, committed):
    w = committed
    url = f"/contracts/{w.a['contract_uid']}/encumbrances/new"
    for user in ("farmer_a", "admin_b", "auditor", "officer"):
        auth.logout()
        auth.login(user)
        assert client.get(url).status_code == 404, user
        assert client.post(url, data={}).status_code in (404, 400), user
        assert client.get(f"/encumbrances/{w.dispute}").status_code == 404 or user == "auditor"
        assert client.post(f"/encumbrances/{w.dispute}/release", data={}).status_code in (404, 400)


def test_the_api_records_reads_and_releases(app, client, committed):
    w = committed
    headers = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    body = {
        "kind": "pledge",
        "right_kind": "land_contract",
        "right_uid": w.b["contract_uid"],
        "party_name": LENDER,
        "party_uscc": LENDER_USCC,
        "starts_on": lf.TODAY.isoformat(),
        "ends_on": "2031-01-01",
        "source_document_id": w.doc,
    }
    r = client.post("/api/v1/encumbrances", json=body, headers=headers)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["in_force"] is True
    location = r.headers["Location"]
    listed = client.get(
        "/api/v1/encumbrances",
        query_string={"right_kind": "plot", "right_uid": w.b["plot_uids"][0]},
        headers=headers,
    )
    assert listed.status_code == 200
    assert [x["kind"] for x in listed.get_json()["items"]] == ["pledge"]
    r = client.post(
        location + "/release",
        json={
            "released_on": county_today().isoformat(),
            "reason": "还清",
            "source_document_id": w.doc,
        },
        headers=headers,
    )
    assert r.status_code == 200 and r.get_json()["release"]["reason"] == "还清"
    r = client.post(
        location + "/release",
        json={
            "released_on": county_today().isoformat(),
            "reason": "再次",
            "source_document_id": w.doc,
        },
        headers=headers,
    )
    assert r.status_code == 422
    other = {"Authorization": f"Bearer {token_for(app, 'admin_b')}"}
    assert client.get(location, headers=other).status_code == 404
    body["right_uid"] = w.a["contract_uid"]
    assert client.post("/api/v1/encumbrances", json=body, headers=other).status_code == 404
    body["kind"] = "freeze"
    body["case_number"] = "（2026）粤0222执1号"
    r = client.post("/api/v1/encumbrances", json=body, headers=headers)
    assert r.status_code == 422  # a freeze is the bureau's
