"""The registry of the three rights (DOMAIN §3).

Every class that mixes in ``Versioned`` is a chain of versions (see versioning.py). References
between registry objects go to the stable ``uid`` (registry_object.id), never to a version row, so
a new version of a household does not orphan its plots.

Nothing here refers to a settlement event (R12): settlement depends on people, never the reverse.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import utcnow
from app.core.numbers import ExactDecimal
from app.core.spatial import registry_geometry
from app.extensions import Model, db
from app.registry.versioning import Versioned


class HukouType(enum.StrEnum):
    """Where the hukou is registered: in the countryside (农村) or in a town (城镇)."""

    RURAL = "rural"
    URBAN = "urban"


class HukouKind(enum.StrEnum):
    """The kind of hukou. Since the 2014 reform (国发〔2014〕25号) there is one kind, the resident
    hukou (居民户口); the rural/urban character is ``HukouType``, and the old agricultural /
    non-agricultural (农业 / 非农业) label survives only as ``hukou_origin``, a fact of the past."""

    RESIDENT = "resident"


class MembershipBasis(enum.StrEnum):
    BIRTH = "birth"
    MARRIAGE = "marriage"
    ADOPTION = "adoption"
    ALLOCATION = "allocation"
    RESOLUTION = "resolution"


# 与户主关系 (GB/T 4761-2008 family relation codes, the ones NY/T 2539 and real 确权 member tables
# use): each group code (10, 20, …, 80) and the detailed codes under it.
RELATIONS = {
    "01": _l("Self"),
    "02": _l("Head of household"),
    "10": _l("Spouse"),
    "11": _l("Husband"),
    "12": _l("Wife"),
    "20": _l("Son"),
    "21": _l("Only son"),
    "22": _l("Eldest son"),
    "23": _l("Second son"),
    "24": _l("Third son"),
    "25": _l("Fourth son"),
    "26": _l("Fifth son"),
    "27": _l("Adopted son or stepson"),
    "28": _l("Son-in-law"),
    "29": _l("Other son"),
    "30": _l("Daughter"),
    "31": _l("Only daughter"),
    "32": _l("Eldest daughter"),
    "33": _l("Second daughter"),
    "34": _l("Third daughter"),
    "35": _l("Fourth daughter"),
    "36": _l("Fifth daughter"),
    "37": _l("Adopted daughter or stepdaughter"),
    "38": _l("Daughter-in-law"),
    "39": _l("Other daughter"),
    "40": _l("Grandchild"),
    "41": _l("Grandson (son's son)"),
    "42": _l("Granddaughter (son's daughter)"),
    "43": _l("Grandson (daughter's son)"),
    "44": _l("Granddaughter (daughter's daughter)"),
    "45": _l("Grandson's wife"),
    "46": _l("Granddaughter's husband"),
    "47": _l("Great-grandson"),
    "48": _l("Great-granddaughter"),
    "49": _l("Other grandchild"),
    "50": _l("Parent"),
    "51": _l("Father"),
    "52": _l("Mother"),
    "53": _l("Father-in-law (husband's father)"),
    "54": _l("Mother-in-law (husband's mother)"),
    "55": _l("Father-in-law (wife's father)"),
    "56": _l("Mother-in-law (wife's mother)"),
    "57": _l("Stepfather or adoptive father"),
    "58": _l("Stepmother or adoptive mother"),
    "59": _l("Other parent"),
    "60": _l("Grandparent"),
    "61": _l("Grandfather (father's father)"),
    "62": _l("Grandmother (father's mother)"),
    "63": _l("Grandfather (mother's father)"),
    "64": _l("Grandmother (mother's mother)"),
    "65": _l("Grandparent of the spouse"),
    "66": _l("Great-grandfather"),
    "67": _l("Great-grandmother"),
    "68": _l("Great-grandparent of the spouse"),
    "69": _l("Other grandparent"),
    "70": _l("Sibling"),
    "71": _l("Elder brother"),
    "72": _l("Elder brother's wife"),
    "73": _l("Younger brother"),
    "74": _l("Younger brother's wife"),
    "75": _l("Elder sister"),
    "76": _l("Elder sister's husband"),
    "77": _l("Younger sister"),
    "78": _l("Younger sister's husband"),
    "79": _l("Other sibling"),
    "80": _l("Other (relation group)"),
    "81": _l("Uncle (father's elder brother)"),
    "82": _l("Aunt (wife of father's elder brother)"),
    "83": _l("Uncle (father's younger brother)"),
    "84": _l("Aunt (wife of father's younger brother)"),
    "85": _l("Uncle (mother's brother)"),
    "86": _l("Aunt (wife of mother's brother)"),
    "87": _l("Uncle (husband of mother's sister)"),
    "88": _l("Aunt (mother's sister)"),
    "89": _l("Uncle (husband of father's sister)"),
    "90": _l("Aunt (father's sister)"),
    "91": _l("Cousin (father's brother's child)"),
    "92": _l("Cousin (other)"),
    "93": _l("Nephew (brother's son)"),
    "94": _l("Niece (brother's daughter)"),
    "95": _l("Nephew (sister's son)"),
    "96": _l("Niece (sister's daughter)"),
    "97": _l("Other relative"),
    "99": _l("Not a relative"),
}

# 地块类别 DKLB
LAND_CLASSES = {
    "10": _l("Contracted land"),
    "21": _l("Private plot"),
    "22": _l("Reserve land"),
    "23": _l("Reclaimed land"),
    "99": _l("Other collective land"),
}

# 地块类别 22 机动地: the collective's reserve, never part of a household's contract.
RESERVE_LAND_CLASS = "22"

# 承包地类型 for the contract term (承包法 Art. 21) and 承包方式 (J / Q in the contract code).
CONTRACT_LAND_TYPES = {
    "arable": _l("Arable land"),
    "grassland": _l("Grassland"),
    "forest": _l("Forest land"),
}
CONTRACT_METHODS = {
    "household": _l("Household contracting"),
    "other": _l("Other contracting (tender, auction, open negotiation)"),
}

# Land use (TDLYLX) names: GB/T 21010-2007 codes as NY/T 2539 records them (the first level and
# the classes a rural contract or homestead meets). A code not listed is shown as it is.
LAND_USES = {
    "01": _l("Cultivated land"),
    "011": _l("Paddy field"),
    "012": _l("Irrigated land"),
    "013": _l("Dry land"),
    "02": _l("Garden land"),
    "021": _l("Orchard"),
    "022": _l("Tea garden"),
    "023": _l("Other garden land"),
    "03": _l("Woodland"),
    "031": _l("Forest land with trees"),
    "032": _l("Shrub land"),
    "033": _l("Other woodland"),
    "04": _l("Grassland"),
    "041": _l("Natural pasture"),
    "042": _l("Sown pasture"),
    "043": _l("Other grassland"),
    "07": _l("Residential land"),
    "072": _l("Rural homestead land"),
    "10": _l("Land for transport"),
    "104": _l("Rural road"),
    "11": _l("Water and water works"),
    "114": _l("Pond"),
    "117": _l("Ditch"),
    "12": _l("Other land"),
    "121": _l("Idle land"),
    "122": _l("Land for farm facilities"),
    "123": _l("Field bank"),
}

# Homestead terrain classes and their Guangdong caps for new approvals (R07), m².
TERRAIN_CAPS = {"plain": 80.0, "hill": 120.0, "mountain": 150.0}
#: Predicate of uq_homestead_household_current (R07 一户一宅; an inherited one is not counted).
HOMESTEAD_ONE_PER_HOUSEHOLD = (
    "end_lifespan IS NULL AND disposal IS NULL AND acquired_by <> 'inheritance'"
)


class OfCollective:
    """Belongs to one collective: the scope check and the audit entry use its collective_id."""

    @property
    def scope_collective_id(self) -> int | None:
        return self.collective_id  # type: ignore[attr-defined]

    @property
    def audit_collective_id(self) -> int | None:
        return self.collective_id  # type: ignore[attr-defined]


class OfHousehold(OfCollective):
    """Belongs to one household of a collective, whose farmer may read it."""

    @property
    def scope_household_id(self) -> int | None:
        return self.household_uid  # type: ignore[attr-defined]


class Person(Versioned, Model):
    """成员 / 自然人. The ID number is personal data: masked for roles that do not need it."""

    __tablename__ = "person"
    __kind__ = "person"

    name: Mapped[str] = mapped_column(String(80))
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    sex: Mapped[str] = mapped_column(String(1))  # M / F
    birth_date: Mapped[date] = mapped_column(Date)
    hukou_type: Mapped[str] = mapped_column(String(8), default=HukouType.RURAL)
    hukou_place: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    # The hukou kind (居民户口 since 2014) and the pre-2014 agricultural / non-agricultural label
    # (农业 / 非农业), kept apart from hukou_type, the rural/urban character other code reads.
    hukou_kind: Mapped[str] = mapped_column(
        String(16), default=HukouKind.RESIDENT, server_default=HukouKind.RESIDENT.value
    )
    hukou_origin: Mapped[str | None] = mapped_column(String(16))
    # Date of death; the version that set it cites the death record (死亡证明).
    died_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        Versioned.current_version_index("person"),
        Index(
            "uq_person_id_number_current",
            "id_number",
            unique=True,
            sqlite_where=db.text("end_lifespan IS NULL"),
            postgresql_where=db.text("end_lifespan IS NULL"),
        ),
    )

    @property
    def scope_collective_ids(self) -> set[int]:
        """The collectives the person is a member of now: their admins may reach the person."""
        return person_collective_ids(self.uid)

    @property
    def scope_household_id(self) -> int | None:
        """The household the person lives in now: its farmer account may read the person."""
        return person_household_id(self.uid)


class Membership(Versioned, OfCollective, Model):
    """成员资格: a person's membership of one collective. Settling in town does not end it."""

    __tablename__ = "membership"
    __kind__ = "membership"

    person_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"), index=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    since: Mapped[date] = mapped_column(Date)
    basis: Mapped[str] = mapped_column(String(16))
    until: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Versioned.current_version_index("membership"),
        # One open membership of a collective per person (an ended one ends its last version).
        Index(
            "uq_membership_person_collective_current",
            "person_uid",
            "collective_id",
            unique=True,
            sqlite_where=db.text("end_lifespan IS NULL"),
            postgresql_where=db.text("end_lifespan IS NULL"),
        ),
    )


