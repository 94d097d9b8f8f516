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

from tests.factories.certificates import contract_with_plots

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
    """A confirmed contract of a five-person household with 10 plots, and its certificate."""
    return contract_with_plots(baseline.collective_a, "欧阳长青", 10)["certificate"]


def test_a_certificate_with_ten_plots_prints_on_one_a4_sheet(client, auth, ten_plots, tmp_path):
    auth.login("admin_a")
    pdf = print_to_pdf(client, f"/certificates/{ten_plots}", tmp_path)
    assert pdf.startswith(b"%PDF")
    assert pdf_pages(pdf) == 1
    html = (tmp_path / "certificate.html").read_text(encoding="utf-8")
    assert html.count("长垅尾水田") == 10 and "欧阳小燕" in html  # all of it is on that sheet
