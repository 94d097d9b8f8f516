"""The transaction attestation (鉴证书) as a PDF (issue 15 item 3): the same readers as its page,
the names, price and attestation number found in the PDF's text; another collective's is a 404."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.market.models import Deal
from tests.market import walk
from tests.test_pdf import flat, read_pdf


def _registered(client, auth, family, buyers) -> tuple[int, str]:
    lid = walk.contracted(family, buyers)
    auth.login("admin_a")
    assert client.post(f"/market/{lid}/register", data={}).status_code == 302
    deal = db.session.scalar(select(Deal).where(Deal.listing_id == lid))
    db.session.refresh(deal)
    auth.logout()
    return lid, deal.attestation_number


def test_a_member_downloads_the_attestation_with_the_names_price_and_number(
    client, auth, family, buyers
):
    lid, number = _registered(client, auth, family, buyers)
    auth.login("buyer_a")  # the published result: any member of the collective
    page = client.get(f"/market/{lid}/attestation").get_data(as_text=True)
    assert f"/market/{lid}/attestation.pdf" in page and "下载PDF" in page
    text, pages = read_pdf(client.get(f"/market/{lid}/attestation.pdf"))
    body = flat(text)
    assert pages == 1
    assert number and flat(number) in body
    assert "李家" in body and "赵大" in body and "29,000.00" in body


def test_an_unregistered_deal_has_no_attestation_pdf(client, auth, family, buyers):
    lid = walk.approved(family, buyers)
    auth.login("admin_a")
    r = client.get(f"/market/{lid}/attestation.pdf")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/market/{lid}")


@pytest.mark.authz
def test_another_collectives_attestation_pdf_is_a_404(client, auth, family, buyers):
    lid, _number = _registered(client, auth, family, buyers)
    auth.login("admin_b")
    assert client.get(f"/market/{lid}/attestation.pdf").status_code == 404
