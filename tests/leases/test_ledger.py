"""The township's ledger of leases (流转台账, issue 14 part 8): leases in force on a day by
township, village and lessee type, with areas in 亩, terms and yearly rents, subtotals and a
total; the XLSX export read back; what each role reads; a fixed number of queries."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from flask_babel import gettext as _
from sqlalchemy import event, func, select

from app.audit import trail
from app.core.errors import DomainError
from app.divisions.models import Collective, Division
from app.extensions import db
from app.leases import ledger, ledger_export, services
from app.leases.models import Lease
from tests.conftest import token_for
from tests.factories import encumbrances as ef
from tests.factories import land as lf
from tests.leases.conftest import TODAY, W, coop, lease, valid_uscc

TAIPING = "440222100000"  # 太平镇: both baseline collectives lie in it


def _b_lease(w: W, name: str = "=1+1", **kw) -> Lease:
    """Collective B's household 丙 leases its plot (1000 m² = 1.50 亩) to a cooperative at
    600 yuan per 亩 a year (900 yuan)."""
    notice_b = lf.make_document(w.b, "流转公告")
    doc_b = lf.make_document(w.b, "土地经营权出租合同")
    args = dict(
        lessee=coop(name),
        method="subcontract",
        use="vegetables",
        starts_on=date(2026, 3, 1),
        ends_on=date(2029, 2, 28),
        rent_fen_per_mu_year=60000,
        payment_schedule="annual",
        contract_document_id=doc_b,
        priority_evidence={"notice_document_id": notice_b, "notice_from": "2026-01-02"},
        on=TODAY,
    )
    args.update(kw)
    return services.record_lease(w.b, w.other["contract_uid"], w.other["plot_uids"], **args)


@pytest.fixture
def two_leases(lw) -> W:
    """甲 leases both plots (2100 m² = 3.15 亩) to member household 乙 at 800 yuan per 亩
    (2520 yuan a year); 丙 in collective B leases to a cooperative (1.50 亩, 900 yuan)."""
    return W(lw, member_lease=lease(lw), coop_lease=_b_lease(lw))


def _names(result: ledger.Ledger) -> dict[str, ledger.VillageLedger]:
    return {v.name: v for t in result.townships for v in t.villages}


def test_the_ledger_counts_areas_terms_and_rents_by_township_village_and_lessee_type(two_leases):
    result = ledger.lease_ledger(TODAY)
    assert [t.code for t in result.townships] == [TAIPING]
    villages = _names(result)
    a = villages["东湖坪村第一村民小组"]
    assert [(k.kind, k.figures.leases, k.figures.area_mu) for k in a.kinds] == [
        ("member_household", 1, Decimal("3.15"))
    ]
    assert a.subtotal.rent_fen_per_year == 252000 and a.subtotal.rent_yuan == Decimal("2520.00")
    assert a.lines[0].holder == "甲户" and a.lines[0].lessee == "乙户"
    assert a.lines[0].term_years == Decimal("5.0")
    b = villages["瑶村村股份经济合作社"]
    assert [(k.kind, k.figures.area_mu, k.figures.rent_fen_per_year) for k in b.kinds] == [
        ("cooperative", Decimal("1.50"), 90000)
    ]
    town = result.townships[0].subtotal
    assert (town.leases, town.area_mu, town.rent_fen_per_year) == (2, Decimal("4.65"), 342000)
    total = result.total
    assert (total.leases, total.area_mu, total.rent_yuan) == (2, Decimal("4.65"), Decimal("3420"))
    assert {k.kind: k.figures.leases for k in result.kinds} == {
        "member_household": 1,
        "cooperative": 1,
    }


def test_the_ledger_is_of_the_day_asked(two_leases):
    assert ledger.lease_ledger(date(2026, 2, 28)).total.leases == 0
    assert ledger.lease_ledger(TODAY).total.leases == 2
    with pytest.raises(DomainError) as caught:
        ledger.lease_ledger(date(2099, 1, 1))
    assert caught.value.code == "as_of_future"


def test_an_ended_lease_is_in_the_ledger_up_to_its_ending_day_only(two_leases):
    services.end_lease(
        two_leases.coop_lease.id,
        kind="agreement",
        ended_on=date(2026, 6, 30),
        reason="双方协商提前解除",
        document_id=lf.make_document(two_leases.b, "解除协议"),
        on=date(2026, 6, 30),
    )
    assert ledger.lease_ledger(date(2026, 6, 30)).total.leases == 2
    after = ledger.lease_ledger(date(2026, 7, 1))
    assert after.total.leases == 1 and list(_names(after)) == ["东湖坪村第一村民小组"]


def test_a_lease_awaiting_the_qualification_review_is_not_in_the_ledger(app, lw):
    """A company above the county's threshold waits: it is not in force, so not in the ledger."""
    app.config["LEASE_QUALIFICATION_MU"] = Decimal("1")
    try:
        waiting = services.record_lease(
            lw.a,
            lw.contract,
            lw.plots,
            lessee=services.Lessee(
                kind="company", name="韶关绿源农业有限公司", uscc=valid_uscc("91440222MA4W8PT07")
            ),
            method="lease",
            use="fruit_tea",
            starts_on=date(2026, 3, 1),
            ends_on=date(2031, 2, 28),
            rent_fen_per_mu_year=80000,
            payment_schedule="annual",
            contract_document_id=lw.doc,
            priority_evidence={"notice_document_id": lw.notice, "notice_from": "2026-01-02"},
            on=TODAY,
        )
    finally:
        app.config.pop("LEASE_QUALIFICATION_MU", None)
    assert waiting.state == "awaiting_qualification"
    assert ledger.lease_ledger(TODAY).total.leases == 0


