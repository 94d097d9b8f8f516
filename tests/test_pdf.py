"""Server-side PDFs (issue 15 item 3): certificates, rights-retained statements and public notices,
each read back with pypdf to find the names and codes a reader looks for; one A4 sheet for a
certificate of ten plots; what users typed comes out as text and nothing outside the app's static
files is ever loaded; another collective's PDF is a 404. (The attestation's PDF is tested with the
marketplace, tests/market/test_attestation_pdf.py.)
"""

from __future__ import annotations

import io
import logging
import re

import pytest
from pypdf import PdfReader

from app.audit import trail
from app.core import pdf as pdf_module
from app.extensions import db
from app.registry import history, land, notices
from app.registry.models import Household, LandContract, Person, Plot
from tests.factories import land as land_fx
from tests.factories import make_world
from tests.factories.certificates import contract_with_plots

HOSTILE = "<img src=file:///etc/passwd>"


def read_pdf(response) -> tuple[str, int]:
    """(the text of every page, the number of pages) of a PDF download."""
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(response.get_data()))
    return "\n".join(page.extract_text() or "" for page in reader.pages), len(reader.pages)


def flat(text: str) -> str:
    """The text without the line breaks and spaces layout puts inside long codes and names."""
    return re.sub(r"\s+", "", text)


# --- the fetcher: only the app's own static files


@pytest.mark.hostile
@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://127.0.0.1:5432/",
        "https://example.com/font.woff2",
        f"{pdf_module.ORIGIN}/static/../../config.py",
        f"{pdf_module.ORIGIN}/static/%2e%2e/__init__.py",
        f"{pdf_module.ORIGIN}/static/css/../../templates/base.html",
        f"{pdf_module.ORIGIN}/secret",
        "data:text/html,<p>hi</p>",
        "https://sanquan-print.invalid.example.com/static/css/print.css",
    ],
)
def test_the_pdf_fetcher_refuses_everything_but_static_files(ctx, url):
    with pytest.raises(pdf_module.RefusedAddress):
        pdf_module.static_fetcher().fetch(url)


def test_the_pdf_fetcher_serves_the_apps_style_sheets_and_inline_images(ctx):
    fetcher = pdf_module.static_fetcher()
    css = fetcher.fetch(f"{pdf_module.ORIGIN}/static/css/print.css")
    assert b".cert-sheet" in css.read() and css.content_type == "text/css"
    image = fetcher.fetch("data:image/svg+xml;base64,PHN2Zy8+")
    assert image.read() == b"<svg/>"


@pytest.mark.hostile
def test_markup_asking_for_local_files_or_the_network_gets_nothing(ctx, caplog):
    html = (
        "<html><head><link rel=stylesheet href='http://127.0.0.1:9/x.css'></head><body>"
        "<p>证书</p><img src='file:///etc/passwd'><img src='/static/../../config.py'>"
        "</body></html>"
    )
    with caplog.at_level(logging.WARNING, logger="app.core.pdf"):
        out = pdf_module.html_to_pdf(html)
    text = PdfReader(io.BytesIO(out)).pages[0].extract_text()
    assert "证书" in text and "root:" not in text
    refused = [r.getMessage() for r in caplog.records if r.name == "app.core.pdf"]
    assert any("file:///etc/passwd" in m for m in refused)
    assert any("127.0.0.1:9" in m for m in refused)


# --- certificates


def test_a_certificate_with_ten_plots_is_one_pdf_page_with_its_names_and_codes(
    client, auth, ctx, baseline
):
    made = contract_with_plots(baseline.collective_a, "欧阳长青", 10)
    auth.login("admin_a")
    page = client.get(f"/certificates/{made['certificate']}").get_data(as_text=True)
    assert f"/certificates/{made['certificate']}.pdf" in page and "下载PDF" in page
    text, pages = read_pdf(client.get(f"/certificates/{made['certificate']}.pdf"))
    assert pages == 1
    body = flat(text)
    assert "欧阳长青" in body and "欧阳小燕" in body
    assert made["cbfbm"] in body and made["cbhtbm"] in body
    assert all(code in body for code in made["dkbms"]) and len(made["dkbms"]) == 10
    assert body.count("长垅尾水田") == 10
    assert made["verification"] and made["verification"] in body
    assert "发证机关" in body  # the issuing authority
    assert "地块示意图" in body  # the sketch's heading


def test_the_farmer_downloads_their_own_certificate_and_no_other(client, auth, ctx, baseline):
    from tests.factories.people import link_farmer

    made = contract_with_plots(baseline.collective_a, "李春生", 2)
    link_farmer("farmer_a", made["head"])
    db.session.commit()
    auth.login("farmer_a")
    text, _pages = read_pdf(client.get(f"/certificates/{made['certificate']}.pdf"))
    assert "李春生" in flat(text)


