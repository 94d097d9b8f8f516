"""People and households over a lifetime: death, a household dying out, split, merger,
marriage evidence (Art. 31), minors and guardians, hukou kind (R01, R07, R10)."""

from __future__ import annotations

import hashlib
import itertools
from datetime import date

import pytest
from sqlalchemy import func, select

from app.audit import trail
from app.core.errors import DomainError
from app.divisions.models import Collective
from app.extensions import db
from app.registry import certificates, history, land, people
from app.registry.models import (
    Certificate,
    Household,
    HouseholdMember,
    LandContract,
    Membership,
    Person,
    Plot,
    ShareHolding,
    SourceDocument,
    Succession,
)
from app.registry.shares import allocate_shares, fix_share_register
from tests.factories import land as land_fx
from tests.factories import people as fx

DAY = date(2025, 5, 1)
_n = itertools.count(1)


def doc(collective_id: int, kind: str, title: str = "材料") -> int:
    with trail.because("document.upload"):
        row = SourceDocument(
            collective_id=collective_id,
            kind=kind,
            title=title,
            sha256=hashlib.sha256(f"{kind}-{next(_n)}".encode()).hexdigest(),
        )
        db.session.add(row)
        db.session.flush()
    return row.id


def with_contract(collective_id: int, household_uid: int, plots: int = 2) -> tuple[int, list[int]]:
    """A confirmed contract of the household with ``plots`` plots of 500 m² contract area."""
    contract = land.create_contract(
        household_uid,
        date(2020, 1, 1),
        date(2049, 12, 31),
        source_document_id=land_fx.make_document(collective_id),
        reason="确权",
        today=land_fx.TODAY,
        confirmed=True,
    )
    uids = []
    for _ in range(plots):
        x, y = land_fx.origin(collective_id)
        change = land_fx.add(
            collective_id,
            land_fx.square(x, y),
            contract_uid=contract.uid,
            contract_area_m2=500.0,
            today=land_fx.TODAY,
        )
        uids.append(change.plot.uid)
    return contract.uid, uids


def shares_fixed(collective_id: int) -> None:
    fix_share_register(collective_id, 1000, date(2019, 12, 31), "股权固化决议")


def allocate(collective_id: int, **holder) -> ShareHolding:
    return allocate_shares(
        collective_id,
        shares=holder.pop("shares", 20),
        share_type="population",
        certificate_number=None,
        source_document_id=land_fx.make_document(collective_id),
        reason="配股",
        **holder,
    )


def current_holdings(collective_id: int) -> list[ShareHolding]:
    return list(
        db.session.scalars(
            select(ShareHolding).where(
                ShareHolding.collective_id == collective_id, ShareHolding.end_lifespan.is_(None)
            )
        )
    )


def total(collective_id: int) -> float:
    return sum(float(h.shares) for h in current_holdings(collective_id))


def family(a: int):
    """李父 (head), 陈母 (wife, co-holder) and 李子 (son, co-holder)."""
    father, home = fx.household(a, "李父", birth=date(1950, 1, 1))
    mother = fx.member(a, "陈母", female=True, birth=date(1952, 2, 2))
    son = fx.member(a, "李子", birth=date(1980, 3, 3))
    people.add_household_member(home.uid, mother.uid, "12", True, "婚入")
    people.add_household_member(home.uid, son.uid, "22", True, "出生")
    return father, mother, son, home


# --- death


def test_r01_death_is_a_new_version_and_ends_memberships_and_co_holding(ctx, baseline):
    a = baseline.collective_a
    father, mother, son, home = family(a)
    record = doc(a, "death_record", "死亡证明")

    dead = people.record_death(father.uid, DAY, "病故", source_document_id=record, today=DAY)

    assert dead.version == 2 and dead.died_on == DAY and dead.source_document_id == record
    assert history.versions(Person, father.uid)[0].died_on is None  # history, not overwritten
    ended = db.session.scalar(
        select(Membership).where(Membership.person_uid == father.uid).order_by(Membership.id)
    )
    assert ended.end_lifespan is not None and ended.end_reason == "death" and ended.until == DAY
    assert father.uid not in {p.uid for p in people.co_holders(home.uid)}
    row = db.session.scalar(select(HouseholdMember).where(HouseholdMember.person_uid == father.uid))
    assert row.end_lifespan is not None and row.end_reason == "death"
    # 承包法 Art. 31, widowhood: the widow keeps her co-holding; the household goes on.
    assert {p.uid for p in people.co_holders(home.uid)} == {mother.uid, son.uid}
    assert history.current_of(Household, home.uid) is not None


