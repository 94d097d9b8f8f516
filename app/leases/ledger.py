"""The township's ledger of leases (流转台账, issue 14 part 8).

The leases of the land-management right in force on a day, by township, village (collective)
and lessee type: how many, their area in 亩 (two decimals), their terms and their yearly rent
(yuan), with subtotals per village and township and a total. A collective's administrator reads
their own collectives; the bureau and the auditors the county, or one township picked by name.

Set-based: one query for the divisions and one for the leases (with their collective, holder
household and qualification review), whatever the county's size. Exact figures: rent in whole
fen summed as integers; each lease's area rounded once to 0.01 亩 (half up) and the subtotals
add those, so the rows of the spreadsheet add up to its totals.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select

from app.core.calendar import county_today
from app.core.errors import DomainError
from app.divisions.models import Collective, Division
from app.extensions import db
from app.leases import services
from app.leases.models import LESSEE_KINDS, Lease, LeaseEnding, LeaseQualification
from app.registry.models import Household

#: 1 亩 = 10000/15 m².
M2_PER_MU = Decimal(10000) / Decimal(15)
CENT = Decimal("0.01")


def kind_label(kind: str) -> str:
    return services.label(services.LESSEE_KIND_LABELS, kind)


def method_label(method: str) -> str:
    return services.label(services.METHOD_LABELS, method)


def use_label(use: str) -> str:
    return services.label(services.USES, use)


def area_mu(area_m2: float | Decimal) -> Decimal:
    """An area in 亩, rounded half up to two decimals (once, from the exact m²)."""
    return (Decimal(str(area_m2)) / M2_PER_MU).quantize(CENT, rounding=ROUND_HALF_UP)


def yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(CENT)


def term_years(starts_on: date, ends_on: date) -> Decimal:
    """A lease's term in years (to one decimal), its last day included."""
    days = (ends_on - starts_on).days + 1
    return (Decimal(days) / Decimal("365.25")).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass
class Figures:
    """Counts and sums of a group of leases."""

    leases: int = 0
    area_mu: Decimal = Decimal("0.00")
    rent_fen_per_year: int = 0
    term_years_sum: Decimal = Decimal("0.0")

    def add(self, line: LedgerLine) -> None:
        self.leases += 1
        self.area_mu += line.area_mu
        self.rent_fen_per_year += line.rent_fen_per_year
        self.term_years_sum += line.term_years

    def merge(self, other: Figures) -> None:
        self.leases += other.leases
        self.area_mu += other.area_mu
        self.rent_fen_per_year += other.rent_fen_per_year
        self.term_years_sum += other.term_years_sum

    @property
    def rent_yuan(self) -> Decimal:
        return yuan(self.rent_fen_per_year)

    @property
    def mean_term_years(self) -> Decimal | None:
        if not self.leases:
            return None
        return (self.term_years_sum / self.leases).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass
class LedgerLine:
    """One lease of the ledger."""

    lease_id: int
    number: str
    collective_id: int
    holder: str
    lessee: str
    lessee_kind: str
    method: str
    use: str
    starts_on: date
    ends_on: date
    term_years: Decimal
    area_mu: Decimal
    rent_fen_per_mu_year: int
    rent_fen_per_year: int

    @property
    def kind_label(self) -> str:
        return kind_label(self.lessee_kind)

    @property
    def rent_yuan(self) -> Decimal:
        return yuan(self.rent_fen_per_year)

    @property
    def rent_yuan_per_mu(self) -> Decimal:
        return yuan(self.rent_fen_per_mu_year)


@dataclass
class KindRow:
    kind: str
    figures: Figures

    @property
    def label(self) -> str:
        return kind_label(self.kind)


@dataclass
class VillageLedger:
    collective_id: int
    name: str
    kinds: list[KindRow]
    subtotal: Figures
    lines: list[LedgerLine]


@dataclass
class TownshipLedger:
    code: str
    name: str
    villages: list[VillageLedger]
    subtotal: Figures


@dataclass
class Ledger:
    as_of: date
    township_code: str | None
    township_name: str | None
    townships: list[TownshipLedger]
    total: Figures
    kinds: list[KindRow] = field(default_factory=list)


def check_day(value: Any) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise DomainError("as_of", _("Give the ledger's date as a day."), field="as_of")
    if value > county_today():
        raise DomainError(
            "as_of_future", _("The ledger's date cannot be in the future."), field="as_of"
        )
    return value


def township_choices(collectives: set[int] | None = None) -> list[tuple[str, str]]:
    """(code, name) of the townships, in code order; with ``collectives``, only those where one
    of them lies (an administrator's)."""
    info, towns = _divisions()
    if collectives is None:
        return towns
    codes = set(
        db.session.scalars(
            select(Collective.village_code).where(Collective.id.in_(sorted(collectives) or [-1]))
        )
    )
    mine = {_township_of(code, info) for code in codes}
    return [(code, name) for code, name in towns if code in mine]


def _divisions() -> tuple[dict[str, tuple[str, str, str | None]], list[tuple[str, str]]]:
    rows = db.session.execute(
        select(Division.code, Division.name, Division.level, Division.parent_code).where(
            Division.level.in_(("town", "village"))
        )
    ).all()
    info = {code: (name, level, parent) for code, name, level, parent in rows}
    towns = sorted((code, name) for code, name, level, _p in rows if level == "town")
    return info, towns