class Household(Versioned, OfHousehold, Model):
    """承包方 / 农户, code CBFBM = FBFBM + 4-digit sequence."""

    __tablename__ = "household"
    __kind__ = "household"

    cbfbm: Mapped[str] = mapped_column(String(18), index=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))  # 承包方名称: usually the head's name
    address: Mapped[str | None] = mapped_column(String(200))
    # Set on the last version of a household that ended: died_out (户消亡) / merged.
    end_reason: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (
        Versioned.current_version_index("household"),
        Index(
            "uq_household_cbfbm_current",
            "cbfbm",
            unique=True,
            sqlite_where=db.text("end_lifespan IS NULL"),
            postgresql_where=db.text("end_lifespan IS NULL"),
        ),
    )

    @property
    def scope_household_id(self) -> int:
        return self.uid


class HouseholdMember(Versioned, OfHousehold, Model):
    """A person in a household: relation to the head (YHZGX) and co-holder flag (SFGYR), R01."""

    __tablename__ = "household_member"
    __kind__ = "household_member"

    household_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"), index=True)
    person_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"), index=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    relation: Mapped[str] = mapped_column(String(2))
    is_co_holder: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when the person moved to another household (e.g. on marriage) but keeps co-holding
    # this household's rights (Art. 31): still listed here, no longer living here.
    moved_out_on: Mapped[date | None] = mapped_column(Date)
    # Set on the last version of a row that ended: death / split / merged / moved / removed.
    end_reason: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (
        Versioned.current_version_index("household_member"),
        # A person lives in at most one household at a time.
        Index(
            "uq_household_member_resident_current",
            "person_uid",
            unique=True,
            sqlite_where=db.text("end_lifespan IS NULL AND moved_out_on IS NULL"),
            postgresql_where=db.text("end_lifespan IS NULL AND moved_out_on IS NULL"),
        ),
    )


