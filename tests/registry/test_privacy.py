"""What another collective's users can learn, and what a masked ID number gives away (issue 9,
items 5 and 6).

- authz: for every answer that names a person, a right, a household, a contract or a source
  document by number, another collective's object gets exactly the answer of a number that names
  nothing (status, code, message: the same bytes), on the page and through the API.
- hostile: a masking viewer cannot rebuild an ID number from any page or API answer (no full
  number, no birth date in any spelling, not the 8 birth digits, not region + birth); text beyond
  its limit is refused with a clear message and nothing is written.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.audit import trail
from app.audit.models import AuditEntry
from app.core.codes import mask_id_number
from app.core.errors import DomainError
from app.extensions import db
from app.registry import history, inputs, people
from app.registry.models import (
    Household,
    HouseholdMember,
    LandContract,
    Membership,
    Person,
)
from tests.conftest import token_for
from tests.factories import people as fx
from tests.factories.land import make_document
from tests.registry.test_people_web import W, _rights

NOWHERE = 2**31 - 2  # a number that names nothing
BIRTH = date(1987, 6, 23)


def _bearer(app, username: str) -> dict:
    return {"Authorization": f"Bearer {token_for(app, username)}"}


def _counts() -> tuple[int, ...]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(m))
        for m in (Person, Membership, Household, HouseholdMember, LandContract, AuditEntry)
    )


@pytest.fixture
def town(ctx, baseline) -> W:
    """Collective A with a household (head born on BIRTH, member by birth since then, a wife),
    rights and a document; collective B with its own household, member and document."""
    a, b = baseline.collective_a, baseline.collective_b
    head, hh = fx.household(a, "李大山", birth=BIRTH, since=BIRTH)
    wife = fx.member(a, "陈秀英", birth=date(1990, 11, 5), female=True, since=date(2012, 5, 1))
    people.add_household_member(hh.uid, wife.uid, "10", True, "婚入")
    # People type ID numbers into reasons: the person page shows the reason
    people.update_person(head.uid, f"核对身份证{head.id_number}后更正电话", phone="13912345678")
    rights = _rights(a, hh)
    head_b, hh_b = fx.household(b, "王瑶")
    loner_b = fx.member(b, "赵外")
    fx.link_farmer("farmer_a", wife.uid)  # the wife's account: her husband is masked to her
    from app.registry.certificates import issue_certificate
    from tests.factories.documents import confirm_after_notice

    confirm_after_notice("homestead", rights["homestead"].uid, date(2023, 12, 1))
    cert = issue_certificate(
        "homestead",
        rights["homestead"].uid,
        issued_on=date(2024, 1, 2),
        reason="发证",
        number="粤（2024）始兴县不动产权第0000001号",
    )
    return W(
        a=a,
        b=b,
        head=head.uid,
        head_id=head.id_number,
        wife=wife.uid,
        hh=hh.uid,
        head_b=head_b.uid,
        head_b_id=head_b.id_number,
        hh_b=hh_b.uid,
        loner_b=loner_b.uid,
        doc_a=make_document(a),
        doc_b=make_document(b),
        contract=rights["contract"].uid,
        contract_b=_rights(b, hh_b)["contract"].uid,
        certificate=cert.id,
    )


def _same(r1, r2) -> None:
    """Two answers a user cannot tell apart: status and body, byte for byte."""
    assert (r1.status_code, r1.get_data()) == (r2.status_code, r2.get_data())


# --- item 5: another collective's objects answer like missing ones


@pytest.mark.authz
def test_citing_another_collectives_document_is_answered_like_a_missing_one(ctx, town):
    """One check (documents.citable_document), one code, for every service that cites."""
    from app.registry import land

    for doc in (town.doc_b, NOWHERE):
        with pytest.raises(DomainError) as e:
            people.update_person(town.head, "更正", source_document_id=doc, phone="13800000000")
        assert e.value.as_dict() == {
            "code": "source_unknown",
            "message": e.value.message,
            "field": "source_document_id",
        }
        assert e.value.status == 404
    answers = []
    for doc in (town.doc_b, NOWHERE):
        with pytest.raises(DomainError) as e:
            land.renew_contract(town.contract, source_document_id=doc, reason="续包")
        answers.append((e.value.status, e.value.as_dict()))
    assert answers[0] == answers[1] and answers[0][1]["code"] == "source_unknown"
    # registering a person may cite only the registering collective's (or a county) document
    with pytest.raises(DomainError) as e:
        people.register_person(
            "周敏",
            fx.id_number(),
            reason="登记",
            source_document_id=town.doc_b,
            collective_id=town.a,
        )
    assert e.value.code == "source_unknown"
    ok = people.register_person(
        "周敏", fx.id_number(), reason="登记", source_document_id=town.doc_a, collective_id=town.a
    )
    assert ok.source_document_id == town.doc_a


@pytest.mark.authz
def test_api_citing_another_collectives_document_equals_a_missing_one(town, app, client):
    admin = _bearer(app, "admin_a")

    def patch(doc: int):
        return client.patch(
            f"/api/v1/persons/{town.head}",
            headers=admin,
            json={"phone": "13800000000", "reason": "更正", "source_document_id": doc},
        )

    def register(doc: int):
        return client.post(
            "/api/v1/persons",
            headers=admin,
            json={
                "collective_id": town.a,
                "name": "周敏",
                "id_number": fx.id_number(date(1991, 2, 3)),
                "since": "2001-01-01",
                "basis": "birth",
                "reason": "登记",
                "source_document_id": doc,
            },
        )

    before = _counts()
    for call in (patch, register):
        other, nowhere = call(town.doc_b), call(NOWHERE)
        _same(other, nowhere)
        assert other.status_code == 404 and other.json["error"]["code"] == "source_unknown"
    assert _counts() == before
    # the control: the collective's own document is accepted
    assert patch(town.doc_a).status_code == 200


@pytest.mark.authz
def test_api_another_collectives_member_equals_a_missing_person(town, app, client):
    """Adding a member, or naming a head, who is on another collective's roll: the answer of a
    person who does not exist, naming nobody."""
    admin = _bearer(app, "admin_a")

    def add(uid: int):
        return client.post(
            f"/api/v1/households/{town.hh}/members",
            headers=admin,
            json={"person_uid": uid, "relation": "10", "reason": "结婚"},
        )

    def head(uid: int):
        return client.post(
            "/api/v1/households",
            headers=admin,
            json={
                "collective_id": town.a,
                "cbfbm": "440222100205010077",
                "head_person_uid": uid,
                "reason": "立户",
            },
        )

    before = _counts()
    for call in (add, head):
        other, nowhere = call(town.loner_b), call(NOWHERE)
        _same(other, nowhere)
        assert other.status_code == 422 and other.json["error"]["code"] == "person_unknown"
        assert "赵外" not in other.get_data(as_text=True)
    assert _counts() == before


@pytest.mark.authz
def test_register_an_id_number_held_elsewhere_answers_as_one_held_here(town, app, client, auth):
    """The ID number of another collective's member gets the same refusal as one of the
    collective's own members: no name, no collective, nothing written."""
    admin = _bearer(app, "admin_a")

    def api(number: str):
        return client.post(
            "/api/v1/persons",
            headers=admin,
            json={
                "collective_id": town.a,
                "name": "冒名",
                "id_number": number,
                "since": "2001-01-01",
                "basis": "birth",
                "reason": "登记",
            },
        )

    before = _counts()
    elsewhere, here = api(town.head_b_id), api(town.head_id)
    _same(elsewhere, here)
    assert elsewhere.status_code == 422
    assert elsewhere.json["error"]["code"] == "id_number_taken"
    assert "王瑶" not in elsewhere.get_data(as_text=True)
    assert _counts() == before

    auth.login("admin_a")  # a login is audited: count from here
    before = _counts()

    def page(number: str) -> tuple[int, str]:
        r = client.post(
            f"/collectives/{town.a}/persons/new",
            data={
                "name": "冒名",
                "id_number": number,
                "hukou_type": "rural",
                "since": "2001-01-01",
                "basis": "birth",
                "reason": "登记",
            },
        )
        return r.status_code, r.get_data(as_text=True).replace(number, "<ID>")

    elsewhere_page, here_page = page(town.head_b_id), page(town.head_id)
    assert elsewhere_page == here_page and elsewhere_page[0] == 422
    assert "王瑶" not in elsewhere_page[1] and "李大山" not in elsewhere_page[1]
    assert _counts() == before


