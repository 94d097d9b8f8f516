"""The county bureau's review."""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.scope import roles_required
from app.core.errors import DomainError
from app.market import (
    approvals,
)
from app.market.forms import (
    BureauForm,
)
from app.market.views import bp
from app.market.views.common import (
    BUREAU,
    _commit_and_show,
    _deal_view,
    _load,
    _page,
)
from app.registry.views.common import fail

# --- the county bureau


@bp.route("/<int:listing_id>/review", methods=["GET", "POST"])
@roles_required(BUREAU)
def review(listing_id: int):
    """Approve or reject, with a reason; a flagged deal needs the decision on its flag and
    whether the holder was interviewed in person."""
    obj = _load(listing_id)
    form = BureauForm()
    deal = _deal_view(obj)
    status = 200
    if form.validate_on_submit():
        interviewed = {"yes": True, "no": False}.get(form.interviewed.data or "")
        try:
            approvals.bureau_review(
                obj.id,
                current_user,
                approve=form.decision.data == "approve",
                reason=form.reason.data or None,
                flag_decision=form.flag_decision.data or None,
                interviewed=interviewed,
            )
        except DomainError as err:
            fail(form, err)
            status = 422
        else:
            return _commit_and_show(_("Your review is recorded."), obj.id)
    elif request.method == "POST":
        status = 422
    return _page("market/review.html", form, obj, status, deal=deal)
