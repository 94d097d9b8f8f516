"""JSON API for people and households: the same services and serialisation as the HTML pages."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from app.api import bp
from app.api.core import MAX_ID, json_body
from app.api.core import date_value as _date_value
from app.api.core import int_arg as _int_arg
from app.api.core import int_field as _int_field
from app.api.core import limit_arg as _limit
from app.api.core import openapi_json as _json
from app.api.core import openapi_path as _path
from app.api.core import str_field as _str_field
from app.auth.models import Role
from app.auth.scope import can_edit, load_or_404, roles_required
from app.core.errors import DomainError
from app.divisions.models import Collective
from app.extensions import db
from app.registry import people, present
from app.registry.inputs import openapi_text
from app.registry.lookup import load_current_or_404
from app.registry.models import Household, Person

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR, Role.FARMER)
SEARCHERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)


def _editable_collective(collective_id: int) -> Collective:
    collective = load_or_404(Collective, collective_id)
    if not can_edit(current_user, collective):
        abort(404)
    return collective


def _household_json(household: Household) -> dict:
    members = people.household_members(household.uid)
    rights = people.household_rights(household.uid, [r.person.uid for r in members])
    return present.household_view(household, current_user, members=members, rights=rights)


def _person_json(person: Person) -> dict:
    out = present.person_view(person, current_user)
    out["memberships"] = [
        present.membership_view(m, masked=out["id_number_masked"])
        for m in people.person_memberships(person.uid)
    ]
    out["households"] = [
        {
            "household_uid": hh.uid,
            "cbfbm": hh.cbfbm,
            "relation": m.relation,
            "is_co_holder": bool(m.is_co_holder),
            "moved_out_on": m.moved_out_on.isoformat() if m.moved_out_on else None,
        }
        for m, hh in people.person_households(person.uid)
    ]
    out["guardians"] = [
        {
            "guardianship_uid": g.uid,
            "guardian_uid": p.uid,
            "name": p.name,
            "since": g.since.isoformat(),
            "until": g.until.isoformat() if g.until else None,
        }
        for g, p in people.guardians_of(person.uid)
    ]
    out["succession"] = [
        present.succession_view(row) for row in people.succession_of(person_uid=person.uid)
    ]
    return out


@bp.get("/persons")
@roles_required(*READERS)
def list_persons():
    limit = _limit()
    rows = people.visible_persons(
        current_user,
        collective_id=_int_arg("collective_id"),
        after=_int_arg("cursor"),
        limit=limit + 1,
    )
    page = rows[:limit]
    scopes = present.collective_ids_of(p.uid for p in page)
    return jsonify(
        items=[present.person_view(p, current_user, scopes[p.uid]) for p in page],
        next=str(page[-1].uid) if len(rows) > limit else None,
    )


@bp.post("/persons")
@roles_required(Role.COLLECTIVE_ADMIN)
def create_person():
    body = json_body()
    collective = _editable_collective(_int_field(body, "collective_id"))
    reason = _str_field(body, "reason")
    person = people.register_person(
        _str_field(body, "name"),
        _str_field(body, "id_number"),
        _str_field(body, "sex"),
        _str_field(body, "birth_date"),
        _str_field(body, "hukou_type") or "rural",
        _str_field(body, "hukou_place"),
        _str_field(body, "phone"),
        source_document_id=_int_field(body, "source_document_id", required=False),
        collective_id=collective.id,
        reason=reason,
        hukou_origin=_str_field(body, "hukou_origin"),
    )
    people.admit_member(
        person.uid,
        collective.id,
        _str_field(body, "since"),
        _str_field(body, "basis"),
        reason,
        source_document_id=_int_field(body, "source_document_id", required=False),
    )
    db.session.commit()
    return jsonify(_person_json(person)), 201


@bp.get("/persons/<int:person_uid>")
@roles_required(*READERS)
def get_person(person_uid: int):
    return jsonify(_person_json(load_current_or_404(Person, person_uid)))


@bp.patch("/persons/<int:person_uid>")
@roles_required(Role.COLLECTIVE_ADMIN)
def patch_person(person_uid: int):
    """Correct a person's data: a new version, with a reason (history, never overwrite)."""
    person = load_current_or_404(Person, person_uid, edit=True)
    body = json_body()
    extra = set(body) - set(people.PERSON_FIELDS) - {"reason", "source_document_id"}
    if extra:
        raise DomainError(
            "field",
            _("These fields cannot be changed here: %(f)s", f=", ".join(sorted(extra))),
        )
    changes = {k: body[k] for k in people.PERSON_FIELDS if k in body}
    updated = people.update_person(
        person.uid,
        body.get("reason"),
        source_document_id=body.get("source_document_id"),
        **changes,
    )
    db.session.commit()
    return jsonify(_person_json(updated))


