"""JSON API under /api/v1: Bearer tokens only; the same service functions as the HTML views."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from app.api import (  # noqa: E402,F401  (routes register on import of the blueprint)
    accounts,
    core,
    documents,
    encumbrances,
    homesteads,
    imports,
    land,
    lease_ledger,
    leases,
    maps,
    market,
    members,
    notify,
    openapi,
    people,
    settlement,
    shares,
)
