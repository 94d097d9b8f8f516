"""The county report on settled persons and their rights (DOMAIN §7), for the bureau and auditors.

By township and village: settled persons and households; for each of the three rights, how many
settled persons' households held it on their settlement day and how many still hold it; the exits
and transfers by settled persons with their declarations, consents, flags and review decisions;
days from settlement to exit; the villages that stand out (R14, ``village.exit_shares``); and the
annual statistics (进城落户农民 and the rights they keep, by year of settlement).

Set-based: a fixed number of queries whatever the size of the county (one per kind of fact, each a
join or a GROUP BY over the whole county), then arithmetic in Python over the fetched rows. Nothing
here loads an object per household, village or listing. Callable in an app context with no request
(the benchmark calls it so). It writes nothing.

Definitions (BRIEF_SHARED_R14 and the decisions this module makes):

* A person is **settled on D** when a settlement record in force (no later row corrects it) has
  ``settled_on <= D``; their settlement day is the earliest such.
* A settled person is counted in the village of the household they belong to now: their current
  ``household_member`` row in a current household, the one they live in (``moved_out_on`` empty)
  first, else the lowest household uid among those where they only kept co-holding. A settled
  person in no current household (died, or their household ended) is not counted.
* A person **holds a right on day X** when, in legal time (``valid_from <= X < valid_to``), their
  household holds a version of it: a land contract; a homestead (and also a homestead an heir
  holds in person, ``heir_person_uid``); collective shares with more than zero shares, held by the
  household or by the person in their own name (both count: shares may be held either way, and
  R11 already counts a household and its members together). "Held" is judged on the settlement
  day, "kept" on the report's day (and, in the annual table, on the year's last day).
* An **exit or transfer by a settled person**: a declared listing (transfer or paid exit) whose
  holder (the selling household's current co-holders, or the person selling own shares) has a
  settlement in force on or before the report day and no later than the R14 window after the
  declaration. It counts as an exit on the day its deal was registered (on or before the report
  day). Its settlement day is the earliest among those holders'.
* **Flags**: those stored with the bureau's review (``FlagReview``) when reviewed; otherwise the
  R14 time-window reasons as the flagger words them (a holder's settlement within the window of
  the declaration), computed here for all listings at once. A village that stands out is shown by
  its row's marker rather than repeated per listing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, literal, null, or_, select, union_all
from sqlalchemy.orm import aliased

from app.core.calendar import county_timezone, county_today
from app.core.errors import DomainError
from app.divisions.models import Collective, Division
from app.extensions import db
from app.market.models import Consent, Deal, FlagReview, Listing
from app.market.states import STATES
from app.oversight import village
from app.registry.models import (
    Homestead,
    Household,
    HouseholdMember,
    LandContract,
    Person,
    ShareHolding,
)
from app.settlement.models import SettlementRecord

#: The three rights, in the order every table shows them.
RIGHTS = ("land", "homestead", "shares")
RIGHT_KINDS = {
    "land_contract": _l("Contracted land"),
    "homestead": _l("Homestead and house"),
    "share_holding": _l("Collective income shares"),
}
DEAL_KINDS = {
    "transfer": _l("Transfer to a member household"),
    "paid_exit": _l("Paid exit to the collective"),
}
#: Days from settlement to a registered exit, grouped for the chart: (upper bound, label).
DAY_BUCKETS: tuple[tuple[int | None, Any], ...] = (
    (-1, _l("Before settling")),
    (30, _l("Within 30 days")),
    (90, _l("31 to 90 days")),
    (180, _l("91 to 180 days")),
    (365, _l("181 days to a year")),
    (730, _l("One to two years")),
    (None, _l("Over two years")),
)


# --- what the report holds


@dataclass(frozen=True)
class RightFigures:
    """Settled persons whose household held the right on their settlement day, and of them how
    many still hold it on the report's day."""

    held: int = 0
    kept: int = 0


@dataclass(frozen=True)
class Figures:
    """One village's row, a township's subtotal or the county total."""

    settled_persons: int
    settled_households: int
    land: RightFigures
    homestead: RightFigures
    shares: RightFigures
    #: Exits and transfers by settled persons registered on or before the report day.
    exits: int
    #: Median days from settlement to registration of those exits (None without any).
    median_days_to_exit: Decimal | None

    def right(self, name: str) -> RightFigures:
        return getattr(self, name)


