"""`flask demo seed`: the Shixing (始兴县) demo county.

Real division codes; synthetic households, persons (valid ID check digits), plots in the registry
CRS near each village's published centre, homesteads, a fixed share register with allocations,
certificates, and one registration still on public notice. Everything goes through the same
service functions as the app (so the demo obeys every rule) and lands in the audit trail.
Idempotent: a second run only prints the logins.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

import click
from flask.cli import AppGroup
from pyproj import Transformer
from shapely.affinity import rotate
from shapely.geometry import box
from sqlalchemy import select

from app.audit import trail
from app.auth.models import Role, User
from app.auth.services import create_user
from app.core.codes import id_number_check_char
from app.demo.encumbrances import seed_encumbrances
from app.demo.leases import seed_leases
from app.demo.market import seed_market
from app.demo.pdf import minimal_pdf
from app.demo.settlement import seed_settlements
from app.divisions.loader import bundled_file, load_divisions
from app.divisions.models import Collective, Division
from app.divisions.services import create_collective
from app.extensions import db

demo_cli = AppGroup("demo", help="The Shixing demo county.")

PASSWORD = "demo-pass-2026"
SEED = 440222
TERM = (date(2018, 1, 1), date(2047, 12, 31))
TODAY = date(2026, 11, 25)
# Legal dates (生效日期) of the demo county: households as of the second-round contracting,
# shares quantified at the fixing of the register (股权固化).
HOUSEHOLDS_SINCE = date(1998, 12, 31)
SHARES_FIXED_ON = date(2019, 12, 31)

# (FBFBM, name, households): groups of two villages of 太平镇 and one of 马市镇.
COLLECTIVES = [
    ("44022210020501", "东湖坪村第一村民小组", 14),
    ("44022210020502", "东湖坪村第二村民小组", 10),
    ("44022210021100", "瑶村村股份经济合作社", 12),
]
USERS = [
    ("farmer", Role.FARMER, "李建华", ["44022210020501"]),
    ("member", Role.FARMER, "刘志明", ["44022210020501"]),
    (
        "village_admin",
        Role.COLLECTIVE_ADMIN,
        "刘秀英（村会计）",
        ["44022210020501", "44022210020502"],
    ),
    ("yaocun_admin", Role.COLLECTIVE_ADMIN, "邓国强（合作社）", ["44022210021100"]),
    ("bureau", Role.BUREAU_REVIEWER, "县农业农村局 审核员", []),
    ("hukou", Role.SETTLEMENT_OFFICER, "太平派出所 户政民警", []),
    ("auditor", Role.AUDITOR, "县审计局 审计员", []),
    ("itadmin", Role.SYSTEM_ADMIN, "信息中心 管理员", []),
]
SURNAMES = "李刘邓张陈曾黄华官何钟赖"
GIVEN_M = ["建华", "国强", "志明", "永福", "家豪", "伟东", "金生", "海军", "文彬", "春生"]
GIVEN_F = ["秀英", "桂兰", "美玲", "丽华", "春梅", "小红", "玉珍", "凤娇", "慧敏", "翠萍"]


@dataclass
class Tally:
    persons: int = 0
    households: int = 0
    plots: int = 0
    homesteads: int = 0
    holdings: int = 0
    certificates: int = 0
    listings: int = 0
    settled: int = 0


def id_number(rng: random.Random, birth: date, female: bool) -> str:
    seq = rng.randrange(0, 500) * 2 + (0 if female else 1)
    first17 = f"440222{birth:%Y%m%d}{seq:03d}"
    return first17 + id_number_check_char(first17)


def unit_number(fbfbm: str, h: int) -> str:
    """不动产单元号: county, 地籍区 101, 地籍子区 from the village, JC, parcel, building F."""
    parcel = h + 1 + int(fbfbm[-2:]) * 100
    return f"440222101{int(fbfbm[8:11]):03d}JC{parcel:05d}F00010001"


def print_logins() -> None:
    click.echo(f"Demo logins (password {PASSWORD}) at http://127.0.0.1:5000 :")
    for username, role, name, _ in USERS:
        click.echo(f"  {username:14} {role.label}  {name}")


@demo_cli.command("seed")
def seed() -> None:
    """Build the Shixing demo county (idempotent) and print the demo logins."""
    if db.session.scalar(select(User.id).where(User.username == "village_admin")):
        click.echo("The demo county is already there.")
        print_logins()
        return
    with trail.acting(
        trail.AuditContext(actor="demo-seed", role="system", reason="演示数据 / demo data")
    ):
        tally = build()
    db.session.commit()
    click.echo(
        f"Demo county built: {tally.households} households, {tally.persons} persons, "
        f"{tally.plots} plots, {tally.homesteads} homesteads, {tally.holdings} share holdings, "
        f"{tally.certificates} certificates, {tally.listings} marketplace listings, "
        f"{tally.settled} persons settled in town."
    )
    print_logins()


def build() -> Tally:
    from app.registry import certificates, documents, homesteads, land, notices, people, shares

    rng = random.Random(SEED)
    tally = Tally()
    if db.session.get(Division, "440222000000") is None:
        load_divisions(bundled_file("440222"))
    to_grid = Transformer.from_crs("EPSG:4490", "EPSG:4547", always_xy=True)
    heads: dict[str, int] = {}
    for fbfbm, name, n_households in COLLECTIVES:
        collective = db.session.scalar(select(Collective).where(Collective.fbfbm == fbfbm))
        if collective is None:
            collective = create_collective(fbfbm, name)
        village = collective.village
        # Village centres are published in GCJ-02; for a demo the few hundred metres do not matter.
        lon = village.longitude or 114.07
        lat = village.latitude or 24.95
        x0, y0 = to_grid.transform(lon, lat)
        x0 += int(fbfbm[-2:]) * 2500.0  # groups of one village side by side
        survey = documents.store_document(
            collective.id,
            "survey",
            f"{name} 承包地确权调查成果",
            "survey.pdf",
            minimal_pdf(f"Survey results {fbfbm}"),
        )
        shares.fix_share_register(
            collective.id,
            1000.0,
            SHARES_FIXED_ON,
            "股权固化：成员大会决议",
            source_document_id=survey.id,
        )
        for h in range(n_households):
            surname = SURNAMES[(h + int(fbfbm[-4:])) % len(SURNAMES)]
            head_birth = date(rng.randrange(1950, 1985), rng.randrange(1, 13), rng.randrange(1, 28))
            members = [(surname + rng.choice(GIVEN_M), head_birth, False, "02")]
            if rng.random() < 0.85:
                members.append(
                    (
                        rng.choice(SURNAMES) + rng.choice(GIVEN_F),
                        date(head_birth.year + rng.randrange(0, 4), rng.randrange(1, 13), 15),
                        True,
                        "10",
                    )
                )
            for _ in range(rng.randrange(0, 3)):
                female = rng.random() < 0.5
                members.append(
                    (
                        surname + rng.choice(GIVEN_F if female else GIVEN_M),
                        date(head_birth.year + rng.randrange(22, 32), rng.randrange(1, 13), 8),
                        female,
                        "30" if female else "20",
                    )
                )
            if h == 0 and fbfbm == "44022210020501":
                members[0] = ("李建华", date(1968, 4, 12), False, "02")
            if h == 1 and fbfbm == "44022210020501":  # the ``member`` login, who buys
                members[0] = ("刘志明", date(1975, 3, 8), False, "02")
            persons = []
            for person_name, birth, female, relation in members:
                # Some children have taken urban hukou (进城落户): their rights stay as they are.
                urban = relation in ("20", "30") and rng.random() < 0.4
                p = people.register_person(
                    person_name,
                    id_number(rng, birth, female),
                    hukou_type="urban" if urban else "rural",
                    hukou_place="始兴县太平镇" if urban else f"始兴县{village.name}",
                    reason="确权登记",
                )
                people.admit_member(
                    p.uid, collective.id, max(birth, date(1985, 1, 1)), "birth", "成员资格确认"
                )
                persons.append((p, relation))
                tally.persons += 1
            head = persons[0][0]
            cbfbm = f"{fbfbm}{h + 1:04d}"
            household = people.create_household(
                collective.id,
                cbfbm,
                None,
                f"{village.name}{h + 1}号",
                head.uid,
                "确权登记",
                effective_on=HOUSEHOLDS_SINCE,
            )
            for p, relation in persons[1:]:
                people.add_household_member(
                    household.uid,
                    p.uid,
                    relation,
                    True,
                    "确权登记",
                    effective_on=max(p.birth_date, HOUSEHOLDS_SINCE),  # born into it, or married in
                )
            tally.households += 1
            if h == 0:
                heads[fbfbm] = head.uid
            if h == 1 and fbfbm == "44022210020501":
                heads["member"] = head.uid

            contract = land.create_contract(
                household.uid,
                *TERM,
                source_document_id=survey.id,
                reason="二轮延包确权",
                today=TODAY,
                confirmed=True,  # noticed and certified before the registry existed
            )
            # Plots: a strip per household, 2-4 fields, measured area a little off the contract.
            for k in range(rng.randrange(2, 5)):
                w, d = rng.uniform(25, 60), rng.uniform(20, 45)
                px = x0 + (h % 7) * 320.0 + k * 75.0
                py = y0 + (h // 7) * 160.0 + rng.uniform(0, 8)
                shape = rotate(box(px, py, px + w * 0.9, py + d), rng.uniform(-6, 6))
                area = shape.area
                land.add_plot(
                    collective.id,
                    f"{fbfbm}{h * 10 + k + 1:05d}",
                    shape.wkt,
                    "EPSG:4547",
                    contract_uid=contract.uid,
                    name=f"{['上坝', '下垌', '塘尾', '岭背'][k]}田",
                    land_class="10",
                    land_use="011",
                    is_basic_farmland=rng.random() < 0.7,
                    contract_area_m2=round(area * rng.uniform(0.95, 1.05), 1),
                    east="水渠",
                    south="机耕路",
                    west="邻户田",
                    north="山脚",
                    source_document_id=survey.id,
                    reason="确权测绘",
                    today=TODAY,
                    effective_on=TERM[0],  # contracted with the second-round term
                )
                tally.plots += 1
            certificates.issue_certificate(
                "land_contract", contract.uid, issued_on=date(2019, 6, 30), reason="确权颁证"
            )
            tally.certificates += 1

            if rng.random() < 0.8:
                terrain = "hill"
                # Approved in 2015, before the registry: an existing homestead (存量), registered
                # as it is; a new grant would judge today's hukou and roll (R09).
                hs = homesteads.register_existing_homestead(
                    household.uid,
                    unit_number(fbfbm, h),
                    terrain,
                    round(rng.uniform(70, 118), 1),
                    approval_number=f"始宅批〔2015〕{rng.randrange(10, 999)}号",
                    approved_on=date(2015, 5, 20),
                    floor_area_m2=round(rng.uniform(90, 240), 1),
                    source_document_id=survey.id,
                    reason="宅基地确权",
                    today=TODAY,
                )
                # 公示 before the certificate (DOMAIN §6); the real-estate registry's certificate
                # number (不动产权证书号) is recorded as printed.
                noticed = notices.open_notice(
                    "homestead", hs.uid, date(2020, 1, 6), today=date(2020, 1, 6)
                )
                notices.confirm_registration(noticed.id, today=date(2020, 1, 20))
                certificates.issue_certificate(
                    "homestead",
                    hs.uid,
                    issued_on=date(2020, 3, 1),
                    reason="宅基地确权颁证",
                    number=f"粤（2020）始兴县不动产权第{1000 + tally.homesteads:07d}号",
                )
                tally.homesteads += 1
                tally.certificates += 1

            holding = shares.allocate_shares(
                collective.id,
                household_uid=household.uid,
                shares=10.0 * len(persons),
                share_type="population",
                certificate_number=f"GQ{cbfbm}",
                source_document_id=survey.id,
                reason="股权量化到户",
                today=TODAY,
                effective_on=SHARES_FIXED_ON,
            )
            tally.holdings += 1
            del holding

    # One new contract still on public notice (公示), with an objection to resolve.
    coll = db.session.scalar(select(Collective).where(Collective.fbfbm == "44022210020502"))
    newcomer = people.register_person(
        "钟丽华", id_number(rng, date(1996, 9, 9), True), reason="婚入登记"
    )
    people.admit_member(newcomer.uid, coll.id, date(2024, 1, 1), "marriage", "婚入成员资格")
    hh = people.create_household(
        coll.id,
        "440222100205020099",
        None,
        "东湖坪村新屋",
        newcomer.uid,
        "分户",
        effective_on=date(2024, 3, 1),
    )
    survey_doc = db.session.scalar(
        select(documents.SourceDocument).where(documents.SourceDocument.collective_id == coll.id)
    )
    pending = land.create_contract(
        hh.uid,
        date(2026, 1, 1),
        date(2047, 12, 31),
        source_document_id=survey_doc.id,
        reason="机动地发包",
        today=TODAY,
    )
    if pending.status != "pending":
        from app.registry import history

        pending = history.revise(
            pending, reason="待公示", status="pending", source_document_id=survey_doc.id
        )
    notice = notices.open_notice("land_contract", pending.uid, TODAY, today=TODAY)
    notices.lodge_objection(
        notice.id, "邓国华（邻户）", "东至界址与本户田埂有争议，请复核。", TODAY
    )

    # An inherited second homestead (存量): 李建华 inherited his late parents' house and its
    # homestead; registered as it is, with the note (R08), beside the household's own.
    first = db.session.scalar(select(Collective).where(Collective.fbfbm == "44022210020501"))
    farmer_household = people.resident_row(heads["44022210020501"]).household_uid
    will = documents.store_document(
        first.id,
        "declaration",
        "李建华 继承父母房屋公证书",
        "inheritance.pdf",
        minimal_pdf("Notarised inheritance 44022210020501"),
    )
    homesteads.register_existing_homestead(
        farmer_household,
        unit_number("44022210020501", 89),
        "hill",
        126.4,
        acquired_by="inheritance",
        approval_number="始宅批〔1992〕37号",
        approved_on=date(1992, 8, 3),
        floor_area_m2=96.0,
        remark="原权利人李德明（已故）",
        source_document_id=will.id,
        reason="继承取得，存量宅基地按现状登记",
        today=TODAY,
    )
    tally.homesteads += 1
    settled = _seed_life_events(rng, heads["44022210020501"])

    for username, role, display, codes in USERS:
        ids = [
            db.session.scalar(select(Collective.id).where(Collective.fbfbm == code))
            for code in codes
        ]
        user = create_user(username, PASSWORD, role, display_name=display, collective_ids=ids)
        if username in ("farmer", "member"):
            with trail.because("user.link_person", reason="农户本人账号"):
                user.person_uid = heads["44022210020501" if username == "farmer" else "member"]
                db.session.flush()
    _demo_moves()
    tally.settled = seed_settlements(settled)
    tally.listings = seed_market()
    seed_encumbrances()
    seed_leases()
    return tally


def _demo_moves() -> None:
    """Two plot moves by a legal basis, requested by the village admin (issue 10): one
    countersigned by the bureau, one still waiting for it (待会签)."""
    from app.registry import moves
    from app.registry.models import LandContract, Plot, SourceDocument

    coll = db.session.scalar(select(Collective).where(Collective.fbfbm == "44022210020501"))
    contracts = list(
        db.session.scalars(
            select(LandContract)
            .where(LandContract.collective_id == coll.id, LandContract.end_lifespan.is_(None))
            .order_by(LandContract.cbhtbm)
            .limit(3)
        )
    )
    plots = list(
        db.session.scalars(
            select(Plot)
            .where(Plot.contract_uid == contracts[0].uid, Plot.end_lifespan.is_(None))
            .order_by(Plot.dkbm)
            .limit(2)
        )
    )
    survey = db.session.scalar(
        select(SourceDocument.id).where(SourceDocument.collective_id == coll.id).limit(1)
    )
    admin, bureau = (
        db.session.scalar(select(User).where(User.username == name))
        for name in ("village_admin", "bureau")
    )

    def acting(user: User):
        return trail.acting(
            trail.AuditContext(actor=user.username, actor_id=user.id, role=user.role)
        )

    with acting(admin):
        done = moves.request_move(
            "plot_move",
            plots[0].uid,
            basis="correction",
            source_document_id=survey,
            reason="确权时把邻户的地块错登在本户名下",
            to_contract_uid=contracts[1].uid,
        )
        if len(plots) > 1:
            moves.request_move(
                "plot_move",
                plots[1].uid,
                basis="court_ruling",
                source_document_id=survey,
                reason="县人民法院民事判决书确认地块归邻户承包",
                to_contract_uid=contracts[2].uid,
            )
    with acting(bureau):
        moves.countersign_move(done.id)


def _seed_life_events(rng: random.Random, farmer_uid: int) -> int | None:
    """A deceased member (date, death record) and a farmer settled in town who keeps all three
    rights (contract, homestead, shares): settling changes no right (R12)."""
    from app.registry import documents, history, people
    from app.registry.models import Homestead, HouseholdMember, LandContract, Person, ShareHolding

    coll = db.session.scalar(select(Collective).where(Collective.fbfbm == "44022210020501"))
    home = people.resident_row(farmer_uid).household_uid
    father = people.register_person(
        "李德顺",
        id_number(rng, date(1938, 2, 3), False),
        hukou_place=f"始兴县{coll.village.name}",
        hukou_origin="agricultural",
        reason="确权登记",
    )
    people.admit_member(father.uid, coll.id, date(1985, 1, 1), "birth", "成员资格确认")
    people.add_household_member(home, father.uid, "51", True, "确权登记")
    record = documents.store_document(
        coll.id,
        "death_record",
        "李德顺 死亡证明",
        "death.pdf",
        minimal_pdf("Death record"),
    )
    people.record_death(
        father.uid, date(2023, 11, 2), "病故", source_document_id=record.id, today=TODAY
    )

    # A head of household of the same group who settled in town: urban hukou, all rights kept.
    settled = db.session.scalar(
        select(HouseholdMember.person_uid)
        .join(Homestead, Homestead.household_uid == HouseholdMember.household_uid)
        .join(LandContract, LandContract.household_uid == HouseholdMember.household_uid)
        .join(ShareHolding, ShareHolding.household_uid == HouseholdMember.household_uid)
        .where(
            HouseholdMember.collective_id == coll.id,
            HouseholdMember.relation == people.HEAD,
            HouseholdMember.end_lifespan.is_(None),
            HouseholdMember.household_uid != home,
            Homestead.end_lifespan.is_(None),
            LandContract.end_lifespan.is_(None),
            ShareHolding.end_lifespan.is_(None),
        )
        .order_by(HouseholdMember.household_uid)
        .limit(1)
    )
    if settled is not None:
        person = history.current_of(Person, settled)
        people.update_person(
            person.uid,
            "进城落户（保留承包地、宅基地和集体收益分配权）",
            hukou_type="urban",
            hukou_origin="agricultural",
            hukou_place="韶关市浈江区",
        )
    return settled