def test_an_administrator_reads_their_collectives_and_a_township_by_its_code(two_leases):
    mine = ledger.lease_ledger(TODAY, collectives={two_leases.a})
    assert list(_names(mine)) == ["东湖坪村第一村民小组"]
    assert mine.total.area_mu == Decimal("3.15")
    assert ledger.lease_ledger(TODAY, township_code=TAIPING).total.leases == 2
    other_town = next(code for code, _name in ledger.township_choices() if code != TAIPING)
    assert ledger.lease_ledger(TODAY, township_code=other_town).townships == []
    with pytest.raises(DomainError):
        ledger.lease_ledger(TODAY, township_code="999")
    assert [code for code, _n in ledger.township_choices({two_leases.a})] == [TAIPING]


def test_the_ledger_runs_a_fixed_number_of_queries_whatever_the_count(two_leases):
    engine = db.session.get_bind()

    def queries() -> int:
        seen = []

        def count(*_args, **_kw):
            seen.append(1)

        event.listen(engine, "before_cursor_execute", count)
        try:
            ledger.lease_ledger(TODAY)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    before = queries()
    for name in ("丁户", "戊户", "己户"):
        more = ef.contract_with_plots(two_leases.a, name, two_leases.doc, plots=2)
        lease(two_leases, contract_uid=more["contract_uid"], plot_uids=more["plot_uids"])
    assert ledger.lease_ledger(TODAY).total.leases == 5
    assert queries() == before


def _read_back(body: bytes):
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(body))


def _summary_totals(wb) -> tuple[list, list, list]:
    """(village subtotal rows, township subtotal rows, the total row) of the summary sheet."""
    rows = list(wb.worksheets[0].iter_rows(min_row=3, values_only=True))
    villages = [r for r in rows if r[2] == _("Village subtotal")]
    towns = [r for r in rows if r[2] == _("Township subtotal")]
    (total,) = [r for r in rows if r[0] == _("Total") and not r[2]]
    return villages, towns, total


def test_the_xlsx_export_reads_back_with_the_right_totals_and_no_formula(two_leases):
    wb = _read_back(ledger_export.to_xlsx(ledger.lease_ledger(TODAY)))
    villages, towns, total = _summary_totals(wb)
    # columns: township, village, type, leases, area (亩), mean term, yearly rent (yuan)
    assert total[3] == 2
    assert Decimal(str(total[4])) == Decimal("4.65")
    assert Decimal(str(total[6])) == Decimal("3420")
    assert sum(r[3] for r in villages) == total[3] == sum(r[3] for r in towns)
    assert sum(Decimal(str(r[4])) for r in villages) == Decimal(str(total[4]))
    assert sum(Decimal(str(r[6])) for r in villages) == Decimal(str(total[6]))
    leases = list(wb.worksheets[1].iter_rows(min_row=2, values_only=True))
    assert len(leases) == 2
    assert sum(Decimal(str(r[11])) for r in leases) == Decimal("4.65")
    assert sum(Decimal(str(r[13])) for r in leases) == Decimal("3420")
    # the cooperative named "=1+1" opens as that text, never as a formula
    cells = [c for row in wb.worksheets[1].iter_rows(min_row=2) for c in row if c.value == "=1+1"]
    assert cells and all(c.data_type == "s" for c in cells)


# --- pages and API -------------------------------------------------------------------------


@pytest.fixture
def committed(app, baseline) -> W:
    with app.app_context(), trail.acting(trail.AuditContext(actor="factory", role="system")):
        a, b = baseline.collective_a, baseline.collective_b
        doc = lf.make_document(a, "土地经营权出租合同")
        w = W(
            a=a,
            b=b,
            doc=doc,
            notice=lf.make_document(a, "流转公告"),
            holder=ef.contract_with_plots(a, "甲户", doc),
            member=ef.contract_with_plots(a, "乙户", doc, plots=1),
            other=ef.contract_with_plots(b, "丙户", lf.make_document(b), plots=1),
        )
        w["contract"], w["plots"] = w.holder["contract_uid"], w.holder["plot_uids"]
        lease(w)
        _b_lease(w)
        db.session.commit()
    return w