def test_r01_a_widow_can_become_head_when_the_head_dies(ctx, baseline):
    a = baseline.collective_a
    father, mother, son, home = family(a)
    stranger, _other = fx.household(a, "赵二")
    with pytest.raises(DomainError) as e:
        people.record_death(
            father.uid,
            DAY,
            "病故",
            source_document_id=doc(a, "death_record"),
            new_head_person_uid=stranger.uid,
            today=DAY,
        )
    assert e.value.field == "new_head_person_uid"
    people.record_death(
        father.uid,
        DAY,
        "病故",
        source_document_id=doc(a, "death_record"),
        new_head_person_uid=mother.uid,
        today=DAY,
    )
    assert people.resident_row(mother.uid).relation == people.HEAD
    assert people.resident_row(son.uid).household_uid == home.uid


def test_r01_death_needs_its_record_and_a_possible_date(ctx, baseline):
    a = baseline.collective_a
    father, _mother, _son, _home = family(a)
    with pytest.raises(DomainError) as e:
        people.record_death(father.uid, DAY, "病故", source_document_id=None, today=DAY)
    assert e.value.field == "source_document_id"
    with pytest.raises(DomainError) as e:
        people.record_death(
            father.uid, date(2030, 1, 1), "病故", source_document_id=doc(a, "death_record")
        )
    assert e.value.field == "died_on"
    assert history.current_of(Person, father.uid).died_on is None


def test_r10_dead_members_shares_pass_to_the_household_by_default(ctx, baseline):
    a = baseline.collective_a
    shares_fixed(a)
    father, _mother, _son, home = family(a)
    allocate(a, household_uid=home.uid, shares=30)
    allocate(a, person_uid=father.uid, shares=10)
    before = total(a)

    people.record_death(
        father.uid, DAY, "病故", source_document_id=doc(a, "death_record"), today=DAY
    )

    holdings = current_holdings(a)
    assert [(h.household_uid, float(h.shares)) for h in holdings] == [(home.uid, 40.0)]
    assert total(a) == before  # 生不增、死不减
    note = db.session.scalar(select(Succession).where(Succession.deceased_uid == father.uid))
    assert note.outcome == "to_heir" and note.heir_household_uid == home.uid


def test_r10_charter_can_return_a_dead_members_shares_to_the_collective(ctx, baseline):
    a = baseline.collective_a
    with pytest.raises(DomainError):
        people.set_share_inheritance(a, "sold", "章程")
    people.set_share_inheritance(a, "collective", "章程第十二条：死亡成员股份收回集体")
    assert db.session.get(Collective, a).share_inheritance == "collective"
    shares_fixed(a)
    father, _mother, _son, _home = family(a)
    holding = allocate(a, person_uid=father.uid, shares=10)

    people.record_death(
        father.uid, DAY, "病故", source_document_id=doc(a, "death_record"), today=DAY
    )

    assert history.current_of(ShareHolding, holding.uid) is None
    assert [s.outcome for s in people.succession_of(person_uid=father.uid)] == ["returned"]


def test_r01_household_dies_out_contract_returns_and_income_is_inherited(ctx, baseline):
    a = baseline.collective_a
    widow, home = fx.household(a, "孤老", female=True, birth=date(1940, 1, 1))
    contract_uid, plot_uids = with_contract(a, home.uid)
    certificates.issue_certificate(
        "land_contract", contract_uid, issued_on=date(2020, 6, 30), reason="确权颁证"
    )
    heir = fx.member(baseline.collective_b, "外地侄子")

    people.record_death(
        widow.uid,
        DAY,
        "病故，户消亡",
        source_document_id=doc(a, "death_record"),
        income_heir_person_uid=heir.uid,
        today=DAY,
    )

    ended = history.versions(Household, home.uid)[-1]
    assert ended.end_lifespan is not None and ended.end_reason == "died_out"
    assert history.current_of(LandContract, contract_uid) is None  # not inherited (Art. 32)
    for uid in plot_uids:  # back to the collective, held by no household
        plot = history.current_of(Plot, uid)
        assert plot.contract_uid is None and plot.household_uid is None
    notes = {s.outcome: s for s in people.succession_of(household_uid=home.uid)}
    assert notes["income_inherited"].heir_person_uid == heir.uid  # 承包收益可继承
    cert = db.session.scalar(select(Certificate).where(Certificate.right_uid == contract_uid))
    assert cert.status == "cancelled" and cert.ended_on == DAY
    assert notes["returned"].right_uid == contract_uid


