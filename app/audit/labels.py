"""Plain words for the audit trail's codes: what happened (event), how a row changed (action),
and what kind of record it was. The page shows the words; the code stays beside them for the
auditor, who matches it with an export. A code without a label is shown as it is."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

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
    "certificate.cancel": _l("Certificate cancelled"),
    "document.store": _l("Source document stored"),
    "import.promote": _l("Import written to the registry"),
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
    "source_document": _l("Source document"),
    "import_job": _l("Import"),
}


def label(names: dict, code: str | None) -> str:
    if not code:
        return ""
    found = names.get(code)
    return str(found) if found is not None else code
