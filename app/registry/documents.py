"""Source documents (来源材料): every right and every change cites one, stored with its SHA-256.

A document's bytes are kept content-addressed under ``<store>/<sha[:2]>/<sha>``: the same bytes are
stored once, a stored file is never changed in place, and anyone can check a file against the hash
recorded in the registry and in the audit trail. The file's type is decided by its first bytes,
never by its name or by what the uploading browser claims, and the name a user gave is only ever a
label: it never becomes part of a path.

Versioned rows cite a document through ``source_document_id``; ``citations`` lists them.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.audit import trail
from app.core.errors import DomainError, NotFound
from app.core.inputs import MAX_ID
from app.divisions.models import Collective
from app.extensions import db
from app.registry import inputs
from app.registry.models import (
    Certificate,
    Guardianship,
    Homestead,
    Household,
    HouseholdMember,
    LandContract,
    Membership,
    Person,
    Plot,
    ShareHolding,
    SourceDocument,
)
from app.registry.versioning import Versioned

KINDS = {
    "contract": _l("Contract"),
    "resolution": _l("Resolution"),
    "approval": _l("Approval"),
    "declaration": _l("Declaration"),
    "survey": _l("Survey"),
    "death_record": _l("Death record"),
    "land_at_new_residence": _l("Land allocated at the new residence"),
    "other": _l("Other"),
}

# Accepted types, recognised by their signature (magic bytes) only.
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)
_HEAD = max(len(sig) for sig, _m, _e in _SIGNATURES)
EXTENSIONS = {media: ext for _s, media, ext in _SIGNATURES}

CHUNK = 64 * 1024
_KEY = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}$")

# Every versioned model, for "which versions cite this document".
CITING_MODELS: tuple[type[Versioned], ...] = (
    Person,
    Guardianship,
    Membership,
    Household,
    HouseholdMember,
    LandContract,
    Plot,
    Homestead,
    ShareHolding,
)


def store_root() -> Path:
    """Where document files live: DOCUMENT_STORE, or instance/documents."""
    configured = current_app.config.get("DOCUMENT_STORE")
    return Path(configured) if configured else Path(current_app.instance_path) / "documents"


def max_bytes() -> int:
    return int(current_app.config.get("DOCUMENT_MAX_BYTES") or 20 * 1024 * 1024)


def sniff_media_type(head: bytes) -> str | None:
    """The media type the first bytes of a file prove, or None if they prove none we accept."""
    for signature, media_type, _ext in _SIGNATURES:
        if head.startswith(signature):
            return media_type
    return None


def clean_filename(filename: str | None) -> str | None:
    """The user's file name as a label: no directories, no control characters, bounded length."""
    if not filename:
        return None
    name = re.split(r"[\\/]", str(filename))[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    return name[:200] or None


def download_name(doc: SourceDocument) -> str:
    """A file name for download whose extension matches what the bytes really are."""
    ext = EXTENSIONS.get(doc.media_type or "", "")
    base = doc.filename or f"document-{doc.id}"
    stem, dot, old_ext = base.rpartition(".")
    if dot and ("." + old_ext.lower()) in {ext, ".jpeg" if ext == ".jpg" else ext}:
        return base
    return (stem if dot and stem else base) + ext


def _chunks(data: bytes | bytearray | memoryview | BinaryIO) -> Iterator[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        for start in range(0, len(view), CHUNK):
            yield bytes(view[start : start + CHUNK])
        return
    while True:
        chunk = data.read(CHUNK)
        if not chunk:
            return
        yield chunk


def _refuse_type() -> DomainError:
    return DomainError(
        "document_type",
        _("Only PDF, JPEG and PNG files are accepted; this file is none of them."),
        field="file",
    )


def _refuse_size(limit: int) -> DomainError:
    return DomainError(
        "document_too_large",
        _("The file is larger than the limit of %(limit)s MB.", limit=f"{limit / 1048576:g}"),
        field="file",
    )


def _check_fields(collective_id: int, kind: str, title: str) -> str:
    if kind not in KINDS:
        raise DomainError("document_kind", _("Choose a kind of document."), field="kind")
    cleaned = inputs.text(title, "title", "title")
    if not cleaned:
        raise DomainError("title_required", _("Give the document a title."), field="title")
    if db.session.get(Collective, collective_id) is None:
        raise NotFound("collective", _("Not found."), field="collective_id")
    return cleaned


@dataclass(frozen=True)
class _Stored:
    sha256: str
    size: int
    media_type: str
    storage_key: str


def _write_content_addressed(data: bytes | bytearray | memoryview | BinaryIO) -> _Stored:
    """Stream ``data`` into the store; refuse a wrong type or too big before anything is kept.

    The bytes go to a temporary file inside the store and are renamed into place only when they
    are complete and accepted, so a crash or a refusal never leaves a partial file under a hash.
    """
    limit = max_bytes()
    chunks = _chunks(data)
    head = b""
    pending: list[bytes] = []
    for chunk in chunks:
        pending.append(chunk)
        head += chunk[: _HEAD - len(head)]
        if len(head) >= _HEAD:
            break
    if not head:
        raise DomainError("document_empty", _("The file is empty."), field="file")
    media_type = sniff_media_type(head)
    if media_type is None:
        raise _refuse_type()

    root = store_root()
    root.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=root)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in itertools.chain(pending, chunks):
                size += len(chunk)
                if size > limit:
                    raise _refuse_size(limit)
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        sha = digest.hexdigest()
        target = root / sha[:2] / sha
        target.parent.mkdir(exist_ok=True)
        if target.exists() and _file_sha256(target) == sha:
            tmp.unlink()  # the same bytes are already stored
        else:
            # A missing or damaged copy is replaced whole; readers never see a partial file.
            os.replace(tmp, target)
            _fsync_dir(target.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return _Stored(sha, size, media_type, f"{sha[:2]}/{sha}")


def _file_sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(CHUNK), b""):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def store_document(
    collective_id: int,
    kind: str,
    title: str,
    filename: str | None,
    data: bytes | bytearray | memoryview | BinaryIO,
    *,
    declared_media_type: str | None = None,
) -> SourceDocument:
    """Keep a source document of a collective (R16: every change cites one, with its SHA-256).

    The type is the one the bytes prove (PDF, JPEG or PNG); ``declared_media_type`` (what the
    browser said) is deliberately not trusted. A file whose bytes the collective already holds is
    not stored again: the existing document is returned.
    """
    del declared_media_type  # never decides anything; kept so callers can pass what they got
    title = _check_fields(collective_id, kind, title)
    stored = _write_content_addressed(data)
    existing = db.session.scalar(
        select(SourceDocument)
        .where(
            SourceDocument.sha256 == stored.sha256,
            SourceDocument.collective_id == collective_id,
        )
        .order_by(SourceDocument.id)
        .limit(1)
    )
    if existing is not None:
        return existing
    ctx = trail.current()
    with trail.because("document.store", source_sha256=stored.sha256):
        doc = SourceDocument(
            collective_id=collective_id,
            kind=kind,
            title=title,
            filename=clean_filename(filename),
            media_type=stored.media_type,
            size=stored.size,
            sha256=stored.sha256,
            storage_key=stored.storage_key,
            uploaded_by=ctx.actor if ctx else None,
        )
        db.session.add(doc)
        db.session.flush()
    return doc


def document_path(doc: SourceDocument) -> Path:
    """The stored file of a document. The key is checked, so no row can point outside the store."""
    key = doc.storage_key or ""
    if not _KEY.match(key) or key[3:] != doc.sha256:
        raise NotFound("document_missing", _("The stored file of this document is missing."))
    return store_root() / key


def document_bytes(doc: SourceDocument) -> bytes:
    """The document's content (whole; documents are at most DOCUMENT_MAX_BYTES)."""
    path = document_path(doc)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFound(
            "document_missing", _("The stored file of this document is missing.")
        ) from None


def verify_document(doc: SourceDocument) -> bool:
    """Whether the stored file still has the SHA-256 recorded for it (missing = False)."""
    try:
        path = document_path(doc)
    except DomainError:
        return False
    return _file_sha256(path) == doc.sha256


@dataclass(frozen=True)
class Citation:
    """One version of a registry object (or one certificate) citing a document."""

    kind: str  # the model's __kind__, or "certificate"
    uid: int | None
    version: int | None
    begin: datetime | None
    end: datetime | None
    reason: str | None
    row: object


def citations(document_id: int, *, limit: int = 200) -> list[Citation]:
    """Which versions of which rights and records cite a document, newest first.

    One query per kind of record (a fixed number, not one per row).
    """
    out: list[Citation] = []
    for model in CITING_MODELS:
        rows = db.session.scalars(
            select(model)
            .where(model.source_document_id == document_id)
            .order_by(model.begin_lifespan.desc())
            .limit(limit)
        )
        out.extend(
            Citation(
                model.__kind__,
                row.uid,
                row.version,
                row.begin_lifespan,
                row.end_lifespan,
                row.change_reason,
                row,
            )
            for row in rows
        )
    certs = db.session.scalars(
        select(Certificate)
        .where(Certificate.source_document_id == document_id)
        .order_by(Certificate.id.desc())
        .limit(limit)
    )
    out.extend(Citation("certificate", c.right_uid, None, None, None, c.reason, c) for c in certs)
    out.sort(key=lambda c: c.begin or datetime.min, reverse=True)
    return out[:limit]


def documents_by_id(ids: set[int | None] | list[int | None]) -> dict[int, SourceDocument]:
    """The documents cited by a list of versions, in one query (for history pages)."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = db.session.scalars(select(SourceDocument).where(SourceDocument.id.in_(wanted)))
    return {d.id: d for d in rows}


def collective_documents(
    collective_id: int, *, limit: int = 50, offset: int = 0
) -> list[SourceDocument]:
    """A page of a collective's documents, newest first."""
    return list(
        db.session.scalars(
            select(SourceDocument)
            .where(SourceDocument.collective_id == collective_id)
            .order_by(SourceDocument.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )


def citable_document(
    source_document_id: Any, collective_ids: int | Iterable[int] | None
) -> SourceDocument | None:
    """The document cited as evidence, if it may be cited for a change in ``collective_ids``.

    The one check for every citation: the document exists and is the collective's own (or a
    county-wide one, without a collective). Anything else, a document of another collective
    included, gets the same answer as a number that names nothing (code ``source_unknown``,
    404), so a citation cannot be used to learn what other collectives hold. Returns None when
    nothing is cited; whether a citation is required is the caller's rule.
    """
    if source_document_id is None or source_document_id == "" or source_document_id == 0:
        return None
    allowed = {collective_ids} if isinstance(collective_ids, int) else set(collective_ids or ())
    doc = None
    if (
        isinstance(source_document_id, int)
        and not isinstance(source_document_id, bool)
        and 1 <= source_document_id <= MAX_ID
    ):
        doc = db.session.get(SourceDocument, source_document_id)
    if doc is None or (doc.collective_id is not None and doc.collective_id not in allowed):
        raise NotFound(
            "source_unknown",
            _("No such source document in this collective."),
            field="source_document_id",
        )
    return doc


def source_document(
    source_document_id: Any, collective_ids: int | Iterable[int] | None
) -> SourceDocument:
    """The source document a change cites, which it must (R16): the one check every service
    calls. Nothing cited is ``source_required``; a number that names no document the change may
    cite is ``source_unknown`` (``citable_document``)."""
    doc = citable_document(source_document_id, collective_ids)
    if doc is None:
        raise DomainError(
            "source_required",
            _("Every right and every change must cite a source document."),
            field="source_document_id",
        )
    return doc


def check_source_document(source_document_id: Any, collective_id: int) -> str | None:
    """A cited document's SHA-256 for the audit entry (``citable_document``), or None."""
    doc = citable_document(source_document_id, collective_id)
    return doc.sha256 if doc is not None else None