@pytest.mark.authz
def test_api_certificate_and_notice_for_another_collectives_right_equal_a_missing_one(
    town, app, client
):
    admin = _bearer(app, "admin_a")
    for url, extra in (("/api/v1/certificates", {"reason": "发证"}), ("/api/v1/notices", {})):
        answers = [
            client.post(
                url,
                headers=admin,
                json={"right_kind": "land_contract", "right_uid": uid, **extra},
            )
            for uid in (town.contract_b, NOWHERE)
        ]
        _same(*answers)
        assert answers[0].status_code == 404


@pytest.mark.authz
def test_pages_naming_another_collectives_household_or_right_equal_a_missing_one(
    town, client, auth
):
    """The contract form and the public-notice form take numbers from the browser: another
    collective's household or right gets the page a number that names nothing gets."""
    with trail.because("test"):
        _, hh_b2 = fx.household(town.b, "王二")  # B's household without a contract
        hh_b2_uid = hh_b2.uid
    auth.login("admin_a")
    before = _counts()

    def contract(uid: int) -> tuple[int, str]:
        r = client.post(
            f"/collectives/{town.a}/contracts/new",
            data={
                "household_uid": uid,
                "term_start": "2020-01-01",
                "term_end": "2049-12-31",
                "source_document_id": town.doc_a,
                "reason": "登记",
            },
        )
        return r.status_code, r.get_data(as_text=True).replace(str(uid), "<N>")

    assert contract(hh_b2_uid) == contract(NOWHERE)
    assert contract(hh_b2_uid)[0] == 422

    def notice(uid: int) -> tuple[int, str]:
        r = client.post(
            f"/collectives/{town.a}/notices",
            data={"right_kind": "land_contract", "right_uid": str(uid), "starts_on": "2026-01-05"},
        )
        return r.status_code, r.get_data(as_text=True).replace(str(uid), "<N>")

    assert notice(town.contract_b) == notice(NOWHERE)
    assert notice(town.contract_b)[0] == 404
    assert _counts() == before


