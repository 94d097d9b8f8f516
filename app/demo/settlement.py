"""The demo county's settled persons (落户登记), recorded at the hukou desk by the ``hukou`` login.

Who settled, and what the bureau and the auditors then see:

* the farmer of 东湖坪第一组 whose hukou became urban (``_seed_life_events``): settled two years
  ago by buying a flat, keeps all three rights; his rights-retained statement (权益保留证明) is
  printed, so its code checks at ``/verify``;
* the head of household 3, who settled 100 days before the share transfer was declared (the demo
  records declarations on the day it is built): within 180 days, so the listing waits in the
  bureau's queue with a flag to decide (R14);
* the head of household 5, who settled 160 days before declaring a plot transfer: flagged too, and
  the bureau's reasoned decision (interviewed in person) is in its history;
* three more heads of 东湖坪第一组 who settled years ago and kept everything, and in 瑶村 the head
  of the household whose shares are being bought back, settled long before the exit.

Records go through ``record_settlement`` as the hukou officer; nothing here touches a right (R12).
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.audit import trail
from app.auth.models import User
from app.demo.pdf import minimal_pdf
from app.extensions import db
from app.registry import documents, history, people, statements
from app.registry.models import Household, Person
from app.settlement.services import record_settlement

GROUP = "44022210020501"  # 东湖坪村第一组
YAOCUN = "44022210021100"  # 瑶村村

#: (collective, household number, days before today, city, district, channel)
SETTLED = (
    (GROUP, 3, 100, "韶关市", "浈江区", "employment"),
    (GROUP, 5, 160, "广州市", "白云区", "housing"),
    (GROUP, 8, 1_480, "韶关市", "武江区", "housing"),
    (GROUP, 9, 900, "深圳市", "龙岗区", "employment"),
    (GROUP, 10, 2_300, "韶关市", "浈江区", "study"),
    (YAOCUN, 2, 760, "韶关市", "曲江区", "family"),
)


def _head(fbfbm: str, number: int) -> int | None:
    household = db.session.scalar(
        select(Household).where(
            Household.cbfbm == f"{fbfbm}{number:04d}", Household.end_lifespan.is_(None)
        )
    )
    if household is None:
        return None
    holders = people.co_holders(household.uid)
    return holders[0].uid if holders else None


def _settle(officer: User, person_uid: int, day: date, city: str, district: str, channel: str):
    person = history.current_of(Person, person_uid)
    collective_id = people.resident_row(person_uid).collective_id
    name = person.name
    proof = documents.store_document(
        collective_id,
        "other",
        f"{name} 户口迁移证明（迁入地公安机关）",
        "hukou.pdf",
        minimal_pdf(f"Hukou transfer {person_uid}"),
    )
    record_settlement(
        officer,
        person_uid,
        settled_on=day.isoformat(),
        city=city,
        district=district,
        channel=channel,
        source_document_id=proof.id,
    )
    if person.hukou_type != "urban":
        people.update_person(
            person_uid,
            "进城落户（户籍迁出，权益保留）",
            hukou_type="urban",
            hukou_place=f"{city}{district}",
        )


def seed_settlements(already_settled_uid: int | None) -> int:
    """Record the demo's settlements as the hukou officer and print one statement; returns how
    many persons were recorded."""
    officer = db.session.scalar(select(User).where(User.username == "hukou"))
    today = history.county_today()
    count = 0
    with trail.acting(
        trail.AuditContext(actor=officer.username, actor_id=officer.id, role=officer.role)
    ):
        if already_settled_uid is not None:
            _settle(
                officer,
                already_settled_uid,
                today - timedelta(days=730),
                "韶关市",
                "浈江区",
                "housing",
            )
            statements.issue(already_settled_uid, officer)
            count += 1
        for fbfbm, number, days, city, district, channel in SETTLED:
            uid = _head(fbfbm, number)
            if uid is None or uid == already_settled_uid:
                continue
            _settle(officer, uid, today - timedelta(days=days), city, district, channel)
            count += 1
    return count
