"""HTML views of the registry: one blueprint, one module per part of the domain."""

from flask import Blueprint

bp = Blueprint("registry", __name__)

from app.registry.views import (  # noqa: E402,F401  (modules register their routes on bp)
    document_views,
    homestead_views,
    land_views,
    people_views,
    share_views,
)