@pytest.mark.hostile
def test_a_name_with_markup_is_printed_as_text_and_fetches_nothing(
    client, auth, ctx, baseline, caplog
):
    made = contract_with_plots(baseline.collective_a, HOSTILE, 1)
    auth.login("admin_a")
    with caplog.at_level(logging.WARNING, logger="app.core.pdf"):
        text, pages = read_pdf(client.get(f"/certificates/{made['certificate']}.pdf"))
    assert pages == 1
    assert flat(HOSTILE) in flat(text)  # the name as typed, not an image
    assert not [r for r in caplog.records if r.name == "app.core.pdf"]  # nothing was asked for


@pytest.mark.authz
def test_another_collectives_certificate_pdf_is_a_404(client, auth, ctx, baseline):
    made = contract_with_plots(baseline.collective_a, "欧阳长青", 1)
    auth.login("admin_b")
    assert client.get(f"/certificates/{made['certificate']}.pdf").status_code == 404
    assert client.get("/certificates/999999999.pdf").status_code == 404
    auth.logout()
    assert client.get(f"/certificates/{made['certificate']}.pdf").status_code in (302, 401)


# --- rights-retained statements


def _statement(client, auth, baseline) -> tuple[int, dict]:
    with trail.acting(trail.AuditContext(actor="test-setup", role="system")):
        world = make_world(baseline.collective_a)
        db.session.commit()
    auth.login("officer")
    r = client.post("/statements", data={"person_uid": world["person_uid"]})
    assert r.status_code == 302
    return int(r.headers["Location"].rsplit("/", 1)[1]), world


def test_a_statement_pdf_names_the_person_household_plots_and_code(client, auth, ctx, baseline):
    statement_id, world = _statement(client, auth, baseline)
    page = client.get(f"/statements/{statement_id}").get_data(as_text=True)
    code = re.search(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}", page).group(0)
    assert f"/statements/{statement_id}.pdf" in page
    text, pages = read_pdf(client.get(f"/statements/{statement_id}.pdf"))
    body = flat(text)
    person = history.current_of(Person, world["person_uid"])
    plot = history.current_of(Plot, world["plot_uid"])
    household = history.current_of(Household, plot_household(plot))
    assert pages == 1
    assert person.name in body and household.name in body and household.cbfbm in body
    assert plot.dkbm in body and code in body


def plot_household(plot: Plot) -> int:
    return history.current_of(LandContract, plot.contract_uid).household_uid


@pytest.mark.authz
def test_another_collectives_admin_gets_no_statement_pdf(client, auth, ctx, baseline):
    statement_id, _world = _statement(client, auth, baseline)
    auth.logout()
    auth.login("admin_b")
    assert client.get(f"/statements/{statement_id}.pdf").status_code == 404
    auth.logout()
    auth.login("admin_a")  # the person's own collective: may print
    assert client.get(f"/statements/{statement_id}.pdf").status_code == 200


# --- public notices


def _notice(baseline, household_name: str) -> tuple[int, dict]:
    collective = baseline.collective_a
    household_uid, _head = land_fx.make_household(collective, household_name)
    contract = land.create_contract(
        household_uid,
        land_fx.TERM_START,
        land_fx.TERM_END,
        source_document_id=land_fx.make_document(collective),
        reason="确权登记",
        today=land_fx.TODAY,
    )
    x, y = land_fx.origin(collective)
    land_fx.add(collective, land_fx.square(x, y), contract_uid=contract.uid, name="塘边田")
    notice = notices.open_notice("land_contract", contract.uid, land_fx.TODAY, today=land_fx.TODAY)
    db.session.commit()
    plot = db.session.query(Plot).filter(Plot.contract_uid == contract.uid).one()
    household = history.current_of(Household, household_uid)
    return notice.id, {"cbhtbm": contract.cbhtbm, "cbfbm": household.cbfbm, "dkbm": plot.dkbm}


def test_a_public_notice_pdf_names_the_household_the_codes_and_the_period(
    client, auth, ctx, baseline
):
    notice_id, codes = _notice(baseline, "黄田生")
    auth.login("admin_a")
    assert f"/notices/{notice_id}.pdf" in client.get(f"/notices/{notice_id}").get_data(as_text=True)
    text, pages = read_pdf(client.get(f"/notices/{notice_id}.pdf"))
    body = flat(text)
    assert pages == 1
    assert "黄田生" in body and "塘边田" in body
    assert codes["cbhtbm"] in body and codes["cbfbm"] in body and codes["dkbm"] in body
    assert "公示" in body


@pytest.mark.authz
def test_another_collectives_notice_pdf_is_a_404(client, auth, ctx, baseline):
    notice_id, _codes = _notice(baseline, "黄田生")
    auth.login("admin_b")
    assert client.get(f"/notices/{notice_id}.pdf").status_code == 404