@pytest.mark.authz
def test_search_for_another_collectives_id_number_equals_a_missing_one(town, app, client, auth):
    first17 = "44022219870623999"
    from app.core.codes import id_number_check_char

    unknown = first17 + id_number_check_char(first17)
    admin = _bearer(app, "admin_a")

    def api(q: str) -> tuple[int, dict]:
        r = client.get("/api/v1/search", headers=admin, query_string={"q": q})
        return r.status_code, r.json

    assert api(town.head_b_id) == api(unknown) == (200, {"items": [], "next": None})
    auth.login("admin_a")

    def page(q: str) -> tuple[int, str]:
        r = client.get("/search", query_string={"q": q})
        return r.status_code, r.get_data(as_text=True).replace(q, "<Q>")

    assert page(town.head_b_id) == page(unknown)


# --- item 6: a masked ID number cannot be rebuilt


def _leaks(body: str, number: str) -> list[str]:
    """What of ``number`` (an 18-character ID) a response body gives away."""
    birth = number[6:14]
    y, m, d = birth[:4], birth[4:6], birth[6:]
    spellings = {
        number: "the full number",
        number[:14]: "region and birth date",
        birth: "the 8 birth digits",
        f"{y}-{m}-{d}": "the birth date",
        f"{y}/{m}/{d}": "the birth date",
        f"{y}年{int(m)}月{int(d)}日": "the birth date",
        f"{y}年{m}月{d}日": "the birth date",
        f"{y}.{m}.{d}": "the birth date",
    }
    return [what for text, what in spellings.items() if text in body]


@pytest.mark.hostile
@pytest.mark.authz
@pytest.mark.parametrize("username", ["bureau", "farmer_a"])
def test_masked_id_number_cannot_be_rebuilt_from_any_page_or_api_answer(
    town, app, client, auth, username
):
    """The head is masked to the bureau and to his wife's farmer account. No page or API answer
    they can reach shows his ID number, his birth date in any spelling, or its 8 digits."""
    number = town.head_id
    auth.login(username)
    pages = [f"/persons/{town.head}", f"/households/{town.hh}", f"/certificates/{town.certificate}"]
    if username == "bureau":
        pages += [
            f"/search?q={number}",
            "/search?q=大山",
            f"/collectives/{town.a}",
        ]
    else:
        pages += ["/my"]
    for url in pages:
        r = client.get(url)
        assert r.status_code == 200, url
        body = r.get_data(as_text=True)
        if "/search?q=" in url:
            body = body.split("</form>")[-1]  # the search box holds what the user typed
        assert _leaks(body, number) == [], url
        assert mask_id_number(number) in body or "/collectives/" in url, url
        assert "*" * 14 + number[-4:] == mask_id_number(number)
    auth.logout()
    headers = _bearer(app, username)
    urls = [f"/api/v1/persons/{town.head}", f"/api/v1/households/{town.hh}", "/api/v1/persons"]
    if username == "bureau":
        urls += [f"/api/v1/search?q={number}", "/api/v1/search?q=大山"]
    for url in urls:
        r = client.get(url, headers=headers)
        assert r.status_code == 200, url
        assert _leaks(r.get_data(as_text=True), number) == [], url
    person = client.get(f"/api/v1/persons/{town.head}", headers=headers).json
    assert person["id_number_masked"] is True and person["birth_date"] is None
    assert person["id_number"] == mask_id_number(number)
    assert [m["since"] for m in person["memberships"]] == [None]  # by birth: the birth date