# Who may reach a person (Person.scope_collective_ids, scope_household_id).


def person_collective_ids(person_uid: int) -> set[int]:
    """Collectives in which the person holds an open (current) membership; for a person whose
    death is recorded, the collectives they died a member of (their record stays in reach)."""
    ids = set(
        db.session.scalars(
            select(Membership.collective_id).where(
                Membership.person_uid == person_uid, Membership.end_lifespan.is_(None)
            )
        )
    )
    if ids:
        return ids
    return set(
        db.session.scalars(
            select(Membership.collective_id).where(
                Membership.person_uid == person_uid, Membership.end_reason == "death"
            )
        )
    )


def persons_collective_ids(person_uids: Iterable[int]) -> dict[int, set[int]]:
    """``person_collective_ids`` of many persons in at most two queries (pages listing people)."""
    out: dict[int, set[int]] = {uid: set() for uid in set(person_uids)}
    if not out:
        return out
    rows = db.session.execute(
        select(Membership.person_uid, Membership.collective_id).where(
            Membership.person_uid.in_(sorted(out)), Membership.end_lifespan.is_(None)
        )
    )
    for uid, collective_id in rows:
        out[uid].add(collective_id)
    dead_or_gone = sorted(uid for uid, ids in out.items() if not ids)
    if dead_or_gone:
        rows = db.session.execute(
            select(Membership.person_uid, Membership.collective_id).where(
                Membership.person_uid.in_(dead_or_gone), Membership.end_reason == "death"
            )
        )
        for uid, collective_id in rows:
            out[uid].add(collective_id)
    return out