@bp.get("/households")
@roles_required(*READERS)
def list_households():
    limit = _limit()
    rows = people.visible_households(
        current_user,
        collective_id=_int_arg("collective_id"),
        after=_int_arg("cursor"),
        limit=limit + 1,
    )
    page = rows[:limit]
    return jsonify(
        items=[present.household_view(h, current_user) for h in page],
        next=str(page[-1].uid) if len(rows) > limit else None,
    )


@bp.post("/households")
@roles_required(Role.COLLECTIVE_ADMIN)
def create_household():
    body = json_body()
    collective = _editable_collective(_int_field(body, "collective_id"))
    household = people.create_household(
        collective.id,
        _str_field(body, "cbfbm"),
        _str_field(body, "name"),
        _str_field(body, "address"),
        _int_field(body, "head_person_uid"),
        _str_field(body, "reason"),
        source_document_id=_int_field(body, "source_document_id", required=False),
    )
    db.session.commit()
    return jsonify(_household_json(household)), 201


@bp.get("/households/<int:household_uid>")
@roles_required(*READERS)
def get_household(household_uid: int):
    return jsonify(_household_json(load_current_or_404(Household, household_uid)))


@bp.post("/households/<int:household_uid>/members")
@roles_required(Role.COLLECTIVE_ADMIN)
def add_household_member(household_uid: int):
    household = load_current_or_404(Household, household_uid, edit=True)
    body = json_body()
    co_holder = body.get("is_co_holder", True)
    if not isinstance(co_holder, bool):
        raise DomainError(
            "body", _("%(name)s must be true or false.", name="is_co_holder"), field="is_co_holder"
        )
    people.add_household_member(
        household.uid,
        _int_field(body, "person_uid"),
        _str_field(body, "relation"),
        co_holder,
        _str_field(body, "reason"),
        source_document_id=_int_field(body, "source_document_id", required=False),
    )
    db.session.commit()
    return jsonify(_household_json(household)), 201


# --- life events: death, guardians, household split, merger and dying out


def _id_list(body: dict, name: str, *, required: bool = True) -> list[int]:
    """A JSON array of object ids (at most 200)."""
    value = body.get(name)
    if value is None and not required:
        return []
    if (
        not isinstance(value, list)
        or len(value) > 200
        or any(isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= MAX_ID for v in value)
    ):
        raise DomainError(
            "body", _("%(name)s must be a list of whole numbers.", name=name), field=name
        )
    return value


def _relations(body: dict) -> dict[int, str]:
    """{"person uid": "relation code"}: JSON keys are text, the uids numbers."""
    value = body.get("relations")
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > 200:
        raise DomainError(
            "body", _("%(name)s must be an object.", name="relations"), field="relations"
        )
    out: dict[int, str] = {}
    for key, code in value.items():
        if not (isinstance(key, str) and key.isascii() and key.isdigit() and len(key) < 11):
            raise DomainError(
                "body",
                _("%(name)s must be a whole number.", name="relations"),
                field="relations",
            )
        if not isinstance(code, str):
            raise DomainError(
                "body", _("%(name)s must be text.", name="relations"), field="relations"
            )
        out[int(key)] = code
    return out


@bp.post("/persons/<int:person_uid>/death")
@roles_required(Role.COLLECTIVE_ADMIN)
def record_death(person_uid: int):
    """A person's death: memberships and co-holding end; rights go as the law and charter say."""
    person = load_current_or_404(Person, person_uid, edit=True)
    body = json_body()
    dead = people.record_death(
        person.uid,
        _date_value(body.get("died_on"), "died_on"),
        _str_field(body, "reason"),
        source_document_id=_int_field(body, "source_document_id", required=False),
        heir_household_uid=_int_field(body, "heir_household_uid", required=False),
        income_heir_person_uid=_int_field(body, "income_heir_person_uid", required=False),
        continuing_household_uid=_int_field(body, "continuing_household_uid", required=False),
        new_head_person_uid=_int_field(body, "new_head_person_uid", required=False),
    )
    db.session.commit()
    return jsonify(_person_json(dead))


