"""People and households: members (成员), memberships (成员资格), households (承包方/农户).

Each business rule lives in exactly one function of this package; the HTML views and the JSON
API call these same functions. Services flush, never commit. Every change goes through
``history`` (nothing is overwritten) inside an audit context naming the event and the reason.

What is deliberately absent: nothing here reads a settlement record, and no function ends a
membership or a household membership because a person took urban hukou (进城落户). Settling in
town does not end membership (集体经济组织法 Arts. 17–18) and never changes a right (R12).

Where things are:

- ``persons``: registering and correcting a person; hukou labels.
- ``memberships``: admitting a member and ending a membership (Art. 17).
- ``households``: creating a household and allocating its code (CBFBM); adding, removing and
  moving members; co-holders (R01, 承包法 Art. 31).
- ``succession``: what becomes of rights on a death or a household's end (R10), shared by:
- ``deaths``: a person's death, a household dying out (户消亡);
- ``split_merge``: a household's split (分户) and merger (合户).
- ``guardianship``: minors, guardians and who consents for a person (R13).
- ``queries`` and ``searching``: what pages and the API read, within a user's reach.
- ``_common``: the checks and look-ups the services share.

Callers use the names below, from the package (``people.create_household``); the modules import
each other directly, never this file.
"""

from app.registry.people._common import HEAD, open_membership, resident_row
from app.registry.people.deaths import dissolve_household, record_death
from app.registry.people.guardianship import (
    appoint_guardian,
    consenting_person,
    end_guardianship,
    farmer_can_act_for,
    guardians_of,
    is_minor,
)
from app.registry.people.households import (
    add_household_member,
    co_holders,
    create_household,
    move_member,
    next_cbfbm,
    remove_household_member,
)
from app.registry.people.memberships import BASES, END_REASONS, admit_member, end_membership
from app.registry.people.persons import (
    HUKOU_KINDS,
    HUKOU_ORIGINS,
    HUKOU_TYPES,
    PERSON_FIELDS,
    SEXES,
    hukou_label,
    register_person,
    update_person,
)
from app.registry.people.queries import (
    HouseholdRights,
    MemberRow,
    collective_households_page,
    collective_overview,
    eligible_people,
    household_members,
    household_rights,
    person_households,
    person_memberships,
    visible_households,
    visible_persons,
)
from app.registry.people.searching import search
from app.registry.people.split_merge import merge_households, split_household
from app.registry.people.succession import (
    SUCCESSION_OUTCOMES,
    contract_plots,
    set_share_inheritance,
    succession_of,
)

__all__ = [
    # vocabularies the forms and pages show
    "BASES",
    "END_REASONS",
    "HEAD",
    "HUKOU_ORIGINS",
    "HUKOU_KINDS",
    "HUKOU_TYPES",
    "PERSON_FIELDS",
    "SEXES",
    "SUCCESSION_OUTCOMES",
    # persons and memberships
    "admit_member",
    "end_membership",
    "hukou_label",
    "open_membership",
    "register_person",
    "update_person",
    # households
    "add_household_member",
    "co_holders",
    "create_household",
    "move_member",
    "next_cbfbm",
    "remove_household_member",
    "resident_row",
    # life events and what became of the rights
    "contract_plots",
    "dissolve_household",
    "merge_households",
    "record_death",
    "set_share_inheritance",
    "split_household",
    "succession_of",
    # minors, guardians, acting for a household
    "appoint_guardian",
    "consenting_person",
    "end_guardianship",
    "farmer_can_act_for",
    "guardians_of",
    "is_minor",
    # reading
    "HouseholdRights",
    "MemberRow",
    "collective_households_page",
    "collective_overview",
    "eligible_people",
    "household_members",
    "household_rights",
    "person_households",
    "person_memberships",
    "search",
    "visible_households",
    "visible_persons",
]