def persons_household_ids(person_uids: Iterable[int]) -> dict[int, int]:
    """``person_household_id`` of many persons in one query (those living in none are absent)."""
    uids = sorted(set(person_uids))
    if not uids:
        return {}
    return dict(
        db.session.execute(
            select(HouseholdMember.person_uid, HouseholdMember.household_uid).where(
                HouseholdMember.person_uid.in_(uids),
                HouseholdMember.end_lifespan.is_(None),
                HouseholdMember.moved_out_on.is_(None),
            )
        ).all()
    )


def person_household_id(person_uid: int) -> int | None:
    """The household the person lives in now (not one where they only kept co-holding)."""
    return db.session.scalar(
        select(HouseholdMember.household_uid).where(
            HouseholdMember.person_uid == person_uid,
            HouseholdMember.end_lifespan.is_(None),
            HouseholdMember.moved_out_on.is_(None),
        )
    )


class Guardianship(Versioned, OfCollective, Model):
    """监护人: who acts and consents for a minor (民法典 Arts. 27–28), ``since`` to ``until``."""

    __tablename__ = "guardianship"
    __kind__ = "guardianship"

    ward_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"), index=True)
    guardian_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"), index=True)
    # The ward's collective when recorded: its admins keep the record, its audit entry names it.
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    since: Mapped[date] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (Versioned.current_version_index("guardianship"),)