def test_the_bureau_reads_the_county_and_downloads_it(app, client, auth, committed):
    auth.login("bureau")
    page = client.get("/lease-ledger")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "东湖坪村第一村民小组" in html and "瑶村村股份经济合作社" in html and "4.65" in html
    assert "太平镇" in html  # the township is picked by name
    assert client.get(f"/lease-ledger?township={TAIPING}").status_code == 200
    assert client.get("/lease-ledger?township=999").status_code == 422
    assert client.get("/lease-ledger?as_of=2099-01-01").status_code == 422
    r = client.get(f"/lease-ledger.xlsx?township={TAIPING}")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    with app.test_request_context():
        _villages, _towns, total = _summary_totals(_read_back(r.data))
    assert total[3] == 2


@pytest.mark.authz
def test_an_administrator_reads_only_their_collectives_and_farmers_nothing(
    app, client, auth, committed
):
    auth.login("admin_a")
    html = client.get("/lease-ledger").get_data(as_text=True)
    assert "东湖坪村第一村民小组" in html and "瑶村村股份经济合作社" not in html
    for user in ("farmer_a", "officer", "sysadmin"):
        auth.logout()
        auth.login(user)
        assert client.get("/lease-ledger").status_code == 404, user
        assert client.get("/lease-ledger.xlsx").status_code == 404, user


def test_the_api_gives_the_ledger_within_the_callers_reach(app, client, committed):
    bureau = {"Authorization": f"Bearer {token_for(app, 'bureau')}"}
    got = client.get("/api/v1/lease-ledger", headers=bureau).get_json()
    assert got["total"]["area_mu"] == "4.65" and got["total"]["rent_fen_per_year"] == 342000
    admin_b = {"Authorization": f"Bearer {token_for(app, 'admin_b')}"}
    got = client.get("/api/v1/lease-ledger", headers=admin_b).get_json()
    assert [v["name"] for t in got["townships"] for v in t["villages"]] == ["瑶村村股份经济合作社"]
    r = client.get("/api/v1/lease-ledger?as_of=2099-01-01", headers=bureau)
    assert r.status_code == 422
    farmer = {"Authorization": f"Bearer {token_for(app, 'farmer_a')}"}
    assert client.get("/api/v1/lease-ledger", headers=farmer).status_code == 404


@pytest.mark.hostile
@pytest.mark.parametrize(
    "query", ["township=999", "township=" + "9" * 40, "as_of=tomorrow", "as_of=2026-13-40"]
)
def test_the_api_refuses_hostile_queries_in_words(app, client, committed, query):
    bureau = {"Authorization": f"Bearer {token_for(app, 'bureau')}"}
    r = client.get(f"/api/v1/lease-ledger?{query}", headers=bureau)
    assert r.status_code == 422 and r.get_json()["error"]["message"]


# --- the demo county -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def fresh_demo(demo_template, tmp_path_factory):
    from tests.conftest import demo_county_app

    with demo_county_app(demo_template, tmp_path_factory) as application:
        yield application


def test_the_demo_countys_ledger_export_opens_with_the_right_totals(fresh_demo):
    from app.demo.seed import PASSWORD

    client = fresh_demo.test_client()
    assert client.post("/login", data={"username": "bureau", "password": PASSWORD}).status_code
    r = client.get("/lease-ledger.xlsx")
    assert r.status_code == 200
    with fresh_demo.app_context():
        from app.core.calendar import county_today

        today = county_today()
        in_force = db.session.execute(
            select(Lease.area_m2, Lease.rent_fen_per_year).where(
                Lease.state == "in_force", Lease.starts_on <= today, Lease.ends_on >= today
            )
        ).all()
        names = set(db.session.scalars(select(Collective.name)))
        towns = set(db.session.scalars(select(Division.name).where(Division.level == "town")))
        leases_total = db.session.scalar(select(func.count(Lease.id)))
    assert in_force, "the demo county has leases in force"
    assert leases_total > len(in_force)  # the company's lease waits for its review
    with fresh_demo.test_request_context():
        wb = _read_back(r.data)
        villages, town_rows, total = _summary_totals(wb)
    assert total[3] == len(in_force) == sum(r[3] for r in villages)
    expected_area = sum(ledger.area_mu(a) for a, _r in in_force)
    assert Decimal(str(total[4])) == expected_area == sum(Decimal(str(r[4])) for r in villages)
    expected_rent = ledger.yuan(sum(r for _a, r in in_force))
    assert Decimal(str(total[6])) == expected_rent == sum(Decimal(str(r[6])) for r in town_rows)
    assert {r[1] for r in villages} <= names and {r[0] for r in town_rows} <= towns


@pytest.mark.browser
def test_the_ledger_has_no_sideways_scrolling_on_a_390_px_phone(client, auth, committed, tmp_path):
    from tests.market.test_pages import _measure_at_390

    problems = []
    for user in ("admin_a", "bureau"):
        auth.login(user)
        width, frame, button = _measure_at_390(client, "/lease-ledger", tmp_path)
        if frame != 390 or width > frame:
            problems.append(f"{user}: {width} px wide in a {frame} px frame")
        if button < 44:
            problems.append(f"{user}: a button {button} px high")
        auth.logout()
    assert not problems, "\n".join(problems)
