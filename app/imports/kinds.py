"""Kinds of import job that other packages bring (e.g. the settlement officer's police list).

The imports package runs plot (``parcels``) and household (``households``) files itself. A
package above it may add a kind of its own at app creation (``create_app``), the way the
marketplace receives its R14 flagger: the job's row, its problems, the readers, the runners and
the promotion's claim stay here; the registered kind only checks and writes. The imports package
never imports the packages that register kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.imports.models import ImportJob

#: The kinds the imports package runs itself; their pages and API endpoints are the imports'.
BUILTIN = frozenset({"parcels", "households"})


@dataclass(frozen=True)
class Kind:
    #: Check the job's file and leave the job VALIDATED with its report (or FAILED); commits.
    validate: Callable[[ImportJob], ImportJob]
    #: Inside the promotion's transaction (the caller commits): write and return how many rows,
    #: or return None having written nothing (the job goes back to VALIDATED with the reason).
    promote: Callable[[ImportJob, bool], int | None]


_kinds: dict[str, Kind] = {}


def register_kind(
    name: str,
    *,
    validate: Callable[[ImportJob], ImportJob],
    promote: Callable[[ImportJob, bool], int | None],
) -> None:
    if name in BUILTIN or len(name) > 16:
        raise ValueError(f"cannot register an import kind named {name!r}")
    _kinds[name] = Kind(validate=validate, promote=promote)


def registered(name: str) -> Kind | None:
    return _kinds.get(name)
