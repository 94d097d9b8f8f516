"""Search of persons, households and codes within a user's reach."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.auth.scope import readable
from app.extensions import db
from app.registry import inputs
from app.registry.models import (
    Homestead,
    Household,
    LandContract,
    Person,
    Plot,
)
from app.registry.people.queries import (
    _person_scope,
)


@dataclass
class SearchHit:
    kind: str  # person / household / contract / plot / homestead
    uid: int
    label: str
    code: str | None
    collective_id: int | None
    household_uid: int | None = None
    obj: Any = None


SEARCH_PAGE = 25


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(user: Any, q: str, *, page: int = 1, per_page: int = SEARCH_PAGE) -> tuple[list, bool]:
    """Find persons and households by name, a person by full ID number, or an object by its code
    (CBFBM, DKBM, CBHTBM, 28-char unit number), within the user's reach. Returns (hits, more).

    Outside the reach there is nothing: a full ID number or a code held by another collective
    finds exactly what a number held by nobody finds."""
    q = (q if isinstance(q, str) else "").strip().translate({0x3000: 0x20}).strip()
    if len(q) > inputs.SEARCH_MAX:
        raise inputs.too_long("search", "q")
    if not q:
        return [], False
    page = max(page, 1)
    code = q.upper()
    hits: list[SearchHit] = []
    exact = False
    if re.fullmatch(r"\d{17}[\dX]", code):
        exact = True
        for p in db.session.scalars(
            select(Person).where(
                Person.id_number == code, Person.end_lifespan.is_(None), _person_scope(user)
            )
        ):
            hits.append(SearchHit("person", p.uid, p.name, None, None, obj=p))
    if re.fullmatch(r"\d{18}", code):
        exact = True
        for h in db.session.scalars(
            select(Household).where(
                Household.cbfbm == code,
                Household.end_lifespan.is_(None),
                readable(user, Household.collective_id),
            )
        ):
            hits.append(SearchHit("household", h.uid, h.name, h.cbfbm, h.collective_id, h.uid, h))
    if re.fullmatch(r"\d{19}", code):
        exact = True
        for plot in db.session.scalars(
            select(Plot).where(
                Plot.dkbm == code,
                Plot.end_lifespan.is_(None),
                readable(user, Plot.collective_id),
            )
        ):
            hits.append(
                SearchHit(
                    "plot",
                    plot.uid,
                    plot.name or plot.dkbm,
                    plot.dkbm,
                    plot.collective_id,
                    plot.household_uid,
                    plot,
                )
            )
    if re.fullmatch(r"\d{18}[JQ]", code):  # household (J) or other (Q) contracting
        exact = True
        for c in db.session.scalars(
            select(LandContract).where(
                LandContract.cbhtbm == code,
                LandContract.end_lifespan.is_(None),
                readable(user, LandContract.collective_id),
            )
        ):
            hits.append(
                SearchHit(
                    "contract", c.uid, c.cbhtbm, c.cbhtbm, c.collective_id, c.household_uid, c
                )
            )
    if re.fullmatch(r"\d{12}JC\d{5}[FLQW]\d{8}", code):
        exact = True
        for hs in db.session.scalars(
            select(Homestead).where(
                Homestead.unit_number == code,
                Homestead.end_lifespan.is_(None),
                readable(user, Homestead.collective_id),
            )
        ):
            hits.append(
                SearchHit(
                    "homestead",
                    hs.uid,
                    hs.unit_number,
                    hs.unit_number,
                    hs.collective_id,
                    hs.household_uid,
                    hs,
                )
            )
    if exact:
        return (hits if page == 1 else []), False
    # A name: persons and households whose name contains the text, paged together.
    pattern = f"%{_escape_like(q)}%"
    offset = (page - 1) * per_page
    persons = list(
        db.session.scalars(
            select(Person)
            .where(
                Person.end_lifespan.is_(None),
                Person.name.like(pattern, escape="\\"),
                _person_scope(user),
            )
            .order_by(Person.name, Person.uid)
            .offset(offset)
            .limit(per_page + 1)
        )
    )
    households = list(
        db.session.scalars(
            select(Household)
            .where(
                Household.end_lifespan.is_(None),
                Household.name.like(pattern, escape="\\"),
                readable(user, Household.collective_id),
            )
            .order_by(Household.name, Household.uid)
            .offset(offset)
            .limit(per_page + 1)
        )
    )
    more = len(persons) > per_page or len(households) > per_page
    hits = [SearchHit("person", p.uid, p.name, None, None, obj=p) for p in persons[:per_page]]
    hits += [
        SearchHit("household", h.uid, h.name, h.cbfbm, h.collective_id, h.uid, h)
        for h in households[:per_page]
    ]
    return hits, more
