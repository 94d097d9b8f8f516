"""委托流转 (R05, issue 14 part 4): the collective leases several households' plots to one lessee
on their behalf; only the plots of households that gave a written mandate are leased, the others
are reported and stay free; a refusal for a mandated household leaves nothing written."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.audit import trail
from app.core.errors import DomainError
from app.extensions import db
from app.leases import entrusted, services
from app.leases.models import EntrustedLease, Lease
from app.registry import encumbrances
from tests.conftest import token_for
from tests.factories import encumbrances as ef
from tests.factories import land as lf
from tests.factories.land import refused
from tests.leases.conftest import TODAY, W, coop, notice, valid_uscc

START, END = date(2026, 3, 1), date(2031, 2, 28)


def _open(w: W, **kw) -> EntrustedLease:
    args = dict(
        title="东湖坪连片流转",
        lessee=coop(),
        method="lease",
        use="grain",
        starts_on=START,
        ends_on=END,
        rent_fen_per_mu_year=80000,
        payment_schedule="annual",
        contract_document_id=w.doc,
        priority_evidence=notice(w),
        on=TODAY,
    )
    args.update(kw)
    return entrusted.open_entrusted_lease(w.a, **args)


@pytest.fixture
def ew(lw) -> W:
    """Three households of collective A in one entrusted lease: 甲 (two plots) and 丁 gave
    their mandates, 乙 did not."""
    third = ef.contract_with_plots(lw.a, "丁户", lw.doc, plots=1)
    mandate_doc = lf.make_document(lw.a, "委托书")
    row = _open(lw)
    entrusted.add_household(row.id, lw.holder["household_uid"], lw.plots)
    entrusted.add_household(row.id, lw.member["household_uid"], lw.member["plot_uids"])
    entrusted.add_household(row.id, third["household_uid"], third["plot_uids"])
    for hh in (lw.holder, third):
        entrusted.record_mandate(
            row.id, hh["household_uid"], document_id=mandate_doc, given_on=TODAY, on=TODAY
        )
    return W(lw, row=row, third=third, mandate_doc=mandate_doc)


def _leased(plot_uids: list[int]) -> list[Lease]:
    return services.leases_of_plots(plot_uids, on=TODAY)


def test_r05_an_entrusted_lease_takes_only_the_plots_of_households_that_gave_a_mandate(ew):
    done = entrusted.conclude_entrusted_lease(ew.row.id, on=TODAY)
    assert done.entrusted.state == "concluded"
    # one lease per household with a mandate, through record_lease (channel entrusted)
    assert sorted(lease.household_uid for lease in done.leases) == sorted(
        [ew.holder["household_uid"], ew.third["household_uid"]]
    )
    for lease in done.leases:
        assert lease.channel == "entrusted" and lease.entrusted_lease_id == ew.row.id
        assert lease.lessee_kind == "cooperative" and lease.state == "in_force"
        assert lease.filed_on == TODAY
    assert {p for p in ew.plots} == {
        p for lease in _leased(ew.plots) for p in services.plot_uids_of(lease.id)
    }
    assert _leased(ew.third["plot_uids"])
    # 乙 gave no mandate: reported, and its plot is not leased (nor encumbered by a lease)
    assert [m.household_uid for m in done.missing] == [ew.member["household_uid"]]
    assert _leased(ew.member["plot_uids"]) == []
    weights = encumbrances.encumbrances_of("plot", ew.member["plot_uids"][0], on=TODAY)
    assert not any(w.kind == "lease" for w in weights)
    # the plots stay free: 乙 can still lease its plot to someone else
    services.record_lease(
        ew.a,
        ew.member["contract_uid"],
        ew.member["plot_uids"],
        lessee=coop("另一合作社"),
        method="lease",
        use="vegetables",
        starts_on=START,
        ends_on=END,
        rent_fen_per_mu_year=90000,
        payment_schedule="annual",
        contract_document_id=ew.doc,
        priority_evidence=notice(ew),
        on=TODAY,
    )


def test_r05_a_mandated_households_refusal_leaves_nothing_written_and_names_it(ew):
    encumbrances.record_encumbrance(
        "dispute",
        "plot",
        ew.third["plot_uids"][0],
        party_name="邻户",
        starts_on=TODAY,
        source_document_id=ew.doc,
    )
    before = db.session.scalar(select(func.count(Lease.id)))
    with pytest.raises(DomainError) as caught:
        entrusted.conclude_entrusted_lease(ew.row.id, on=TODAY)
    assert "丁户" in caught.value.message
    assert db.session.scalar(select(func.count(Lease.id))) == before
    assert _leased(ew.plots) == []
    assert db.session.get(EntrustedLease, ew.row.id).state == "open"


def test_r05_no_mandate_at_all_leases_nothing(lw):
    row = _open(lw)
    entrusted.add_household(row.id, lw.holder["household_uid"], lw.plots)
    with refused(rule="R05", code="no_mandate"):
        entrusted.conclude_entrusted_lease(row.id, on=TODAY)
    assert _leased(lw.plots) == []


def test_r05_the_lessee_outside_waits_for_the_members_priority_period(lw):
    row = _open(lw, priority_evidence=notice(lw, days_ago=3))
    entrusted.add_household(row.id, lw.holder["household_uid"], lw.plots)
    entrusted.record_mandate(
        row.id, lw.holder["household_uid"], document_id=lw.doc, given_on=TODAY, on=TODAY
    )
    with refused(code="priority_period_running"):
        entrusted.conclude_entrusted_lease(row.id, on=TODAY)
    with refused(code="priority_notice_required"):
        _open(lw, priority_evidence=None)


def test_a_concluded_lease_takes_no_more_households_mandates_or_conclusions(ew):
    entrusted.conclude_entrusted_lease(ew.row.id, on=TODAY)
    with refused(code="entrusted_lease_closed"):
        entrusted.conclude_entrusted_lease(ew.row.id, on=TODAY)
    with refused(code="entrusted_lease_closed"):
        entrusted.record_mandate(
            ew.row.id, ew.member["household_uid"], document_id=ew.doc, given_on=TODAY, on=TODAY
        )


def test_households_plots_and_mandates_are_checked_in_words(ew):
    with refused(code="household_already_added"):
        entrusted.add_household(ew.row.id, ew.holder["household_uid"], ew.plots)
    with refused(code="household_not_found"):
        entrusted.add_household(ew.row.id, ew.other["household_uid"], ew.other["plot_uids"])
    fifth = ef.contract_with_plots(ew.a, "戊户", ew.doc, plots=1)
    with refused(code="plot_not_in_contract"):
        entrusted.add_household(ew.row.id, fifth["household_uid"], ew.member["plot_uids"])
    for bad in ([], "1", [0], [True], list(range(1, 300))):
        with refused(code="plots_required"):
            entrusted.add_household(ew.row.id, fifth["household_uid"], bad)
    with refused(code="mandate_recorded"):
        entrusted.record_mandate(
            ew.row.id, ew.holder["household_uid"], document_id=ew.doc, given_on=TODAY, on=TODAY
        )
    with refused(code="future_date"):
        entrusted.record_mandate(
            ew.row.id,
            ew.member["household_uid"],
            document_id=ew.doc,
            given_on=date(2026, 3, 2),
            on=TODAY,
        )
    with refused(code="source_unknown"):
        entrusted.record_mandate(
            ew.row.id,
            ew.member["household_uid"],
            document_id=lf.make_document(ew.b),
            given_on=TODAY,
            on=TODAY,
        )


def test_the_terms_are_checked_when_it_is_opened(lw):
    with refused(code="use_not_agricultural"):
        _open(lw, use="warehouse")
    with refused(code="written_contract_required"):
        _open(lw, contract_document_id=None)
    with refused(code="rent"):
        _open(lw, rent_fen_per_mu_year=-1)
    with refused(code="rent"):
        _open(lw, rent_fen_per_mu_year=10**12)
    with refused(code="dates"):
        _open(lw, ends_on=START)
    with refused(code="lessee_kind"):
        _open(lw, lessee=services.Lessee(kind="member_person", name="x", person_uid=1))
    with refused(code="uscc_required"):
        _open(lw, lessee=services.Lessee(kind="company", name="某公司"))
    with refused():
        _open(lw, lessee=services.Lessee(kind="company", name="某公司", uscc="91440222MA4W8PT07X"))


def test_only_the_collectives_administrator_opens_one(lw):
    farmer = trail.AuditContext(actor="farmer", role="farmer")
    with trail.acting(farmer), refused(code="lease_recorder"):
        _open(lw)


# --- pages and API -------------------------------------------------------------------------


@pytest.fixture
def committed(app, baseline) -> W:
    with app.app_context(), trail.acting(trail.AuditContext(actor="factory", role="system")):
        a = baseline.collective_a
        doc = lf.make_document(a, "土地经营权出租合同")
        w = W(
            a=a,
            doc=doc,
            notice=lf.make_document(a, "流转公告"),
            holder=ef.contract_with_plots(a, "甲户", doc),
            member=ef.contract_with_plots(a, "乙户", doc, plots=1),
        )
        db.session.commit()
    return w


def test_the_admin_opens_adds_mandates_and_concludes_on_pages(app, client, auth, committed):
    w = committed
    auth.login("admin_a")
    new = f"/collectives/{w.a}/entrusted-leases/new"
    page = client.get(new)
    assert page.status_code == 200 and "乙户" in page.get_data(as_text=True)
    r = client.post(
        new,
        data={
            "title": "连片流转",
            "lessee_kind": "cooperative",
            "lessee_name": "始兴县丰收种植专业合作社",
            "lessee_household_uid": 0,
            "lessee_uscc": valid_uscc("93440222MA4W8PT07"),
            "method": "lease",
            "use": "grain",
            "starts_on": "2026-12-01",
            "ends_on": "2031-11-30",
            "rent_yuan_per_mu": "800.50",
            "payment_schedule": "annual",
            "contract_document_id": w.doc,
            "notice_document_id": w.notice,
            "notice_from": "2026-01-02",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    url = r.headers["Location"]
    shown = client.get(url).get_data(as_text=True)
    assert "始兴县丰收种植专业合作社" in shown and "800.50" in shown
    entrusted_id = int(url.rstrip("/").split("/")[-1])
    for side in (w.holder, w.member):
        r = client.post(
            f"/entrusted-leases/{entrusted_id}/households",
            data={"h-household_uid": side["household_uid"], "h-plot_uids": side["plot_uids"]},
        )
        assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    r = client.post(
        f"/entrusted-leases/{entrusted_id}/mandates",
        data={
            "m-household_uid": w.holder["household_uid"],
            "m-document_id": w.doc,
            "m-given_on": "2026-11-30",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    r = client.post(f"/entrusted-leases/{entrusted_id}/conclude", follow_redirects=True)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "乙户" in html  # named among those without a mandate
    with app.app_context():
        row = db.session.get(EntrustedLease, entrusted_id)
        assert row.state == "concluded" and row.rent_fen_per_mu_year == 80050
        leases = entrusted.leases_of(entrusted_id)
        assert [lease.household_uid for lease in leases] == [w.holder["household_uid"]]


def test_a_refused_page_post_says_why(app, client, auth, committed):
    w = committed
    auth.login("admin_a")
    r = client.post(
        f"/collectives/{w.a}/entrusted-leases/new",
        data={
            "title": "连片流转",
            "lessee_kind": "cooperative",
            "lessee_name": "合作社",
            "lessee_household_uid": 0,
            "lessee_uscc": valid_uscc("93440222MA4W8PT07"),
            "method": "lease",
            "use": "grain",
            "starts_on": "2026-12-01",
            "ends_on": "2031-11-30",
            "rent_yuan_per_mu": "800",
            "payment_schedule": "annual",
            "contract_document_id": w.doc,
            "notice_document_id": 0,
        },
    )
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "优先" in html or "priority" in html  # the members' priority, in words


@pytest.mark.authz
def test_entrusted_pages_are_404_for_other_collectives_and_farmers(app, client, auth, committed):
    w = committed
    with app.app_context(), trail.acting(trail.AuditContext(actor="factory", role="system")):
        row = _open(W(w, a=w.a), starts_on=date(2026, 12, 1), ends_on=date(2031, 11, 30))
        entrusted_id = row.id
        db.session.commit()
    for user in ("admin_b", "farmer_a", "officer"):
        auth.logout()
        auth.login(user)
        assert client.get(f"/entrusted-leases/{entrusted_id}").status_code == 404, user
        assert client.get(f"/collectives/{w.a}/entrusted-leases").status_code == 404, user
        r = client.post(f"/entrusted-leases/{entrusted_id}/conclude")
        assert r.status_code == 404, user
    auth.logout()
    auth.login("bureau")  # reads, never writes
    assert client.get(f"/entrusted-leases/{entrusted_id}").status_code == 200
    assert client.post(f"/entrusted-leases/{entrusted_id}/conclude").status_code == 404
    assert client.get(f"/collectives/{w.a}/entrusted-leases/new").status_code == 404


def _body(w: W, **kw) -> dict:
    body = {
        "collective_id": w.a,
        "title": "连片流转",
        "lessee": {
            "kind": "cooperative",
            "name": "始兴县丰收种植专业合作社",
            "uscc": valid_uscc("93440222MA4W8PT07"),
        },
        "method": "lease",
        "use": "grain",
        "starts_on": "2026-12-01",
        "ends_on": "2031-11-30",
        "rent_fen_per_mu_year": 80000,
        "payment_schedule": "annual",
        "contract_document_id": w.doc,
        "priority_notice": {"notice_document_id": w.notice, "notice_from": "2026-01-02"},
    }
    body.update(kw)
    return body


def test_the_api_opens_adds_mandates_and_concludes(app, client, committed):
    w = committed
    h = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    r = client.post("/api/v1/entrusted-leases", json=_body(w), headers=h)
    assert r.status_code == 201, r.get_json()
    url = r.headers["Location"]
    for side in (w.holder, w.member):
        r = client.post(
            f"{url}/households",
            json={"household_uid": side["household_uid"], "plot_uids": side["plot_uids"]},
            headers=h,
        )
        assert r.status_code == 200, r.get_json()
    r = client.post(
        f"{url}/mandates",
        json={
            "household_uid": w.holder["household_uid"],
            "document_id": w.doc,
            "given_on": "2026-11-30",
        },
        headers=h,
    )
    assert r.status_code == 200, r.get_json()
    r = client.post(f"{url}/conclude", headers=h)
    assert r.status_code == 200, r.get_json()
    got = r.get_json()
    assert len(got["lease_ids"]) == 1
    assert [m["household"] for m in got["left_out"]] == ["乙户"]
    assert got["entrusted_lease"]["state"] == "concluded"
    other = {"Authorization": f"Bearer {token_for(app, 'admin_b')}"}
    assert client.get(url, headers=other).status_code == 404
    assert client.post(f"{url}/conclude", headers=other).status_code == 404


@pytest.mark.hostile
@pytest.mark.parametrize(
    "change",
    [
        {"rent_fen_per_mu_year": -1},
        {"rent_fen_per_mu_year": 10**30},
        {"rent_fen_per_mu_year": "800"},
        {"rent_fen_per_mu_year": 800.5},
        {"collective_id": "1"},
        {"collective_id": 10**20},
        {"use": "factory"},
        {"starts_on": "not a day"},
        {"title": "x" * 5000},
        {"lessee": {"kind": "company"}},
        {"lessee": {"kind": "cooperative", "name": "合作社", "uscc": "123"}},
        {"lessee": {"kind": "member_person", "name": "x"}},
        {"surprise": 1},
        {"priority_notice": {"notice_document_id": "1", "notice_from": "2026-01-02"}},
    ],
)
def test_the_api_refuses_hostile_bodies_in_words(app, client, committed, change):
    w = committed
    h = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    r = client.post("/api/v1/entrusted-leases", json=_body(w, **change), headers=h)
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["error"]["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count(EntrustedLease.id))) == 0


@pytest.mark.hostile
def test_the_api_refuses_hostile_households_and_mandates(app, client, committed):
    w = committed
    h = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    url = client.post("/api/v1/entrusted-leases", json=_body(w), headers=h).headers["Location"]
    for body in (
        {"household_uid": w.holder["household_uid"], "plot_uids": "all"},
        {"household_uid": w.holder["household_uid"], "plot_uids": [-1]},
        {"household_uid": w.holder["household_uid"], "plot_uids": list(range(1, 500))},
        {"household_uid": "甲户", "plot_uids": w.holder["plot_uids"]},
        {"household_uid": w.holder["household_uid"]},
    ):
        r = client.post(f"{url}/households", json=body, headers=h)
        assert r.status_code in (404, 422), (body, r.get_json())
    r = client.post(
        f"{url}/mandates",
        json={"household_uid": w.holder["household_uid"], "document_id": w.doc},
        headers=h,
    )
    assert r.status_code == 422
    r = client.post(f"{url}/conclude", headers=h)
    assert r.status_code == 422 and r.get_json()["error"]["rule"] == "R05"


@pytest.mark.browser
def test_the_entrusted_pages_have_no_sideways_scrolling_on_a_390_px_phone(
    app, client, auth, committed, tmp_path
):
    from tests.market.test_pages import _measure_at_390

    w = committed
    with app.app_context(), trail.acting(trail.AuditContext(actor="factory", role="system")):
        row = _open(W(w, a=w.a), starts_on=date(2026, 12, 1), ends_on=date(2031, 11, 30))
        entrusted.add_household(row.id, w.holder["household_uid"], w.holder["plot_uids"])
        entrusted_id = row.id
        db.session.commit()
    auth.login("admin_a")
    problems = []
    for url in (
        f"/collectives/{w.a}/entrusted-leases",
        f"/collectives/{w.a}/entrusted-leases/new",
        f"/entrusted-leases/{entrusted_id}",
    ):
        width, frame, button = _measure_at_390(client, url, tmp_path)
        if frame != 390 or width > frame:
            problems.append(f"{url}: {width} px wide in a {frame} px frame")
        if button < 44:
            problems.append(f"{url}: a button {button} px high")
    assert not problems, "\n".join(problems)