class Succession(OfCollective, Model):
    """What became of one right when its holder died or its household died out (户消亡).

    An event, written once: contract income inherited by whom (承包法 Art. 32), the contract
    returned to the collective or continued by another member household, shares passed to an
    heir or returned, as the collective's charter says."""

    __tablename__ = "succession"

    id: Mapped[int] = mapped_column(primary_key=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    happened_on: Mapped[date] = mapped_column(Date)
    deceased_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"), index=True)
    household_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"), index=True)
    right_kind: Mapped[str] = mapped_column(String(20))  # land_contract / homestead / share_holding
    right_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"))
    # income_inherited / returned / continued / to_heir / pending
    outcome: Mapped[str] = mapped_column(String(20))
    heir_person_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"))
    heir_household_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"))
    note: Mapped[str | None] = mapped_column(Text)
    source_document_id: Mapped[int | None] = mapped_column(ForeignKey("source_document.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RightsStatement(OfCollective, Model):
    """A printed rights-retained statement (权益保留证明): what the household held on the day it was
    issued, as canonical JSON with its SHA-256, and the verification code printed on it. Anyone
    with the code learns only whether the rights are still as printed (``statements.check``)."""

    __tablename__ = "rights_statement"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    person_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"), index=True)
    household_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"))
    content: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LandReturn(OfCollective, Model):
    """A household's voluntary return of contracted land to the collective (交回, R06; Art. 30),
    written once when it is registered: it gets no new contracted land from the collective until
    the term it returned in ends (``term_end``)."""

    __tablename__ = "land_return"

    id: Mapped[int] = mapped_column(primary_key=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    household_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"), index=True)
    contract_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"))
    #: Canonical JSON list of the plot uids returned.
    plot_uids: Mapped[str] = mapped_column(Text)
    notice_given_on: Mapped[date] = mapped_column(Date)
    returned_on: Mapped[date] = mapped_column(Date)
    term_end: Mapped[date] = mapped_column(Date)
    source_document_id: Mapped[int] = mapped_column(ForeignKey("source_document.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LandContract(Versioned, OfHousehold, Model):
    """土地承包经营权: contract code CBHTBM = certificate code = CBFBM + 'J' (R01, R02)."""

    __tablename__ = "land_contract"
    __kind__ = "land_contract"
    __requires_source__ = True

    cbhtbm: Mapped[str] = mapped_column(String(19), index=True)
    household_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"), index=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    term_start: Mapped[date] = mapped_column(Date)
    term_end: Mapped[date] = mapped_column(Date)
    contract_area_m2: Mapped[float] = mapped_column(Float, default=0.0)  # HTZMJ
    status: Mapped[str] = mapped_column(String(16), default="confirmed")  # pending/confirmed
    # arable / grassland / forest: sets the term cap (R02, Art. 21)
    land_type: Mapped[str] = mapped_column(String(12), default="arable", server_default="arable")
    # household (code ends in J) / other (Q): 承包方式
    method: Mapped[str] = mapped_column(String(12), default="household", server_default="household")

    __table_args__ = (
        Versioned.current_version_index("land_contract"),
        CheckConstraint("term_end > term_start", name="term_order"),
    )


class Plot(Versioned, OfHousehold, Model):
    """地块, DKBM = FBFBM + 5-digit sequence. Contract and measured areas are kept apart."""

    __tablename__ = "plot"
    __kind__ = "plot"
    __requires_source__ = True

    # Indexes are few on purpose: a county import writes 300k plots, and each index costs every
    # row. Codes are looked up among current plots only (uq_plot_dkbm_current); contract and
    # household links are looked up by value, so rows without one stay out of those indexes.
    dkbm: Mapped[str] = mapped_column(String(19))
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    contract_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"))
    household_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"))
    name: Mapped[str | None] = mapped_column(String(80))  # DKMC
    land_class: Mapped[str] = mapped_column(String(2), default="10")  # DKLB
    land_use: Mapped[str | None] = mapped_column(String(8))  # TDLYLX
    is_basic_farmland: Mapped[bool] = mapped_column(Boolean, default=False)  # SFJBNT
    contract_area_m2: Mapped[float | None] = mapped_column(Float)  # HTMJ
    measured_area_m2: Mapped[float | None] = mapped_column(Float)  # SCMJ
    east: Mapped[str | None] = mapped_column(String(100))  # DKDZ
    south: Mapped[str | None] = mapped_column(String(100))  # DKNZ
    west: Mapped[str | None] = mapped_column(String(100))  # DKXZ
    north: Mapped[str | None] = mapped_column(String(100))  # DKBZ
    geom = mapped_column(registry_geometry("MULTIPOLYGON"), nullable=True)

    __table_args__ = (
        Versioned.current_version_index("plot"),
        Index(
            "uq_plot_dkbm_current",
            "dkbm",
            unique=True,
            sqlite_where=db.text("end_lifespan IS NULL"),
            postgresql_where=db.text("end_lifespan IS NULL"),
        ),
        *(
            Index(
                f"ix_plot_{column}",
                column,
                sqlite_where=db.text(f"{column} IS NOT NULL"),
                postgresql_where=db.text(f"{column} IS NOT NULL"),
            )
            for column in ("contract_uid", "household_uid")
        ),
    )


class Homestead(Versioned, OfHousehold, Model):
    """宅基地使用权, 28-char real-estate unit number with 'JC' (R07, R08, R09)."""

    __tablename__ = "homestead"
    __kind__ = "homestead"
    __requires_source__ = True

    unit_number: Mapped[str] = mapped_column(String(28), index=True)
    household_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"), index=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    approval_number: Mapped[str | None] = mapped_column(String(64))  # 宅基地批准书号
    approved_on: Mapped[date | None] = mapped_column(Date)
    terrain: Mapped[str] = mapped_column(String(10))  # plain / hill / mountain
    area_m2: Mapped[float] = mapped_column(Float)
    floor_area_m2: Mapped[float | None] = mapped_column(Float)
    # How this version ended, for R08: sold / leased / gifted / returned / transferred / corrected
    disposal: Mapped[str | None] = mapped_column(String(16))
    geom = mapped_column(registry_geometry("MULTIPOLYGON"), nullable=True)
    # R08: "new" = granted (新批) under the cap and 一户一宅; "existing" = 存量, as it is.
    registration: Mapped[str] = mapped_column(String(10), server_default="new")
    # How the household came by it: approval / inheritance (继承, 房地一体) / other.
    acquired_by: Mapped[str] = mapped_column(String(16), server_default="approval")
    # An heir who is not a member here (urban hukou, another collective) holds it in person;
    # household_uid is then the household it came from.
    heir_person_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"))
    # 附记: what the registry notes about this homestead (over the cap, second by inheritance,
    # the heir's note of 自然资源部), in the registry's language; shown on its page and certificate.
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Versioned.current_version_index("homestead"),
        # R07 one homestead per household: at most one current homestead per household, not
        # counting one that came by inheritance (R08: kept and noted).
        Index(
            "uq_homestead_household_current",
            "household_uid",
            unique=True,
            sqlite_where=db.text(HOMESTEAD_ONE_PER_HOUSEHOLD),
            postgresql_where=db.text(HOMESTEAD_ONE_PER_HOUSEHOLD),
        ),
    )


#: Shares (股): exact, 4 decimal places. Charters allot fractions of a share (a half 人口股 for a
#: child, 农龄股 of 0.1 share per year, 折股量化 in hundredths); four places hold all of these
#: exactly, and 14 whole digits are far beyond any collective's total.
SHARES = ExactDecimal(18, 4)


class ShareHolding(Versioned, OfHousehold, Model):
    """集体收益分配权 / 股权: shares of one holder (household or person) in one collective."""

    __tablename__ = "share_holding"
    __kind__ = "share_holding"
    __requires_source__ = True

    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    household_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"), index=True)
    person_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"), index=True)
    shares: Mapped[Decimal] = mapped_column(SHARES)
    share_type: Mapped[str] = mapped_column(String(16))  # 人口股 population / 农龄股 seniority / …
    certificate_number: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        Versioned.current_version_index("share_holding"),
        CheckConstraint("shares >= 0", name="shares_nonnegative"),
        CheckConstraint("(household_uid IS NULL) <> (person_uid IS NULL)", name="one_holder"),
    )


class ShareRegister(OfCollective, Model):
    """A collective's fixed total of shares (股权固化, 生不增、死不减): R10 conserves it."""

    __tablename__ = "share_register"

    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), primary_key=True)
    total_shares: Mapped[Decimal] = mapped_column(SHARES)
    fixed_on: Mapped[date] = mapped_column(Date)


class SourceDocument(OfCollective, Model):
    """来源材料: a contract, resolution, approval or declaration, stored with its SHA-256."""

    __tablename__ = "source_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    collective_id: Mapped[int | None] = mapped_column(ForeignKey("collective.id"), index=True)
    kind: Mapped[str] = mapped_column(
        String(32)
    )  # contract / resolution / approval / declaration / survey
    title: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str | None] = mapped_column(String(200))
    media_type: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_key: Mapped[str | None] = mapped_column(String(200))  # path under instance/documents
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    uploaded_by: Mapped[str | None] = mapped_column(String(64))


class Certificate(OfHousehold, Model):
    """A certificate for a right: issued, re-issued (补发), replaced (换发), cancelled (注销)."""

    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    right_kind: Mapped[str] = mapped_column(String(20))  # land_contract / homestead / share_holding
    right_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"), index=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    household_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"))
    number: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(
        String(12), default="valid"
    )  # valid / superseded / cancelled
    issue_kind: Mapped[str] = mapped_column(String(12), default="issue")  # issue/reissue/replace
    issued_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"))
    source_document_id: Mapped[int | None] = mapped_column(ForeignKey("source_document.id"))
    # What the certificate certified, as canonical JSON, and its SHA-256 (certificates.py).
    # Empty for certificates issued before migration 0010: "no snapshot", never a guess.
    snapshot: Mapped[str | None] = mapped_column(Text)
    snapshot_sha256: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index(
            "uq_certificate_valid",
            "right_uid",
            unique=True,
            sqlite_where=db.text("status = 'valid'"),
            postgresql_where=db.text("status = 'valid'"),
        ),
        # The printed verification code (the hash's first 16 hex digits), for the public check.
        Index("ix_certificate_code", db.text("substr(snapshot_sha256, 1, 16)")),
    )