@dataclass(frozen=True)
class VillageRow:
    code: str
    name: str
    township_code: str
    figures: Figures
    #: R14's figure for the village (settled households with an exit in the 12 months).
    exit_share: village.VillageExitShare | None
    stands_out: bool


@dataclass(frozen=True)
class TownshipBlock:
    code: str
    name: str
    villages: list[VillageRow]
    subtotal: Figures


@dataclass(frozen=True)
class ExitRow:
    """One exit or transfer declared by a settled person's household (or by the person)."""

    listing_id: int
    village_name: str
    township_name: str
    seller: str
    right_kind: str
    deal_kind: str
    declared_on: date
    #: True: declared by the holder, logged in; False: witnessed in person by staff.
    declared_by_holder: bool | None
    consents_given: int
    consents_needed: int
    flags: list[str]
    reviewed: bool
    decision: str | None
    interviewed: bool | None
    state: str
    settled_on: date
    days_to_declaration: int
    registered_on: date | None
    days_to_registration: int | None


@dataclass(frozen=True)
class YearRow:
    """Annual statistics: persons who settled in the year and the rights they keep."""

    year: int
    settled_persons: int
    #: per right: (held on settlement day, kept at the year's end, kept on the report day)
    land: tuple[int, int, int]
    homestead: tuple[int, int, int]
    shares: tuple[int, int, int]
    exits: int

    def right(self, name: str) -> tuple[int, int, int]:
        return getattr(self, name)


@dataclass(frozen=True)
class CountyReport:
    as_of: date
    township_code: str | None
    township_name: str | None
    townships: list[TownshipBlock]
    total: Figures
    exits: list[ExitRow]
    years: list[YearRow]
    #: Days from settlement to each registered exit (for the distribution chart).
    days_to_exit: list[int]
    #: (code, name) of every township of the county, for the filter.
    township_choices: list[tuple[str, str]]
    flag_days: int

    @property
    def villages(self) -> list[VillageRow]:
        return [v for t in self.townships for v in t.villages]

    @property
    def standing_out(self) -> list[VillageRow]:
        return [v for v in self.villages if v.stands_out]


# --- tallies


@dataclass
class _Tally:
    persons: int = 0
    households: set[int] = field(default_factory=set)
    held: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RIGHTS, 0))
    kept: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RIGHTS, 0))
    days: list[int] = field(default_factory=list)

    def add(self, other: _Tally) -> None:
        self.persons += other.persons
        self.households |= other.households
        for r in RIGHTS:
            self.held[r] += other.held[r]
            self.kept[r] += other.kept[r]
        self.days.extend(other.days)

    def freeze(self) -> Figures:
        return Figures(
            settled_persons=self.persons,
            settled_households=len(self.households),
            land=RightFigures(self.held["land"], self.kept["land"]),
            homestead=RightFigures(self.held["homestead"], self.kept["homestead"]),
            shares=RightFigures(self.held["shares"], self.kept["shares"]),
            exits=len(self.days),
            median_days_to_exit=median(self.days),
        )


def median(values: Iterable[int]) -> Decimal | None:
    """The median, exact (a half day when the count is even)."""
    s = sorted(values)
    if not s:
        return None
    mid = len(s) // 2
    if len(s) % 2:
        return Decimal(s[mid])
    return (Decimal(s[mid - 1]) + Decimal(s[mid])) / 2


Interval = tuple[date, date | None]


def county_day(moment: datetime) -> date:
    """The county's day of a stored (naive UTC) time."""
    return moment.replace(tzinfo=UTC).astimezone(county_timezone()).date()


def flag_days() -> int:
    return int(current_app.config.get("SETTLEMENT_FLAG_DAYS", 180))


def _window_reason(settled: date, declared: date, days: int) -> str:
    """The R14 time-window reason, in the flagger's own words."""
    return _(
        "A holder settled in town on %(settled)s; the transfer or exit was declared on "
        "%(declared)s, within %(days)s days of the settlement.",
        settled=settled.isoformat(),
        declared=declared.isoformat(),
        days=days,
    )


# --- queries (each one statement over the county)


def _in_force():
    """Settlement records no later row corrects."""
    later = aliased(SettlementRecord)
    return ~exists().where(later.corrects_id == SettlementRecord.id)


def _settled_select(as_of: date):
    """(person_uid, settlement day) of every person settled on ``as_of``."""
    return (
        select(
            SettlementRecord.person_uid.label("person_uid"),
            func.min(SettlementRecord.settled_on).label("settled_on"),
        )
        .where(_in_force(), SettlementRecord.settled_on <= as_of)
        .group_by(SettlementRecord.person_uid)
    )