@bp.post("/persons/<int:person_uid>/guardians")
@roles_required(Role.COLLECTIVE_ADMIN)
def appoint_guardian(person_uid: int):
    """Record the guardian (监护人) of a minor."""
    ward = load_current_or_404(Person, person_uid, edit=True)
    body = json_body()
    people.appoint_guardian(
        ward.uid,
        _int_field(body, "guardian_uid"),
        _date_value(body.get("since"), "since"),
        _str_field(body, "reason"),
        source_document_id=_int_field(body, "source_document_id", required=False),
    )
    db.session.commit()
    return jsonify(_person_json(ward)), 201


@bp.post("/persons/<int:person_uid>/guardians/end")
@roles_required(Role.COLLECTIVE_ADMIN)
def end_guardianship(person_uid: int):
    """End one of the person's guardianships (``guardianship_uid``)."""
    ward = load_current_or_404(Person, person_uid, edit=True)
    body = json_body()
    uid = _int_field(body, "guardianship_uid")
    if uid not in {g.uid for g, _p in people.guardians_of(ward.uid) if g.end_lifespan is None}:
        raise DomainError(
            "guardianship_unknown",
            _("There is no such guardianship."),
            field="guardianship_uid",
        )
    people.end_guardianship(
        uid,
        _date_value(body.get("until"), "until"),
        _str_field(body, "reason"),
        source_document_id=_int_field(body, "source_document_id", required=False),
    )
    db.session.commit()
    return jsonify(_person_json(ward))


@bp.post("/households/<int:household_uid>/split")
@roles_required(Role.COLLECTIVE_ADMIN)
def split_household(household_uid: int):
    """分户 with the collective's approval: chosen members and plots form a new household."""
    household = load_current_or_404(Household, household_uid, edit=True)
    body = json_body()
    new = people.split_household(
        household.uid,
        _id_list(body, "members"),
        _int_field(body, "head_person_uid"),
        _str_field(body, "reason"),
        source_document_id=_int_field(body, "source_document_id", required=False),
        plot_uids=_id_list(body, "plots", required=False),
        cbfbm=_str_field(body, "cbfbm"),
        name=_str_field(body, "name"),
        address=_str_field(body, "address"),
        relations=_relations(body),
    )
    db.session.commit()
    return jsonify(_household_json(new)), 201


@bp.post("/households/<int:household_uid>/merge")
@roles_required(Role.COLLECTIVE_ADMIN)
def merge_household(household_uid: int):
    """合户 with the collective's approval: this household joins ``into_household_uid``."""
    household = load_current_or_404(Household, household_uid, edit=True)
    body = json_body()
    kept = people.merge_households(
        household.uid,
        _int_field(body, "into_household_uid"),
        _str_field(body, "reason"),
        source_document_id=_int_field(body, "source_document_id", required=False),
        relations=_relations(body),
    )
    db.session.commit()
    return jsonify(_household_json(kept))


@bp.post("/households/<int:household_uid>/dissolve")
@roles_required(Role.COLLECTIVE_ADMIN)
def dissolve_household(household_uid: int):
    """户消亡: a household nobody lives in any more ends, and so do its rights."""
    household = load_current_or_404(Household, household_uid, edit=True)
    body = json_body()
    ended = people.dissolve_household(
        household.uid,
        _date_value(body.get("on"), "on"),
        _str_field(body, "reason"),
        source_document_id=_int_field(body, "source_document_id", required=False),
        income_heir_person_uid=_int_field(body, "income_heir_person_uid", required=False),
        continuing_household_uid=_int_field(body, "continuing_household_uid", required=False),
        heir_household_uid=_int_field(body, "heir_household_uid", required=False),
    )
    db.session.commit()
    return jsonify({"uid": ended.uid, "cbfbm": ended.cbfbm, "end_reason": ended.end_reason})