@pytest.mark.authz
def test_those_who_see_the_number_see_the_birth_date(town, app, client, auth):
    """The control for the test above: the collective's admin and the auditor see both."""
    for username in ("admin_a", "auditor"):
        auth.login(username)
        body = client.get(f"/persons/{town.head}").get_data(as_text=True)
        assert town.head_id in body and BIRTH.isoformat() in body, username
        auth.logout()
        person = client.get(f"/api/v1/persons/{town.head}", headers=_bearer(app, username)).json
        assert person["birth_date"] == BIRTH.isoformat()
        assert person["memberships"][0]["since"] == BIRTH.isoformat()


@pytest.mark.hostile
def test_birth_date_mismatch_does_not_echo_the_numbers_birth_date(ctx):
    number = fx.id_number(BIRTH)
    with pytest.raises(DomainError) as e:
        people.register_person("周敏", number, birth_date="1990-01-01", reason="登记")
    assert e.value.code == "birth_mismatch"
    assert _leaks(e.value.message, number) == []


# --- item 6: every free text has a size


@pytest.mark.hostile
def test_api_five_megabyte_reason_is_refused_and_nothing_is_written(town, app, client):
    admin = _bearer(app, "admin_a")
    before = _counts()
    for reason in ("理" * (inputs.REASON_MAX + 1), "x" * (5 * 1024 * 1024)):
        r = client.patch(
            f"/api/v1/persons/{town.head}",
            headers=admin,
            json={"phone": "13800000000", "reason": reason},
        )
        assert r.status_code == 422
        assert r.json["error"]["code"] == "too_long" and r.json["error"]["field"] == "reason"
        assert r.json["error"]["message"] == f"理由最多 {inputs.REASON_MAX} 个字。"
    assert _counts() == before
    ok = client.patch(
        f"/api/v1/persons/{town.head}",
        headers=admin,
        json={"phone": "13800000000", "reason": "理" * inputs.REASON_MAX},
    )
    assert ok.status_code == 200  # the limit itself is allowed


@pytest.mark.hostile
def test_page_oversized_reason_is_refused_with_the_same_message(town, client, auth):
    auth.login("admin_a")
    before = _counts()
    r = client.post(
        f"/persons/{town.head}/edit",
        data={
            "name": "李大山",
            "hukou_type": "urban",
            "hukou_place": "",
            "phone": "",
            "reason": "理" * (inputs.REASON_MAX + 1),
        },
    )
    assert r.status_code == 422
    assert f"理由最多 {inputs.REASON_MAX} 个字。" in r.get_data(as_text=True)
    assert _counts() == before


@pytest.mark.hostile
@pytest.mark.parametrize(
    "field, kind",
    [("name", "name"), ("hukou_place", "place")],
)
def test_api_oversized_person_texts_are_refused(town, app, client, field, kind):
    admin = _bearer(app, "admin_a")
    before = _counts()
    r = client.patch(
        f"/api/v1/persons/{town.head}",
        headers=admin,
        json={field: "长" * (inputs.TEXT_LIMITS[kind] + 1), "reason": "更正"},
    )
    assert r.status_code == 422 and r.json["error"]["code"] == "too_long"
    assert r.json["error"]["field"] == field
    assert str(inputs.TEXT_LIMITS[kind]) in r.json["error"]["message"]
    assert _counts() == before


