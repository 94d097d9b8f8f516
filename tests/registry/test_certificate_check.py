"""The public check of a certificate's verification code (issue 15): anyone, without logging in,
types the code printed on a certificate and learns whether it was issued, its kind, number, date
and village, and whether it is still in force; never a holder's name or ID number."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.audit import trail
from app.divisions.models import Collective
from app.extensions import db
from app.registry import certificates
from app.registry.models import Certificate, Person
from tests.factories import land as land_fx
from tests.factories.certificates import contract_with_plots

BADGE = re.compile(r'<p class="badge (ok|warn|bad)"')


def badges(page: str) -> list[str]:
    return BADGE.findall(page)


@pytest.fixture
def issued(ctx, baseline) -> dict:
    return contract_with_plots(baseline.collective_a, "欧阳长青", 2)


def acting():
    """Services called between requests act as the collective's admin (a request ends the
    context it ran in)."""
    return trail.acting(trail.AuditContext(actor="admin_a", role="collective_admin"))


def check(client, code: str):
    r = client.get(f"/verify/{code}")
    assert r.status_code == 200
    return r.get_data(as_text=True)


def test_the_code_printed_on_a_certificate_checks_out_without_logging_in(
    client, auth, issued, baseline
):
    auth.login("admin_a")
    sheet = client.get(f"/certificates/{issued['certificate']}").get_data(as_text=True)
    code = issued["verification"]
    assert code in sheet
    assert "data:image/svg+xml" in sheet  # the QR code of the public check
    assert re.search(r'class="cert-check">[^<]*https?://[^<]*/verify\b', sheet)  # in words
    auth.logout()

    page = check(client, code)
    assert badges(page) == ["ok"]
    assert issued["number"] in page and land_fx.TODAY.isoformat() in page
    collective = db.session.get(Collective, baseline.collective_a)
    assert collective.name in page
    # Typed in lower case, without dashes, with spaces, or through the form: the same answer.
    assert badges(check(client, code.replace("-", "").lower())) == ["ok"]
    r = client.get("/verify", query_string={"code": f" {code.lower().replace('-', ' ')} "})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/verify/{code}")


def test_the_answer_carries_no_personal_data(client, issued):
    page = check(client, issued["verification"])
    people = db.session.query(Person).filter(Person.end_lifespan.is_(None)).all()
    household_people = [p for p in people if p.name in ("欧阳长青", "林秀兰", "欧阳小燕")]
    assert household_people
    for person in household_people:
        assert person.name not in page
        if person.id_number:
            assert person.id_number not in page
    assert "欧阳" not in page  # not the household's name either


def test_an_altered_code_is_not_found(client, issued):
    code = issued["verification"]
    last = code[-1]
    altered = code[:-1] + ("0" if last != "0" else "1")
    page = check(client, altered)
    assert badges(page) == ["bad"]
    assert issued["number"] not in page
    assert altered in page


def test_a_replaced_certificate_says_so_and_its_successor_is_in_force(client, ctx, issued):
    old = db.session.get(Certificate, issued["certificate"])
    contract_uid = old.right_uid
    # The right changes: the old certificate no longer shows the registry…
    land_fx.add(
        old.collective_id,
        land_fx.square(*land_fx.origin(old.collective_id), side=30.0),
        contract_uid=contract_uid,
        name="新开垦地",
        contract_area_m2=900,
    )
    db.session.commit()
    assert badges(check(client, issued["verification"])) == ["warn"]
    # …so it is replaced (换发): the old code says superseded, the new one is in force.
    with acting():
        new = certificates.replace_certificate(
            old.id, "地块增加", land_fx.TODAY + timedelta(days=3)
        )
        db.session.commit()
    page = check(client, issued["verification"])
    assert badges(page) == ["bad"]
    assert (land_fx.TODAY + timedelta(days=3)).isoformat() in page
    assert str(certificates.ISSUE_KIND_LABELS["replace"]) in page
    assert badges(check(client, certificates.verification_code(new))) == ["ok"]


def test_a_reissued_certificate_shares_the_code_and_the_answer_tells_them_apart(
    client, ctx, issued
):
    reissued_on = land_fx.TODAY + timedelta(days=10)
    new = certificates.reissue_certificate(issued["certificate"], "证书遗失", reissued_on)
    db.session.commit()
    assert certificates.verification_code(new) == issued["verification"]
    page = check(client, issued["verification"])
    assert badges(page) == ["bad", "ok"]  # the lost one first, then the one in force
    assert land_fx.TODAY.isoformat() in page and reissued_on.isoformat() in page


def test_a_cancelled_certificate_is_no_longer_in_force(client, ctx, issued):
    certificates.cancel_certificate(
        issued["certificate"], "错误发证", land_fx.TODAY + timedelta(days=1)
    )
    db.session.commit()
    page = check(client, issued["verification"])
    assert badges(page) == ["bad"]
    assert (land_fx.TODAY + timedelta(days=1)).isoformat() in page


@pytest.mark.hostile
@pytest.mark.parametrize(
    "typed",
    [
        "0" * 5000,
        "A" * 16 + "Z",
        "３Ｆ２Ａ-００００-００００-００００",
        "证书-验证码-一二三四",
        "' OR 1=1 --",
        "0000-0000-0000-000%",
        "____-____-____-____",
        "%%%%",
        "<script>alert(1)</script>",
        "\u202e0000-0000-0000-0000",
    ],
)
def test_hostile_input_gets_a_plain_answer(client, issued, typed):
    r = client.get("/verify", query_string={"code": typed})
    # 422: the app's own plain answer to an overlong value, before any view.
    assert r.status_code in (200, 302, 422)
    if r.status_code == 302:
        r = client.get(r.headers["Location"])
        assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "<script>alert" not in page
    assert issued["number"] not in page  # a wildcard never matches a real certificate
    # Straight to the check's address, too (a 404 for a path the router refuses is fine).
    r = client.get("/verify/" + typed.replace("/", ""))
    assert r.status_code in (200, 404, 422)
    assert issued["number"] not in r.get_data(as_text=True)


@pytest.mark.load
def test_the_code_is_found_through_its_index_not_by_reading_every_certificate(ctx, issued):
    """The public check looks a code up by the index on the printed code (migration 0028), on
    both databases: the query's expression is the index's, constants and all."""
    from app.registry.certificate_check import printed_with

    query = printed_with(issued["verification"])
    assert [c.id for c in db.session.scalars(query)] == [issued["certificate"]]
    # the statement as the app sends it, parameters bound
    compiled = query.compile(db.engine)
    connection = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        bound = tuple(compiled.params[name] for name in compiled.positiontup)
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", bound)
        plan = " ".join(str(row[-1]) for row in rows)
    else:  # a table this small is read whole by choice: ask whether the index can serve it
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        rows = connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
        plan = " ".join(row[0] for row in rows)
    assert "ix_certificate_code" in plan, plan