@bp.get("/search")
@roles_required(*SEARCHERS)
def search():
    q = request.args.get("q", "")
    page = _int_arg("cursor") or 1
    hits, more = people.search(current_user, q, page=max(page, 1))
    scopes = present.collective_ids_of(h.uid for h in hits if h.kind == "person")
    items: list[dict[str, Any]] = []
    for h in hits:
        item: dict[str, Any] = {
            "kind": h.kind,
            "uid": h.uid,
            "label": h.label,
            "code": h.code,
            "collective_id": h.collective_id,
            "household_uid": h.household_uid,
        }
        if h.kind == "person":
            item["person"] = present.person_view(h.obj, current_user, scopes[h.uid])
            item["code"] = item["person"]["id_number"]
        items.append(item)
    return jsonify(items=items, next=str(page + 1) if more else None)


# --- OpenAPI description of exactly the routes above (merged by the lead into openapi.json)

_ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string"},
                "rule": {"type": "string"},
            },
        }
    },
}
_ERR = {
    "404": {"description": "Not found or outside your reach"},
    "422": {
        "description": "Refused: a rule or a field check said no",
        "content": {"application/json": {"schema": _ERROR}},
    },
}
_UID = {"type": "integer"}
_AREA = {
    "type": "object",
    "properties": {"m2": {"type": ["number", "null"]}, "mu": {"type": ["string", "null"]}},
}
_PERSON = {
    "type": "object",
    "properties": {
        "uid": _UID,
        "version": {"type": "integer"},
        "name": {"type": "string"},
        "id_number": {"type": "string", "description": "Masked unless you may see it in full"},
        "id_number_masked": {"type": "boolean"},
        "sex": {"type": "string", "enum": ["M", "F"]},
        "birth_date": {
            "type": ["string", "null"],
            "format": "date",
            "description": "Null where the ID number is masked (it would give the hidden digits)",
        },
        "hukou_type": {
            "type": "string",
            "enum": ["rural", "urban"],
            "description": "Where the hukou is registered: countryside or town",
        },
        "hukou_kind": {"type": "string", "enum": ["resident"], "description": "居民户口"},
        "hukou_origin": {
            "type": ["string", "null"],
            "enum": ["agricultural", "non_agricultural", None],
            "description": "The agricultural / non-agricultural label before 2014",
        },
        "hukou_label": {"type": "string"},
        "hukou_place": {"type": ["string", "null"]},
        "died_on": {"type": ["string", "null"], "format": "date"},
        "phone": {"type": ["string", "null"], "description": "Masked with the ID number"},
    },
}
_HOUSEHOLD = {
    "type": "object",
    "properties": {
        "uid": _UID,
        "version": {"type": "integer"},
        "cbfbm": {"type": "string"},
        "name": {"type": "string"},
        "address": {"type": ["string", "null"]},
        "collective_id": {"type": "integer"},
        "members": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "person": _PERSON,
                    "relation": {"type": "string"},
                    "is_co_holder": {"type": "boolean"},
                    "moved_out_on": {"type": ["string", "null"], "format": "date"},
                },
            },
        },
        "rights": {
            "type": "object",
            "properties": {
                "contract": {"type": ["object", "null"]},
                "plots": {"type": "array", "items": {"type": "object"}},
                "plots_contract_area": _AREA,
                "plots_measured_area": _AREA,
                "homestead": {"type": ["object", "null"]},
                "homesteads": {"type": "array", "items": {"type": "object"}},
                "shares": {"type": "array", "items": {"type": "object"}},
            },
        },
    },
}


_DATE = {"type": "string", "format": "date"}
_ORIGIN = {
    "type": "string",
    "enum": ["agricultural", "non_agricultural"],
    "description": "The agricultural / non-agricultural label before 2014",
}
_UIDS = {"type": "array", "items": {"type": "integer"}, "maxItems": 200}
_RELATIONS = {
    "type": "object",
    "description": "Relation to the head (GB/T 4761 code) by person uid",
    "additionalProperties": {"type": "string"},
}


def _body(required: list[str], properties: dict) -> dict:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "required": required, "properties": properties}
            }
        },
    }


def _list_of(schema: dict) -> dict:
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": schema},
            "next": {"type": ["string", "null"]},
        },
    }


def _q(name: str, description: str, schema: dict | None = None, required: bool = False) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema or {"type": "integer"},
    }


_PAGING = [
    _q("collective_id", "Only this collective"),
    _q("cursor", "The `next` value of the previous page", {"type": "string"}),
    _q("limit", "Page size (1-200, default 50)"),
]

