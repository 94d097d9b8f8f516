"""The kinds of move of a right (moves.KINDS): what each reads, checks and applies.

Each kind applies through the right's own service (``land``, ``shares``, ``homesteads``), whose
rules then hold as for any other write; ``moves`` runs the requests and the countersign and knows
the kinds only as registered here (``install``, at app creation), so those services may call
``moves`` (a transfer with a legal basis becomes a request) without a cycle.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit import trail
from app.core.errors import DomainError, NotFound
from app.core.numbers import plain
from app.extensions import db
from app.registry import history, land, moves
from app.registry import homesteads as homestead_service
from app.registry import shares as share_service
from app.registry.documents import source_document
from app.registry.inputs import is_id
from app.registry.models import Homestead, LandContract, Plot, RightMove, ShareHolding
from app.registry.moves import Line, MoveKind, Subject, arg_uid, contract_name, household_name


def _plot_subject(subject_uid: Any, args: dict) -> Subject:
    plot = history.current_of(Plot, subject_uid) if is_id(subject_uid) else None
    if plot is None:
        raise NotFound("plot_not_found", _("No current plot with this number."), field="plot_uid")
    if plot.contract_uid is None or history.current_of(LandContract, plot.contract_uid) is None:
        raise DomainError(
            "not_in_contract",
            _("This plot is in no household's contract: put it into one on its page."),
            field="plot_uid",
        )
    to_uid = args.get("to_contract_uid")
    to_household = None
    if to_uid is not None:
        target = history.current_of(LandContract, to_uid) if is_id(to_uid) else None
        if target is None or target.collective_id != plot.collective_id:
            raise NotFound(
                "contract_not_found",
                _("No current contract with this number."),
                field="to_contract_uid",
            )
        if target.uid == plot.contract_uid:
            raise DomainError("no_change", _("Nothing was changed."), field="to_contract_uid")
        to_household = target.household_uid
    return Subject(plot.uid, plot.collective_id, plot.household_uid, to_household)


def _apply_plot(move: RightMove, args: dict) -> None:
    plot = history.current_of(Plot, move.subject_uid, lock=True)
    if plot is None or plot.contract_uid != args["from_contract_uid"]:
        raise DomainError(
            "moved_meanwhile",
            _("The plot was changed since the request: its contract is no longer the one named."),
            field="plot_uid",
        )
    land._move_plot(
        plot.uid,
        args.get("to_contract_uid"),
        source_document_id=move.source_document_id,
        reason=moves.reason_for(move.basis, move.reason),
    )


def _share_subject(subject_uid: Any, args: dict) -> Subject:
    holding = history.current_of(ShareHolding, subject_uid) if is_id(subject_uid) else None
    if holding is None:
        raise DomainError(
            "holding_ended",
            _("This share holding has no shares any more (it was transferred or bought back)."),
            field="holding_uid",
        )
    return Subject(
        holding.uid, holding.collective_id, holding.household_uid, args.get("to_household_uid")
    )


def _amount(args: dict) -> Decimal:
    return Decimal(str(args["shares"]))


def _apply_share_transfer(move: RightMove, args: dict) -> None:
    share_service._transfer_shares(
        move.subject_uid,
        to_household_uid=args.get("to_household_uid"),
        to_person_uid=args.get("to_person_uid"),
        shares=_amount(args),
        reason=moves.reason_for(move.basis, move.reason),
        source_document_id=move.source_document_id,
        certificate_number=args.get("certificate_number"),
    )


def _apply_share_buy_back(move: RightMove, args: dict) -> None:
    share_service._buy_back(
        move.subject_uid,
        _amount(args),
        reason=moves.reason_for(move.basis, move.reason),
        source_document_id=move.source_document_id,
    )


def _homestead_subject(subject_uid: Any, args: dict) -> Subject:
    homestead = history.current_of(Homestead, subject_uid) if is_id(subject_uid) else None
    if homestead is None:
        raise DomainError("homestead_unknown", _("No such homestead."), field="homestead_uid")
    return Subject(
        homestead.uid,
        homestead.collective_id,
        homestead.household_uid,
        args.get("to_household_uid"),
    )


def _apply_homestead(move: RightMove, args: dict) -> None:
    homestead = history.current_of(Homestead, move.subject_uid, lock=True)
    if homestead is None or homestead.household_uid != move.from_household_uid:
        raise DomainError(
            "moved_meanwhile",
            _("The homestead was changed since the request: it is no longer the household's."),
            field="homestead_uid",
        )
    transfer_homestead(
        homestead.uid,
        args["to_household_uid"],
        basis=move.basis,
        reason=moves.reason_for(move.basis, move.reason),
        source_document_id=move.source_document_id,
    )


def transfer_homestead(
    homestead_uid: int,
    to_household_uid: int,
    *,
    basis: str,
    reason: str,
    source_document_id: int,
    today: date | None = None,
) -> Homestead:
    """R09: the homestead goes to a qualifying member household of the same collective.

    Apply function of a countersigned move (and of the marketplace's registration step later):
    never called from a page. The eligibility test is ``homesteads.transfer_homestead_check``;
    the unit keeps its uid and history, the new version names the new household, and the ended
    version records how the old household's right ended ("corrected" for a correction of the
    record, else "transferred"), which is what R08 reads.
    """
    homestead_service.transfer_homestead_check(homestead_uid, to_household_uid, today)
    homestead = history.require_current(Homestead, homestead_uid, lock=True)
    doc = source_document(source_document_id, homestead.collective_id)
    with trail.because("homestead.transfer", reason=reason, source_sha256=doc.sha256):
        new = history.revise(
            homestead, reason=reason, source_document_id=doc.id, household_uid=to_household_uid
        )
        homestead.disposal = "corrected" if basis == "correction" else "transferred"
        db.session.flush()
    return new


def _plot_args(subject_uid: Any, raw: dict) -> dict:
    plot = history.current_of(Plot, subject_uid) if is_id(subject_uid) else None
    return {
        "from_contract_uid": plot.contract_uid if plot else None,
        "to_contract_uid": arg_uid(raw, "to_contract_uid"),
    }


def _share_args(kind: str, raw: dict) -> dict:
    amount = share_service._shares(raw.get("shares"))
    out: dict[str, Any] = {"shares": str(amount)}
    if kind == "share_transfer":
        recipient = share_service._holder(
            raw.get("to_household_uid"), raw.get("to_person_uid"), prefix="to_"
        )
        certificate = raw.get("certificate_number")
        if certificate is not None and not isinstance(certificate, str):
            raise DomainError(
                "certificate_number", _("No such certificate."), field="certificate_number"
            )
        out.update(
            to_household_uid=recipient.household_uid,
            to_person_uid=recipient.person_uid,
            certificate_number=(certificate or "").strip()[:40] or None,
        )
    return out


def _homestead_args(subject_uid: Any, raw: dict) -> dict:
    return {"to_household_uid": arg_uid(raw, "to_household_uid", required=True)}


def _describe_plot(move: RightMove, args: dict) -> tuple[str, list[Line]]:
    plot = db.session.scalar(
        select(Plot).where(Plot.uid == move.subject_uid).order_by(Plot.version.desc()).limit(1)
    )
    subject = f"{plot.dkbm} {plot.name or ''}".strip() if plot else f"#{move.subject_uid}"
    return subject, [
        Line(
            _("Contract"),
            contract_name(args.get("from_contract_uid")),
            contract_name(args.get("to_contract_uid")),
        ),
        Line(
            _("Household"),
            household_name(move.from_household_uid),
            household_name(move.to_household_uid),
        ),
    ]


def _describe_shares(move: RightMove, args: dict) -> tuple[str, list[Line]]:
    holding = history.latest_version(ShareHolding, move.subject_uid)
    holder = share_service.holder_name(holding) if holding else f"#{move.subject_uid}"
    amount = _amount(args)
    subject = _("Shares of %(holder)s", holder=holder)
    held = holding.shares if holding is not None and holding.is_current else None
    lines = [
        Line(
            _("Shares of %(holder)s", holder=holder),
            plain(held) if held is not None else "—",
            plain(held - amount) if held is not None else "—",
        )
    ]
    if move.kind == "share_transfer":
        if args.get("to_household_uid"):
            recipient = household_name(args["to_household_uid"])
        else:
            recipient = share_service.holder_name(
                ShareHolding(person_uid=args.get("to_person_uid"))
            )
        lines.append(Line(_("Receives"), recipient, _("+%(n)s shares", n=plain(amount))))
    else:
        lines.append(Line(_("Collective's pool"), "", _("+%(n)s shares", n=plain(amount))))
    return subject, lines


def _describe_homestead(move: RightMove, args: dict) -> tuple[str, list[Line]]:
    homestead = history.latest_version(Homestead, move.subject_uid)
    subject = homestead.unit_number if homestead else f"#{move.subject_uid}"
    return subject, [
        Line(
            _("Household"),
            household_name(move.from_household_uid),
            household_name(move.to_household_uid),
        )
    ]


def install() -> None:
    """Register the kinds with ``moves`` (create_app; idempotent)."""
    moves.register_kind(
        "plot_move",
        MoveKind(_plot_subject, _apply_plot, "plot_uid", _plot_args, _describe_plot),
    )
    moves.register_kind(
        "share_transfer",
        MoveKind(
            _share_subject,
            _apply_share_transfer,
            "holding_uid",
            lambda _uid, raw: _share_args("share_transfer", raw),
            _describe_shares,
        ),
    )
    moves.register_kind(
        "share_buy_back",
        MoveKind(
            _share_subject,
            _apply_share_buy_back,
            "holding_uid",
            lambda _uid, raw: _share_args("share_buy_back", raw),
            _describe_shares,
        ),
    )
    moves.register_kind(
        "homestead_transfer",
        MoveKind(
            _homestead_subject,
            _apply_homestead,
            "homestead_uid",
            _homestead_args,
            _describe_homestead,
        ),
    )


def subjects_of(moves: list[RightMove]) -> dict[int, str]:
    """What each move of a list is about (``describe``'s subject), in one query per kind."""
    uids: dict[type[Any], set[int]] = {Plot: set(), ShareHolding: set(), Homestead: set()}
    kinds: dict[str, type[Any]] = {"plot_move": Plot, "homestead_transfer": Homestead}
    for m in moves:
        uids[kinds.get(m.kind, ShareHolding)].add(m.subject_uid)
    latest: dict[tuple[type, int], Any] = {}
    for model, wanted in uids.items():
        if not wanted:
            continue
        rows: list[Any] = list(
            db.session.scalars(
                select(model).where(model.uid.in_(wanted)).order_by(model.uid, model.version)
            )
        )
        for row in rows:
            latest[(model, row.uid)] = row  # the highest version comes last
    out = {}
    for m in moves:
        obj = latest.get((kinds.get(m.kind, ShareHolding), m.subject_uid))
        if obj is None:
            out[m.id] = f"#{m.subject_uid}"
        elif m.kind == "plot_move":
            out[m.id] = f"{obj.dkbm} {obj.name or ''}".strip()
        elif m.kind == "homestead_transfer":
            out[m.id] = obj.unit_number
        else:
            out[m.id] = _("Shares of %(holder)s", holder=share_service.holder_name(obj))
    return out