@pytest.mark.hostile
def test_oversized_search_text_gets_a_clear_message(town, app, client, auth):
    q = "李" * (inputs.SEARCH_MAX + 1)
    r = client.get("/api/v1/search", headers=_bearer(app, "admin_a"), query_string={"q": q})
    assert r.status_code == 422 and r.json["error"]["code"] == "too_long"
    assert r.json["error"]["message"] == f"搜索内容最多 {inputs.SEARCH_MAX} 个字。"
    auth.login("admin_a")
    page = client.get("/search", query_string={"q": q})
    assert page.status_code == 200
    assert f"搜索内容最多 {inputs.SEARCH_MAX} 个字。" in page.get_data(as_text=True)


@pytest.mark.hostile
def test_history_keeps_no_unbounded_reason(ctx, baseline):
    """The last guard: even a service that forgot its check cannot store a megabyte."""
    with trail.because("test"), pytest.raises(DomainError) as e:
        history.create(
            Membership,
            reason="x" * (inputs.STORED_REASON_MAX + 1),
            person_uid=1,
            collective_id=baseline.collective_a,
            since=date(2000, 1, 1),
            basis="birth",
        )
    assert e.value.code == "too_long"


@pytest.mark.hostile
def test_form_length_validators_follow_the_service_limits(app):
    """One number per kind: the page's maxlength is the service's limit."""
    from app.registry.views.people_views import EditPersonForm

    with app.test_request_context():
        form = EditPersonForm(meta={"csrf": False})
        assert form.reason.flags.maxlength == inputs.REASON_MAX
        assert form.name.flags.maxlength == inputs.TEXT_LIMITS["name"]
        assert form.hukou_place.flags.maxlength == inputs.TEXT_LIMITS["place"]


@pytest.mark.authz
def test_overlap_with_another_collectives_plot_names_neither_side_to_the_other(
    ctx, baseline, app, client, auth
):
    """The overlap check is county-wide (it must be), but a finding does not tell one
    collective the other's plot code, uid, decision text or decider."""
    from app.registry import land
    from tests.factories import land as lfx

    a, b = baseline.collective_a, baseline.collective_b
    x, y = lfx.origin(a)
    doc_a, doc_b = lfx.make_document(a), lfx.make_document(b)
    mine = land.add_plot(
        a,
        lfx.dkbm(a),
        lfx.geojson(lfx.square(x, y)),
        lfx.CRS,
        source_document_id=doc_a,
        reason="测绘",
    ).plot
    theirs = land.add_plot(
        b,
        lfx.dkbm(b),
        lfx.geojson(lfx.square(x + 20, y + 20)),
        lfx.CRS,
        source_document_id=doc_b,
        reason="测绘",
    )
    assert theirs.findings and theirs.findings[0].other_plot_uid == mine.uid
    secret = "瑶村内部说明：与东湖坪边界待议"
    land.decide_finding(theirs.findings[0].id, "accepted", secret)
    their_code, their_uid, mine_uid = theirs.plot.dkbm, theirs.plot.uid, mine.uid

    auth.login("admin_a")
    page = client.get(f"/plots/{mine_uid}").get_data(as_text=True)
    assert their_code not in page and secret not in page
    findings = client.get(f"/collectives/{a}/findings").get_data(as_text=True)
    assert their_code not in findings
    auth.logout()
    plot = client.get(f"/api/v1/plots/{mine_uid}", headers=_bearer(app, "admin_a")).json
    text = str(plot["findings"])
    assert plot["findings"] and their_code not in text and secret not in text
    assert str(their_uid) not in [str(f["plot_uid"]) for f in plot["findings"]]
    # the control: the county reviewer sees both sides
    auth.login("bureau")
    page = client.get(f"/plots/{mine_uid}").get_data(as_text=True)
    assert their_code in page and secret in page


@pytest.mark.hostile
def test_id_numbers_typed_into_free_text_are_masked_for_all_but_auditors(app, baseline):
    from types import SimpleNamespace

    from app.registry.present import mask_ids_in_text

    number = "44022219870623101X"
    text = (
        f"核对身份证号{number}，旧号４４０２２２１９８７０６２３１０１ｘ；合同440222100205010001J"
    )
    bureau = SimpleNamespace(is_authenticated=True, role="bureau_reviewer")
    admin = SimpleNamespace(is_authenticated=True, role="collective_admin")
    auditor = SimpleNamespace(is_authenticated=True, role="auditor")
    for viewer in (bureau, admin, None):
        shown = mask_ids_in_text(text, viewer)
        assert _leaks(shown, number) == [] and "19870623" not in shown
        assert "*" * 14 + "101X" in shown
        assert "440222100205010001J" in shown  # a contract code is not an ID number
    assert mask_ids_in_text(text, auditor) == text
