"""HTML views of the registry: one blueprint, one module per part of the domain."""

from flask import Blueprint

bp = Blueprint("registry", __name__)

from app.registry.views import (  # noqa: E402,F401  (modules register their routes on bp)
    document_views,
    homestead_views,
    land_views,
    move_views,
    people_life_views,
    people_views,
    share_views,
)


@bp.app_template_filter("share_type")
def share_type_label(code: str) -> str:
    """人口股 / 农龄股 … in the reader's language; unknown codes as they are."""
    from app.registry.shares import SHARE_TYPES

    label = SHARE_TYPES.get(code)
    return str(label) if label is not None else code


@bp.app_template_filter("exact")
def exact_number(value) -> str:
    """A Decimal (shares, money) as written, exactly: "40", "12.5", never "1.23457e+06"."""
    from app.core.numbers import plain

    return plain(value)


@bp.app_template_filter("mask_ids")
def mask_ids(text: str | None) -> str | None:
    """Free text with the ID numbers in it masked for the current user (see present.py)."""
    from flask_login import current_user

    from app.registry.present import mask_ids_in_text

    return mask_ids_in_text(text, current_user)
