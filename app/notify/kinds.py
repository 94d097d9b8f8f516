"""Every kind of notification and its words: the one table (``KINDS``).

A notification stores its kind and params (codes, numbers, dates); its words are rendered when it
is read, in the reader's language, so a Chinese and an English reader read the same notification
each in their own. A short message to a phone is rendered when written, in Chinese
(``render_sms``). Params whose values are codes are put into words through ``WORDS`` (by param
name); ``amount_fen`` is shown in yuan with two decimals. A feature adds its kinds here.
"""

from __future__ import annotations

import json
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

#: kind -> msgid; the %(name)s placeholders are the kind's params (put into words).
KINDS: dict[str, Any] = {
    # The marketplace (app/market/alerts.py decides who is told what).
    "market.published": _l(
        "A listing of %(right)s (No. %(listing)s) was published in your collective: members "
        "may make offers now."
    ),
    "market.offer": _l(
        "An offer of %(amount)s yuan was made on your listing of %(right)s (No. %(listing)s)."
    ),
    "market.consent_asked": _l(
        "Your household listed its %(right)s (No. %(listing)s): it waits for every co-holder's "
        "consent. Open it to give or refuse yours."
    ),
    "market.waiting": _l("The listing of %(right)s (No. %(listing)s) waits for you: %(step)s."),
    "market.approved": _l(
        "The listing of %(right)s (No. %(listing)s) was approved. Next: %(step)s."
    ),
    "market.rejected": _l("The listing of %(right)s (No. %(listing)s) was rejected: %(reason)s"),
    "market.withdrawn": _l(
        "The listing of %(right)s (No. %(listing)s) was withdrawn by its holder."
    ),
    "market.lapsed": _l(
        "The listing of %(right)s (No. %(listing)s) ended without a buyer: the right is free again."
    ),
    "market.completed": _l(
        "The deal on the listing of %(right)s (No. %(listing)s) is registered: it is completed."
    ),
    "market.cooling_off_ends": _l(
        "The cooling-off period of your listing of %(right)s (No. %(listing)s) ends on "
        "%(day)s: from then on an offer may be accepted."
    ),
    "market.notice_ends": _l(
        "Offers on the listing of %(right)s (No. %(listing)s) close on %(day)s."
    ),
    "market.priority": _l(
        "Members' priority: land of your collective (No. %(listing)s) is to be leased to an "
        "outsider at %(amount)s yuan per mu per year, from %(start)s to %(end)s. A member "
        "household that matches these terms by %(day)s takes the lease instead."
    ),
    "market.bid_deadline": _l(
        "Bidding on the listing of %(right)s (No. %(listing)s) closes on %(day)s."
    ),
}

#: Words for params whose values are codes, by param name.
WORDS: dict[str, dict[str, Any]] = {
    "right": {
        "land_contract": _l("contracted land"),
        "homestead": _l("a homestead with its house"),
        "share_holding": _l("collective income shares"),
    },
    "step": {
        "ready": _l("the collective's title check and publication"),
        "collective_consent": _l("the collective's consent"),
        "township_approval": _l("the township's approval"),
        "bureau_review": _l("the county bureau's review"),
        "contracting": _l("the contract and the payment"),
        "members_priority": _l("the members' priority period"),
    },
}


class _Values(dict):
    """The params put into words; a missing one reads as empty instead of failing."""

    def __missing__(self, key: str) -> str:
        return ""


def _word(name: str, value: Any) -> Any:
    if name == "amount_fen" and isinstance(value, int) and not isinstance(value, bool):
        return f"{value // 100:,}.{value % 100:02d}"
    words = WORDS.get(name)
    if words is not None and isinstance(value, str) and value in words:
        return str(words[value])
    return "" if value is None else value


def render(kind: str, params: dict[str, Any] | str | None) -> str:
    """The words of a notification in the current language."""
    if isinstance(params, str):
        try:
            params = json.loads(params)
        except ValueError:
            params = {}
    values = _Values({k: _word(k, v) for k, v in (params or {}).items()})
    if "amount_fen" in values:
        values.setdefault("amount", values["amount_fen"])
    msgid = KINDS.get(kind)
    if msgid is None:
        return _("You have a new notification.")
    return str(msgid) % values


def render_sms(kind: str, params: dict[str, Any]) -> str:
    """The short message's text: in Chinese, the county's language, fixed when written."""
    with force_locale("zh_CN"):
        return f"【{_('Three Rights Registry')}】{render(kind, params)}"