def _divisions() -> tuple[dict[str, tuple[str, str, str | None]], list[tuple[str, str]]]:
    """code -> (name, level, parent) of every township and village; the townships in order."""
    rows = db.session.execute(
        select(Division.code, Division.name, Division.level, Division.parent_code).where(
            Division.level.in_(("town", "village"))
        )
    ).all()
    info = {code: (name, level, parent) for code, name, level, parent in rows}
    towns = sorted((code, name) for code, name, level, _p in rows if level == "town")
    return info, towns


def township_choices() -> list[tuple[str, str]]:
    """(code, name) of every township, in code order: the report's filter offers the names."""
    return [
        (code, name)
        for code, name in db.session.execute(
            select(Division.code, Division.name)
            .where(Division.level == "town")
            .order_by(Division.code)
        )
    ]


def _township_of(code: str, info: dict[str, tuple[str, str, str | None]]) -> str:
    """A village's township (its parent); a town-level collective's division is the township."""
    name_level_parent = info.get(code)
    if name_level_parent is None:
        return code
    _name, level, parent = name_level_parent
    if level == "town" or parent is None:
        return code
    return parent


Rights = dict[str, dict[tuple[str, int], list[Interval]]]


def _settled_facts(
    as_of: date,
) -> tuple[dict[int, tuple[date, int, str]], set[tuple[int, str]], Rights]:
    """Everything the figures need of settled persons, in one statement (the settled persons and
    their households are worked out once, as common table expressions, for all of it):

    * person -> (settlement day, household, village code): the household they belong to now
      (the one they live in first, else the lowest household uid where they kept co-holding);
    * every settled household with its village (a current household with a current member
      settled on the day, as R14's exit share counts them);
    * the legal-time intervals of the rights of those households and of those persons: right ->
      (("h", household uid) or ("p", person uid)) -> [(valid_from, valid_to)].
    """
    settled = _settled_select(as_of).cte("settled").prefix_with("MATERIALIZED")
    homes = (
        select(
            HouseholdMember.person_uid,
            HouseholdMember.household_uid,
            HouseholdMember.moved_out_on,
            Collective.village_code,
            settled.c.settled_on,
        )
        .join(settled, settled.c.person_uid == HouseholdMember.person_uid)
        .join(
            Household,
            and_(Household.uid == HouseholdMember.household_uid, Household.end_lifespan.is_(None)),
        )
        .join(Collective, Collective.id == Household.collective_id)
        .where(HouseholdMember.end_lifespan.is_(None))
        .cte("homes")
        # Worked out once and read four times: without it SQLite inlines it into each IN list
        # and scans every household member three times over (PostgreSQL 12+ and SQLite 3.35+).
        .prefix_with("MATERIALIZED")
    )
    home_ids = select(homes.c.household_uid)
    persons = select(settled.c.person_uid)

    def non_empty(model):
        return or_(model.valid_to.is_(None), model.valid_to > model.valid_from)

    # One column layout for all: (kind, household, person, day, day, village).
    statement: Any = union_all(
        select(
            literal("member").label("kind"),
            homes.c.household_uid,
            homes.c.person_uid,
            homes.c.settled_on,
            homes.c.moved_out_on,
            homes.c.village_code,
        ),
        select(
            literal("land"),
            LandContract.household_uid,
            null(),
            LandContract.valid_from,
            LandContract.valid_to,
            null(),
        ).where(LandContract.household_uid.in_(home_ids), non_empty(LandContract)),
        select(
            literal("homestead"),
            Homestead.household_uid,
            Homestead.heir_person_uid,
            Homestead.valid_from,
            Homestead.valid_to,
            null(),
        ).where(
            or_(
                and_(Homestead.household_uid.in_(home_ids), Homestead.heir_person_uid.is_(None)),
                Homestead.heir_person_uid.in_(persons),
            ),
            non_empty(Homestead),
        ),
        select(
            literal("shares"),
            ShareHolding.household_uid,
            ShareHolding.person_uid,
            ShareHolding.valid_from,
            ShareHolding.valid_to,
            null(),
        ).where(
            or_(ShareHolding.household_uid.in_(home_ids), ShareHolding.person_uid.in_(persons)),
            ShareHolding.shares > 0,
            non_empty(ShareHolding),
        ),
    )
    best: dict[int, tuple[bool, int, date, str]] = {}
    households: set[tuple[int, str]] = set()
    rights: Rights = {r: defaultdict(list) for r in RIGHTS}
    for kind, household_uid, person_uid, first, second, village_code in db.session.execute(
        statement
    ).all():
        if kind == "member":
            households.add((household_uid, village_code))
            rank = (second is not None, household_uid)  # moved out last, then the lowest uid
            current = best.get(person_uid)
            if current is None or rank < current[:2]:
                best[person_uid] = (rank[0], household_uid, first, village_code)
        else:
            # A person's own: an heir's homestead, own shares (a holding has exactly one holder).
            holder = ("p", person_uid) if person_uid is not None else ("h", household_uid)
            rights[kind][holder].append((first, second))
    homes_of = {p: (day, hh, code) for p, (_moved, hh, day, code) in best.items()}
    return homes_of, households, rights