def test_r01_married_out_daughters_household_continues_the_contract(ctx, baseline):
    a = baseline.collective_a
    shares_fixed(a)
    father, home = fx.household(a, "李父", birth=date(1940, 1, 1))
    daughter = fx.member(a, "李女", female=True, birth=date(1970, 3, 3))
    people.add_household_member(home.uid, daughter.uid, "32", True, "出生")
    _groom, new_home = fx.household(a, "张郎")
    people.move_member(daughter.uid, new_home.uid, "结婚迁出", today=date(1995, 6, 1))
    contract_uid, plot_uids = with_contract(a, home.uid)
    allocate(a, household_uid=home.uid, shares=20)
    before = total(a)

    people.record_death(
        father.uid,
        DAY,
        "病故",
        source_document_id=doc(a, "death_record"),
        continuing_household_uid=new_home.uid,
        today=DAY,
    )

    continued = people.household_rights(new_home.uid).contract
    assert continued is not None and continued.cbhtbm == new_home.cbfbm + "J"
    assert continued.term_end == date(2049, 12, 31) and continued.contract_area_m2 == 1000.0
    assert {history.current_of(Plot, u).contract_uid for u in plot_uids} == {continued.uid}
    assert history.current_of(LandContract, contract_uid) is None
    assert [h.household_uid for h in current_holdings(a)] == [new_home.uid]
    assert total(a) == before


def test_r01_only_a_co_holders_household_may_continue_the_contract(ctx, baseline):
    a = baseline.collective_a
    old, home = fx.household(a, "孤老", birth=date(1940, 1, 1))
    contract_uid, _plots = with_contract(a, home.uid)
    _neighbour, other = fx.household(a, "邻居")
    with pytest.raises(DomainError) as e:
        people.record_death(
            old.uid,
            DAY,
            "病故",
            source_document_id=doc(a, "death_record"),
            continuing_household_uid=other.uid,
            today=DAY,
        )
    assert e.value.rule == "R01" and e.value.field == "continuing_household_uid"
    assert history.current_of(Person, old.uid).died_on is None  # nothing half-written
    assert history.current_of(LandContract, contract_uid) is not None


def test_r01_a_household_that_everyone_left_dies_out_but_not_before(ctx, baseline):
    a = baseline.collective_a
    head, home = fx.household(a, "李父")
    with pytest.raises(DomainError) as e:
        people.dissolve_household(
            home.uid, DAY, "户消亡", source_document_id=doc(a, "resolution"), today=DAY
        )
    assert e.value.code == "household_alive"
    row = people.resident_row(head.uid)
    with trail.because("test.leave"):
        history.end(row, reason="迁往外省", source_document_id=doc(a, "declaration"))
    people.dissolve_household(
        home.uid, DAY, "户消亡", source_document_id=doc(a, "resolution"), today=DAY
    )
    assert history.current_of(Household, home.uid) is None


# --- split and merger


def test_r01_split_needs_the_collectives_approval_and_carries_chosen_rights(ctx, baseline):
    a = baseline.collective_a
    father, mother, son, home = family(a)
    daughter_in_law = fx.member(a, "王媳", female=True, birth=date(1982, 4, 4))
    people.add_household_member(home.uid, daughter_in_law.uid, "38", True, "婚入")
    contract_uid, plot_uids = with_contract(a, home.uid, plots=3)

    with pytest.raises(DomainError) as e:
        people.split_household(
            home.uid,
            [son.uid, daughter_in_law.uid],
            son.uid,
            "分户",
            source_document_id=doc(a, "declaration"),
            plot_uids=plot_uids[:1],
        )
    assert e.value.code == "approval_required" and e.value.field == "source_document_id"

    new = people.split_household(
        home.uid,
        [son.uid, daughter_in_law.uid],
        son.uid,
        "分户",
        source_document_id=doc(a, "resolution", "村民小组分户决议"),
        plot_uids=plot_uids[:1],
        relations={daughter_in_law.uid: "10"},
    )

    assert new.cbfbm == home.cbfbm[:14] + f"{int(home.cbfbm[14:]) + 1:04d}"
    assert {p.uid for p in people.co_holders(new.uid)} == {son.uid, daughter_in_law.uid}
    assert {p.uid for p in people.co_holders(home.uid)} == {father.uid, mother.uid}
    assert people.resident_row(son.uid).relation == people.HEAD
    assert people.resident_row(daughter_in_law.uid).relation == "10"
    new_contract = people.household_rights(new.uid).contract
    assert new_contract.cbhtbm == new.cbfbm + "J" and new_contract.contract_area_m2 == 500.0
    assert history.current_of(LandContract, contract_uid).contract_area_m2 == 1000.0
    assert history.current_of(Plot, plot_uids[0]).household_uid == new.uid


