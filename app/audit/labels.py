"""Plain words for the audit trail's codes: what happened (event), how a row changed (action),
what kind of record it was, and what each change held (field names and values). The page shows
the words; the export keeps the codes, exactly as they were hashed.

Values of a feature (land use, market states, settlement channels, people by name) are put in
words by functions the features register at create_app (``register_value_words``): the audit
package imports no feature."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.i18n import local_time

EVENTS = {
    "auth.login_failed": _l("Sign-in refused"),
    "auth.tokens_revoked": _l("All API tokens revoked"),
    "auth.unlock": _l("Account unlocked"),
    "collective.charter": _l("Collective charter changed"),
    "export.parcels": _l("Plots exported"),
    "homestead.transfer": _l("Homestead transferred to another household"),
    "household.die_out": _l("Household died out"),
    "household.merge": _l("Households merged"),
    "household.split": _l("Household split"),
    "import.discard": _l("Import discarded"),
    "import.reap": _l("Stopped import marked as failed"),
    "import.upload": _l("File uploaded for import"),
    "import.validate": _l("Import checked"),
    "market.create": _l("Listing drafted"),
    "market.declare": _l("Holder declared the listing voluntary"),
    "market.consent": _l("Co-holder consented to the listing"),
    "market.refuse_consent": _l("Co-holder refused consent to the listing"),
    "market.consent_complete": _l("Every co-holder consented"),
    "market.withdraw": _l("Listing withdrawn by the holder"),
    "market.publish": _l("Listing published to the collective's members"),
    "market.offer": _l("Offer made on a listing"),
    "market.accept_offer": _l("Offer accepted by the holder"),
    "market.bid": _l("Bid made on a listing"),
    "market.close_bidding": _l("Bidding closed: the highest valid bid won"),
    "market.lapse": _l("Listing ended without a buyer"),
    "market.tick": _l("Marketplace deadlines checked"),
    "market.consent_collective": _l("Collective consented; the county bureau reviews next"),
    "market.consent_homestead": _l("Collective consented; the township's approval is next"),
    "market.approve": _l("Listing approved"),
    "market.reject": _l("Listing rejected"),
    "market.contract": _l("Contract of the deal recorded"),
    "market.payment": _l("Payment of the deal recorded"),
    "market.record_exit_resolution": _l("Collective resolution on a paid exit recorded"),
    "market.register": _l("Deal registered: the right changed hands"),
    "notify.send": _l("Notification sent"),
    "notify.read": _l("Notification marked read"),
    "notify.deliver": _l("Short messages handed to the sender"),
    "move.countersign": _l("Move countersigned"),
    "move.refuse": _l("Move refused"),
    "move.request": _l("Move requested"),
    "move.withdraw": _l("Move request withdrawn"),
    "person.death": _l("Death recorded"),
    "person.guardian": _l("Guardian recorded"),
    "person.guardian_end": _l("Guardianship ended"),
    "plot.merge": _l("Plots merged"),
    "plot.split": _l("Plot split"),
    "auth.login": _l("Signed in"),
    "auth.logout": _l("Signed out"),
    "auth.session_end": _l("Session ended"),
    "auth.token_issue": _l("API token issued"),
    "auth.token_revoke": _l("API token revoked"),
    "user.create": _l("Account created"),
    "user.update": _l("Account's role or collectives changed"),
    "auth.password_reset": _l("Password reset by the system administrator"),
    "user.activate": _l("Account activated"),
    "user.deactivate": _l("Account deactivated"),
    "user.link_person": _l("Account linked to a person"),
    "divisions.load": _l("Administrative divisions loaded"),
    "collective.create": _l("Collective registered"),
    "person.register": _l("Person registered"),
    "person.update": _l("Personal data corrected"),
    "membership.admit": _l("Member admitted"),
    "membership.end": _l("Membership ended"),
    "household.create": _l("Household created"),
    "household.member_add": _l("Member added to a household"),
    "household.member_move": _l("Member moved to another household"),
    "household.member_remove": _l("Member removed from a household"),
    "land_contract.create": _l("Land contract created"),
    "land_contract.renew": _l("Land contract renewed"),
    "land_contract.end": _l("Land contract ended: all its plots were transferred"),
    "land_contract.return": _l("Contracted land returned to the collective"),
    "plot.create": _l("Plot registered"),
    "plot.attributes": _l("Plot details changed"),
    "plot.geometry": _l("Plot boundary changed"),
    "plot.assign": _l("Plot assigned to a contract"),
    "finding.decide": _l("Overlap finding decided"),
    "homestead.grant": _l("Homestead granted"),
    "homestead.dispose": _l("Homestead ended"),
    "shares.fix_register": _l("Share register fixed"),
    "shares.allocate": _l("Shares allocated"),
    "shares.transfer": _l("Shares transferred"),
    "shares.buy_back": _l("Shares bought back"),
    "notice.open": _l("Public notice opened"),
    "notice.objection": _l("Objection recorded"),
    "notice.objection_resolved": _l("Objection resolved"),
    "notice.confirm": _l("Public notice confirmed"),
    "notice.withdraw": _l("Public notice withdrawn"),
    "certificate.issue": _l("Certificate issued"),
    "statement.issue": _l("Rights-retained statement printed"),
    "certificate.cancel": _l("Certificate cancelled"),
    "document.store": _l("Source document stored"),
    "import.promote": _l("Import written to the registry"),
    "settlement.record": _l("Settlement in town recorded"),
    "settlement.correct": _l("Settlement record corrected"),
    "audit.export": _l("Audit log exported"),
}

ACTIONS = {"insert": _l("added"), "update": _l("changed"), "delete": _l("removed")}

RECORDS = {
    "app_user": _l("Account"),
    "api_token": _l("API token"),
    "user_session": _l("Session"),
    "login_event": _l("Sign-in record"),
    "division": _l("Administrative division"),
    "collective": _l("Collective"),
    "person": _l("Person"),
    "membership": _l("Membership"),
    "household": _l("Household"),
    "household_member": _l("Household member"),
    "registry_object": _l("Registry record"),
    "land_contract": _l("Land contract"),
    "plot": _l("Plot"),
    "geometry_finding": _l("Overlap finding"),
    "homestead": _l("Homestead"),
    "share_holding": _l("Share holding"),
    "share_register": _l("Share register"),
    "public_notice": _l("Public notice"),
    "objection": _l("Objection"),
    "certificate": _l("Certificate"),
    "rights_statement": _l("Rights-retained statement"),
    "source_document": _l("Source document"),
    "import_job": _l("Import"),
    "audit_entry": _l("Audit log"),
    "guardianship": _l("Guardianship"),
    "succession": _l("Succession record"),
    "land_return": _l("Return of contracted land"),
    "right_move": _l("Move of a right"),
    "market_listing": _l("Listing"),
    "market_step": _l("Step of a listing"),
    "market_consent": _l("Co-holder's consent"),
    "market_offer": _l("Offer"),
    "market_deal": _l("Deal"),
    "settlement_record": _l("Settlement record"),
}


def label(names: dict, code: str | None) -> str:
    if not code:
        return ""
    found = names.get(code)
    return str(found) if found is not None else code


# --- a change in words: the names of the fields an entry holds, and their values ------------------

#: What each stored field is called, whatever record it belongs to (a record may name its own
#: below, in FIELDS_OF). A field with no name here is shown as "Other detail", never by its code.
FIELDS = {
    "name": _l("Name"),
    "id_number": _l("ID number"),
    "sex": _l("Sex"),
    "birth_date": _l("Birth date"),
    "hukou_type": _l("Hukou"),
    "hukou_place": _l("Hukou place"),
    "hukou_kind": _l("Kind of hukou"),
    "hukou_origin": _l("Hukou before 2014"),
    "phone": _l("Phone"),
    "died_on": _l("Died on"),
    "collective_id": _l("Collective"),
    "household_uid": _l("Household"),
    "person_uid": _l("Person"),
    "contract_uid": _l("Contract"),
    "plot_uid": _l("Plot"),
    "other_plot_uid": _l("Other plot"),
    "plot_uids": _l("Plots"),
    "right_uid": _l("Right"),
    "right_kind": _l("Kind of right"),
    "subject_uid": _l("What is moved"),
    "from_household_uid": _l("From household"),
    "to_household_uid": _l("To household"),
    "heir_person_uid": _l("Heir"),
    "heir_household_uid": _l("Heir household"),
    "deceased_uid": _l("Deceased"),
    "ward_uid": _l("Ward"),
    "guardian_uid": _l("Guardian"),
    "buyer_household_uid": _l("Buyer household"),
    "buyer_person_uid": _l("Buyer"),
    "decided_by_person_uid": _l("Decided by"),
    "source_document_id": _l("Source document"),
    "paper_document_id": _l("Signed paper form"),
    "resolution_document_id": _l("Resolution document"),
    "contract_document_id": _l("Contract document"),
    "document_id": _l("Document"),
    "listing_id": _l("Listing"),
    "offer_id": _l("Offer"),
    "notice_id": _l("Public notice"),
    "replaces_id": _l("Replaces certificate"),
    "corrects_id": _l("Corrects record"),
    "job_id": _l("Import"),
    "user_id": _l("Account"),
    "relation": _l("Relation to the head"),
    "is_co_holder": _l("Co-holder"),
    "moved_out_on": _l("Moved out on"),
    "end_reason": _l("Why it ended"),
    "since": _l("Since"),
    "until": _l("Until"),
    "basis": _l("Basis"),
    "address": _l("Address"),
    "cbfbm": _l("Household code"),
    "cbhtbm": _l("Contract code"),
    "dkbm": _l("Plot code"),
    "fbfbm": _l("Collective code"),
    "uscc": _l("Unified social credit code"),
    "village_code": _l("Village"),
    "share_cap_percent": _l("Cap on one holder's shares (percent)"),
    "share_inheritance": _l("Shares of a dead member"),
    "term_start": _l("Term start"),
    "term_end": _l("Term end"),
    "contract_area_m2": _l("Contract area"),
    "measured_area_m2": _l("Measured area"),
    "area_m2": _l("Use-right area"),
    "floor_area_m2": _l("House floor area"),
    "overlap_m2": _l("Overlap area"),
    "status": _l("Status"),
    "state": _l("State"),
    "land_type": _l("Land type"),
    "method": _l("Method"),
    "land_class": _l("Land class"),
    "land_use": _l("Land use"),
    "is_basic_farmland": _l("Basic farmland"),
    "east": _l("East boundary"),
    "south": _l("South boundary"),
    "west": _l("West boundary"),
    "north": _l("North boundary"),
    "geom": _l("Boundary (geometry)"),
    "unit_number": _l("Real-estate unit number"),
    "approval_number": _l("Approval no."),
    "approved_on": _l("Approved on"),
    "terrain": _l("Terrain"),
    "disposal": _l("Disposal"),
    "registration": _l("Registration"),
    "acquired_by": _l("Acquired by"),
    "note": _l("Note"),
    "shares": _l("Shares"),
    "share_type": _l("Type of shares"),
    "certificate_number": _l("Share certificate no."),
    "total_shares": _l("Total shares"),
    "fixed_on": _l("Fixed on"),
    "number": _l("Certificate no."),
    "issue_kind": _l("How it was issued"),
    "issued_on": _l("Issued on"),
    "ended_on": _l("Ended on"),
    "reason": _l("Reason"),
    "starts_on": _l("Notice starts"),
    "ends_on": _l("Notice ends"),
    "lodged_by": _l("Lodged by"),
    "lodged_on": _l("Lodged on"),
    "text": _l("Text"),
    "resolution": _l("Resolution"),
    "resolved_on": _l("Resolved on"),
    "kind": _l("Kind"),
    "title": _l("Title"),
    "filename": _l("File name"),
    "media_type": _l("Type of file"),
    "size": _l("Size (bytes)"),
    "uploaded_at": _l("Uploaded at"),
    "uploaded_by": _l("Uploaded by"),
    "happened_on": _l("Happened on"),
    "outcome": _l("Outcome"),
    "notice_given_on": _l("Notice given on"),
    "returned_on": _l("Returned on"),
    "recorded_at": _l("Recorded at"),
    "recorded_by": _l("Recorded by"),
    "settled_on": _l("Settled on"),
    "city": _l("City"),
    "district": _l("District"),
    "channel": _l("How the person settled"),
    "deal_kind": _l("Kind of deal"),
    "asking_price_fen": _l("Asking price"),
    "description": _l("Description"),
    "bid_deadline": _l("Bidding closes"),
    "bid_step_fen": _l("Smallest raise of a bid"),
    "deposit_fen": _l("Deposit"),
    "declared_at": _l("Declared at"),
    "cooling_off_ends_on": _l("Cooling-off period ends"),
    "published_on": _l("Published on"),
    "created_by": _l("Created by"),
    "created_at": _l("Created"),
    "amount_fen": _l("Amount"),
    "deposit_reference": _l("Deposit payment reference"),
    "deposit_state": _l("Deposit"),
    "eligibility": _l("Eligibility checks"),
    "made_by": _l("Made by"),
    "made_at": _l("Made at"),
    "decision": _l("Decision"),
    "mode": _l("How it was given"),
    "witnessed_by": _l("Witnessed by"),
    "statement": _l("Statement"),
    "decided_at": _l("Decided at"),
    "decided_by": _l("Decided by"),
    "decision_reason": _l("Reason of the decision"),
    "price_fen": _l("Price"),
    "votes_for": _l("Votes for"),
    "votes_cast": _l("Votes cast"),
    "contract_signed_on": _l("Contract signed on"),
    "payment_terms": _l("Payment terms"),
    "payment": _l("Payment"),
    "payment_reference": _l("Payment reference"),
    "paid_on": _l("Paid on"),
    "escrow_released_at": _l("Escrow released at"),
    "evidence": _l("Evidence"),
    "improvements_fen": _l("Value of improvements"),
    "registered_on": _l("Registered on"),
    "attestation_number": _l("Attestation no."),
    "from_state": _l("From"),
    "to_state": _l("To"),
    "actor": _l("Who"),
    "actor_role": _l("In the role of"),
    "at": _l("At"),
    "requested_by": _l("Requested by"),
    "requested_at": _l("Requested at"),
    "username": _l("Account"),
    "display_name": _l("Display name"),
    "role": _l("Role"),
    "collectives": _l("Collectives"),
    "password_hash": _l("Password"),
    "is_active": _l("Active"),
    "last_login_at": _l("Last signed in"),
    "label": _l("Label"),
    "expires_at": _l("Expires"),
    "revoked_at": _l("Revoked at"),
    "ended_at": _l("Ended at"),
    "code": _l("Number"),
    "content_sha256": _l("Fingerprint of the content"),
    "statement_sha256": _l("Fingerprint of the content"),
    "snapshot_sha256": _l("Fingerprint of the content"),
    "sha256": _l("Fingerprint of the content"),
    "snapshot": _l("What was certified"),
    "version": _l("Version"),
    "valid_from": _l("In effect from"),
    "valid_to": _l("In effect until"),
    "change_reason": _l("Reason for the change"),
    "changed_by": _l("Changed by"),
    "storage_key": _l("Where the file is kept"),
    "issued_by": _l("Issued by"),
    "issued_at": _l("Issued at"),
    "user_agent": _l("Browser"),
    "key_sha256": _l("Session key"),
    "token_sha256": _l("Token"),
    "last_seen_at": _l("Last active"),
    "last_used_at": _l("Last used"),
    "first": _l("First entry"),
    "last": _l("Last entry"),
    "filter": _l("Filter"),
}

#: Names a record gives a field of its own, where the general name would mislead.
FIELDS_OF = {
    ("market_step", "action"): _l("Step"),
    ("market_consent", "role"): _l("Consents as"),
    ("market_deal", "registration"): _l("Registration record"),
    ("membership", "end_reason"): _l("Why the membership ended"),
    ("rights_statement", "code"): _l("Statement no."),
    ("settlement_record", "reason"): _l("Why it was corrected"),
}

#: Fields whose stored value is plain text a person wrote or a number printed on a paper (a name,
#: a note, a code on a certificate): shown as stored.
PLAIN_TEXT = frozenset(
    {
        "name", "display_name", "username", "address", "note", "reason", "change_reason",
        "decision_reason", "description", "text", "resolution", "title", "filename",
        "members_filename", "city", "district", "hukou_place", "east", "south", "west", "north",
        "payment_terms", "label", "changed_by", "created_by", "made_by", "lodged_by",
        "decided_by", "witnessed_by", "recorded_by", "uploaded_by", "issued_by", "requested_by",
        "actor", "statement", "cbfbm", "cbhtbm", "dkbm", "fbfbm", "uscc",
        "unit_number", "approval_number", "certificate_number", "number", "attestation_number",
        "payment_reference", "deposit_reference", "detail", "user_agent",
    }
)  # fmt: skip
#: Exact decimals stored as text (shares, percentages).
DECIMALS = frozenset({"shares", "total_shares", "share_cap_percent"})
PLAIN_TEXT_OF = frozenset({("rights_statement", "code")})

#: A feature's words for its stored values: (record, field, value) -> words, or None when the
#: field is not one it knows. Registered by create_app: the audit package imports no feature.
ValueWords = Callable[[str, str, Any], "str | None"]
_value_words: list[ValueWords] = []

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?")
_DECIMAL = re.compile(r"-?\d+(\.\d+)?")


def register_value_words(words: ValueWords) -> None:
    """Let ``words`` put a feature's stored values in words (idempotent)."""
    if words not in _value_words:
        _value_words.append(words)


