"""The public check of a certificate's verification code (``/verify``): no login, no personal data.

A certificate's sheet prints the first 16 hex digits of the SHA-256 of what it certified
(``certificates.verification_code``). Anyone holding a sheet can type that code and learn whether
a certificate with it was issued, for which kind of right, its number, issue date and village,
and whether it is still in force, was superseded (re-issued or replaced) or cancelled. Nothing
about the holders (names, ID numbers, household) is answered.

A re-issue (补发) certifies the very same content as the lost sheet, so both carry the same code:
the answer lists every certificate with the code, each with its issue date, and the reader
compares the date printed on the paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, literal_column, select

from app.divisions.models import Collective
from app.extensions import db
from app.registry import certificates, history
from app.registry.models import Certificate

_HEX = frozenset("0123456789ABCDEF")
_LENGTH = 16
# Longer input is not a code (and is never looked at beyond this).
_MAX_TYPED = 64


#: The index ix_certificate_code's expression (migration 0028), written as the index writes it:
#: a database uses an index on an expression only for the same expression, constants and all.
_printed_code = func.substr(
    Certificate.snapshot_sha256, literal_column("1"), literal_column(str(_LENGTH))
)


def normalise_code(text: Any) -> str | None:
    """A certificate code as typed (any case, with or without dashes or spaces) in its printed
    form ``XXXX-XXXX-XXXX-XXXX``, or None if it is not one."""
    if not isinstance(text, str) or len(text) > _MAX_TYPED:
        return None
    raw = "".join(ch for ch in text.upper() if ch.isalnum())
    if len(raw) != _LENGTH or not set(raw) <= _HEX:
        return None
    return "-".join(raw[i : i + 4] for i in range(0, _LENGTH, 4))


@dataclass(frozen=True)
class CertificateAnswer:
    """What the public check says about one certificate: nothing about its holders."""

    right_label: str
    number: str
    issued_on: date
    issue_kind_label: str
    status: str  # valid / superseded / cancelled
    ended_on: date | None
    village: str | None
    # A valid certificate whose right has changed (or ended) in the registry since it was issued.
    outdated: bool
    # For a superseded one: how its successor came (re-issued or replaced), in words.
    successor_label: str | None


def _outdated(cert: Certificate) -> bool:
    issued = certificates.stored_snapshot(cert)
    if issued is None:
        return False
    current = history.current_of(certificates.right_model(cert.right_kind), cert.right_uid)
    if current is None:
        return True
    now = certificates.build_snapshot(cert.right_kind, current, cert.number)
    return bool(certificates.snapshot_changes(issued, now))


def printed_with(printed: str) -> Select[Certificate]:
    """The certificates printed with this code (its printed form), oldest first."""
    prefix = printed.replace("-", "").lower()  # stored as hexdigest(): lower case
    return (
        select(Certificate)
        .where(_printed_code == prefix)
        .order_by(Certificate.issued_on, Certificate.id)
    )


def check(code: Any) -> list[CertificateAnswer]:
    """The certificates printed with this code, oldest first; empty for an unknown or malformed
    code."""
    printed = normalise_code(code)
    if printed is None:
        return []
    found = list(db.session.scalars(printed_with(printed)))
    if not found:
        return []
    successors = {
        c.replaces_id: c
        for c in db.session.scalars(
            select(Certificate).where(Certificate.replaces_id.in_([c.id for c in found]))
        )
    }
    villages = {
        c.id: c.name
        for c in db.session.scalars(
            select(Collective).where(Collective.id.in_({c.collective_id for c in found}))
        )
    }
    answers = []
    for cert in found:
        successor = successors.get(cert.id)
        answers.append(
            CertificateAnswer(
                right_label=str(certificates.RIGHT_LABELS.get(cert.right_kind, "")),
                number=cert.number,
                issued_on=cert.issued_on,
                issue_kind_label=str(
                    certificates.ISSUE_KIND_LABELS.get(cert.issue_kind, cert.issue_kind)
                ),
                status=cert.status,
                ended_on=cert.ended_on,
                village=villages.get(cert.collective_id),
                outdated=cert.status == "valid" and _outdated(cert),
                successor_label=str(certificates.ISSUE_KIND_LABELS.get(successor.issue_kind, ""))
                if successor is not None
                else None,
            )
        )
    return answers
