"""R14's village exit share: in a village, how many of the households settled in town exited or
transferred a right through the marketplace in the last 12 months, and whether that stands out.

Definitions (the shared brief of the R14 work; the reports and the benchmark read the same):

- A person is *settled on day D* when a settlement record in force (no later row corrects it) has
  ``settled_on <= D``; their settlement day is the earliest such.
- A *settled household* on D is a current household with at least one current member settled
  on D. Its *village* is its collective's ``village_code``.
- An *exit or transfer by a settled household* is a completed marketplace listing (transfer or
  paid exit) sold by the household (``household_uid``) or by one of its current members (own
  shares, ``person_uid``), at least one of whose holders settled on or before the declaration day
  or within the R14 window (``SETTLEMENT_FLAG_DAYS``) after it. It counts on the day its deal was
  registered.
- The *exit share* on D is (settled households with such an exit registered in the 12 months
  ending on D) / (settled households on D). A village *stands out* with at least
  ``SETTLEMENT_VILLAGE_MIN_HOUSEHOLDS`` settled households and a share of at least
  ``SETTLEMENT_VILLAGE_EXIT_SHARE``.

Set-based: two queries whatever the county's size (one GROUP BY over every village asked for,
one listing the villages when none are named). Reads only; no scope check (the callers are the
flagger, which every declaration passes through, and the bureau's and auditors' reports).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import Date, and_, cast, func, literal_column, select, union, union_all

from app.core.calendar import county_timezone
from app.divisions.models import Collective
from app.extensions import db
from app.market.models import Deal, Listing
from app.registry.models import Household, HouseholdMember
from app.settlement.flags import flag_days
from app.settlement.models import SettlementRecord

#: The marketplace's deal kinds that take a right away from the seller (DOMAIN §6).
EXIT_KINDS = ("transfer", "paid_exit")


@dataclass(frozen=True)
class VillageExitShare:
    village_code: str
    settled_households: int
    exited_households: int
    share: Decimal | None  # None when settled_households == 0
    stands_out: bool


def thresholds() -> tuple[Decimal, int]:
    """(the share from which a village stands out, the settled households it needs at least)."""
    config = current_app.config
    return (
        Decimal(str(config.get("SETTLEMENT_VILLAGE_EXIT_SHARE", Decimal("0.5")))),
        int(config.get("SETTLEMENT_VILLAGE_MIN_HOUSEHOLDS", 5)),
    )


def year_before(day: date) -> date:
    """The same day a year earlier (28 February for 29 February): the 12 months ending on
    ``day`` are the days after it, up to and including ``day``."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def _county_day(column: Any, dialect: str, as_of: date) -> Any:
    """SQL for the county's day of a stored UTC timestamp."""
    if dialect == "postgresql":
        return cast(func.timezone(str(county_timezone()), func.timezone("UTC", column)), Date)
    # SQLite has no time zones: the county's offset from UTC (no daylight saving in China since
    # 1991), taken at the day asked about.
    moment = datetime(as_of.year, as_of.month, as_of.day, 12, tzinfo=UTC)
    offset = moment.astimezone(county_timezone()).utcoffset() or timedelta(0)
    return func.date(column, f"{int(offset.total_seconds()):+d} seconds")


def _days_after(day: Any, days: int, dialect: str) -> Any:
    if dialect == "postgresql":
        return day + literal_column(str(int(days)))  # date + integer is a date
    return func.date(day, f"{int(days):+d} days")


def _run(query: Any, dialect: str) -> dict[str, tuple[int, int]]:
    """The counts by village. On PostgreSQL the statement runs with nested loops off (and the
    setting put back right after, inside the same transaction): every join of this aggregate is
    over whole sets, and a planner misled by stale statistics (a county just imported, not yet
    analysed) would otherwise nest loops over tens of thousands of rows."""
    if dialect != "postgresql":
        return {code: (int(n), int(out)) for code, n, out in db.session.execute(query)}
    before = db.session.execute(
        select(
            func.current_setting("enable_nestloop"),
            func.set_config("enable_nestloop", "off", True),
        )
    ).first()[0]
    try:
        rows = db.session.execute(query).all()
    finally:
        db.session.execute(select(func.set_config("enable_nestloop", before or "on", True)))
    return {code: (int(n), int(out)) for code, n, out in rows}


