"""The leases' pages: the administrator records a lease (household → plots by name → lessee and
terms), a payment and an ending; the bureau decides a review; the plot, contract and farmer's
household pages show the lease on top of the contract; another collective's lease is a 404."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.audit import trail
from app.core.calendar import county_today
from app.extensions import db
from app.leases import services
from app.leases.models import Lease
from tests.factories import encumbrances as ef
from tests.factories import land as lf
from tests.factories import people as pf
from tests.leases.conftest import valid_uscc


class W(dict):
    __getattr__ = dict.__getitem__


@pytest.fixture
def world(app, baseline) -> W:
    with app.app_context(), trail.acting(trail.AuditContext(actor="factory", role="system")):
        a = baseline.collective_a
        doc = lf.make_document(a, "出租合同")
        holder = ef.contract_with_plots(a, "甲户", doc)
        member = ef.contract_with_plots(a, "乙户", doc, plots=1)
        pf.link_farmer("farmer_a", holder["head_uid"])
        db.session.commit()
    return W(a=a, doc=doc, holder=holder, member=member)


def form(w: W, **kw) -> dict:
    today = county_today()
    data = {
        "household_uid": w.holder["household_uid"],
        "plot_uids": [str(u) for u in w.holder["plot_uids"]],
        "lessee_kind": "member_household",
        "lessee_household_uid": str(w.member["household_uid"]),
        "lessee_person_uid": "0",
        "method": "lease",
        "use": "grain",
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=5 * 366)).isoformat(),
        "rent": "800",
        "payment_schedule": "annual",
        "contract_document_id": str(w.doc),
        "notice_document_id": "0",
    }
    data.update(kw)
    return data


def the_lease(app) -> W:
    """The newest lease's id and state (read in a context of its own, as a request would)."""
    with app.app_context():
        row = db.session.scalar(select(Lease).order_by(Lease.id.desc()))
        return W(id=row.id, state=row.state, qualified=services.qualification_of(row.id))


def test_the_administrator_records_a_lease_pays_and_ends_it(app, client, auth, world):
    auth.login("admin_a")
    url = f"/leases/new/{world.a}"
    page = client.get(url).get_data(as_text=True)
    assert "甲户" in page
    page = client.get(url, query_string={"household_uid": world.holder["household_uid"]})
    assert "甲户田1" in page.get_data(as_text=True)
    r = client.post(url, data=form(world, ends_on="2099-01-01"))
    assert r.status_code == 422
    assert "2049-12-31" in r.get_data(as_text=True)
    r = client.post(url, data=form(world, use="warehouse"))
    assert r.status_code == 422
    r = client.post(url, data=form(world))
    assert r.status_code == 302, r.get_data(as_text=True)
    lease_url = r.headers["Location"]
    page = client.get(lease_url).get_data(as_text=True)
    assert "乙户" in page and "2,520.00" in page  # 3.15 亩 × 800 yuan
    assert "error" in page  # the first year's rent is due and unpaid: arrears in red
    r = client.post(
        lease_url + "/payments",
        data={"pay-paid_on": county_today().isoformat(), "pay-amount": "2520"},
    )
    assert r.status_code == 302
    page = client.get(lease_url).get_data(as_text=True)
    assert 'class="error" role="alert"' not in page
    r = client.post(
        lease_url + "/end",
        data={
            "end-kind": "agreement",
            "end-ended_on": county_today().isoformat(),
            "end-reason": "协商解除",
            "end-document_id": "0",
        },
    )
    assert r.status_code == 422  # the agreement is needed
    r = client.post(
        lease_url + "/end",
        data={
            "end-kind": "agreement",
            "end-ended_on": county_today().isoformat(),
            "end-reason": "协商解除",
            "end-document_id": str(world.doc),
        },
    )
    assert r.status_code == 302
    assert the_lease(app).state == "ended"


def test_the_registry_pages_show_the_lease_on_top_of_the_contract(app, client, auth, world):
    auth.login("admin_a")
    assert client.post(f"/leases/new/{world.a}", data=form(world)).status_code == 302
    lease = the_lease(app)
    for url in (
        f"/plots/{world.holder['plot_uids'][0]}",
        f"/contracts/{world.holder['contract_uid']}",
    ):
        page = client.get(url).get_data(as_text=True)
        assert f"/leases/{lease.id}" in page and "乙户" in page, url
    auth.logout()
    auth.login("farmer_a")
    page = client.get("/my").get_data(as_text=True)
    assert f"/leases/{lease.id}" in page and "乙户" in page
    assert client.get(f"/leases/{lease.id}").status_code == 200
    assert client.post(f"/leases/{lease.id}/payments", data={}).status_code == 404
    assert client.get(f"/leases/new/{world.a}").status_code == 404


