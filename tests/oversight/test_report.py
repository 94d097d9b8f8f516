"""The county report on settled persons and their rights: the figures on a small built world, the
page for the bureau and the auditor (a 404 for everyone else), and the exports."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select

from app.divisions.models import Collective, Division
from app.divisions.services import create_collective
from app.extensions import db
from app.oversight.report import county_report
from app.registry import history
from app.registry.history import county_today
from app.registry.models import Homestead, Household, LandContract, ShareHolding
from app.settlement import services as settlement
from tests.factories import documents as fx
from tests.factories import land as land_fx
from tests.market.walk import user
from tests.oversight import world

LONG_AGO = date(2020, 1, 1)
UNIT = "440222100205JC{:05d}F00010001"


def _household(collective_id: int, doc: int, name: str, *, land=False, home=False, shares=False):
    """A household of one co-holder whose rights took effect on 1 January 2020."""
    hh = fx.make_household(collective_id, name)
    holder = fx.make_holder(hh, name + "主")
    contract = None
    if land:
        contract = history.create(
            LandContract,
            reason="确权登记",
            source_document_id=doc,
            effective_on=LONG_AGO,
            cbhtbm=hh.cbfbm + "J",
            household_uid=hh.uid,
            collective_id=collective_id,
            term_start=land_fx.TERM_START,
            term_end=land_fx.TERM_END,
            contract_area_m2=1333.33,
        )
        x, y = land_fx.origin(collective_id)
        land_fx.add(collective_id, land_fx.square(x, y + 60 * hh.uid), contract_uid=contract.uid)
    if home:
        history.create(
            Homestead,
            reason="登记",
            source_document_id=doc,
            effective_on=LONG_AGO,
            unit_number=UNIT.format(hh.uid),
            household_uid=hh.uid,
            collective_id=collective_id,
            terrain="hill",
            area_m2=100.0,
        )
    if shares:
        history.create(
            ShareHolding,
            reason="股权固化",
            source_document_id=doc,
            effective_on=LONG_AGO,
            collective_id=collective_id,
            person_uid=holder.uid,
            shares=Decimal("12.5"),
            share_type="population",
        )
    return hh, holder, contract


def _village(collective_id: int) -> str:
    return db.session.get(Collective, collective_id).village_code


@pytest.fixture
def county(ctx, baseline):
    """Collective A (东湖坪村) and B (瑶村村), both of 太平镇:

    - 一户 (A): land, homestead; settled 2024-03-01; transferred its land, registered today.
    - 二户 (A): homestead; settled 2025-01-10, corrected to 2023-05-05.
    - 三户 (A): settled, then the household ended: not counted.
    - 四户 (B): shares in the holder's own name; settled 2025-06-01.
    - 五户 (A): not settled.
    """
    a, b = baseline.collective_a, baseline.collective_b
    doc_a, doc_b = world.document(a), world.document(b)
    one, p1, contract = _household(a, doc_a, "一户", land=True, home=True)
    world.settle(p1.uid, doc_a, date(2024, 3, 1))
    lid = world.declared(a, p1.uid, contract.uid, doc_a)
    world.completed(a, world.accepted(a, lid))
    _two, p2, _ = _household(a, doc_a, "二户", home=True)
    first = world.settle(p2.uid, doc_a, date(2025, 1, 10))
    settlement.correct_settlement(
        user("officer"),
        first.id,
        reason="派出所更正了日期",
        settled_on=date(2023, 5, 5),
        city="韶关市",
        district="浈江区",
        channel="housing",
        source_document_id=doc_a,
    )
    three, p3, _ = _household(a, doc_a, "三户", home=True)
    world.settle(p3.uid, doc_a, date(2024, 8, 8))
    history.end(history.current_of(Household, three.uid), reason="户消亡")
    _four, p4, _ = _household(b, doc_b, "四户", shares=True)
    world.settle(p4.uid, doc_b, date(2025, 6, 1))
    _household(a, doc_a, "五户", land=True)
    return {"a": a, "b": b, "listing": lid, "doc_a": doc_a}


def test_report_figures_by_village_township_and_county(county):
    today = county_today()
    report = county_report(today)
    assert [t.name for t in report.townships] == ["太平镇"]
    rows = {v.code: v for v in report.villages}
    a = rows[_village(county["a"])].figures
    assert (a.settled_persons, a.settled_households) == (2, 2)
    assert (a.land.held, a.land.kept) == (1, 0)  # 一户 transferred its contract
    assert (a.homestead.held, a.homestead.kept) == (2, 2)
    assert (a.shares.held, a.shares.kept) == (0, 0)
    assert a.exits == 1
    assert a.median_days_to_exit == Decimal((today - date(2024, 3, 1)).days)
    b = rows[_village(county["b"])].figures
    assert (b.settled_persons, b.settled_households) == (1, 1)
    assert (b.shares.held, b.shares.kept) == (1, 1)  # held in the person's own name
    assert (b.exits, b.median_days_to_exit) == (0, None)
    subtotal = report.townships[0].subtotal
    assert (subtotal.settled_persons, subtotal.settled_households) == (3, 3)
    assert report.total == subtotal
    assert report.township_choices and all(name for _code, name in report.township_choices)


def test_report_the_exit_by_a_settled_person_with_its_declaration_and_days(county):
    today = county_today()
    (row,) = county_report(today).exits
    assert row.listing_id == county["listing"]
    assert (row.village_name, row.township_name, row.seller) == ("东湖坪村委会", "太平镇", "一户")
    assert row.declared_by_holder is False  # witnessed in person by staff
    assert (row.consents_given, row.consents_needed) == (0, 0)  # the only co-holder declared
    assert row.settled_on == date(2024, 3, 1)
    assert row.days_to_declaration == (today - date(2024, 3, 1)).days
    assert row.registered_on == today
    assert row.flags == []  # settled long before the R14 window
    assert row.state == "已完成"


def test_report_annual_statistics_by_year_of_settlement(county):
    years = {y.year: y for y in county_report(county_today()).years}
    assert years[2023].settled_persons == 1  # 二户's corrected day
    assert years[2023].homestead == (1, 1, 1)
    assert years[2024].settled_persons == 1  # 三户's household ended: not counted
    assert years[2024].land == (1, 1, 0)  # kept at the end of 2024, transferred since
    assert years[2025].settled_persons == 1
    assert years[2025].shares == (1, 1, 1)
    assert years[county_today().year].exits == 1


def test_report_as_of_an_earlier_day(county):
    report = county_report(date(2024, 6, 1))
    assert report.total.settled_persons == 2  # 一户 (2024-03-01) and 二户 (2023-05-05)
    assert report.total.land == report.total.land.__class__(held=1, kept=1)
    assert report.exits == []  # declared later


def test_report_of_one_township_and_refusals(county):
    from app.core.errors import DomainError

    town = db.session.get(Division, _village(county["a"])).parent_code
    assert county_report(county_today(), township_code=town).total.settled_persons == 3
    with pytest.raises(DomainError):
        county_report(county_today(), township_code="440222999000")
    with pytest.raises(DomainError):
        county_report(county_today() + timedelta(days=1))


def test_r14_report_flags_an_open_listing_and_shows_the_stored_review(ctx, baseline):
    """A declaration 10 days after settling: its flag is listed while it waits; once the bureau
    decided, the decision and the interview are listed with it."""
    a = baseline.collective_a
    doc = world.document(a)
    _hh, holder, contract = world.household(
        a, doc, "六户", settled_on=county_today() - timedelta(10)
    )
    lid = world.declared(a, holder.uid, contract.uid, doc)
    (row,) = [e for e in county_report(county_today()).exits if e.listing_id == lid]
    assert len(row.flags) == 1 and (county_today() - timedelta(10)).isoformat() in row.flags[0]
    assert not row.reviewed
    world.completed(a, world.accepted(a, lid))
    (row,) = [e for e in county_report(county_today()).exits if e.listing_id == lid]
    assert row.flags and row.days_to_registration == 10
    assert row.reviewed and row.interviewed is True
    assert row.decision and "本人当面确认自愿转让" in row.decision


def test_report_runs_a_fixed_number_of_queries_whatever_the_county_size(county, baseline):
    """No query per household, village or listing (the benchmark counts 60,000 households)."""

    def queries() -> int:
        seen = []

        def count(*_args, **_kw):
            seen.append(1)

        engine = db.session.get_bind().engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            county_report(county_today())
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    before = queries()
    b = baseline.collective_b
    doc = world.document(b)
    for i in range(3):
        _hh, holder, contract = _household(b, doc, f"新{i}户", land=True, home=True, shares=True)
        world.settle(holder.uid, doc, county_today() - timedelta(days=30 + i))
        world.declared(b, holder.uid, contract.uid, doc)
    assert queries() == before


# --- the pages


@pytest.mark.authz
@pytest.mark.parametrize("username", ["bureau", "auditor"])
def test_report_page_for_the_bureau_and_the_auditor(
    county, client, auth, username, app, monkeypatch
):
    monkeypatch.setitem(app.config, "SETTLEMENT_VILLAGE_MIN_HOUSEHOLDS", 2)
    auth.login(username)
    page = client.get("/oversight/report")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "东湖坪村委会" in html and "太平镇" in html and "一户" in html
    assert "<svg" in html and "<title" in html and 'role="img"' in html
    assert "style=" not in html.split("<main>")[1]
    # 东湖坪村: 1 of its 2 settled households exited in the 12 months: it stands out, in words.
    assert 'class="stands-out"' in html
    assert "突出" in html or "Stands out" in html
    assert "44022210020" not in html.split("<main>")[1]  # names, never codes
    nav = client.get("/oversight/report").get_data(as_text=True).split("<main>")[0]
    assert 'href="/oversight/report"' in nav


@pytest.mark.authz
@pytest.mark.parametrize("username", ["admin_a", "farmer_a", "officer", "sysadmin"])
def test_report_is_404_for_everyone_else(client, auth, username):
    auth.login(username)
    for url in ("/oversight/report", "/oversight/report.xlsx", "/oversight/report.csv"):
        assert client.get(url).status_code == 404


@pytest.mark.hostile
@pytest.mark.parametrize(
    "query",
    [
        {"township": "440222999000"},
        {"township": "=1+1"},
        {"as_of": "2026-13-45"},
        {"as_of": "9999-01-01"},
        {"as_of": "x" * 500},
    ],
)
def test_report_refuses_bad_choices_with_a_message(client, auth, query):
    auth.login("bureau")
    for url in ("/oversight/report", "/oversight/report.csv"):
        r = client.get(url, query_string=query)
        assert r.status_code == 422
        assert 'role="alert"' in r.get_data(as_text=True)


def test_report_township_filter_by_name(county, client, auth):
    town = db.session.get(Division, _village(county["a"])).parent_code
    auth.login("bureau")
    page = client.get("/oversight/report", query_string={"township": town})
    assert page.status_code == 200
    assert "东湖坪村委会" in page.get_data(as_text=True)
    other = next(
        code for code, _name in county_report(county_today()).township_choices if code != town
    )
    html = client.get("/oversight/report", query_string={"township": other}).get_data(as_text=True)
    assert "东湖坪村委会" not in html and "瑶村村委会" not in html
    assert f'value="{town}"' in html  # chosen by name from a list, never typed


# --- the exports


@pytest.fixture
def hostile_village(ctx, baseline, county):
    """A village whose name, and a household whose name, start with "=" (formula injection)."""
    town = db.session.get(Division, _village(county["a"])).parent_code
    code = town[:9] + "299"
    name = '=HYPERLINK("x")村'
    db.session.add(Division(code=code, parent_code=town, name=name, level="village"))
    db.session.flush()
    c = create_collective(code + "00", "=1+1合作社")
    doc = world.document(c.id)
    _hh, holder, contract = _household(c.id, doc, "=2+3", land=True)
    world.settle(holder.uid, doc, county_today() - timedelta(days=20))
    return {"collective": c.id, "holder": holder.uid}


def test_report_xlsx_has_two_sheets_and_text_stays_text(hostile_village, client, auth):
    from app.auth.models import User

    admin = db.session.scalar(select(User).where(User.username == "admin_a"))
    admin_collectives = admin.collective_ids
    assert hostile_village["collective"] not in admin_collectives
    auth.login("auditor")
    r = client.get("/oversight/report.xlsx")
    assert r.status_code == 200
    assert r.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(r.data))
    assert len(wb.sheetnames) == 2
    villages = wb[wb.sheetnames[0]]
    names = [c.value for c in villages["B"]]
    assert '=HYPERLINK("x")村' in names
    cell = next(c for c in villages["B"] if c.value == '=HYPERLINK("x")村')
    assert cell.data_type == "s"
    exits = wb[wb.sheetnames[1]]
    assert exits.max_row == 2  # the header and 一户's transfer
    assert exits["C2"].value == "一户"


def test_report_csv_is_the_village_table_safe_from_formulas(hostile_village, client, auth):
    auth.login("bureau")
    r = client.get("/oversight/report.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    names = [row[1] for row in rows[1:]]
    assert '\'=HYPERLINK("x")村' in names
    assert "东湖坪村委会" in names
    assert not any(cell.startswith("=") for row in rows for cell in row)


def test_report_pages_the_exits_list(county, ctx, baseline, client, auth, monkeypatch):
    """The page lists a bounded number of exits with links to the next page; the filter is
    kept across pages, and a page out of range reads as the nearest one."""
    from app.oversight import views

    a = baseline.collective_a
    doc = world.document(a)
    _hh, holder, contract = world.household(a, doc, "六户", settled_on=date(2024, 1, 2))
    world.completed(a, world.accepted(a, world.declared(a, holder.uid, contract.uid, doc)))
    db.session.commit()
    monkeypatch.setattr(views, "EXITS_PER_PAGE", 1)
    auth.login("bureau")
    sellers = set()
    for number in (1, 2):
        html = client.get(
            "/oversight/report", query_string={"as_of": county_today().isoformat(), "page": number}
        ).get_data(as_text=True)
        table = html.split('id="exits"')[1].split("</table>")[0]
        found = {name for name in ("一户", "六户") if re.search(f"<td[^>]*>{name}</td>", table)}
        assert len(found) == 1
        sellers |= found
        assert f"{number}–{number}" in html and "共 2 条" in html
    assert sellers == {"一户", "六户"}
    first = client.get("/oversight/report").get_data(as_text=True)
    assert "page=2" in first and "下一页" in first
    last = client.get("/oversight/report", query_string={"page": 99}).get_data(as_text=True)
    assert "2–2" in last and "上一页" in last
