"""Source documents: accepted by their bytes, stored once by SHA-256, checkable, cited."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core.errors import DomainError
from app.extensions import db
from app.registry import documents, history
from app.registry.models import SourceDocument
from tests.conftest import token_for
from tests.factories.documents import make_contract, minimal_pdf, tiny_png

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


@pytest.fixture(autouse=True)
def store(app, tmp_path, monkeypatch) -> Path:
    """Each test keeps its files in its own folder, so file checks see only its own."""
    root = tmp_path / "documents"
    monkeypatch.setitem(app.config, "DOCUMENT_STORE", str(root))
    return root


def files_in(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def count_documents() -> int:
    return db.session.scalar(select(func.count()).select_from(SourceDocument))


def test_pdf_is_stored_content_addressed_with_its_sha256(ctx, baseline, store):
    data = minimal_pdf("contract 1")
    doc = documents.store_document(baseline.collective_a, "contract", "承包合同", "合同.pdf", data)
    sha = hashlib.sha256(data).hexdigest()
    assert doc.sha256 == sha
    assert doc.size == len(data)
    assert doc.media_type == "application/pdf"
    assert doc.storage_key == f"{sha[:2]}/{sha}"
    assert (store / sha[:2] / sha).read_bytes() == data
    assert documents.document_bytes(doc) == data
    assert documents.verify_document(doc) is True
    assert doc.uploaded_by == "tester"
    assert files_in(store) == [store / sha[:2] / sha]  # no temporary file left behind


def test_type_comes_from_the_bytes_not_the_name_or_browser(ctx, baseline):
    png = tiny_png()
    doc = documents.store_document(
        baseline.collective_a,
        "survey",
        "宗地图",
        "scan.pdf",
        png,
        declared_media_type="application/pdf",
    )
    assert doc.media_type == "image/png"
    assert documents.download_name(doc) == "scan.png"
    jpeg = documents.store_document(baseline.collective_a, "other", "照片", "photo.txt", JPEG)
    assert jpeg.media_type == "image/jpeg"


def test_a_stream_is_hashed_while_it_is_read(ctx, baseline):
    data = minimal_pdf("x" * 50) + b"%" + b"0" * 300_000  # several chunks
    doc = documents.store_document(
        baseline.collective_a, "survey", "测绘报告", "report.pdf", io.BytesIO(data)
    )
    assert doc.sha256 == hashlib.sha256(data).hexdigest()
    assert doc.size == len(data)


def test_exe_renamed_pdf_is_refused_and_nothing_is_written(ctx, baseline, store):
    before = count_documents()
    with pytest.raises(DomainError) as err:
        documents.store_document(
            baseline.collective_a,
            "contract",
            "合同",
            "合同.pdf",
            EXE,
            declared_media_type="application/pdf",
        )
    assert err.value.code == "document_type"
    assert err.value.field == "file"
    assert count_documents() == before
    assert files_in(store) == []


def test_too_big_is_refused_and_nothing_is_half_written(app, ctx, baseline, store, monkeypatch):
    monkeypatch.setitem(app.config, "DOCUMENT_MAX_BYTES", 1024)
    data = minimal_pdf() + b"%" + b"0" * 4096
    before = count_documents()
    with pytest.raises(DomainError) as err:
        documents.store_document(baseline.collective_a, "contract", "合同", "big.pdf", data)
    assert err.value.code == "document_too_large"
    assert count_documents() == before
    assert files_in(store) == []  # neither the file nor its temporary copy


def test_empty_file_and_unknown_kind_are_refused(ctx, baseline, store):
    with pytest.raises(DomainError) as err:
        documents.store_document(baseline.collective_a, "contract", "合同", "a.pdf", b"")
    assert err.value.code == "document_empty"
    with pytest.raises(DomainError) as err:
        documents.store_document(baseline.collective_a, "poem", "诗", "a.pdf", minimal_pdf())
    assert err.value.field == "kind"
    with pytest.raises(DomainError) as err:
        documents.store_document(baseline.collective_a, "contract", "  ", "a.pdf", minimal_pdf())
    assert err.value.field == "title"
    assert files_in(store) == []


def test_same_content_is_stored_once(ctx, baseline, store):
    data = minimal_pdf("the same")
    first = documents.store_document(baseline.collective_a, "contract", "合同", "a.pdf", data)
    again = documents.store_document(baseline.collective_a, "contract", "合同副本", "b.pdf", data)
    assert again.id == first.id
    other = documents.store_document(baseline.collective_b, "resolution", "决议", "c.pdf", data)
    assert other.id != first.id and other.storage_key == first.storage_key
    assert len(files_in(store)) == 1


def test_verify_document_detects_a_changed_or_missing_file(ctx, baseline, store):
    doc = documents.store_document(
        baseline.collective_a, "approval", "批复", "a.pdf", minimal_pdf("approval")
    )
    path = store / doc.storage_key
    path.write_bytes(path.read_bytes().replace(b"approval", b"APPROVAL"))
    assert documents.verify_document(doc) is False
    path.unlink()
    assert documents.verify_document(doc) is False
    with pytest.raises(DomainError):
        documents.document_bytes(doc)


def test_storing_the_same_bytes_again_repairs_a_damaged_copy(ctx, baseline, store):
    data = minimal_pdf("repair me")
    doc = documents.store_document(baseline.collective_a, "approval", "批复", "a.pdf", data)
    (store / doc.storage_key).write_bytes(b"%PDF-garbage")
    documents.store_document(baseline.collective_a, "approval", "批复", "a.pdf", data)
    assert documents.verify_document(doc) is True


def test_a_filename_is_a_label_never_a_path(ctx, baseline, store, tmp_path):
    doc = documents.store_document(
        baseline.collective_a, "other", "杂项", "../../etc/\x00passwd.pdf", minimal_pdf("p")
    )
    assert doc.filename == "passwd.pdf"
    assert all(store in p.parents for p in files_in(tmp_path))
    doc.storage_key = "../../../etc/passwd"
    with pytest.raises(DomainError):
        documents.document_path(doc)
    assert documents.verify_document(doc) is False


def test_citations_list_every_version_citing_a_document(ctx, baseline):
    doc = documents.store_document(
        baseline.collective_a, "contract", "合同", "a.pdf", minimal_pdf("cite")
    )
    contract = make_contract(baseline.collective_a, doc.id, status="pending")
    history.revise(contract, reason="公示无异议", source_document_id=doc.id, status="confirmed")
    cited = documents.citations(doc.id)
    versions = sorted(c.version for c in cited if c.kind == "land_contract")
    assert versions == [1, 2]
    assert {c.uid for c in cited} == {contract.uid}
    assert documents.documents_by_id([doc.id, None]) == {doc.id: doc}


# --- HTTP


def test_admin_uploads_a_document_and_downloads_it(client, auth, baseline):
    auth.login("admin_a")
    data = minimal_pdf("uploaded")
    r = client.post(
        f"/collectives/{baseline.collective_a}/documents",
        data={"kind": "contract", "title": "承包合同", "file": (io.BytesIO(data), "合同.pdf")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    page = client.get(r.headers["Location"])
    assert page.status_code == 200
    sha = hashlib.sha256(data).hexdigest()
    assert sha in page.get_data(as_text=True)
    doc = db.session.scalar(select(SourceDocument).where(SourceDocument.sha256 == sha))
    r = client.get(f"/documents/{doc.id}/content")
    assert r.status_code == 200
    assert r.data == data
    assert r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"].startswith("attachment")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    listing = client.get(f"/collectives/{baseline.collective_a}/documents")
    assert "承包合同" in listing.get_data(as_text=True)


def test_upload_of_a_renamed_exe_shows_a_chinese_error_and_saves_nothing(
    client, auth, baseline, store
):
    auth.login("admin_a")
    before = count_documents()
    r = client.post(
        f"/collectives/{baseline.collective_a}/documents",
        data={"kind": "contract", "title": "合同", "file": (io.BytesIO(EXE), "合同.pdf")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 422
    assert "只接受 PDF、JPEG 或 PNG 文件" in r.get_data(as_text=True)
    assert count_documents() == before
    assert files_in(store) == []


def test_upload_too_big_shows_a_chinese_error(app, client, auth, baseline, store, monkeypatch):
    monkeypatch.setitem(app.config, "DOCUMENT_MAX_BYTES", 2048)
    auth.login("admin_a")
    r = client.post(
        f"/collectives/{baseline.collective_a}/documents",
        data={
            "kind": "contract",
            "title": "合同",
            "file": (io.BytesIO(minimal_pdf() + b"0" * 5000), "big.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 422
    assert "文件超过" in r.get_data(as_text=True)
    assert files_in(store) == []


@pytest.mark.authz
def test_documents_of_another_collective_are_404(client, auth, baseline, app):
    with app.test_request_context():
        from app.audit import trail

        with trail.acting(trail.AuditContext(actor="tester", role="collective_admin")):
            doc = documents.store_document(
                baseline.collective_b, "contract", "合同", "b.pdf", minimal_pdf("B")
            )
            db.session.commit()
            doc_id = doc.id
    auth.login("admin_a")
    assert client.get(f"/documents/{doc_id}").status_code == 404
    assert client.get(f"/documents/{doc_id}/content").status_code == 404
    assert client.get(f"/collectives/{baseline.collective_b}/documents").status_code == 404
    r = client.post(
        f"/collectives/{baseline.collective_b}/documents",
        data={"kind": "contract", "title": "合同", "file": (io.BytesIO(minimal_pdf()), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 404


@pytest.mark.authz
def test_bureau_reads_but_cannot_upload(client, auth, baseline):
    auth.login("bureau")
    assert client.get(f"/collectives/{baseline.collective_a}/documents").status_code == 200
    r = client.post(
        f"/collectives/{baseline.collective_a}/documents",
        data={"kind": "contract", "title": "合同", "file": (io.BytesIO(minimal_pdf()), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 404


def test_document_page_shows_the_versions_citing_it(client, auth, baseline, ctx):
    doc = documents.store_document(
        baseline.collective_a, "contract", "合同", "a.pdf", minimal_pdf("page")
    )
    contract = make_contract(baseline.collective_a, doc.id)
    db.session.commit()
    auth.login("admin_a")
    text = client.get(f"/documents/{doc.id}").get_data(as_text=True)
    assert str(contract.uid) in text
    assert doc.sha256 in text


# --- API


def test_api_upload_read_and_download(app, client, baseline):
    token = token_for(app, "admin_a")
    headers = {"Authorization": f"Bearer {token}"}
    png = tiny_png()
    r = client.post(
        "/api/v1/documents",
        data={
            "collective_id": str(baseline.collective_a),
            "kind": "survey",
            "title": "宗地图",
            "file": (io.BytesIO(png), "map.pdf", "application/pdf"),
        },
        headers=headers,
        content_type="multipart/form-data",
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["media_type"] == "image/png"
    assert body["sha256"] == hashlib.sha256(png).hexdigest()
    got = client.get(f"/api/v1/documents/{body['document_id']}", headers=headers).get_json()
    assert got["verified"] is True and got["citations"] == []
    r = client.get(f"/api/v1/documents/{body['document_id']}/content", headers=headers)
    assert r.data == png and r.mimetype == "image/png"
    assert "map.png" in r.headers["Content-Disposition"]


def test_api_refuses_wrong_type_with_a_field_error(app, client, baseline):
    token = token_for(app, "admin_a")
    r = client.post(
        "/api/v1/documents",
        data={
            "collective_id": str(baseline.collective_a),
            "kind": "contract",
            "title": "合同",
            "file": (io.BytesIO(EXE), "a.pdf"),
        },
        headers={"Authorization": f"Bearer {token}"},
        content_type="multipart/form-data",
    )
    assert r.status_code == 422
    assert r.get_json()["error"]["code"] == "document_type"
    assert r.get_json()["error"]["field"] == "file"


@pytest.mark.authz
def test_api_upload_into_another_collective_is_404(app, client, baseline):
    token = token_for(app, "admin_a")
    r = client.post(
        "/api/v1/documents",
        data={
            "collective_id": str(baseline.collective_b),
            "kind": "contract",
            "title": "合同",
            "file": (io.BytesIO(minimal_pdf()), "a.pdf"),
        },
        headers={"Authorization": f"Bearer {token}"},
        content_type="multipart/form-data",
    )
    assert r.status_code == 404
