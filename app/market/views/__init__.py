"""The marketplace's HTML pages for every role (issue 12 §10): farmers on a phone first.

* Farmers: their household's listings and what waits for them (``/market/mine``), listing a right
  (``/market/new``), the declaration, consent, the offers on their listing and acceptance,
  withdrawal; members browse the collective's published listings and make offers.
* Collective administrators: the queue (``/market/queue``) and every step staff take.
* The county bureau: its review queue and the review. Auditors read. Nobody else sees the market.

Each view checks the role, loads the listing with ``queries.load_listing_or_404`` (a listing the
user may not see is a 404, never a 403), calls ONE service function, commits once, and shows a
refusal beside its field (``fail``). Prices are typed in yuan and kept in whole fen.
"""

from flask import Blueprint

bp = Blueprint("market", __name__, url_prefix="/market")

from app.market.views import (  # noqa: E402,F401  (modules register their routes on bp)
    browse,
    bureau,
    buyers,
    holder,
    leasing,
    listing_map,
    staff,
)
