"""The marketplace's one state machine: which step may follow which, and who takes it.

A listing walks the rural property-rights exchange procedure for member-only trades (DOMAIN §6;
申请 → 审核 → 信息发布 → 意向登记 → 资格审核 → 成交 → 合同 → 结果公示 → 鉴证):

    draft → awaiting_consent → ready → published → [members_priority, leases to outsiders]
          → collective_consent → [township_approval, homesteads only] → bureau_review
          → contracting → completed

A paid exit to the collective has no buyer to find: from ``ready`` the collective records its
resolution and price and the listing goes straight to ``collective_consent``'s successor.
Any open step may end in ``withdrawn`` (the holder, without a reason, until the contract is
signed), ``rejected`` (a co-holder, the admin, the township or the bureau, with a reason) or, for a
listing that found no buyer, ``lapsed``.

``TRANSITIONS`` is the whole table; ``step`` is the only way a listing changes state (the service
calls it, then writes the change and its audit entry). A step the table does not have is refused
with a plain sentence naming the listing's current state.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.auth.models import Role
from app.core.errors import DomainError

#: Every state, with what users read.
STATES = {
    "draft": _l("Draft"),
    "awaiting_consent": _l("Waiting for co-holders' consent"),
    "ready": _l("Waiting for the collective's title check"),
    "published": _l("Published: open for offers"),
    "members_priority": _l("Members' priority: members may match the chosen terms"),
    "collective_consent": _l("Waiting for the collective's consent"),
    "township_approval": _l("Waiting for the township's approval"),
    "bureau_review": _l("In review at the county bureau"),
    "contracting": _l("Contract and payment"),
    "completed": _l("Completed"),
    "withdrawn": _l("Withdrawn"),
    "rejected": _l("Rejected"),
    "lapsed": _l("Ended without a buyer"),
}

#: States in which the right is tied up (one open listing per right: the database's index).
OPEN = frozenset(STATES) - {"completed", "withdrawn", "rejected", "lapsed"}
TERMINAL = frozenset(STATES) - OPEN

#: The holder (or, with a witness, staff for them) and co-holders act for themselves.
HOLDER = "holder"
CO_HOLDER = "co_holder"


@dataclass(frozen=True)
class Transition:
    source: str
    action: str
    target: str
    #: Who may take the step: Role values, or HOLDER / CO_HOLDER (people of the listing).
    actors: frozenset[str]
    #: A written reason is required (rejections).
    needs_reason: bool = False


def _t(
    source: str, action: str, target: str, *actors: str, needs_reason: bool = False
) -> Transition:
    return Transition(source, action, target, frozenset(actors), needs_reason)


ADMIN = Role.COLLECTIVE_ADMIN.value
BUREAU = Role.BUREAU_REVIEWER.value
SYSTEM = "system"

TRANSITIONS: tuple[Transition, ...] = (
    # 申请: the holder's own declaration (R13), then every adult co-holder's consent.
    _t("draft", "declare", "awaiting_consent", HOLDER),
    _t("awaiting_consent", "consent_complete", "ready", SYSTEM),
    _t("awaiting_consent", "refuse_consent", "rejected", CO_HOLDER, needs_reason=True),
    # 审核 + 信息发布: the collective checks title and publishes.
    _t("ready", "publish", "published", ADMIN),
    _t("ready", "reject", "rejected", ADMIN, needs_reason=True),
    # Paid exit: the collective's resolution fixes the price; no buyer is sought.
    _t("ready", "record_exit_resolution", "collective_consent", ADMIN),
    # 意向登记 → 成交: an offer is accepted (negotiated) or the bidding closes with a winner.
    _t("published", "accept_offer", "collective_consent", HOLDER),
    _t("published", "close_bidding", "collective_consent", ADMIN, SYSTEM),
    _t("published", "lapse", "lapsed", ADMIN, SYSTEM),
    _t("published", "reject", "rejected", ADMIN, needs_reason=True),
    # A lease (R05): the holder chose an outsider's offer; members of the collective may match
    # its terms for LEASE_PRIORITY_DAYS (the first valid match takes the lease), after which the
    # outsider is confirmed (the scheduled tick, or the collective's administrator).
    _t("published", "choose_outsider", "members_priority", HOLDER),
    _t("members_priority", "priority_match", "collective_consent", SYSTEM),
    _t("members_priority", "confirm_outsider", "collective_consent", ADMIN, SYSTEM),
    _t("members_priority", "reject", "rejected", ADMIN, needs_reason=True),
    # 资格审核: 发包方 consent (R3), the township for homesteads, then the bureau (R14 flags).
    _t("collective_consent", "consent_collective", "bureau_review", ADMIN),
    _t("collective_consent", "consent_homestead", "township_approval", ADMIN),
    _t("collective_consent", "reject", "rejected", ADMIN, needs_reason=True),
    _t("township_approval", "approve", "bureau_review", ADMIN),
    _t("township_approval", "reject", "rejected", ADMIN, needs_reason=True),
    _t("bureau_review", "approve", "contracting", BUREAU),
    _t("bureau_review", "reject", "rejected", BUREAU, needs_reason=True),
    # 合同 → 结果公示 → 鉴证: contract and payment recorded, then registration in one transaction.
    _t("contracting", "register", "completed", ADMIN),
    _t("contracting", "reject", "rejected", ADMIN, needs_reason=True),
)

#: The holder withdraws without a reason at any time before the contract is signed (R13).
WITHDRAWABLE = frozenset(
    {"draft", "awaiting_consent", "ready", "published", "members_priority", "collective_consent"}
    | {"township_approval", "bureau_review", "contracting"}
)
TRANSITIONS = TRANSITIONS + tuple(
    _t(s, "withdraw", "withdrawn", HOLDER) for s in sorted(WITHDRAWABLE)
)

_TABLE: dict[tuple[str, str], Transition] = {(t.source, t.action): t for t in TRANSITIONS}


def transition(state: str, action: str) -> Transition | None:
    """The step ``action`` from ``state``, or None if the table has none."""
    return _TABLE.get((state, action))


def actions_from(state: str) -> list[str]:
    """The actions the table allows from ``state`` (for pages: which buttons exist)."""
    return sorted(t.action for t in TRANSITIONS if t.source == state)


def state_label(state: str) -> str:
    return str(STATES.get(state, state))


def step(state: str, action: str, actor: str, *, reason: str | None = None) -> Transition:
    """The step, if the table allows ``actor`` to take ``action`` from ``state``; otherwise a
    DomainError in plain words (code ``market_step``).

    ``actor`` is a Role value, HOLDER, CO_HOLDER or SYSTEM. A step that needs a reason refuses an
    empty one. Contract-signing withdrawals are refused by the service (it knows the contract).
    """
    found = transition(state, action)
    if found is None:
        raise DomainError(
            "market_step",
            _(
                "This cannot be done now: the listing is at the step “%(state)s”.",
                state=state_label(state),
            ),
        )
    if actor not in found.actors:
        raise DomainError(
            "market_actor",
            _("This step of the listing is not yours to take."),
        )
    if found.needs_reason and not (reason or "").strip():
        raise DomainError("reason_required", _("Give a reason."), field="reason")
    return found