OPENAPI_PATHS: dict[str, dict] = {
    "/persons": {
        "get": {
            "summary": "Persons within your reach",
            "tags": ["people"],
            "parameters": _PAGING,
            "responses": {"200": _json(_list_of(_PERSON))},
        },
        "post": {
            "summary": "Register a person and admit them as a member of a collective",
            "tags": ["people"],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": [
                                "collective_id",
                                "name",
                                "id_number",
                                "since",
                                "basis",
                                "reason",
                            ],
                            "properties": {
                                "collective_id": {"type": "integer"},
                                "name": openapi_text("name"),
                                "id_number": {
                                    "type": "string",
                                    "description": "18 chars, GB 11643",
                                },
                                "sex": {"type": "string", "enum": ["M", "F"]},
                                "birth_date": {"type": "string", "format": "date"},
                                "hukou_type": {"type": "string", "enum": ["rural", "urban"]},
                                "hukou_origin": _ORIGIN,
                                "hukou_place": openapi_text("place"),
                                "phone": {"type": "string"},
                                "since": {"type": "string", "format": "date"},
                                "basis": {
                                    "type": "string",
                                    "enum": [
                                        "birth",
                                        "marriage",
                                        "adoption",
                                        "allocation",
                                        "resolution",
                                    ],
                                },
                                "reason": openapi_text("reason"),
                                "source_document_id": {"type": "integer"},
                            },
                        }
                    }
                },
            },
            "responses": {"201": _json(_PERSON, "Registered"), **_ERR},
        },
    },
    "/persons/{person_uid}": {
        "get": {
            "summary": "One person, with memberships and households",
            "tags": ["people"],
            "parameters": [_path("person_uid")],
            "responses": {"200": _json(_PERSON), **_ERR},
        },
        "patch": {
            "summary": "Correct a person's data as a new version (a hukou change touches no right)",
            "tags": ["people"],
            "parameters": [_path("person_uid")],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["reason"],
                            "properties": {
                                "reason": openapi_text("reason"),
                                "source_document_id": {"type": "integer"},
                                "name": openapi_text("name"),
                                "id_number": {"type": "string"},
                                "hukou_type": {"type": "string", "enum": ["rural", "urban"]},
                                "hukou_kind": {"type": "string", "enum": ["resident"]},
                                "hukou_origin": _ORIGIN,
                                "hukou_place": openapi_text("place"),
                                "phone": {"type": "string"},
                            },
                            "additionalProperties": False,
                        }
                    }
                },
            },
            "responses": {"200": _json(_PERSON, "The new version"), **_ERR},
        },
    },
    "/households": {
        "get": {
            "summary": "Households within your reach",
            "tags": ["people"],
            "parameters": _PAGING,
            "responses": {"200": _json(_list_of(_HOUSEHOLD))},
        },
        "post": {
            "summary": "Create a household with its head (R01)",
            "tags": ["people"],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["collective_id", "cbfbm", "head_person_uid", "reason"],
                            "properties": {
                                "collective_id": {"type": "integer"},
                                "cbfbm": {"type": "string", "description": "FBFBM + 4 digits"},
                                "name": openapi_text("name"),
                                "address": openapi_text("address"),
                                "head_person_uid": {"type": "integer"},
                                "reason": openapi_text("reason"),
                                "source_document_id": {"type": "integer"},
                            },
                        }
                    }
                },
            },
            "responses": {"201": _json(_HOUSEHOLD, "Created"), **_ERR},
        },
    },
    "/households/{household_uid}": {
        "get": {
            "summary": "One household with members and a summary of its rights",
            "tags": ["people"],
            "parameters": [_path("household_uid")],
            "responses": {"200": _json(_HOUSEHOLD), **_ERR},
        }
    },
    "/households/{household_uid}/members": {
        "post": {
            "summary": "Add a member of the collective to the household (R01)",
            "tags": ["people"],
            "parameters": [_path("household_uid")],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["person_uid", "relation", "reason"],
                            "properties": {
                                "person_uid": {"type": "integer"},
                                "relation": {"type": "string", "description": "GB/T 4761 code"},
                                "is_co_holder": {"type": "boolean", "default": True},
                                "reason": openapi_text("reason"),
                                "source_document_id": {"type": "integer"},
                            },
                        }
                    }
                },
            },
            "responses": {"201": _json(_HOUSEHOLD, "Added"), **_ERR},
        }
    },
    "/persons/{person_uid}/death": {
        "post": {
            "summary": "Record a death: memberships and co-holding end, rights go on by law",
            "tags": ["people"],
            "parameters": [_path("person_uid")],
            "requestBody": _body(
                ["died_on", "reason", "source_document_id"],
                {
                    "died_on": _DATE,
                    "reason": openapi_text("reason"),
                    "source_document_id": _UID,
                    "heir_household_uid": _UID,
                    "income_heir_person_uid": _UID,
                    "continuing_household_uid": _UID,
                    "new_head_person_uid": _UID,
                },
            ),
            "responses": {"200": _json(_PERSON, "The new version"), **_ERR},
        }
    },
    "/persons/{person_uid}/guardians": {
        "post": {
            "summary": "Record the guardian of a minor",
            "tags": ["people"],
            "parameters": [_path("person_uid")],
            "requestBody": _body(
                ["guardian_uid", "since", "reason"],
                {
                    "guardian_uid": _UID,
                    "since": _DATE,
                    "reason": openapi_text("reason"),
                    "source_document_id": _UID,
                },
            ),
            "responses": {"201": _json(_PERSON, "Recorded"), **_ERR},
        }
    },
    "/persons/{person_uid}/guardians/end": {
        "post": {
            "summary": "End one of the person's guardianships",
            "tags": ["people"],
            "parameters": [_path("person_uid")],
            "requestBody": _body(
                ["guardianship_uid", "until", "reason"],
                {
                    "guardianship_uid": _UID,
                    "until": _DATE,
                    "reason": openapi_text("reason"),
                    "source_document_id": _UID,
                },
            ),
            "responses": {"200": _json(_PERSON), **_ERR},
        }
    },
    "/households/{household_uid}/split": {
        "post": {
            "summary": "Split a household with the collective's approval (分户)",
            "tags": ["people"],
            "parameters": [_path("household_uid")],
            "requestBody": _body(
                ["members", "head_person_uid", "reason", "source_document_id"],
                {
                    "members": _UIDS,
                    "head_person_uid": _UID,
                    "plots": _UIDS,
                    "cbfbm": {"type": "string", "description": "Default: the next free code"},
                    "name": openapi_text("name"),
                    "address": openapi_text("address"),
                    "relations": _RELATIONS,
                    "reason": openapi_text("reason"),
                    "source_document_id": _UID,
                },
            ),
            "responses": {"201": _json(_HOUSEHOLD, "The new household"), **_ERR},
        }
    },
    "/households/{household_uid}/merge": {
        "post": {
            "summary": "Merge this household into another with the collective's approval (合户)",
            "tags": ["people"],
            "parameters": [_path("household_uid")],
            "requestBody": _body(
                ["into_household_uid", "reason", "source_document_id"],
                {
                    "into_household_uid": _UID,
                    "relations": _RELATIONS,
                    "reason": openapi_text("reason"),
                    "source_document_id": _UID,
                },
            ),
            "responses": {"200": _json(_HOUSEHOLD, "The household that goes on"), **_ERR},
        }
    },
    "/households/{household_uid}/dissolve": {
        "post": {
            "summary": "A household nobody lives in any more dies out (户消亡)",
            "tags": ["people"],
            "parameters": [_path("household_uid")],
            "requestBody": _body(
                ["on", "reason", "source_document_id"],
                {
                    "on": _DATE,
                    "reason": openapi_text("reason"),
                    "source_document_id": _UID,
                    "income_heir_person_uid": _UID,
                    "continuing_household_uid": _UID,
                    "heir_household_uid": _UID,
                },
            ),
            "responses": {"200": _json({"type": "object"}, "Ended"), **_ERR},
        }
    },
    "/search": {
        "get": {
            "summary": "Search by name, full ID number or code (CBFBM, DKBM, CBHTBM, unit number)",
            "tags": ["people"],
            "parameters": [
                _q("q", "What to look for", openapi_text("search"), required=True),
                _q("cursor", "The `next` value of the previous page", {"type": "string"}),
            ],
            "responses": {
                "200": _json(
                    _list_of(
                        {
                            "type": "object",
                            "properties": {
                                "kind": {"type": "string"},
                                "uid": {"type": "integer"},
                                "label": {"type": "string"},
                                "code": {"type": ["string", "null"]},
                            },
                        }
                    )
                )
            },
        }
    },
}