@pytest.mark.authz
def test_another_collectives_lease_is_a_404(app, client, auth, world):
    auth.login("admin_a")
    assert client.post(f"/leases/new/{world.a}", data=form(world)).status_code == 302
    lease = the_lease(app)
    auth.logout()
    auth.login("admin_b")
    for url in (f"/leases/{lease.id}", f"/leases/{lease.id}/sublease", f"/leases/new/{world.a}"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/leases/{lease.id}/end", data={}).status_code == 404
    assert "乙户" not in client.get("/leases/").get_data(as_text=True)


def test_the_bureau_reviews_a_company_above_the_threshold(app, client, auth, world, monkeypatch):
    monkeypatch.setitem(app.config, "LEASE_QUALIFICATION_MU", Decimal("1"))
    with app.app_context(), trail.acting(trail.AuditContext(actor="factory", role="system")):
        notice = lf.make_document(world.a, "流转公告")
        db.session.commit()
    auth.login("admin_a")
    data = form(
        world,
        lessee_kind="company",
        lessee_household_uid="0",
        lessee_name="韶关绿源农业有限公司",
        lessee_uscc=valid_uscc("91440222MA4W8PT07"),
        notice_document_id=str(notice),
        notice_from=(county_today() - timedelta(days=15)).isoformat(),
    )
    r = client.post(f"/leases/new/{world.a}", data=data)
    assert r.status_code == 302, r.get_data(as_text=True)
    lease = the_lease(app)
    assert lease.state == "awaiting_qualification"
    auth.logout()
    auth.login("bureau")
    assert "韶关绿源农业有限公司" in client.get("/leases/reviews").get_data(as_text=True)
    r = client.post(
        f"/leases/{lease.id}/qualification",
        data={"review-decision": "approve", "review-reason": "经营能力符合要求"},
    )
    assert r.status_code == 302
    assert the_lease(app).state == "in_force" and the_lease(app).qualified is not None


@pytest.mark.authz
def test_the_lease_contract_prints_as_a_pdf_for_its_readers_only(app, client, auth, world):
    """The filed contract as a PDF: the parties, the plots by code, the term and the rent, with
    the clause that the contract stays with the household; another collective's is a 404."""
    from app.registry.models import Plot
    from tests.test_pdf import flat, read_pdf

    auth.login("admin_a")
    assert client.post(f"/leases/new/{world.a}", data=form(world)).status_code == 302
    lease = the_lease(app)
    page = client.get(f"/leases/{lease.id}").get_data(as_text=True)
    assert f"/leases/{lease.id}/contract.pdf" in page
    text, pages = read_pdf(client.get(f"/leases/{lease.id}/contract.pdf"))
    with app.app_context():
        row = db.session.get(Lease, lease.id)
        number = row.number
        codes = db.session.scalars(
            select(Plot.dkbm).where(
                Plot.uid.in_(world.holder["plot_uids"]), Plot.end_lifespan.is_(None)
            )
        ).all()
    body = flat(text)
    assert pages == 1
    assert number in body and "甲户" in body and "乙户" in body
    assert all(code in body for code in codes)
    assert "800.00" in body and "承包" in body
    auth.logout()
    auth.login("farmer_a")  # the holder's farmer reads their own lease
    read_pdf(client.get(f"/leases/{lease.id}/contract.pdf"))
    auth.logout()
    auth.login("admin_b")
    assert client.get(f"/leases/{lease.id}/contract.pdf").status_code == 404


def test_a_one_year_lease_on_no_paper_shows_on_the_plot_page_as_leased(app, client, auth, world):
    """R05: a lease of one year or less between members needs no written contract; recorded with
    none, the plot's page still shows the land leased (its registry record cites the lease),
    and the record's page says what it rests on."""
    from app.registry import encumbrances

    auth.login("admin_a")
    today = county_today()
    last_day = today.replace(year=today.year + 1) - timedelta(days=1)
    data = form(world, contract_document_id="0", ends_on=last_day.isoformat())
    assert client.post(f"/leases/new/{world.a}", data=data).status_code == 302
    lease = the_lease(app)
    plot = world.holder["plot_uids"][0]
    with app.app_context():
        row = db.session.get(Lease, lease.id)
        assert row.contract_document_id is None
        records = encumbrances.lease_encumbrances(row.number)
        number = row.number
    assert len(records) == len(world.holder["plot_uids"])
    record = next(e for e in records if e.right_uid == plot)
    page = client.get(f"/plots/{plot}").get_data(as_text=True)
    weights = page[page.index('id="encumbrances"') :]
    weights = weights[: weights.index("</section>")]
    assert f"/encumbrances/{record.id}" in weights and "乙户" in weights
    assert "badge warn" in weights  # in force
    detail = client.get(f"/encumbrances/{record.id}").get_data(as_text=True)
    assert f"/leases/{lease.id}" in detail and number in detail
