"""History, never overwrite (DOMAIN §3): every registry object is a chain of versions.

A registry object has a stable ``uid`` (a row of ``registry_object``, so references between
objects are real foreign keys) and one row per version. A version is current while its
``end_lifespan`` is empty; a partial unique index lets the database itself refuse a second current
version. A change ends the current version and inserts the next one in the same transaction
(LADM beginLifespanVersion / endLifespanVersion; NY/T 2539's valid / historical).

Every version keeps two times (LADM's system and real-world lifespans):

* record time, ``begin_lifespan`` / ``end_lifespan`` (naive UTC): when the registry learnt of the
  version and when it was superseded in the registry;
* legal time, ``valid_from`` / ``valid_to`` (dates in the county's calendar): when the version took
  legal effect (the contract's signing, the approval, the date on the source document) and when
  that effect ended (NULL: still in effect). A version corrected without a change in law has an
  empty legal interval (``valid_from == valid_to``): as now known it was never in effect.

"As of" answers in legal time (``as_of``); the auditor may ask in record time
(``recorded_as_of``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.core.models import utcnow
from app.extensions import Model, db

V = TypeVar("V", bound="Versioned")


class RegistryObject(Model):
    """Identity of one registry object across all its versions."""

    __tablename__ = "registry_object"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Versioned:
    """Mixin for version rows. Subclasses set ``__kind__``."""

    __kind__: str = ""
    # Columns that are bookkeeping, not content: ignored when diffing versions.
    VERSION_COLUMNS = frozenset(
        {
            "id",
            "uid",
            "version",
            "begin_lifespan",
            "end_lifespan",
            "valid_from",
            "valid_to",
            "change_reason",
            "source_document_id",
            "changed_by",
        }
    )

    id: Mapped[int] = mapped_column(primary_key=True)

    @declared_attr
    def uid(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("registry_object.id"), index=True)

    version: Mapped[int] = mapped_column(Integer, default=1)
    begin_lifespan: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    end_lifespan: Mapped[datetime | None] = mapped_column(DateTime)
    # Legal time: set by history.create / revise / end, never by the database.
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    change_reason: Mapped[str | None] = mapped_column(Text)

    @declared_attr
    def source_document_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("source_document.id"))

    changed_by: Mapped[str | None] = mapped_column(String(64))

    if TYPE_CHECKING:
        # The mapped class's constructor (the declarative base's) takes the columns by name;
        # history.create and revise build versions through ``type[V]``, this mixin.
        def __init__(self, **kw: Any) -> None: ...

    @classmethod
    def current_version_index(cls, table: str) -> Index:
        """At most one current version per object, enforced by the database."""
        return Index(
            f"uq_{table}_current",
            "uid",
            unique=True,
            sqlite_where=text("end_lifespan IS NULL"),
            postgresql_where=text("end_lifespan IS NULL"),
        )

    @property
    def is_current(self) -> bool:
        return self.end_lifespan is None

    def content(self) -> dict[str, Any]:
        return {
            c.key: getattr(self, c.key)
            for c in self.__mapper__.column_attrs  # type: ignore[attr-defined]
            if c.key not in self.VERSION_COLUMNS
        }

    @classmethod
    def current(cls: type[V]):
        return select(cls).where(cls.end_lifespan.is_(None))

    def in_effect_on(self, day: date) -> bool:
        """Whether this version was in legal effect on ``day`` (as the registry now knows)."""
        return self.valid_from <= day and (self.valid_to is None or self.valid_to > day)

    def recorded_at(self, when: datetime) -> bool:
        """Whether this version was the registry's current one at ``when`` (record time)."""
        return self.begin_lifespan <= when and (
            self.end_lifespan is None or self.end_lifespan > when
        )

    @classmethod
    def as_of(cls: type[V], day: date):
        """The version of each object in legal effect on ``day``: valid_from <= day < valid_to.

        Legal intervals of one object never overlap (history.revise refuses an effective date
        before the current version's), and a corrected version's interval is empty."""
        return select(cls).where(
            and_(
                cls.valid_from <= day,
                or_(cls.valid_to.is_(None), cls.valid_to > day),
            )
        )

    @classmethod
    def recorded_as_of(cls: type[V], when: datetime):
        """The version of each object the registry showed as current at ``when`` (record time,
        naive UTC): what a reader saw then, for the auditor."""
        return select(cls).where(
            and_(
                cls.begin_lifespan <= when,
                or_(cls.end_lifespan.is_(None), cls.end_lifespan > when),
            )
        )


def new_uid(kind: str) -> int:
    obj = RegistryObject(kind=kind)
    db.session.add(obj)
    db.session.flush()
    return obj.id
