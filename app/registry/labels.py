"""Plain words for codes a page shows: land use (TDLYLX), land class (DKLB), file types.

A farmer reads the name only; staff also see the code beside it (they match it with survey
tables and imports). An unknown code is shown as it is, never hidden.
"""

from __future__ import annotations

import re

from flask import g, has_request_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.auth.models import Role
from app.registry.homesteads import terrain_label
from app.registry.models import LAND_CLASSES, LAND_USES
from app.registry.shares import SHARE_TYPES

#: How a homestead left its holder (the homestead pages' choices and history).
DISPOSAL_LABELS = {
    "sold": _l("Sold (出卖)"),
    "leased": _l("Leased (出租)"),
    "gifted": _l("Given away (赠与)"),
    "returned": _l("Returned to the collective (交回)"),
    "transferred": _l("Transferred (转让)"),
    "paid_exit": _l("Given up for compensation (有偿退出)"),
}


def _staff() -> bool:
    """Whether the reader is staff; worked out once a request (every text of a page asks)."""
    if not has_request_context():
        return False  # no reader: the plain words
    user = current_user._get_current_object() if current_user else None
    known = g.get("_reader_is_staff")
    if known is not None and known[0] is user:
        return known[1]
    staff = user is not None and user.is_authenticated and Role(user.role) != Role.FARMER
    g._reader_is_staff = (user, staff)
    return staff


def coded(names: dict, code: str | None) -> str:
    """A code's name for the reader, with the code beside it for staff."""
    if not code:
        return ""
    name = names.get(code)
    if name is None:
        return code
    return f"{name}（{code}）" if _staff() else str(name)


def land_use_label(code: str | None) -> str:
    """水田 for a farmer, 水田（011） for staff."""
    return coded(LAND_USES, code)


def land_class_label(code: str | None) -> str:
    """承包地 for a farmer, 承包地（10） for staff."""
    return coded(LAND_CLASSES, code)


def media_type_label(media_type: str | None) -> str:
    """ "PDF 文件" / "图片" instead of application/pdf, image/png."""
    if not media_type:
        return ""
    if media_type == "application/pdf":
        return _("PDF file")
    if media_type.startswith("image/"):
        return _("Image")
    return _("Other file")


def person_field_label(field: str) -> str:
    """The name of a person's field as the person page's history shows it."""
    names = {
        "name": _("Full name"),
        "id_number": _("ID number"),
        "sex": _("Sex"),
        "birth_date": _("Birth date"),
        "hukou_type": _("Hukou"),
        "hukou_place": _("Hukou place"),
        "phone": _("Phone"),
    }
    return names.get(field, field)


def value_label(key: str, value: object) -> str | None:
    """A stored code in a history page's field, in words (None: not a coded field)."""
    if not isinstance(value, str):
        return None
    if key == "terrain":
        return terrain_label(value)
    if key == "share_type":
        found = SHARE_TYPES.get(value)
        return str(found) if found is not None else value
    if key == "disposal":
        found = DISPOSAL_LABELS.get(value)
        return str(found) if found is not None else value
    if key == "land_class":
        return land_class_label(value)
    if key == "land_use":
        return land_use_label(value)
    return None


# NY/T 2539 field and table names that staff labels carry in brackets, e.g. "合同总面积（HTZMJ）".
_FIELD_CODES = (
    "CBHTBM|CBJYQZBM|CBFBM|FBFBM|DKBM|DKLB|TDLYLX|HTZMJ|HTMJ|SCMJM|SCMJ|CBF_JTCY|CBF|DK|CBHT|LZHT"
)
_BRACKETED_CODE = re.compile(rf"\s?[（(](?:{_FIELD_CODES})[）)]")


def for_reader(text: str) -> str:
    """A page's text as the reader should see it: a farmer gets labels without the NY/T 2539
    field codes staff match with survey tables ("合同总面积（HTZMJ）" → "合同总面积")."""
    if ("(" not in text and "（" not in text) or not has_request_context() or _staff():
        return text
    return _BRACKETED_CODE.sub("", text)