@dataclass
class _ListingFacts:
    id: int
    village_code: str
    right_kind: str
    deal_kind: str
    state: str
    declared_on: date
    seller: str
    #: every in-force settlement day of every holder (for the flags)
    settlements: list[date] = field(default_factory=list)


def _holders():
    """(listing, holder) of every declared listing: the selling household's current co-holders,
    or the person selling own shares (the R14 flagger's holders)."""
    declared = and_(Listing.declared_at.is_not(None), Listing.deal_kind.in_(tuple(DEAL_KINDS)))
    member_holders = (
        select(Listing.id.label("listing_id"), HouseholdMember.person_uid.label("holder_uid"))
        .join(
            HouseholdMember,
            and_(
                HouseholdMember.household_uid == Listing.household_uid,
                HouseholdMember.end_lifespan.is_(None),
                HouseholdMember.is_co_holder.is_(True),
            ),
        )
        .where(declared)
    )
    own_holders = select(
        Listing.id.label("listing_id"), Listing.person_uid.label("holder_uid")
    ).where(declared, Listing.person_uid.is_not(None))
    return union_all(member_holders, own_holders).subquery("holders")


def _listings(holders) -> dict[int, _ListingFacts]:
    """Declared listings whose holders have a settlement record in force, with those records."""
    seller_household = aliased(Household)
    seller_person = aliased(Person)
    rows = db.session.execute(
        select(
            Listing.id,
            Collective.village_code,
            Listing.right_kind,
            Listing.deal_kind,
            Listing.state,
            Listing.declared_at,
            seller_household.name,
            seller_person.name,
            SettlementRecord.settled_on,
        )
        .join(holders, holders.c.listing_id == Listing.id)
        .join(SettlementRecord, SettlementRecord.person_uid == holders.c.holder_uid)
        .join(Collective, Collective.id == Listing.collective_id)
        .outerjoin(
            seller_household,
            and_(
                seller_household.uid == Listing.household_uid,
                seller_household.end_lifespan.is_(None),
            ),
        )
        .outerjoin(
            seller_person,
            and_(seller_person.uid == Listing.person_uid, seller_person.end_lifespan.is_(None)),
        )
        .where(_in_force())
    ).all()
    found: dict[int, _ListingFacts] = {}
    for lid, code, right, deal, state, declared_at, hh_name, p_name, settled_on in rows:
        facts = found.get(lid)
        if facts is None:
            facts = found[lid] = _ListingFacts(
                lid,
                code,
                right,
                deal,
                state,
                county_day(declared_at),  # type: ignore[arg-type]  # declared: not NULL
                hh_name or p_name or "—",
            )
        facts.settlements.append(settled_on)
    return found


def _candidate_ids(holders):
    """Ids of declared listings with a holder who has a settlement record (a superset of those
    the report lists: the rows of the others are fetched and not used)."""
    return select(holders.c.listing_id).join(
        SettlementRecord, SettlementRecord.person_uid == holders.c.holder_uid
    )


def _consents(ids) -> dict[int, tuple[bool | None, int, int]]:
    """listing -> (declared by the holder themself?, co-holders' consents given, needed)."""
    out: dict[int, list[Any]] = defaultdict(lambda: [None, 0, 0])
    for lid, role, decision, mode in db.session.execute(
        select(Consent.listing_id, Consent.role, Consent.decision, Consent.mode).where(
            Consent.listing_id.in_(ids)
        )
    ):
        entry = out[lid]
        if role == "holder":
            entry[0] = None if mode is None else mode == "self"
        else:
            entry[2] += 1
            entry[1] += decision == "given"
    return {lid: (e[0], e[1], e[2]) for lid, e in out.items()}