def field_name(record: str, field: str) -> str:
    found = FIELDS_OF.get((record, field)) or FIELDS.get(field)
    return str(found) if found is not None else _("Other detail")


def recorded() -> str:
    return _("(recorded value)")


def value_words(record: str, field: str, value: Any) -> str:
    """A stored value in words: a feature's label, a date, an amount with its unit; plain text
    as written; anything else "(recorded value)", never a code."""
    if value is None or value == "":
        return "—"
    for words in _value_words:
        found = words(record, field, value)
        if found is not None:
            return found
    if record == "registry_object" and field == "kind" and value in RECORDS:
        return str(RECORDS[value])
    if value == "[redacted]":
        return _("(kept secret)")
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, dict):
        return _("(boundary)") if "wkb_sha256" in value else recorded()
    if isinstance(value, list):
        return recorded()
    number = isinstance(value, int | float) or (
        isinstance(value, str) and field in DECIMALS and _DECIMAL.fullmatch(value)
    )
    if field.endswith("_fen") and isinstance(value, int):
        return _("%(amount)s yuan", amount=f"{Decimal(value).scaleb(-2):,.2f}")
    if field.endswith("_m2") and isinstance(value, int | float):
        return _("%(area)s m²", area=f"{value:,.2f}")
    if field in ("id", "uid") or field.endswith(("_id", "_uid", "_uids", "_sha256")):
        return recorded()
    if number:
        return str(value)
    if isinstance(value, str):
        if _DATETIME.fullmatch(value):
            return local_time(datetime.fromisoformat(value))
        if _DATE.fullmatch(value):
            return value
        structured = value.lstrip().startswith(("{", "["))  # stored JSON: codes inside
        if (field in PLAIN_TEXT or (record, field) in PLAIN_TEXT_OF) and not structured:
            return value
    return recorded()