def exit_shares(
    as_of: date, *, village_codes: Collection[str] | None = None
) -> dict[str, VillageExitShare]:
    """Every village asked for (all villages that have a collective when ``village_codes`` is
    None), keyed by its code: settled and exited households on ``as_of``, the share, and whether
    it stands out. A village with no settled household has share None and never stands out."""
    dialect = db.session.get_bind().dialect.name
    codes = None if village_codes is None else sorted(set(village_codes))
    if codes is not None and not codes:
        return {}
    share_from, min_households = thresholds()

    # Each settled person's settlement day: the earliest record in force.
    corrected = select(SettlementRecord.corrects_id).where(
        SettlementRecord.corrects_id.is_not(None)
    )
    settled = (
        select(
            SettlementRecord.person_uid.label("person_uid"),
            func.min(SettlementRecord.settled_on).label("settled_on"),
        )
        .where(SettlementRecord.id.not_in(corrected))
        .group_by(SettlementRecord.person_uid)
        .cte("settled_person")
    )

    # Completed exits and transfers whose deal was registered in the 12 months ending on as_of.
    window = (
        select(
            Listing.id.label("listing_id"),
            Listing.household_uid.label("household_uid"),
            Listing.person_uid.label("person_uid"),
            _county_day(Listing.declared_at, dialect, as_of).label("declared_on"),
        )
        .join(Deal, Deal.listing_id == Listing.id)
        .where(
            Listing.state == "completed",
            Listing.deal_kind.in_(EXIT_KINDS),
            Deal.registered_on > year_before(as_of),
            Deal.registered_on <= as_of,
        )
        .cte("exit_listing")
    )
    # Their holders: a household's co-holders, or the person holding own shares.
    member = HouseholdMember.__table__.alias("holder_member")
    holders = union_all(
        select(window.c.listing_id, window.c.declared_on, member.c.person_uid).join(
            member,
            and_(
                member.c.household_uid == window.c.household_uid,
                member.c.end_lifespan.is_(None),
                member.c.is_co_holder.is_(True),
            ),
        ),
        select(window.c.listing_id, window.c.declared_on, window.c.person_uid).where(
            window.c.person_uid.is_not(None)
        ),
    ).cte("exit_holder")
    # ... of which one settled on the declaration day, before it, or within the window after it.
    counted = (
        select(holders.c.listing_id)
        .join(settled, settled.c.person_uid == holders.c.person_uid)
        .where(settled.c.settled_on <= _days_after(holders.c.declared_on, flag_days(), dialect))
        .distinct()
        .cte("counted_listing")
    )
    # The selling households: the listing's household, or the households the seller belongs to.
    seller_member = HouseholdMember.__table__.alias("seller_member")
    exited = union(
        select(window.c.household_uid.label("household_uid"))
        .join(counted, counted.c.listing_id == window.c.listing_id)
        .where(window.c.household_uid.is_not(None)),
        select(seller_member.c.household_uid)
        .join(window, window.c.person_uid == seller_member.c.person_uid)
        .join(counted, counted.c.listing_id == window.c.listing_id)
        .where(seller_member.c.end_lifespan.is_(None)),
    ).cte("exited_household")

    # Settled households on as_of (current ones, with a current member settled by then), by
    # village, and those of them that exited.
    settled_household: Any = (
        select(HouseholdMember.household_uid.label("household_uid"))
        .join(settled, settled.c.person_uid == HouseholdMember.person_uid)
        .where(HouseholdMember.end_lifespan.is_(None), settled.c.settled_on <= as_of)
    )
    if codes is not None:  # (a member row carries its household's collective)
        settled_household = settled_household.where(
            HouseholdMember.collective_id.in_(
                select(Collective.id).where(Collective.village_code.in_(codes))
            )
        )
    settled_household = settled_household.distinct().cte("settled_household")
    query = (
        select(
            Collective.village_code,
            func.count(Household.uid),
            func.count(exited.c.household_uid),
        )
        .select_from(Household)
        .join(settled_household, settled_household.c.household_uid == Household.uid)
        .join(Collective, Collective.id == Household.collective_id)
        .outerjoin(exited, exited.c.household_uid == Household.uid)
        .where(Household.end_lifespan.is_(None))
        .group_by(Collective.village_code)
    )
    if codes is not None:
        query = query.where(Collective.village_code.in_(codes))
        wanted = codes
    else:
        wanted = sorted(db.session.scalars(select(Collective.village_code).distinct()))
    counts = _run(query, dialect)
    result = {}
    for code in wanted:
        n, out = counts.get(code, (0, 0))
        result[code] = VillageExitShare(
            village_code=code,
            settled_households=n,
            exited_households=out,
            share=Decimal(out) / Decimal(n) if n else None,
            # exact: out / n >= share_from, without dividing
            stands_out=n >= min_households and Decimal(out) >= share_from * n,
        )
    return result
