"""The printed certificate: one A4 sheet for a contract with up to 10 plots (real Chromium).

The page is fetched through the app (as the admin sees it), saved with its two style sheets next
to it, and printed by headless Chromium with the browser's own A4 settings; the PDF's pages are
counted.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app.extensions import db
from app.registry import certificates, history, land
from app.registry.models import Household
from tests.factories import land as land_fx
from tests.factories.documents import make_holder

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.browser  # deselect with -m "not browser" where there is no Chromium


def pdf_pages(pdf: bytes) -> int:
    """Page objects in a PDF Chromium wrote (Skia writes one ``/Type /Page`` per page)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def print_to_pdf(client, url: str, workdir: Path) -> bytes:
    assert CHROMIUM, "the browser tests need Chromium (chromium on the PATH)"
    html = client.get(url).get_data(as_text=True)
    for sheet in ("app.css", "print.css"):
        css = client.get(f"/static/css/{sheet}")
        assert css.status_code == 200
        (workdir / sheet).write_bytes(css.get_data())
        html = re.sub(rf'href="[^"]*/css/{re.escape(sheet)}[^"]*"', f'href="{sheet}"', html)
    page = workdir / "certificate.html"
    page.write_text(html, encoding="utf-8")
    out = workdir / "certificate.pdf"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--user-data-dir={workdir / 'profile'}",
            f"--print-to-pdf={out}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out.read_bytes()


@pytest.fixture
def ten_plots(ctx, baseline):
    """A confirmed contract of a five-person household with 10 plots (codes, names, both areas,
    four boundaries)."""
    cid = baseline.collective_a
    household_uid, _head = land_fx.make_household(cid, "欧阳长青")
    contract = land.create_contract(
        household_uid,
        land_fx.TERM_START,
        land_fx.TERM_END,
        source_document_id=land_fx.make_document(cid),
        reason="确权登记",
        today=land_fx.TODAY,
        confirmed=True,
    )
    household = history.current_of(Household, household_uid)
    for name, relation in (
        ("林秀兰", "10"),
        ("欧阳建国", "20"),
        ("欧阳建华", "20"),
        ("欧阳小燕", "30"),
    ):
        make_holder(household, name, relation)  # a household of five co-holders
    x, y = land_fx.origin(cid)
    for k in range(10):
        land_fx.add(
            cid,
            land_fx.square(x + (k % 5) * 45.0, y + (k // 5) * 45.0, side=38.0),
            contract_uid=contract.uid,
            name=f"长垅尾水田{k + 1}号",
            contract_area_m2=1400 + k,
            east="欧阳石生承包地",
            south="村道及灌溉渠",
            west="集体机动地",
            north="后龙山脚",
            is_basic_farmland=k % 2 == 0,
        )
    cert = certificates.issue_certificate(
        "land_contract", contract.uid, issued_on=land_fx.TODAY, reason="确权颁证"
    )
    db.session.commit()
    return cert.id


def test_a_certificate_with_ten_plots_prints_on_one_a4_sheet(client, auth, ten_plots, tmp_path):
    auth.login("admin_a")
    pdf = print_to_pdf(client, f"/certificates/{ten_plots}", tmp_path)
    assert pdf.startswith(b"%PDF")
    assert pdf_pages(pdf) == 1
    html = (tmp_path / "certificate.html").read_text(encoding="utf-8")
    assert html.count("长垅尾水田") == 10 and "欧阳小燕" in html  # all of it is on that sheet
