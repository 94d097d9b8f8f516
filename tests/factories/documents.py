"""Source documents, certificates and public notices in one collective.

Runs after the other areas: it certifies the land contract they made (``ctx["contract_uid"]``)
when there is one it can certify, and otherwise makes what it needs itself, so it works alone.
"""

from __future__ import annotations

import random
import zlib
from datetime import date, timedelta

from sqlalchemy import select

from app.core.calendar import county_today
from app.core.codes import id_number_check_char
from app.core.errors import DomainError
from app.demo.pdf import minimal_pdf
from app.divisions.models import Collective
from app.extensions import db
from app.registry import history
from app.registry.certificates import check_no_open_overlap, issue_certificate
from app.registry.documents import store_document
from app.registry.models import Certificate, Household, HouseholdMember, LandContract, Person
from app.registry.notices import confirm_registration, lodge_objection, open_notice

TERM_START = date(2020, 1, 1)
TERM_END = date(2049, 12, 31)
_rng = random.Random()


def tiny_png() -> bytes:
    """A valid 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def free_cbfbm(collective_id: int) -> str:
    """A household code of this collective not used by any current household."""
    fbfbm = db.session.get(Collective, collective_id).fbfbm
    while True:
        code = fbfbm + f"{_rng.randrange(1, 10000):04d}"
        taken = db.session.scalar(
            select(Household.uid).where(Household.cbfbm == code, Household.end_lifespan.is_(None))
        )
        if taken is None:
            return code


def make_household(collective_id: int, name: str = "王五") -> Household:
    return history.create(
        Household,
        reason="测试",
        cbfbm=free_cbfbm(collective_id),
        collective_id=collective_id,
        name=name,
    )


def make_holder(household: Household, name: str = "王五", relation: str = "02") -> Person:
    """A person living in ``household`` and co-holding its rights (R01)."""
    while True:
        born = date(1960, 1, 1) + timedelta(days=_rng.randrange(0, 12000))
        first17 = "440222" + born.strftime("%Y%m%d") + f"{_rng.randrange(1000):03d}"
        id_number = first17 + id_number_check_char(first17)
        taken = db.session.scalar(
            select(Person.uid).where(Person.id_number == id_number, Person.end_lifespan.is_(None))
        )
        if taken is None:
            break
    person = history.create(
        Person, reason="测试", name=name, id_number=id_number, sex="M", birth_date=born
    )
    history.create(
        HouseholdMember,
        reason="测试",
        household_uid=household.uid,
        person_uid=person.uid,
        collective_id=household.collective_id,
        relation=relation,
        is_co_holder=True,
    )
    return person


def make_contract(
    collective_id: int,
    source_document_id: int,
    *,
    status: str = "confirmed",
    household: Household | None = None,
) -> LandContract:
    """A land contract of a new household (CBHTBM = CBFBM + "J"), made directly in history."""
    household = household or make_household(collective_id)
    return history.create(
        LandContract,
        reason="确权登记",
        source_document_id=source_document_id,
        cbhtbm=household.cbfbm + "J",
        household_uid=household.uid,
        collective_id=collective_id,
        term_start=TERM_START,
        term_end=TERM_END,
        contract_area_m2=1333.33,
        status=status,
    )


def confirm_after_notice(right_kind: str, right_uid: int, start: date = date(2026, 1, 5)):
    """Put a right on a public notice that started on ``start`` and confirm it after its last
    day, as the collective did back then (DOMAIN §6: the certificate may follow)."""
    notice = open_notice(right_kind, right_uid, start, today=start)
    return confirm_registration(notice.id, today=notice.ends_on + timedelta(days=1))


def _certifiable(contract_uid: object, collective_id: int) -> LandContract | None:
    if not isinstance(contract_uid, int):
        return None
    contract = history.current_of(LandContract, contract_uid)
    if contract is None or contract.collective_id != collective_id:
        return None
    if contract.status != "confirmed":
        return None
    try:  # an open overlap finding on its plots blocks the certificate (DOMAIN §6)
        check_no_open_overlap("land_contract", contract.uid)
    except DomainError:
        return None
    has_valid = db.session.scalar(
        select(Certificate.id).where(
            Certificate.right_uid == contract.uid, Certificate.status == "valid"
        )
    )
    return None if has_valid else contract


def make(collective_id: int, ctx: dict) -> dict:
    """A stored PDF, a certificate, and a running notice with one objection."""
    today = county_today()
    coll = db.session.get(Collective, collective_id)
    doc = store_document(
        collective_id,
        "contract",
        "承包合同（测试）",
        "contract.pdf",
        minimal_pdf(f"Contract {coll.fbfbm}"),
    )
    contract = _certifiable(ctx.get("contract_uid"), collective_id) or make_contract(
        collective_id, doc.id
    )
    certificate = issue_certificate(
        "land_contract",
        contract.uid,
        issued_on=today,
        reason="首次登记发证",
        source_document_id=doc.id,
    )
    pending = make_contract(collective_id, doc.id, status="pending")
    started = today - timedelta(days=2)
    notice = open_notice("land_contract", pending.uid, started, today=started)
    objection = lodge_objection(notice.id, "李四", "东至界线有误。", today)
    return {
        "document_id": doc.id,
        "certificate_id": certificate.id,
        "notice_id": notice.id,
        "objection_id": objection.id,
    }
