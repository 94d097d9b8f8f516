"""People and households: services (R01, ID numbers, memberships, history)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.audit import trail
from app.audit.models import AuditEntry
from app.core.codes import id_number_check_char
from app.core.errors import DomainError
from app.extensions import db
from app.registry import history, people
from app.registry.models import (
    Household,
    HouseholdMember,
    HukouType,
    Membership,
    Person,
    SourceDocument,
)
from app.registry.scope import farmer_households
from tests.factories import people as fx


def _doc(collective_id: int, title: str = "书面同意书") -> SourceDocument:
    with trail.because("document.upload"):
        doc = SourceDocument(
            collective_id=collective_id, kind="declaration", title=title, sha256="ab" * 32
        )
        db.session.add(doc)
        db.session.flush()
    return doc


def _id(birth: str = "19900315", seq: str = "123") -> str:
    first17 = f"440222{birth}{seq}"
    return first17 + id_number_check_char(first17)


# --- R01: holders, co-holders, women's rights


def test_r01_holder_household_is_in_the_collective_with_head_as_co_holder(ctx, baseline):
    head, hh = fx.household(baseline.collective_a, "李大山")
    assert hh.collective_id == baseline.collective_a
    assert hh.cbfbm.startswith("44022210020501")
    assert [p.uid for p in people.co_holders(hh.uid)] == [head.uid]
    row = people.resident_row(head.uid)
    assert row.household_uid == hh.uid and row.relation == people.HEAD and row.is_co_holder


def test_r01_head_must_be_member_of_the_collective(ctx, baseline):
    outsider = fx.member(baseline.collective_b, "王外")
    with pytest.raises(DomainError) as e:
        people.create_household(
            baseline.collective_a,
            fx.next_cbfbm(baseline.collective_a),
            None,
            None,
            outsider.uid,
            "新户",
        )
    assert e.value.rule == "R01" and e.value.field == "head_person_uid"
    assert "王外" not in e.value.message  # nothing of another collective's member
    assert db.session.scalar(select(func.count(Household.id))) == 0


def test_r01_member_of_another_collective_cannot_join_a_household(ctx, baseline):
    _head, hh = fx.household(baseline.collective_a)
    outsider = fx.member(baseline.collective_b, "王外")
    with pytest.raises(DomainError) as e:
        people.add_household_member(hh.uid, outsider.uid, "10", True, "结婚")
    assert e.value.rule == "R01"


def test_r01_co_holders_are_listed(ctx, baseline):
    head, hh = fx.household(baseline.collective_a, "李大山")
    wife = fx.member(baseline.collective_a, "陈秀英", female=True)
    child = fx.member(baseline.collective_a, "李小", birth=date(2015, 5, 1))
    people.add_household_member(hh.uid, wife.uid, "10", True, "婚入")
    people.add_household_member(hh.uid, child.uid, "20", False, "出生")
    assert {p.uid for p in people.co_holders(hh.uid)} == {head.uid, wife.uid}
    assert [r.person.uid for r in people.household_members(hh.uid)] == [
        head.uid,
        wife.uid,
        child.uid,
    ]


def test_r01_women_keep_co_holding_on_marriage_by_default(ctx, baseline):
    a = baseline.collective_a
    _father, home = fx.household(a, "李父")
    daughter = fx.member(a, "李女", female=True, birth=date(1995, 3, 3))
    people.add_household_member(home.uid, daughter.uid, "30", True, "出生")
    _groom, new_home = fx.household(a, "张郎")

    people.move_member(daughter.uid, new_home.uid, "结婚迁入", today=date(2024, 6, 1))

    assert daughter.uid in {p.uid for p in people.co_holders(home.uid)}
    assert daughter.uid in {p.uid for p in people.co_holders(new_home.uid)}
    assert people.resident_row(daughter.uid).household_uid == new_home.uid
    kept = db.session.scalar(
        select(HouseholdMember).where(
            HouseholdMember.household_uid == home.uid,
            HouseholdMember.person_uid == daughter.uid,
            HouseholdMember.end_lifespan.is_(None),
        )
    )
    assert kept.moved_out_on == date(2024, 6, 1) and kept.is_co_holder


def test_r01_co_holding_ends_on_move_only_with_land_at_the_new_residence(ctx, baseline):
    """Art. 31: not any document ends it (a written consent does not): only the evidence that
    she has land where she now lives."""
    a = baseline.collective_a
    _father, home = fx.household(a, "李父")
    daughter = fx.member(a, "李女", female=True, birth=date(1995, 3, 3))
    people.add_household_member(home.uid, daughter.uid, "30", True, "出生")
    _groom, new_home = fx.household(a, "张郎")

    with pytest.raises(DomainError) as e:
        people.move_member(daughter.uid, new_home.uid, "结婚", keep_co_holding=False)
    assert e.value.rule == "R01" and e.value.field == "source_document_id"
    with pytest.raises(DomainError) as e:
        people.move_member(
            daughter.uid, new_home.uid, "结婚，本人书面放弃", False, source_document_id=_doc(a).id
        )
    assert e.value.code == "land_evidence_required"

    evidence = _doc(a, "新居住地承包地证明")
    evidence.kind = "land_at_new_residence"
    people.move_member(
        daughter.uid, new_home.uid, "结婚，新居住地已分地", False, source_document_id=evidence.id
    )
    assert daughter.uid not in {p.uid for p in people.co_holders(home.uid)}


def test_r01_removing_a_co_holder_needs_a_document(ctx, baseline):
    _head, hh = fx.household(baseline.collective_a)
    wife = fx.member(baseline.collective_a, "陈秀英", female=True)
    people.add_household_member(hh.uid, wife.uid, "10", True, "婚入")
    with pytest.raises(DomainError) as e:
        people.remove_household_member(hh.uid, wife.uid, "离婚")
    assert e.value.rule == "R01"
    with pytest.raises(DomainError) as e:  # a written consent is not the evidence Art. 31 asks
        people.remove_household_member(
            hh.uid, wife.uid, "离婚", source_document_id=_doc(baseline.collective_a).id
        )
    assert e.value.code == "land_evidence_required"
    evidence = _doc(baseline.collective_a, "新居住地承包地证明")
    evidence.kind = "land_at_new_residence"
    people.remove_household_member(hh.uid, wife.uid, "离婚", source_document_id=evidence.id)
    assert wife.uid not in {p.uid for p in people.co_holders(hh.uid)}


def test_a_person_lives_in_one_household_at_a_time(ctx, baseline):
    head, _hh = fx.household(baseline.collective_a)
    _other_head, other = fx.household(baseline.collective_a, "赵二")
    with pytest.raises(DomainError) as e:
        people.add_household_member(other.uid, head.uid, "70", True, "误录")
    assert e.value.code == "in_household"


def test_household_code_is_checked_and_unique(ctx, baseline):
    a = baseline.collective_a
    _head, hh = fx.household(a)
    second = fx.member(a, "赵二")
    with pytest.raises(DomainError) as e:
        people.create_household(a, hh.cbfbm, None, None, second.uid, "新户")
    assert e.value.code == "cbfbm_taken"
    with pytest.raises(DomainError) as e:
        people.create_household(a, "440222100211000001", None, None, second.uid, "新户")
    assert e.value.field == "cbfbm" and e.value.code == "prefix"


# --- persons and ID numbers


def test_register_derives_sex_and_birth_from_id_number(ctx):
    p = people.register_person("周敏", _id("19900315", "124"), reason="登记")
    assert (p.sex, p.birth_date) == ("F", date(1990, 3, 15))
    assert p.hukou_type == HukouType.RURAL


@pytest.mark.parametrize(
    "kwargs, field, code",
    [
        ({"id_number": "44022219900315123"}, "id_number", "length"),
        (
            {"id_number": _id()[:-1] + ("0" if _id()[-1] != "0" else "1")},
            "id_number",
            "check_digit",
        ),
        ({"id_number": _id(), "sex": "F"}, "sex", "sex_mismatch"),
        ({"id_number": _id(), "birth_date": date(1990, 3, 16)}, "birth_date", "birth_mismatch"),
        ({"id_number": _id(), "name": "  "}, "name", "name"),
    ],
)
def test_bad_person_input_is_refused_with_the_field(ctx, kwargs, field, code):
    args = {"name": "周敏", **kwargs}
    with pytest.raises(DomainError) as e:
        people.register_person(args.pop("name"), args.pop("id_number"), reason="登记", **args)
    assert (e.value.field, e.value.code) == (field, code)
    assert db.session.scalar(select(func.count(Person.id))) == 0


def test_id_number_error_is_in_chinese(ctx):
    bad = _id()[:-1] + ("0" if _id()[-1] != "0" else "1")
    with pytest.raises(DomainError) as e:
        people.register_person("周敏", bad, reason="登记")
    assert "校验位" in e.value.message


def test_duplicate_current_id_number_is_refused(ctx):
    people.register_person("周敏", _id(), reason="登记")
    with pytest.raises(DomainError) as e:
        people.register_person("周敏", _id().lower(), reason="重复登记")
    assert e.value.code == "id_number_taken" and e.value.field == "id_number"


def test_hukou_change_to_urban_leaves_memberships_and_household_untouched(ctx, baseline):
    head, hh = fx.household(baseline.collective_a)
    membership_rows = [m.id for m in db.session.scalars(select(Membership))]
    member_rows = [m.id for m in db.session.scalars(select(HouseholdMember))]

    people.update_person(head.uid, "进城落户", hukou_type="urban", hukou_place="韶关市浈江区")

    assert history.current_of(Person, head.uid).hukou_type == "urban"
    assert [m.id for m in db.session.scalars(select(Membership))] == membership_rows
    assert [m.id for m in db.session.scalars(select(HouseholdMember))] == member_rows
    assert people.open_membership(head.uid, baseline.collective_a) is not None
    assert people.resident_row(head.uid).household_uid == hh.uid
    assert [p.uid for p in people.co_holders(hh.uid)] == [head.uid]


def test_as_of_returns_the_old_name_after_a_rename(ctx, baseline):
    p = fx.member(baseline.collective_a, "王小明")
    before_rename = p.begin_lifespan  # the instant version 1 began: the rename comes after it
    people.update_person(p.uid, "更正姓名", name="王晓明")
    assert history.as_of(Person, p.uid, before_rename, recorded=True).name == "王小明"
    assert history.current_of(Person, p.uid).name == "王晓明"
    assert [v.name for v in history.versions(Person, p.uid)] == ["王小明", "王晓明"]


def test_sex_cannot_drift_from_the_stored_id_number(ctx, baseline):
    p = fx.member(baseline.collective_a, "王小明")
    with pytest.raises(DomainError) as e:
        people.update_person(p.uid, "改性别", sex="F")
    assert e.value.code == "derived_field"


# --- memberships


def test_no_two_open_memberships_of_one_collective(ctx, baseline):
    p = fx.member(baseline.collective_a)
    with pytest.raises(DomainError) as e:
        people.admit_member(p.uid, baseline.collective_a, date(2001, 1, 1), "birth", "重复")
    assert e.value.code == "member_already"
    # a second collective is fine (e.g. the village and a group)
    people.admit_member(p.uid, baseline.collective_b, date(2001, 1, 1), "allocation", "分配")
    assert p.scope_collective_ids == {baseline.collective_a, baseline.collective_b}


def test_membership_ends_only_for_a_lawful_reason(ctx, baseline):
    p = fx.member(baseline.collective_a)
    m = people.open_membership(p.uid, baseline.collective_a)
    with pytest.raises(DomainError) as e:
        people.end_membership(m.uid, date(2020, 1, 1), "settled_in_town", "进城落户")
    assert e.value.field == "end_reason"
    people.end_membership(m.uid, date(2020, 1, 1), "death", "去世", today=date(2024, 1, 1))
    assert people.open_membership(p.uid, baseline.collective_a) is None
    ended = history.versions(Membership, m.uid)[-1]
    assert (ended.until, ended.end_reason) == (date(2020, 1, 1), "death")
    # and a new admission is possible afterwards
    people.admit_member(p.uid, baseline.collective_a, date(2021, 1, 1), "resolution", "决议")


def test_failed_service_call_leaves_no_audit_entry(ctx, baseline):
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(DomainError):
        people.register_person("周敏", "123", reason="登记")
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_farmer_can_act_only_for_own_household_while_living_there(ctx, baseline):
    from app.auth.models import User

    head, hh = fx.household(baseline.collective_a)
    _other_head, other = fx.household(baseline.collective_a, "赵二")
    fx.link_farmer("farmer_a", head.uid)
    user = db.session.get(User, baseline.users["farmer_a"])
    assert people.farmer_can_act_for(user, hh.uid)
    assert not people.farmer_can_act_for(user, other.uid)
    assert farmer_households(user) == {hh.uid}
    bureau = db.session.get(User, baseline.users["bureau"])
    assert not people.farmer_can_act_for(bureau, hh.uid)


def test_factory_makes_a_household_with_its_head(ctx, baseline):
    out: dict = {}
    made = fx.make(baseline.collective_b, out)
    assert out == made and set(made) == {"person_uid", "household_uid"}
    hh = history.current_of(Household, made["household_uid"])
    assert hh.collective_id == baseline.collective_b
    assert [p.uid for p in people.co_holders(hh.uid)] == [made["person_uid"]]


def test_lookup_loads_current_and_old_versions_within_scope(app, ctx, baseline):
    from flask_login import login_user
    from werkzeug.exceptions import NotFound

    from app.auth.models import User
    from app.registry.lookup import load_current_or_404, load_version_or_404

    p = fx.member(baseline.collective_a, "王小明")
    people.update_person(p.uid, "更正姓名", name="王晓明")
    login_user(db.session.get(User, baseline.users["admin_a"]))
    assert load_current_or_404(Person, p.uid).name == "王晓明"
    assert load_version_or_404(Person, p.uid, 1).name == "王小明"
    assert load_current_or_404(Person, p.uid, edit=True).version == 2
    with app.test_request_context():
        login_user(db.session.get(User, baseline.users["admin_b"]))
        with pytest.raises(NotFound):
            load_current_or_404(Person, p.uid)
        with pytest.raises(NotFound):
            load_version_or_404(Person, p.uid, 1)
    with app.test_request_context():
        login_user(db.session.get(User, baseline.users["bureau"]))
        assert load_version_or_404(Person, p.uid, 2).name == "王晓明"
        with pytest.raises(NotFound):
            load_current_or_404(Person, p.uid, edit=True)
