"""HTML views of the registry: one blueprint, one module per part of the domain."""

from flask import Blueprint
from flask_login import current_user

from app.core.i18n import translations
from app.core.numbers import plain
from app.registry.labels import (
    for_reader,
    land_class_label,
    land_use_label,
    media_type_label,
    person_field_label,
)
from app.registry.links import link_to as _link_to
from app.registry.present import mask_ids_in_text
from app.registry.shares import SHARE_TYPES

bp = Blueprint("registry", __name__)

from app.registry.views import (  # noqa: E402,F401  (modules register their routes on bp)
    contract_views,
    document_views,
    encumbrance_views,
    finding_views,
    homestead_views,
    map_views,
    member_views,
    move_views,
    people_life_views,
    people_views,
    plot_change_views,
    plot_views,
    share_views,
    statement_views,
)


@bp.app_template_filter("share_type")
def share_type_label(code: str) -> str:
    """人口股 / 农龄股 … in the reader's language; unknown codes as they are."""
    label = SHARE_TYPES.get(code)
    return str(label) if label is not None else code


@bp.app_template_filter("exact")
def exact_number(value) -> str:
    """A Decimal (shares, money) as written, exactly: "40", "12.5", never "1.23457e+06"."""
    return plain(value)


@bp.app_template_filter("mask_ids")
def mask_ids(text: str | None) -> str | None:
    """Free text with the ID numbers in it masked for the current user (see present.py)."""
    return mask_ids_in_text(text, current_user)


@bp.app_template_global("link_to")
def link_to(endpoint: str, **values):
    """A link's URL if the reader may open that page, else None (see app/registry/links.py)."""
    return _link_to(endpoint, **values)


@bp.app_template_filter("land_use")
def _land_use_filter(code: str | None) -> str:
    return land_use_label(code)


@bp.app_template_filter("land_class")
def _land_class_filter(code: str | None) -> str:
    return land_class_label(code)


@bp.app_template_filter("media_type")
def _media_type_filter(media_type: str | None) -> str:
    return media_type_label(media_type)


@bp.app_template_filter("person_field")
def _person_field_filter(field: str) -> str:
    return person_field_label(field)


@bp.record_once
def _plain_labels_for_farmers(state) -> None:
    """Every template text passes through labels.for_reader: a farmer reads labels without the
    field codes in brackets that staff pages carry (one place instead of every template)."""
    state.app.jinja_env.install_gettext_callables(
        gettext=lambda s: for_reader(translations().ugettext(s)),
        ngettext=lambda s, p, n: for_reader(translations().ungettext(s, p, n)),
        newstyle=True,
        pgettext=lambda c, s: for_reader(translations().upgettext(c, s)),
        npgettext=lambda c, s, p, n: for_reader(translations().unpgettext(c, s, p, n)),
    )