class PublicNotice(OfCollective, Model):
    """公示: a registration shown publicly before it is confirmed; objections must be resolved."""

    __tablename__ = "public_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    right_kind: Mapped[str] = mapped_column(String(20))
    right_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open / confirmed / withdrawn


class Objection(OfCollective, Model):
    __tablename__ = "objection"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("public_notice.id"), index=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    lodged_by: Mapped[str] = mapped_column(String(80))
    lodged_on: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open / upheld / dismissed
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_on: Mapped[date | None] = mapped_column(Date)


class GeometryFinding(OfCollective, Model):
    """A quality finding on a plot's geometry: invalid, or overlapping another current plot."""

    __tablename__ = "geometry_finding"

    id: Mapped[int] = mapped_column(primary_key=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    plot_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"), index=True)
    other_plot_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"))
    kind: Mapped[str] = mapped_column(String(24))  # overlap / invalid / tiny / area_mismatch
    detail: Mapped[str | None] = mapped_column(Text)
    overlap_m2: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(12), default="open")  # open / accepted / resolved
    found_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("plot_uid", "other_plot_uid", "kind", name="uq_finding"),)


class RightMove(OfCollective, Model):
    """A move of a right outside the marketplace (plot, shares, homestead), with its legal basis.

    Requested by the collective's staff with a basis from a fixed list and a source document;
    a bureau reviewer other than the requester countersigns (会签) before it takes effect
    (app/registry/moves.py). ``args`` is canonical JSON of what the move does.
    """

    __tablename__ = "right_move"

    id: Mapped[int] = mapped_column(primary_key=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    # plot_move / share_transfer / share_buy_back / homestead_transfer
    kind: Mapped[str] = mapped_column(String(24))
    subject_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"), index=True)
    from_household_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"))
    to_household_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"))
    args: Mapped[str] = mapped_column(Text)
    # inheritance / court_ruling / correction / readjustment / member_exit
    basis: Mapped[str] = mapped_column(String(24))
    source_document_id: Mapped[int] = mapped_column(ForeignKey("source_document.id"))
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_by_id: Mapped[int | None] = mapped_column(Integer)
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(12), default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_by_id: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # A right has at most one pending move: two cannot race to move it.
        Index(
            "uq_right_move_pending",
            "subject_uid",
            unique=True,
            sqlite_where=db.text("state = 'pending'"),
            postgresql_where=db.text("state = 'pending'"),
        ),
        Index("ix_right_move_state", "state"),
    )