def test_r01_split_refuses_a_member_of_another_household_and_writes_nothing(ctx, baseline):
    a = baseline.collective_a
    _father, _mother, son, home = family(a)
    stranger, _other = fx.household(a, "赵二")
    households = db.session.scalar(select(func.count(Household.id)))
    with pytest.raises(DomainError) as e:
        people.split_household(
            home.uid,
            [son.uid, stranger.uid],
            son.uid,
            "分户",
            source_document_id=doc(a, "approval"),
        )
    assert e.value.code == "not_in_household"
    assert db.session.scalar(select(func.count(Household.id))) == households


def test_r10_merger_moves_members_and_rights_into_one_household(ctx, baseline):
    a = baseline.collective_a
    shares_fixed(a)
    elder, elder_home = fx.household(a, "李兄")
    younger, younger_home = fx.household(a, "李弟")
    _c, plot_uids = with_contract(a, younger_home.uid)
    with_contract(a, elder_home.uid, plots=1)
    allocate(a, household_uid=younger_home.uid, shares=20)
    allocate(a, household_uid=elder_home.uid, shares=20)
    before = total(a)

    with pytest.raises(DomainError):
        people.merge_households(
            younger_home.uid, elder_home.uid, "合户", source_document_id=doc(a, "declaration")
        )
    kept = people.merge_households(
        younger_home.uid,
        elder_home.uid,
        "合户",
        source_document_id=doc(a, "resolution"),
        relations={younger.uid: "73"},
    )

    assert kept.uid == elder_home.uid
    assert history.current_of(Household, younger_home.uid) is None
    assert people.resident_row(younger.uid).household_uid == elder_home.uid
    assert people.resident_row(younger.uid).relation == "73"
    assert {p.uid for p in people.co_holders(elder_home.uid)} == {elder.uid, younger.uid}
    contract = people.household_rights(elder_home.uid).contract
    assert contract.contract_area_m2 == 1500.0
    assert {history.current_of(Plot, u).contract_uid for u in plot_uids} == {contract.uid}
    holdings = current_holdings(a)
    assert [(h.household_uid, float(h.shares)) for h in holdings] == [(elder_home.uid, 40.0)]
    assert total(a) == before


# --- marriage, divorce, widowhood (承包法 Art. 31)


def test_r01_co_holding_ends_on_marriage_only_with_land_at_the_new_residence(ctx, baseline):
    a = baseline.collective_a
    _father, home = fx.household(a, "李父")
    daughter = fx.member(a, "李女", female=True, birth=date(1995, 3, 3))
    people.add_household_member(home.uid, daughter.uid, "30", True, "出生")
    _groom, new_home = fx.household(a, "张郎")

    for kind in ("declaration", "resolution", "approval"):
        with pytest.raises(DomainError) as e:
            people.move_member(
                daughter.uid, new_home.uid, "结婚", False, source_document_id=doc(a, kind)
            )
        assert e.value.code == "land_evidence_required" and e.value.rule == "R01"
    assert daughter.uid in {p.uid for p in people.co_holders(home.uid)}

    evidence = doc(a, "land_at_new_residence", "新居住地承包地证明")
    people.move_member(
        daughter.uid, new_home.uid, "结婚，新居住地已分地", False, source_document_id=evidence
    )
    assert daughter.uid not in {p.uid for p in people.co_holders(home.uid)}


# --- minors and guardians


def test_r13_a_minor_consents_through_the_guardian_until_eighteen(ctx, baseline):
    a = baseline.collective_a
    mother = fx.member(a, "陈母", female=True, birth=date(1985, 1, 1))
    child = fx.member(a, "陈小", birth=date(2010, 6, 15), since=date(2010, 6, 15))

    with pytest.raises(DomainError) as e:
        people.consenting_person(child.uid, date(2020, 1, 1))
    assert e.value.code == "guardian_missing"

    people.appoint_guardian(child.uid, mother.uid, date(2010, 6, 15), "法定监护", today=DAY)
    assert people.consenting_person(child.uid, date(2028, 6, 14)).uid == mother.uid
    assert people.consenting_person(child.uid, date(2028, 6, 15)).uid == child.uid  # 18 today
    assert people.consenting_person(mother.uid, DAY).uid == mother.uid