def _registrations(ids) -> dict[int, date]:
    return {
        lid: day  # type: ignore[misc]  # registered_on IS NOT NULL
        for lid, day in db.session.execute(
            select(Deal.listing_id, Deal.registered_on).where(
                Deal.listing_id.in_(ids), Deal.registered_on.is_not(None)
            )
        )
    }


def _reviews(ids) -> dict[int, tuple[list[str], str | None, bool | None]]:
    """listing -> (flags shown, decision, interviewed) of its latest stored flag review."""
    out: dict[int, tuple[list[str], str | None, bool | None]] = {}
    for lid, flags, decision, interviewed in db.session.execute(
        select(FlagReview.listing_id, FlagReview.flags, FlagReview.decision, FlagReview.interviewed)
        .where(FlagReview.listing_id.in_(ids))
        .order_by(FlagReview.decided_at, FlagReview.id)
    ):
        try:
            shown = [str(f) for f in json.loads(flags or "[]")]
        except ValueError:
            shown = []
        out[lid] = (shown, decision, interviewed)
    return out


# --- the report


def check_as_of(as_of: Any) -> date:
    if isinstance(as_of, datetime) or not isinstance(as_of, date):
        raise DomainError("as_of", _("Give the report's date as a day."), field="as_of")
    if as_of > county_today():
        raise DomainError(
            "as_of_future", _("The report's date cannot be in the future."), field="as_of"
        )
    return as_of