class Encumbrance(OfCollective, Model):
    """What weighs on a right (issue 14 §6): a pledge of the 经营权 for a loan (Art. 47, with the
    lender), a dispute, a court freeze (查封) or, recorded by the leases, a lease.

    Never changed once written: its release is a fact of its own (``EncumbranceRelease``) with
    its own document and reason. Open objections to a public notice stay in ``objection`` and
    are read through (``encumbrances.encumbrances_of``), not copied here.
    """

    __tablename__ = "encumbrance"

    id: Mapped[int] = mapped_column(primary_key=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # pledge / dispute / freeze / lease
    # land_contract / plot / homestead / share_holding (``encumbrances.CARRIERS``)
    right_kind: Mapped[str] = mapped_column(String(20))
    right_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"), index=True)
    # The other party in words: the lender (pledge), the claimant (dispute), the court (freeze).
    party_name: Mapped[str] = mapped_column(String(120))
    party_uscc: Mapped[str | None] = mapped_column(String(18))  # the lender's 统一社会信用代码
    case_number: Mapped[str | None] = mapped_column(String(64))  # the court's (案号)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    #: The document it cites; a lease on no paper (one year or less, R05) cites its lease instead.
    source_document_id: Mapped[int | None] = mapped_column(ForeignKey("source_document.id"))
    #: The lease a record of kind "lease" comes from (rows written before 0027 cite a document).
    lease_id: Mapped[int | None] = mapped_column(ForeignKey("lease.id"), index=True)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_by_id: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="dates"),
        CheckConstraint("kind IN ('pledge', 'dispute', 'freeze', 'lease')", name="kind"),
        CheckConstraint(
            "source_document_id IS NOT NULL OR (kind = 'lease' AND lease_id IS NOT NULL)",
            name="cites",
        ),
    )