def test_r13_a_guardian_is_an_adult_and_an_adult_needs_none(ctx, baseline):
    a = baseline.collective_a
    teen = fx.member(a, "少年", birth=date(2012, 1, 1), since=date(2012, 1, 1))
    child = fx.member(a, "幼儿", birth=date(2020, 1, 1), since=date(2020, 1, 1))
    adult = fx.member(a, "成人", birth=date(1980, 1, 1))
    with pytest.raises(DomainError) as e:
        people.appoint_guardian(child.uid, teen.uid, date(2024, 1, 1), "监护", today=DAY)
    assert e.value.code == "guardian_minor"
    with pytest.raises(DomainError) as e:
        people.appoint_guardian(adult.uid, teen.uid, DAY, "监护", today=DAY)
    assert e.value.code == "not_minor"


def test_r13_an_ended_guardianship_no_longer_consents(ctx, baseline):
    a = baseline.collective_a
    mother = fx.member(a, "陈母", female=True, birth=date(1985, 1, 1))
    aunt = fx.member(a, "陈姨", female=True, birth=date(1983, 1, 1))
    child = fx.member(a, "陈小", birth=date(2015, 6, 15), since=date(2015, 6, 15))
    first = people.appoint_guardian(child.uid, mother.uid, date(2015, 6, 15), "法定监护", today=DAY)
    people.appoint_guardian(child.uid, aunt.uid, date(2024, 1, 1), "指定监护", today=DAY)
    people.end_guardianship(first.uid, date(2023, 12, 31), "法院指定变更", today=DAY)
    assert people.consenting_person(child.uid, date(2023, 6, 1)).uid == mother.uid
    assert people.consenting_person(child.uid, DAY).uid == aunt.uid


# --- hukou (2014 reform) and relations


def test_hukou_shows_the_resident_kind_with_where_it_is_registered(ctx, baseline):
    a = baseline.collective_a
    person = fx.member(a, "进城农民")
    assert person.hukou_kind == "resident"
    assert people.hukou_label(person) == "居民户口（农村）"  # the pages say 居民户口（城镇） style
    moved = people.update_person(
        person.uid, "进城落户", hukou_type="urban", hukou_origin="agricultural"
    )
    assert moved.hukou_type == "urban" and moved.hukou_origin == "agricultural"
    assert people.hukou_label(moved) == "居民户口（城镇）"
    with pytest.raises(DomainError) as e:
        people.update_person(person.uid, "错", hukou_kind="agricultural")
    assert e.value.field == "hukou_kind"


def test_r01_detailed_relation_codes_are_accepted(ctx, baseline):
    a = baseline.collective_a
    _head, home = fx.household(a)
    for code in ("12", "22", "38", "51", "66", "93", "99"):
        person = fx.member(a, f"成员{code}")
        people.add_household_member(home.uid, person.uid, code, False, "登记")
    with pytest.raises(DomainError):
        people.add_household_member(home.uid, fx.member(a, "x").uid, "18", False, "登记")


# --- pages and API: the same services