def _township_of(code: str, info: dict[str, tuple[str, str, str | None]]) -> str:
    """A village's township (its parent); a township-level collective's division is the
    township itself."""
    entry = info.get(code)
    if entry is None or entry[1] == "town" or entry[2] is None:
        return code
    return entry[2]


def in_force_on(day: date) -> Any:
    """SQL condition: the lease was in force on ``day``: begun and not past its last day, past
    the bureau's approval when it needed one, not ended before (the day of its ending is its
    last). Reads ``Lease``, an outer-joined ``LeaseQualification`` and ``LeaseEnding``."""
    return and_(
        Lease.state.in_(("in_force", "ended")),
        Lease.starts_on <= day,
        Lease.ends_on >= day,
        or_(
            Lease.needs_qualification.is_(False),
            and_(LeaseQualification.decision == "approve", LeaseQualification.decided_on <= day),
        ),
        or_(LeaseEnding.id.is_(None), LeaseEnding.ended_on >= day),
    )


def lease_ledger(
    as_of: date | None = None,
    *,
    collectives: set[int] | None = None,
    township_code: str | None = None,
) -> Ledger:
    """The ledger of leases in force on ``as_of`` (today when None), for ``collectives`` (None:
    the county) and, when given, one township. Two queries whatever the county's size."""
    day = check_day(as_of if as_of is not None else county_today())
    info, towns = _divisions()
    town_names = dict(towns)
    if township_code is not None and township_code not in town_names:
        raise DomainError(
            "township_unknown", _("Choose a township from the list."), field="township"
        )
    q = (
        select(
            Lease.id,
            Lease.number,
            Lease.collective_id,
            Collective.name,
            Collective.village_code,
            Household.name,
            Lease.lessee_name,
            Lease.lessee_kind,
            Lease.method,
            Lease.use,
            Lease.starts_on,
            Lease.ends_on,
            Lease.area_m2,
            Lease.rent_fen_per_mu_year,
            Lease.rent_fen_per_year,
        )
        .join(Collective, Collective.id == Lease.collective_id)
        .outerjoin(
            Household,
            and_(Household.uid == Lease.household_uid, Household.end_lifespan.is_(None)),
        )
        .outerjoin(LeaseQualification, LeaseQualification.lease_id == Lease.id)
        .outerjoin(LeaseEnding, LeaseEnding.lease_id == Lease.id)
        .where(in_force_on(day))
        .order_by(Collective.village_code, Collective.name, Lease.collective_id, Lease.number)
    )
    if collectives is not None:
        q = q.where(Lease.collective_id.in_(sorted(collectives) or [-1]))
    villages: dict[int, VillageLedger] = {}
    village_town: dict[int, str] = {}
    for row in db.session.execute(q):
        (lid, number, coll, coll_name, vcode, holder, lessee, kind, method, use, start, end) = row[
            :12
        ]
        area_m2, per_mu, per_year = row[12:]
        town = _township_of(vcode, info)
        if township_code is not None and town != township_code:
            continue
        village = villages.get(coll)
        if village is None:
            village = villages[coll] = VillageLedger(coll, coll_name, [], Figures(), [])
            village_town[coll] = town
        village.lines.append(
            LedgerLine(
                lease_id=lid,
                number=number,
                collective_id=coll,
                holder=holder or "",
                lessee=lessee,
                lessee_kind=kind,
                method=method,
                use=use,
                starts_on=start,
                ends_on=end,
                term_years=term_years(start, end),
                area_mu=area_mu(area_m2),
                rent_fen_per_mu_year=int(per_mu),
                rent_fen_per_year=int(per_year),
            )
        )
    order = {kind: i for i, kind in enumerate(LESSEE_KINDS)}
    by_town: dict[str, list[VillageLedger]] = defaultdict(list)
    county_kinds: dict[str, Figures] = defaultdict(Figures)
    for coll, village in villages.items():
        kinds: dict[str, Figures] = defaultdict(Figures)
        for line in village.lines:
            kinds[line.lessee_kind].add(line)
            village.subtotal.add(line)
        village.kinds = [
            KindRow(k, f) for k, f in sorted(kinds.items(), key=lambda kv: order.get(kv[0], 99))
        ]
        for k, f in kinds.items():
            county_kinds[k].merge(f)
        by_town[village_town[coll]].append(village)
    townships: list[TownshipLedger] = []
    total = Figures()
    for code in sorted(by_town):
        subtotal = Figures()
        for village in by_town[code]:
            subtotal.merge(village.subtotal)
        total.merge(subtotal)
        townships.append(
            TownshipLedger(
                code, town_names.get(code, info.get(code, (code,))[0]), by_town[code], subtotal
            )
        )
    return Ledger(
        as_of=day,
        township_code=township_code,
        township_name=town_names.get(township_code) if township_code else None,
        townships=townships,
        total=total,
        kinds=[
            KindRow(k, f)
            for k, f in sorted(county_kinds.items(), key=lambda kv: order.get(kv[0], 99))
        ],
    )