class EncumbranceRelease(OfCollective, Model):
    """The release of an encumbrance (解除): a new fact with its own document, never an edit."""

    __tablename__ = "encumbrance_release"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One release per encumbrance: two releases racing cannot both be written.
    encumbrance_id: Mapped[int] = mapped_column(ForeignKey("encumbrance.id"), unique=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    released_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    #: The document of the release; a lease ended on no paper cites its ending instead.
    source_document_id: Mapped[int | None] = mapped_column(ForeignKey("source_document.id"))
    lease_ending_id: Mapped[int | None] = mapped_column(ForeignKey("lease_ending.id"))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_by_id: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(
            "source_document_id IS NOT NULL OR lease_ending_id IS NOT NULL", name="cites"
        ),
    )


class PlotExchange(OfCollective, Model):
    """互换 (R04, Art. 33): two member households of one collective swap plots; both contracts
    are revised in one transaction and the exchange is filed (备案) with the 发包方."""

    __tablename__ = "plot_exchange"

    id: Mapped[int] = mapped_column(primary_key=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    household_a_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"))
    contract_a_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"), index=True)
    household_b_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"))
    contract_b_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"), index=True)
    # Canonical JSON lists of plot uids: A's plots that went to B, B's that went to A.
    plots_a: Mapped[str] = mapped_column(Text)
    plots_b: Mapped[str] = mapped_column(Text)
    exchanged_on: Mapped[date] = mapped_column(Date)
    agreement_document_id: Mapped[int] = mapped_column(ForeignKey("source_document.id"))
    filing_document_id: Mapped[int] = mapped_column(ForeignKey("source_document.id"))
    filed_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_by_id: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