def test_r01_death_form_and_api_record_the_same_event(app, ctx, baseline, client, auth):
    from tests.conftest import token_for

    a = baseline.collective_a
    father, mother, son, home = family(a)
    father, mother, son, home = father.uid, mother.uid, son.uid, home.uid
    record = doc(a, "death_record", "死亡证明")
    auth.login("admin_a")
    page = client.get(f"/persons/{father}")
    assert f"/persons/{father}/death" in page.get_data(as_text=True)
    assert client.get(f"/persons/{father}/death").status_code == 200
    r = client.post(
        f"/persons/{father}/death",
        data={
            "died_on": "2030-01-01",
            "source_document_id": record,
            "heir_household_uid": 0,
            "income_heir_person_uid": 0,
            "continuing_household_uid": 0,
            "new_head_person_uid": 0,
            "reason": "病故",
        },
    )
    assert r.status_code == 422  # a date in the future, shown at the field
    r = client.post(
        f"/persons/{father}/death",
        data={
            "died_on": "2025-05-01",
            "source_document_id": record,
            "heir_household_uid": 0,
            "income_heir_person_uid": 0,
            "continuing_household_uid": 0,
            "new_head_person_uid": 0,
            "reason": "病故",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    assert history.current_of(Person, father).died_on == DAY
    page = client.get(r.headers["Location"])  # the deceased stays on the collective's record
    assert page.status_code == 200 and "2025-05-01" in page.get_data(as_text=True)

    admin = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    r = client.post(
        f"/api/v1/persons/{mother}/death",
        headers=admin,
        json={"died_on": "2025-06-01", "reason": "病故", "source_document_id": record},
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["died_on"] == "2025-06-01"
    other = {"Authorization": f"Bearer {token_for(app, 'admin_b')}"}
    r = client.post(
        f"/api/v1/persons/{son}/death",
        headers=other,
        json={"died_on": "2025-06-01", "reason": "病故", "source_document_id": record},
    )
    assert r.status_code == 404
    assert history.current_of(Household, home) is not None  # the son still lives there


def test_r01_split_and_merge_pages_and_api(app, ctx, baseline, client, auth):
    from tests.conftest import token_for

    a = baseline.collective_a
    _father, _mother, son, home = family(a)
    _c, plot_uids = with_contract(a, home.uid)
    son, home = son.uid, home.uid
    approval = doc(a, "resolution", "分户决议")
    declaration = doc(a, "declaration")
    auth.login("admin_a")
    body = client.get(f"/households/{home}").get_data(as_text=True)
    assert f"/households/{home}/split" in body and f"/households/{home}/merge" in body
    form = client.get(f"/households/{home}/split")
    assert form.status_code == 200 and "李子" in form.get_data(as_text=True)

    admin = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    r = client.post(
        f"/api/v1/households/{home}/split",
        headers=admin,
        json={
            "members": [son],
            "head_person_uid": son,
            "plots": plot_uids[:1],
            "reason": "分户",
            "source_document_id": declaration,
        },
    )
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "source_document_id"
    r = client.post(
        f"/api/v1/households/{home}/split",
        headers=admin,
        json={
            "members": [son],
            "head_person_uid": son,
            "plots": plot_uids[:1],
            "reason": "分户",
            "source_document_id": approval,
        },
    )
    assert r.status_code == 201, r.get_json()
    new_uid = r.get_json()["uid"]
    assert r.get_json()["rights"]["contract"] is not None

    r = client.post(
        f"/households/{new_uid}/merge",
        data={"into_household_uid": home, "source_document_id": approval, "reason": "合户"},
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    assert history.current_of(Household, new_uid) is None
    assert people.resident_row(son).household_uid == home


def test_r13_guardian_pages_for_the_admin_only(app, ctx, baseline, client, auth):
    a = baseline.collective_a
    mother = fx.member(a, "陈母", female=True, birth=date(1985, 1, 1))
    child = fx.member(a, "陈小", birth=date(2015, 6, 15), since=date(2015, 6, 15))
    mother, child = mother.uid, child.uid
    auth.login("admin_a")
    r = client.post(
        f"/persons/{child}/guardians/new",
        data={
            "guardian_uid": mother,
            "since": "2015-06-15",
            "source_document_id": 0,
            "reason": "法定监护",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    page = client.get(f"/persons/{child}").get_data(as_text=True)
    assert "陈母" in page and f"/persons/{child}/guardians/end" in page
    assert people.consenting_person(child).uid == mother
    auth.logout()
    auth.login("admin_b")
    assert client.get(f"/persons/{child}/guardians/new").status_code == 404


def test_r12_settling_in_town_shows_resident_hukou_in_town_and_keeps_the_rights(
    ctx, baseline, client, auth
):
    a = baseline.collective_a
    head, home = fx.household(a, "进城农民")
    contract_uid, _plots = with_contract(a, home.uid, plots=1)
    head_uid, home_uid = head.uid, home.uid
    auth.login("admin_a")
    r = client.post(
        f"/persons/{head_uid}/edit",
        data={
            "name": "进城农民",
            "hukou_type": "urban",
            "hukou_origin": "agricultural",
            "hukou_place": "韶关市浈江区",
            "phone": "",
            "reason": "进城落户",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    page = client.get(f"/persons/{head_uid}").get_data(as_text=True)
    assert "居民户口（城镇）" in page and "2014年前为农业户口" in page
    assert "居民户口（城镇）" in client.get(f"/households/{home_uid}").get_data(as_text=True)
    assert people.household_rights(home_uid).contract.uid == contract_uid  # R12