def county_report(as_of: date, *, township_code: str | None = None) -> CountyReport:
    """The county report as of ``as_of`` (a county day), for the county or one township.

    R12 and R14 oversight: what settled persons kept, and every exit or transfer they made with
    its declaration (R13), consents, flags and the bureau's decision (R14). A fixed number of
    queries whatever the county's size; no per-household, per-village or per-listing query.
    """
    as_of = check_as_of(as_of)
    info, towns = _divisions()
    if township_code is not None and township_code not in dict(towns):
        raise DomainError(
            "township_unknown", _("Choose a township from the list."), field="township"
        )
    window = flag_days()

    homes, settled_households, rights = _settled_facts(as_of)

    villages: dict[str, _Tally] = defaultdict(_Tally)
    years: dict[int, dict[str, Any]] = {}

    def year_entry(year: int) -> dict[str, Any]:
        if year not in years:
            years[year] = {"persons": 0, "exits": 0, **{r: [0, 0, 0] for r in RIGHTS}}
        return years[year]

    def in_scope(code: str) -> bool:
        return township_code is None or _township_of(code, info) == township_code

    for person_uid, (settled_on, household_uid, code) in homes.items():
        if not in_scope(code):
            continue
        tally = villages[code]
        tally.persons += 1
        entry = year_entry(settled_on.year)
        entry["persons"] += 1
        year_end = min(date(settled_on.year, 12, 31), as_of)
        for right in RIGHTS:
            table = rights[right]
            # the household's versions of the right and the person's own (an heir, own shares)
            versions = table.get(("h", household_uid), []) + table.get(("p", person_uid), [])
            held = kept = kept_at_year_end = False
            for start, end in versions:  # one pass for the three days (60,000 households)
                held = held or (start <= settled_on and (end is None or end > settled_on))
                kept = kept or (start <= as_of and (end is None or end > as_of))
                kept_at_year_end = kept_at_year_end or (
                    start <= year_end and (end is None or end > year_end)
                )
            if not held:
                continue
            tally.held[right] += 1
            entry[right][0] += 1
            if kept:
                tally.kept[right] += 1
                entry[right][2] += 1
            if kept_at_year_end:
                entry[right][1] += 1

    for household_uid, code in settled_households:
        if in_scope(code):
            villages[code].households.add(household_uid)

    # Exits and transfers by settled persons.
    holders = _holders()
    listings = _listings(holders)
    ids = _candidate_ids(holders)
    consents = _consents(ids)
    registered = _registrations(ids)
    reviews = _reviews(ids)
    exits: list[ExitRow] = []
    all_days: list[int] = []
    # Words once per report, not once per row.
    right_words = {k: str(v) for k, v in RIGHT_KINDS.items()}
    deal_words = {k: str(v) for k, v in DEAL_KINDS.items()}
    state_words = {k: str(v) for k, v in STATES.items()}
    for facts in sorted(listings.values(), key=lambda f: (f.declared_on, f.id)):
        if facts.declared_on > as_of or not in_scope(facts.village_code):
            continue
        limit = min(facts.declared_on + timedelta(days=window), as_of)
        qualifying = [d for d in facts.settlements if d <= limit]
        if not qualifying:
            continue
        settled_on = min(qualifying)
        registered_on = registered.get(facts.id)
        if registered_on is not None and registered_on > as_of:
            registered_on = None
        days_to_registration = None
        if registered_on is not None:
            days_to_registration = (registered_on - settled_on).days
            villages[facts.village_code].days.append(days_to_registration)
            all_days.append(days_to_registration)
            year_entry(registered_on.year)["exits"] += 1
        review = reviews.get(facts.id)
        if review is not None:
            flags, decision, interviewed = review
        else:
            flags = [
                _window_reason(d, facts.declared_on, window)
                for d in sorted(facts.settlements)
                if abs((facts.declared_on - d).days) <= window
            ]
            decision, interviewed = None, None
        by_holder, given, needed = consents.get(facts.id, (None, 0, 0))
        township = _township_of(facts.village_code, info)
        exits.append(
            ExitRow(
                listing_id=facts.id,
                village_name=info.get(facts.village_code, (facts.village_code,))[0],
                township_name=info.get(township, (township,))[0],
                seller=facts.seller,
                right_kind=right_words.get(facts.right_kind, "—"),
                deal_kind=deal_words.get(facts.deal_kind, "—"),
                declared_on=facts.declared_on,
                declared_by_holder=by_holder,
                consents_given=given,
                consents_needed=needed,
                flags=flags,
                reviewed=review is not None,
                decision=decision,
                interviewed=interviewed,
                state=state_words.get(facts.state, "—"),
                settled_on=settled_on,
                days_to_declaration=(facts.declared_on - settled_on).days,
                registered_on=registered_on,
                days_to_registration=days_to_registration,
            )
        )

    # R14's village figures: which villages stand out.
    shares = village.exit_shares(as_of)
    for code, found in shares.items():
        if found.settled_households and in_scope(code):
            villages.setdefault(code, _Tally())

    blocks: dict[str, list[VillageRow]] = defaultdict(list)
    for code, tally in villages.items():
        share = shares.get(code)
        township = _township_of(code, info)
        blocks[township].append(
            VillageRow(
                code=code,
                name=info.get(code, (code,))[0],
                township_code=township,
                figures=tally.freeze(),
                exit_share=share,
                stands_out=bool(share and share.stands_out),
            )
        )
    townships = []
    total = _Tally()
    for code in sorted(blocks):
        subtotal = _Tally()
        for v in blocks[code]:
            subtotal.add(villages[v.code])
        total.add(subtotal)
        townships.append(
            TownshipBlock(
                code=code,
                name=info.get(code, (code,))[0],
                villages=sorted(blocks[code], key=lambda v: v.code),
                subtotal=subtotal.freeze(),
            )
        )
    year_rows = [
        YearRow(
            year=y,
            settled_persons=e["persons"],
            land=tuple(e["land"]),
            homestead=tuple(e["homestead"]),
            shares=tuple(e["shares"]),
            exits=e["exits"],
        )
        for y, e in sorted(years.items())
    ]
    return CountyReport(
        as_of=as_of,
        township_code=township_code,
        township_name=dict(towns).get(township_code) if township_code else None,
        townships=townships,
        total=total.freeze(),
        exits=exits,
        years=year_rows,
        days_to_exit=sorted(all_days),
        township_choices=towns,
        flag_days=window,
    )


def village_figures(report: CountyReport) -> dict[str, dict[str, int]]:
    """Each village's figures by name, keyed by its code: what the benchmark compares with its
    hand-written SQL (``bench/report_bench.py`` reads the report through this)."""
    out = {}
    for v in report.villages:
        f = v.figures
        out[v.code] = {
            "settled_persons": f.settled_persons,
            "settled_households": f.settled_households,
            "land_held": f.land.held,
            "land_kept": f.land.kept,
            "homestead_held": f.homestead.held,
            "homestead_kept": f.homestead.kept,
            "shares_held": f.shares.held,
            "shares_kept": f.shares.kept,
            "exits": f.exits,
            "exited_households": v.exit_share.exited_households if v.exit_share else 0,
        }
    return out
