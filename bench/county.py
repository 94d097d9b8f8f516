"""A county-scale dataset for the oversight reports: N households in a migrated database.

    python -m bench.county --backend sqlite --households 60000 --keep

Builds a database with the real schema (the migrations, as bench/overlap.py does) and fills it
by bulk SQL through the driver (executemany on SQLite, COPY on PostgreSQL), not through the
services: the benchmark measures the report, not 500,000 audited inserts. The data is
deterministic (seeded), and its registry is versioned as the services would leave it: every
object has a ``registry_object`` row, versions carry both record time (begin/end lifespan) and
legal time (valid from/to), a change ends one version and begins the next on the same day.

What is in it (``--households 60000``):

* 15 townships x 20 villages (Shixing's real towns and villages where the bundled division list
  has them, generated codes of the same form for the rest), 3 collectives per village (the
  village's and two villager groups'), each with a share register and a source document;
* households of 3-4 persons (valid-form resident ID numbers: a partial unique index checks
  them among current persons), each with its memberships and household members, a land contract
  of 3-6 plots (a small square each, on a grid), a homestead for 85 %, a household share
  holding, and own shares for about one person in ten; 0.5 % of households merged into another in
  2020 (their versions ended, their people moved: ended households must not count);
* settlement: about 12 % of households with a member settled in town (1-2 persons), records
  spread over 2021-2026, some after the report's day; 8 % of records corrected (the record in
  force is the correction; some corrections move the day across the report's day), a few persons
  with two records in force (the earliest counts);
* about 1,500 marketplace listings by settled households (transfers and paid exits of land,
  homesteads and shares, whole or part) in every state, with the holder's declaration, co-holders'
  consents, offers, deals and steps; completed ones have changed the registry as registration
  does (versions ended and begun on the registration day); a few villages where most settled
  households exited in the last 12 months (they stand out); plus listings that must not count
  (by households nobody of which settled, or settled long after the declaration); and, once
  migration 0021 has made ``market_flag_review``, a flag review for each flagged listing that
  passed the bureau.

The report is run ``AS_OF`` (2026-09-30); registrations and settlements run to 2026-11-30, so
"held on a day" and "settled on a day" have something to tell apart.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import random
import struct
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"
PG_ADMIN_URL = os.environ.get(
    "SANQUAN_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
DIVISIONS_CSV = Path(__file__).resolve().parent.parent / "app" / "divisions" / "data" / "440222.csv"
COUNTY = "440222000000"
SRID = 4547
X0, Y0 = 480_000.0, 2_740_000.0
CELL = 30.0

AS_OF = date(2026, 9, 30)
#: Nothing in the dataset happens after this day (the services refuse future legal dates).
LAST_DAY = date(2026, 11, 30)
SURVEY_DAY = date(2019, 6, 30)  # the 确权 survey: every right's first version
MERGE_FROM, MERGE_TO = date(2020, 3, 1), date(2020, 11, 30)
SETTLE_FROM = date(2021, 1, 1)
FLAG_DAYS = 180  # SETTLEMENT_FLAG_DAYS, the R14 window

TOWNSHIPS, VILLAGES_PER_TOWNSHIP, GROUPS_PER_VILLAGE = 15, 20, 3
SETTLED_SHARE = 0.12
HOT_VILLAGES = 6
LISTINGS = 1_500

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅建国志文辉金龙海燕春"
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

STATE_MIX = (  # the states of listings by settled households, with their weights
    ("completed", 40),
    ("contracting", 5),
    ("bureau_review", 5),
    ("township_approval", 2),
    ("collective_consent", 5),
    ("published", 8),
    ("ready", 4),
    ("awaiting_consent", 4),
    ("draft", 2),
    ("withdrawn", 12),
    ("rejected", 8),
    ("lapsed", 5),
)


def id_check(first17: str) -> str:
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def stamp(day: date, hour: int = 2) -> datetime:
    """A moment of ``day`` in record time (naive UTC): 02:00 UTC is 10:00 in the county."""
    return datetime(day.year, day.month, day.day, hour)


def square_wkb(x: float, y: float, size: float, srid: int | None = None) -> bytes:
    """A MULTIPOLYGON of one square as (E)WKB, built by hand: 300k shapely calls add nothing."""
    pts = [(x, y), (x + size, y), (x + size, y + size), (x, y + size), (x, y)]
    if srid is None:
        head = struct.pack("<BII", 1, 6, 1)
    else:
        head = struct.pack("<BIII", 1, 6 | 0x20000000, srid, 1)
    return head + struct.pack("<BIII", 1, 3, 1, 5) + b"".join(struct.pack("<dd", *p) for p in pts)


# ---------------------------------------------------------------------------------------------
# The generated county: rows per table, independent of the database.


@dataclass
class Table:
    columns: tuple[str, ...]
    rows: list[tuple] = field(default_factory=list)
    geometry: str | None = None  # the geometry column, if any (the last one)


VERSION_COLS = (
    "id",
    "uid",
    "version",
    "begin_lifespan",
    "end_lifespan",
    "valid_from",
    "valid_to",
    "source_document_id",
    "changed_by",
)


@dataclass
class Version:
    """A version row under construction (so later events can end it and begin the next)."""

    table: str
    uid: int
    version: int
    valid_from: date
    data: dict[str, Any]
    valid_to: date | None = None


@dataclass
class County:
    households: int
    seed: int
    tables: dict[str, Table]
    facts: dict[str, Any]


class Builder:
    """Generates the county; every random choice goes through one seeded Random."""

    SCHEMAS = {
        "person": (
            "name",
            "id_number",
            "sex",
            "birth_date",
            "hukou_type",
            "hukou_kind",
        ),
        "membership": ("person_uid", "collective_id", "since", "basis"),
        "household": ("cbfbm", "collective_id", "name", "address", "end_reason"),
        "household_member": (
            "household_uid",
            "person_uid",
            "collective_id",
            "relation",
            "is_co_holder",
            "end_reason",
        ),
        "land_contract": (
            "cbhtbm",
            "household_uid",
            "collective_id",
            "term_start",
            "term_end",
            "contract_area_m2",
            "status",
            "land_type",
            "method",
        ),
        "plot": (
            "dkbm",
            "collective_id",
            "contract_uid",
            "household_uid",
            "land_class",
            "land_use",
            "is_basic_farmland",
            "contract_area_m2",
            "measured_area_m2",
            "geom",
        ),
        "homestead": (
            "unit_number",
            "household_uid",
            "collective_id",
            "approval_number",
            "approved_on",
            "terrain",
            "area_m2",
            "disposal",
            "registration",
            "acquired_by",
        ),
        "share_holding": (
            "collective_id",
            "household_uid",
            "person_uid",
            "shares",
            "share_type",
            "certificate_number",
        ),
    }

    def __init__(self, households: int, seed: int) -> None:
        self.n = households
        self.seed = seed
        self.rng = random.Random(seed)
        self.uid = 0
        self.ids: dict[str, int] = defaultdict(int)
        self.objects: list[tuple] = []
        self.versions: list[Version] = []
        self.tables: dict[str, Table] = {}
        self.id_seq: dict[str, int] = defaultdict(int)
        self.facts: dict[str, Any] = {}

    # -- helpers -------------------------------------------------------------------------------

    def new_uid(self, kind: str, day: date) -> int:
        self.uid += 1
        self.objects.append((self.uid, kind, stamp(day)))
        return self.uid

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def version(self, table: str, uid: int, day: date, **data: Any) -> Version:
        v = Version(table, uid, 1, day, data)
        self.versions.append(v)
        return v

    def revise(self, old: Version, day: date, **changes: Any) -> Version:
        """End ``old`` on ``day`` and begin the next version with ``changes``."""
        old.valid_to = day
        new = Version(old.table, old.uid, old.version + 1, day, {**old.data, **changes})
        self.versions.append(new)
        return new

    def end(self, old: Version, day: date, **last: Any) -> None:
        old.valid_to = day
        old.data.update(last)

    def name(self) -> str:
        r = self.rng
        return r.choice(SURNAMES) + "".join(r.choice(GIVEN) for _ in range(r.choice((1, 2))))

    def id_number(self, birth: date, male: bool) -> str:
        key = birth.isoformat()
        self.id_seq[key] += 1
        seq = self.id_seq[key] * 2 - (1 if male else 0)  # odd for men (GB 11643 §5.3)
        if seq > 999:
            raise RuntimeError("too many people born on one day")
        first17 = f"440222{birth:%Y%m%d}{seq:03d}"
        return first17 + id_check(first17)

    # -- divisions and collectives ---------------------------------------------------------------

    def divisions(self) -> None:
        real: dict[str, list[tuple[str, str]]] = defaultdict(list)
        towns: list[tuple[str, str]] = []
        with DIVISIONS_CSV.open(encoding="utf-8", newline="") as fh:
            for rec in csv.reader(fh):
                if rec[3] == "town":
                    towns.append((rec[0], rec[2].strip()))
                elif rec[3] == "village":
                    real[rec[1]].append((rec[0], rec[2].strip()))
        divisions = [(COUNTY, "440200000000", "始兴县", "county")]
        villages: list[tuple[str, str, str]] = []  # (code, township code, name)
        extra = ["新丰镇", "长岭镇", "石门镇", "清溪镇", "白云镇"]
        for t in range(TOWNSHIPS):
            if t < len(towns):
                town_code, town_name = towns[t]
            else:
                town_code, town_name = f"440222{110 + t - len(towns):03d}000", extra.pop(0)
            divisions.append((town_code, COUNTY, town_name, "town"))
            have = real.get(town_code, [])[:VILLAGES_PER_TOWNSHIP]
            used = {c for c, _ in have}
            number = 200
            while len(have) < VILLAGES_PER_TOWNSHIP:
                number += 1
                code = f"{town_code[:9]}{number:03d}"
                if code not in used:
                    have.append((code, f"{town_name[:-1]}第{len(have) + 1}村委会"))
            for code, name in have:
                divisions.append((code, town_code, name, "village"))
                villages.append((code, town_code, name))
        self.tables["division"] = Table(
            ("code", "parent_code", "name", "level"), [tuple(d) for d in divisions]
        )
        self.villages = villages
        collectives, documents, self.collectives = [], [], []
        for code, _township, name in villages:
            for group in range(GROUPS_PER_VILLAGE):
                cid = len(collectives) + 1
                fbfbm = f"{code}{group:02d}"
                label = name if group == 0 else f"{name}第{group}村民小组"
                collectives.append((cid, fbfbm, label, code, stamp(SURVEY_DAY)))
                doc = hashlib.sha256(f"survey {fbfbm}".encode()).hexdigest()
                documents.append(
                    (cid, cid, "survey", f"{label}确权登记成果", doc, stamp(SURVEY_DAY), "bench")
                )
                self.collectives.append((cid, fbfbm, code))
        self.tables["collective"] = Table(
            ("id", "fbfbm", "name", "village_code", "created_at"), collectives
        )
        self.tables["source_document"] = Table(
            ("id", "collective_id", "kind", "title", "sha256", "uploaded_at", "uploaded_by"),
            documents,
        )
        self.ids["source_document"] = len(documents)

    # -- households, people and their rights -------------------------------------------------

    def households(self) -> None:
        r = self.rng
        per = self.n / len(self.collectives)
        cols = math.ceil(math.sqrt(self.n * 4.6))
        plot_cell = 0
        self.hh: list[dict[str, Any]] = []
        for index, (cid, fbfbm, village) in enumerate(self.collectives):
            count = round(per * (index + 1)) - round(per * index)
            plot_seq = 0
            for seq in range(1, count + 1):
                hh_uid = self.new_uid("household", SURVEY_DAY)
                size = r.choice((3, 4))
                persons = []
                head_year = r.randint(1950, 1985)
                for k in range(size):
                    if k == 0:
                        male, year, relation = True, head_year, "02"
                    elif k == 1:
                        male, year, relation = False, head_year + r.randint(-3, 5), "10"
                    else:
                        male = r.random() < 0.5
                        year, relation = head_year + r.randint(20, 35), "20" if male else "30"
                    birth = date(min(year, 2018), r.randint(1, 12), r.randint(1, 28))
                    p_uid = self.new_uid("person", SURVEY_DAY)
                    self.version(
                        "person",
                        p_uid,
                        SURVEY_DAY,
                        name=self.name(),
                        id_number=self.id_number(birth, male),
                        sex="M" if male else "F",
                        birth_date=birth,
                        hukou_type="rural",
                        hukou_kind="resident",
                    )
                    m_uid = self.new_uid("membership", SURVEY_DAY)
                    self.version(
                        "membership",
                        m_uid,
                        SURVEY_DAY,
                        person_uid=p_uid,
                        collective_id=cid,
                        since=birth if k >= 2 else SURVEY_DAY,
                        basis="birth" if k != 1 else "marriage",
                    )
                    co_holder = k < 2 or r.random() < 0.85
                    hm_uid = self.new_uid("household_member", SURVEY_DAY)
                    member = self.version(
                        "household_member",
                        hm_uid,
                        SURVEY_DAY,
                        household_uid=hh_uid,
                        person_uid=p_uid,
                        collective_id=cid,
                        relation=relation,
                        is_co_holder=co_holder,
                        end_reason=None,
                    )
                    persons.append({"uid": p_uid, "member": member, "co_holder": co_holder})
                cbfbm = f"{fbfbm}{seq:04d}"
                household = self.version(
                    "household",
                    hh_uid,
                    SURVEY_DAY,
                    cbfbm=cbfbm,
                    collective_id=cid,
                    name="",  # the head's name, set in finish()
                    address=None,
                    end_reason=None,
                )
                hh: dict[str, Any] = {
                    "uid": hh_uid,
                    "cid": cid,
                    "village": village,
                    "cbfbm": cbfbm,
                    "version": household,
                    "persons": persons,
                    "contract": None,
                    "plots": [],
                    "homestead": None,
                    "holding": None,
                }
                if r.random() < 0.97:
                    c_uid = self.new_uid("land_contract", SURVEY_DAY)
                    n_plots = r.randint(3, 6)
                    area = 0.0
                    for _ in range(n_plots):
                        plot_seq += 1
                        row, col = divmod(plot_cell, cols)
                        plot_cell += 1
                        a = round(r.uniform(300, 900), 1)
                        area += a
                        pl_uid = self.new_uid("plot", SURVEY_DAY)
                        size_m = math.sqrt(a)
                        hh["plots"].append(
                            self.version(
                                "plot",
                                pl_uid,
                                SURVEY_DAY,
                                dkbm=f"{fbfbm}{plot_seq:05d}",
                                collective_id=cid,
                                contract_uid=c_uid,
                                household_uid=hh_uid,
                                land_class="10",
                                land_use=r.choice(("011", "012", "013", "021")),
                                is_basic_farmland=r.random() < 0.6,
                                contract_area_m2=a,
                                measured_area_m2=a,
                                geom=(X0 + col * CELL + 1, Y0 + row * CELL + 1, size_m * 0.9),
                            )
                        )
                    hh["contract"] = self.version(
                        "land_contract",
                        c_uid,
                        SURVEY_DAY,
                        cbhtbm=f"{cbfbm}J",
                        household_uid=hh_uid,
                        collective_id=cid,
                        term_start=SURVEY_DAY,
                        term_end=date(2049, 6, 29),
                        contract_area_m2=round(area, 1),
                        status="confirmed",
                        land_type="arable",
                        method="household",
                    )
                if r.random() < 0.85:
                    h_uid = self.new_uid("homestead", SURVEY_DAY)
                    hh["homestead"] = self.version(
                        "homestead",
                        h_uid,
                        SURVEY_DAY,
                        unit_number=f"{village}JC{seq:05d}F{h_uid % 10**8:08d}"[:28],
                        household_uid=hh_uid,
                        collective_id=cid,
                        approval_number=None,
                        approved_on=date(r.randint(1985, 2015), r.randint(1, 12), 1),
                        terrain=r.choice(("plain", "hill", "mountain")),
                        area_m2=round(r.uniform(60, 150), 1),
                        disposal=None,
                        registration="existing",
                        acquired_by="approval",
                    )
                shares = Decimal(sum(1 if i < 2 or r.random() < 0.5 else 0 for i in range(size)))
                shares += Decimal("0.5") * (size - 2)
                s_uid = self.new_uid("share_holding", SURVEY_DAY)
                hh["holding"] = self.version(
                    "share_holding",
                    s_uid,
                    SURVEY_DAY,
                    collective_id=cid,
                    household_uid=hh_uid,
                    person_uid=None,
                    shares=shares,
                    share_type="population",
                    certificate_number=f"GQ{cbfbm}",
                )
                for p in persons:
                    p["holding"] = None
                    if r.random() < 0.1:
                        ps_uid = self.new_uid("share_holding", SURVEY_DAY)
                        p["holding"] = self.version(
                            "share_holding",
                            ps_uid,
                            SURVEY_DAY,
                            collective_id=cid,
                            household_uid=None,
                            person_uid=p["uid"],
                            shares=Decimal(r.randint(1, 30)) / 10,
                            share_type="seniority",
                            certificate_number=f"GQ{cbfbm}P{ps_uid}",
                        )
                self.hh.append(hh)
        self.facts["plots"] = plot_cell

    def merges(self) -> None:
        """0.5 % of households merged into another of their collective in 2020: the household's
        version ends, its people's member rows end and begin in the other household; its rights
        go with it (ended here, re-begun there as a new version of the same object)."""
        r = self.rng
        by_collective: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for hh in self.hh:
            by_collective[hh["cid"]].append(hh)
        merged = 0
        for hh in r.sample(self.hh, max(1, self.n // 200)):
            others = [o for o in by_collective[hh["cid"]] if o is not hh and not o.get("ended")]
            if not others or hh.get("ended") or hh.get("absorbed"):
                continue
            into = r.choice(others)
            into["absorbed"] = True
            day = MERGE_FROM + timedelta(days=r.randint(0, (MERGE_TO - MERGE_FROM).days))
            self.end(hh["version"], day, end_reason="merged")
            hh["ended"] = True
            for p in hh["persons"]:
                self.end(p["member"], day, end_reason="merged")
                hm_uid = self.new_uid("household_member", day)
                data = {**p["member"].data, "household_uid": into["uid"], "relation": "97"}
                data["end_reason"] = None
                p["member"] = self.version("household_member", hm_uid, day, **data)
                into["persons"].append(p)
            hh["persons"] = []
            # Its rights: the contract and the homestead end (returned on the merger: the
            # household that absorbs it keeps its own), its shares go to the other household.
            if hh["contract"] is not None:
                self.end(hh["contract"], day)
                for i, plot in enumerate(hh["plots"]):
                    hh["plots"][i] = self.revise(plot, day, contract_uid=None, household_uid=None)
                hh["contract"] = None
            if hh["homestead"] is not None:
                self.end(hh["homestead"], day, disposal="returned")
                hh["homestead"] = None
            self.end(hh["holding"], day)
            hh["holding"] = None
            merged += 1
        self.facts["merged_households"] = merged

    # -- settlement ------------------------------------------------------------------------------

    def settlements(self) -> None:
        r = self.rng
        records = Table(
            (
                "id",
                "person_uid",
                "settled_on",
                "city",
                "district",
                "channel",
                "source_document_id",
                "corrects_id",
                "reason",
                "recorded_by",
                "recorded_at",
            )
        )
        self.tables["settlement_record"] = records
        span = (LAST_DAY - SETTLE_FROM).days
        current = [hh for hh in self.hh if not hh.get("ended")]
        villages = sorted({hh["village"] for hh in current})
        self.hot = set(r.sample(villages, HOT_VILLAGES))
        cities = (
            ("韶关市", "浈江区"),
            ("韶关市", "武江区"),
            ("广州市", "白云区"),
            ("深圳市", "宝安区"),
        )
        corrected = double = 0

        def record(person_uid: int, day: date, cid: int, corrects: int | None = None) -> int:
            rid = self.next_id("settlement_record")
            city, district = r.choice(cities)
            records.rows.append(
                (
                    rid,
                    person_uid,
                    day,
                    city,
                    district,
                    r.choice(("housing", "employment", "study", "family", "other")),
                    cid,
                    corrects,
                    "更正落户日期" if corrects else None,
                    "hukou",
                    stamp(min(day + timedelta(days=r.randint(0, 20)), LAST_DAY), 3),
                )
            )
            return rid

        self.settled_households: list[dict[str, Any]] = []
        for hh in current:
            share = SETTLED_SHARE * (1.6 if hh["village"] in self.hot else 1.0)
            if r.random() >= share:
                continue
            people = [p for p in hh["persons"]]
            chosen = r.sample(people, 1 if r.random() < 0.7 else min(2, len(people)))
            days = []
            for p in chosen:
                day = SETTLE_FROM + timedelta(days=r.randint(0, span))
                rid = record(p["uid"], day, hh["cid"])
                if r.random() < 0.08:  # corrected: the correction is in force, the old row stays
                    new_day = day + timedelta(days=r.choice((-1, 1)) * r.randint(10, 400))
                    new_day = min(max(new_day, SETTLE_FROM), LAST_DAY)
                    rid = record(p["uid"], new_day, hh["cid"], corrects=rid)
                    day = new_day
                    corrected += 1
                    if r.random() < 0.2:  # corrected twice
                        day = min(day + timedelta(days=r.randint(1, 30)), LAST_DAY)
                        record(p["uid"], day, hh["cid"], corrects=rid)
                if r.random() < 0.005:  # a second record in force: the earliest counts
                    later = min(day + timedelta(days=r.randint(30, 300)), LAST_DAY)
                    record(p["uid"], later, hh["cid"])
                    double += 1
                p["settled_on"] = day
                days.append(day)
            hh["settled_on"] = min(days)
            self.settled_households.append(hh)
        self.facts.update(
            settlement_records=len(records.rows),
            corrected_records=corrected,
            persons_with_two_records=double,
            households_with_a_settled_member=len(self.settled_households),
            hot_villages=sorted(self.hot),
        )

    # -- the marketplace -------------------------------------------------------------------------

    def market(self) -> None:
        r = self.rng
        t = self.tables
        t["market_listing"] = Table(
            (
                "id",
                "collective_id",
                "right_kind",
                "right_uid",
                "deal_kind",
                "method",
                "household_uid",
                "person_uid",
                "plot_uids",
                "shares",
                "asking_price_fen",
                "state",
                "declared_at",
                "cooling_off_ends_on",
                "published_on",
                "notice_ends_on",
                "created_by",
                "created_at",
                "row_version",
            )
        )
        t["market_consent"] = Table(
            (
                "id",
                "listing_id",
                "collective_id",
                "person_uid",
                "role",
                "decided_by_person_uid",
                "decision",
                "mode",
                "witnessed_by",
                "decided_at",
            )
        )
        t["market_offer"] = Table(
            (
                "id",
                "listing_id",
                "collective_id",
                "household_uid",
                "amount_fen",
                "state",
                "eligibility",
                "made_by",
                "made_at",
            )
        )
        t["market_deal"] = Table(
            (
                "id",
                "listing_id",
                "collective_id",
                "offer_id",
                "buyer_household_uid",
                "price_fen",
                "votes_for",
                "votes_cast",
                "contract_signed_on",
                "payment",
                "paid_on",
                "registered_on",
                "attestation_number",
                "notice_given_on",
            )
        )
        t["market_step"] = Table(
            (
                "id",
                "listing_id",
                "collective_id",
                "action",
                "from_state",
                "to_state",
                "actor",
                "actor_role",
                "reason",
                "at",
            )
        )
        self.reviews: list[tuple] = []
        self.listed: set[int] = set()
        by_collective: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for hh in self.hh:
            if not hh.get("ended"):
                by_collective[hh["cid"]].append(hh)
        self.by_collective = by_collective
        states = [s for s, _ in STATE_MIX]
        weights = [w for _, w in STATE_MIX]
        settled = self.settled_households
        hot = [hh for hh in settled if hh["village"] in self.hot]
        made = 0
        # The villages that stand out: most of their settled households exit within the year.
        for hh in hot:
            if r.random() < 0.8:
                for attempt in range(6):
                    if self.listing(hh, "completed", window=True, after=attempt % 2 == 0):
                        made += 1
                        break
        tries = 0
        wanted = max(20, LISTINGS * self.n // 60_000)  # 1,500 at 60,000 households
        while made < wanted and tries < wanted * 20:
            tries += 1
            hh = r.choice(settled)
            after = r.random() < 0.85
            if self.listing(hh, r.choices(states, weights)[0], after=after):
                made += 1
        self.facts["listings_by_settled_households"] = made
        # Listings that must not count as exits by settled households.
        quiet = [hh for hh in self.hh if not hh.get("ended") and "settled_on" not in hh]
        noise = 0
        for hh in r.sample(quiet, min(len(quiet), wanted // 5)):
            noise += bool(self.listing(hh, r.choices(states, weights)[0], after=True))
        late = 0
        for hh in r.sample(settled, min(len(settled), max(3, wanted // 30))):
            late += bool(self.listing(hh, "completed", after=False, late=True))
        self.facts.update(listings_by_unsettled_households=noise, listings_settled_long_after=late)

    def listing(
        self,
        hh: dict[str, Any],
        state: str,
        *,
        after: bool,
        window: bool = False,
        late: bool = False,
    ) -> bool:
        """One listing of one of ``hh``'s rights, walked to ``state``; False if none fits."""
        r = self.rng
        settled_on = hh.get("settled_on")
        # Which right: land, homestead, the household's shares or a person's own shares.
        options = []
        if hh["contract"] is not None and hh["contract"].uid not in self.listed:
            options += ["land"] * 45
        if hh["homestead"] is not None and hh["homestead"].uid not in self.listed:
            options += ["homestead"] * 25
        if hh["holding"] is not None and hh["holding"].uid not in self.listed:
            options += ["shares"] * 20
        own = [
            p
            for p in hh["persons"]
            if p.get("holding") is not None and p["holding"].uid not in self.listed
        ]
        if own:
            options += ["own_shares"] * 10
        if state == "township_approval":
            options = [o for o in options if o == "homestead"]
        if not options:
            return False
        kind = r.choice(options)
        deal_kind = "paid_exit" if r.random() < 0.3 else "transfer"
        if state in ("published", "lapsed") and deal_kind == "paid_exit":
            deal_kind = "transfer"
        # The declaration's day, against the holder's settlement.
        duration = r.randint(60, 200)  # declaration to registration
        if settled_on is None:
            lo, hi = date(2023, 6, 1), LAST_DAY - timedelta(days=5)
        elif late:  # settled long after the declaration: R14's window does not reach it
            lo = hi = settled_on - timedelta(days=r.randint(FLAG_DAYS + 20, FLAG_DAYS + 300))
            if lo < date(2021, 1, 1):
                return False
        elif after:
            reach = 3000 if window else 700
            lo, hi = settled_on + timedelta(days=5), settled_on + timedelta(days=reach)
        else:  # settled within the window after the declaration
            lo = hi = settled_on - timedelta(days=r.randint(5, FLAG_DAYS - 10))
        if window:  # registered in the 12 months before the report's day
            declared = AS_OF - timedelta(days=r.randint(10, 340) + duration)
            if not lo <= declared <= hi:
                return False
            lo = hi = declared
        if state == "completed":
            hi = min(hi, LAST_DAY - timedelta(days=duration))
        elif state not in ("withdrawn", "rejected", "lapsed"):
            lo = max(lo, LAST_DAY - timedelta(days=150))  # still open: declared recently
        hi = min(hi, LAST_DAY - timedelta(days=3))
        if lo > hi:
            return False
        declared = lo + timedelta(days=r.randint(0, (hi - lo).days))
        registered = declared + timedelta(days=duration)
        # Registration never on a holder's settlement day (a right ended that day is not held
        # on it, in either time): keeps the figures free of a boundary the data does not need.
        if any(p.get("settled_on") == registered for p in hh["persons"]):
            registered += timedelta(days=1)
            if registered > LAST_DAY:
                return False
        if registered == AS_OF or registered == AS_OF.replace(year=AS_OF.year - 1):
            registered += timedelta(days=1)

        # The path of steps to ``state``.
        path = [("declare", "draft", "awaiting_consent", "holder", "farmer")]
        path.append(("consent_complete", "awaiting_consent", "ready", "system", "system"))
        if deal_kind == "paid_exit":
            path.append(
                ("record_exit_resolution", "ready", "collective_consent", "admin", "village_admin")
            )
        else:
            path.append(("publish", "ready", "published", "admin", "village_admin"))
            path.append(("accept_offer", "published", "collective_consent", "holder", "farmer"))
        if kind == "homestead":
            path.append(
                (
                    "consent_homestead",
                    "collective_consent",
                    "township_approval",
                    "admin",
                    "village_admin",
                )
            )
            path.append(("approve", "township_approval", "bureau_review", "township", "township"))
        else:
            path.append(
                (
                    "consent_collective",
                    "collective_consent",
                    "bureau_review",
                    "admin",
                    "village_admin",
                )
            )
        path.append(("approve", "bureau_review", "contracting", "bureau", "bureau_reviewer"))
        path.append(("register", "contracting", "completed", "admin", "village_admin"))
        order = [p[2] for p in path]
        if state in ("withdrawn", "rejected", "lapsed"):
            stop_options = {
                "withdrawn": ["awaiting_consent", "ready", "published", "collective_consent"],
                "rejected": ["awaiting_consent", "ready", "collective_consent", "bureau_review"],
                "lapsed": ["published"],
            }[state]
            stop_options = [s for s in stop_options if s in order or s == "awaiting_consent"]
            at = r.choice(stop_options)
            taken = path[: order.index(at) + 1] if at != "awaiting_consent" else path[:1]
            end_action = {"withdrawn": "withdraw", "rejected": "reject", "lapsed": "lapse"}[state]
            if state == "rejected" and at == "awaiting_consent":
                end_action = "refuse_consent"
            taken = taken + [(end_action, at, state, "holder", "farmer")]
        else:
            taken = path[: order.index(state) + 1] if state != "draft" else []
        reached = {dst for _, _, dst, _, _ in taken}
        buyer = None
        if deal_kind == "transfer" and "collective_consent" in reached:
            buyers = [
                o
                for o in self.by_collective[hh["cid"]]
                if o["uid"] != hh["uid"]
                and "settled_on" not in o
                and (kind != "homestead" or (o["homestead"] is None and not o.get("bought")))
            ]
            if not buyers:
                return False
            buyer = r.choice(buyers)
        t = self.tables
        lid = self.next_id("market_listing")
        cid = hh["cid"]
        person_uid = None
        seller_hh = hh["uid"]
        plot_uids = shares = None
        if kind == "land":
            right = hh["contract"]
            right_kind = "land_contract"
            if r.random() < 0.3 and len(hh["plots"]) > 1:
                part = r.sample(hh["plots"], r.randint(1, len(hh["plots"]) - 1))
                plot_uids = json.dumps(sorted(p.uid for p in part))
        elif kind == "homestead":
            right, right_kind = hh["homestead"], "homestead"
        elif kind == "shares":
            right, right_kind = hh["holding"], "share_holding"
            if r.random() < 0.3 and right.data["shares"] > 1:
                shares = Decimal(1)
        else:
            holder = r.choice(own)
            right, right_kind = holder["holding"], "share_holding"
            person_uid, seller_hh = holder["uid"], None
        self.listed.add(right.uid)
        method = "resolution" if deal_kind == "paid_exit" else r.choice(("negotiated", "bidding"))
        price = r.randint(5_000, 200_000) * 100
        declared_at = stamp(declared, r.randint(0, 9))
        created_by = "bench-admin" if r.random() < 0.5 else "bench-farmer"
        t["market_listing"].rows.append(
            [
                lid,
                cid,
                right_kind,
                right.uid,
                deal_kind,
                method,
                seller_hh,
                person_uid,
                plot_uids,
                shares,
                price,
                state,
                declared_at if state != "draft" else None,
                declared + timedelta(days=5) if state != "draft" else None,
                None,
                None,
                created_by,
                stamp(declared, 0),
                1,
            ]
        )
        listing = t["market_listing"].rows[-1]
        if state == "draft":
            return True
        # The holder's declaration and the co-holders' consents.
        witnessed = created_by == "bench-admin"
        holders = [p for p in hh["persons"] if p["co_holder"]] if seller_hh else []
        declarer = (
            holders[0]["uid"] if holders else person_uid if person_uid else hh["persons"][0]["uid"]
        )
        consents_pending = state == "awaiting_consent"
        t["market_consent"].rows.append(
            (
                self.next_id("market_consent"),
                lid,
                cid,
                declarer,
                "holder",
                declarer,
                "given",
                "witnessed" if witnessed else "self",
                "bench-admin" if witnessed else None,
                declared_at,
            )
        )
        for i, p in enumerate(holders[1:]):
            pending = consents_pending and i == len(holders) - 2
            refused = state == "rejected" and i == 0 and r.random() < 0.3
            t["market_consent"].rows.append(
                (
                    self.next_id("market_consent"),
                    lid,
                    cid,
                    p["uid"],
                    "co_holder",
                    None if pending else p["uid"],
                    "pending" if pending else "refused" if refused else "given",
                    None if pending else "self",
                    None,
                    None if pending else stamp(declared + timedelta(days=2), 4),
                )
            )
        span = max(1, (registered - declared).days)
        day = declared
        for i, (action, src, dst, actor, role) in enumerate(taken):
            if i:
                day = min(declared + timedelta(days=span * i // max(1, len(path) - 1)), LAST_DAY)
            if action == "register":
                day = registered
            t["market_step"].rows.append(
                (
                    self.next_id("market_step"),
                    lid,
                    cid,
                    action,
                    src,
                    dst,
                    f"bench-{actor}",
                    role,
                    "理由" if action in ("reject",) else None,
                    stamp(day, 5),
                )
            )
        if "published" in reached:
            listing[14] = declared + timedelta(days=10)
            listing[15] = declared + timedelta(days=30)
        offer_id = None
        if buyer is not None:
            offer_id = self.next_id("market_offer")
            t["market_offer"].rows.append(
                (
                    offer_id,
                    lid,
                    cid,
                    buyer["uid"],
                    price,
                    "accepted",
                    "{}",
                    "bench-farmer",
                    stamp(declared + timedelta(days=20), 6),
                )
            )
        deal_id = None
        if "collective_consent" in reached:
            deal_id = self.next_id("market_deal")
            done = state == "completed"
            contracted = "contracting" in reached
            t["market_deal"].rows.append(
                (
                    deal_id,
                    lid,
                    cid,
                    offer_id,
                    buyer["uid"] if buyer else None,
                    price,
                    40 if deal_kind == "paid_exit" else None,
                    50 if deal_kind == "paid_exit" else None,
                    registered - timedelta(days=10) if contracted else None,
                    "confirmed" if contracted else None,
                    registered - timedelta(days=5) if contracted else None,
                    registered if done else None,
                    f"JZ{lid:08d}" if done else None,
                    declared if deal_kind == "paid_exit" and kind == "land" else None,
                )
            )
        # R14: a flagged listing that got past the bureau has its review.
        flagged = [
            p["settled_on"]
            for p in (hh["persons"] if seller_hh else [])
            if p["co_holder"] and p.get("settled_on")
        ]
        if person_uid is not None:
            flagged = [p.get("settled_on") for p in hh["persons"] if p["uid"] == person_uid]
            flagged = [d for d in flagged if d]
        flags = [d for d in flagged if abs((declared - d).days) <= FLAG_DAYS]
        at_bureau = state == "rejected" and taken[-1][1] == "bureau_review"
        reviewed = "contracting" in reached or at_bureau
        if flags and deal_id and reviewed:
            approved = "contracting" in reached
            interviewed = r.random() < 0.7
            self.reviews.append(
                (
                    lid,
                    deal_id,
                    cid,
                    json.dumps(
                        [
                            f"一位共有人于{d.isoformat()}进城落户；转让或退出于"
                            f"{declared.isoformat()}申报，在落户前后{FLAG_DAYS}天之内。"
                            for d in flags
                        ],
                        ensure_ascii=False,
                    ),
                    (
                        "已当面询问，确系自愿，与落户无关。"
                        if interviewed
                        else "经电话核实，确系自愿。"
                    )
                    if approved
                    else "申报时间与落户过近，未能确认自愿。",
                    interviewed,
                    approved,
                    "bench-bureau",
                    stamp(declared + timedelta(days=span * 5 // 7), 6),
                )
            )
        if state == "completed":
            self.register(hh, kind, right, deal_kind, buyer, registered, plot_uids, shares)
        return True

    def register(self, hh, kind, right, deal_kind, buyer, day, plot_uids, shares) -> None:
        """What registration does to the registry, as conveyance.py does it."""
        if kind == "land":
            moving = (
                [p for p in hh["plots"] if p.uid in set(json.loads(plot_uids))]
                if plot_uids
                else list(hh["plots"])
            )
            # The buyer's own contract takes the plots; a buyer without one gets a new contract.
            # What a buyer gained is kept apart from what it may list itself (listings are made
            # in no order of time, and a version chain must run forward).
            target = None
            if buyer is not None and deal_kind == "transfer":
                target = buyer["contract"] or buyer.get("bought_contract")
            if buyer is not None and deal_kind == "transfer" and target is None:
                c_uid = self.new_uid("land_contract", day)
                target = buyer["bought_contract"] = self.version(
                    "land_contract",
                    c_uid,
                    day,
                    **{
                        **right.data,
                        "cbhtbm": f"{buyer['cbfbm']}J",
                        "household_uid": buyer["uid"],
                        "term_start": day,
                    },
                )
            for plot in moving:
                new = self.revise(
                    plot,
                    day,
                    contract_uid=target.uid if target else None,
                    household_uid=buyer["uid"] if target else None,
                )
                hh["plots"].remove(plot)
                del new  # the buyer's now; never listed again here
            if not hh["plots"]:
                self.end(right, day)
                hh["contract"] = None
        elif kind == "homestead":
            if deal_kind == "transfer":
                self.revise(right, day, household_uid=buyer["uid"])
                right.data["disposal"] = "transferred"
                buyer["bought"] = True
            else:
                self.end(right, day, disposal="paid_exit")
            hh["homestead"] = None
        else:
            owner = (
                hh
                if kind == "shares"
                else next(p for p in hh["persons"] if p.get("holding") is right)
            )
            amount = shares if shares is not None else right.data["shares"]
            left = right.data["shares"] - amount
            if left > 0:
                owner["holding"] = self.revise(right, day, shares=left)
            else:
                self.end(right, day)
                owner["holding"] = None
            if deal_kind == "transfer" and buyer is not None:
                # A holding of its own for what the buyer bought (the seller's share type).
                b_uid = self.new_uid("share_holding", day)
                self.version(
                    "share_holding",
                    b_uid,
                    day,
                    **{
                        **right.data,
                        "household_uid": buyer["uid"],
                        "person_uid": None,
                        "shares": amount,
                        "certificate_number": f"GQ{buyer['cbfbm']}B{b_uid}",
                    },
                )

    # -- rows ------------------------------------------------------------------------------------

    def finish(self) -> County:
        heads = {}
        for hh in self.hh:
            for p in hh["persons"]:
                if p["member"].data["relation"] == "02" and hh["uid"] not in heads:
                    heads[hh["uid"]] = p["uid"]
        names = {
            v.uid: v.data["name"] for v in self.versions if v.table == "person" and v.version == 1
        }
        for hh in self.hh:
            head = heads.get(hh["uid"])
            hh["version"].data["name"] = names.get(head, "户") if head else "户"
        t = self.tables
        t["registry_object"] = Table(("id", "kind", "created_at"), self.objects)
        docs = {cid: cid for cid, _, _ in self.collectives}
        for name, columns in self.SCHEMAS.items():
            t[name] = Table(VERSION_COLS + columns, geometry="geom" if "geom" in columns else None)
        counters: dict[str, int] = defaultdict(int)
        for v in self.versions:
            counters[v.table] += 1
            ended = v.valid_to is not None
            cid = v.data.get("collective_id")
            row = (
                counters[v.table],
                v.uid,
                v.version,
                stamp(v.valid_from),
                stamp(v.valid_to) if ended else None,
                v.valid_from,
                v.valid_to,
                docs.get(cid) if cid else None,
                "bench",
                *(v.data.get(c) for c in self.SCHEMAS[v.table]),
            )
            t[v.table].rows.append(row)
        totals: dict[int, Decimal] = defaultdict(Decimal)
        for v in self.versions:
            if v.table == "share_holding" and v.version == 1:
                totals[v.data["collective_id"]] += v.data["shares"]
        t["share_register"] = Table(
            ("collective_id", "total_shares", "fixed_on"),
            [(cid, total, SURVEY_DAY) for cid, total in sorted(totals.items())],
        )
        t["market_listing"].rows = [tuple(row) for row in t["market_listing"].rows]
        t["market_flag_review"] = Table(
            (
                "listing_id",
                "deal_id",
                "collective_id",
                "flags",
                "decision",
                "interviewed",
                "approved",
                "reviewer",
                "decided_at",
            ),
            self.reviews,
        )
        self.facts.update(
            {name: len(table.rows) for name, table in t.items()},
            as_of=AS_OF.isoformat(),
        )
        return County(self.n, self.seed, t, self.facts)


def generate(households: int, seed: int) -> County:
    b = Builder(households, seed)
    b.divisions()
    b.households()
    b.merges()
    b.settlements()
    b.market()
    return b.finish()


# ---------------------------------------------------------------------------------------------
# Writing it to a database.

#: Parents first (foreign keys are checked row by row on both databases).
ORDER = (
    "division",
    "collective",
    "source_document",
    "registry_object",
    "person",
    "membership",
    "household",
    "household_member",
    "land_contract",
    "plot",
    "homestead",
    "share_holding",
    "share_register",
    "settlement_record",
    "market_listing",
    "market_consent",
    "market_offer",
    "market_deal",
    "market_step",
    "market_flag_review",
)
SHARE_COLUMNS = {"shares", "total_shares"}


def _sqlite_value(column: str, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if column in SHARE_COLUMNS:
        return int(Decimal(value).scaleb(4))
    if isinstance(value, bool):
        return int(value)
    return value


def table_columns(conn: Any, backend: str, table: str) -> set[str]:
    cur = conn.cursor()
    if backend == "sqlite":
        cur.execute(f"SELECT name FROM pragma_table_info('{table}')")
    else:
        cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,)
        )
    found = {row[0] for row in cur.fetchall()}
    cur.close()
    return found


def write_sqlite(conn: Any, county: County) -> dict[str, float]:
    timings = {}
    cur = conn.cursor()
    cur.execute("BEGIN")
    for name in ORDER:
        table = county.tables[name]
        if not table.rows:
            continue
        have = table_columns(conn, "sqlite", name)
        if not have or not set(table.columns) <= have:
            timings[f"{name}_skipped"] = 0.0
            continue
        started = time.perf_counter()
        marks = []
        for c in table.columns:
            marks.append(f"GeomFromWKB(?, {SRID})" if c == table.geometry else "?")
        sql = f"INSERT INTO {name} ({', '.join(table.columns)}) VALUES ({', '.join(marks)})"
        geo = table.columns.index(table.geometry) if table.geometry else -1

        def rows(table: Table = table, geo: int = geo) -> Iterable[tuple]:
            cols = table.columns
            for row in table.rows:
                out = [_sqlite_value(c, v) for c, v in zip(cols, row, strict=True)]
                if geo >= 0 and out[geo] is not None:
                    out[geo] = square_wkb(*row[geo])
                yield tuple(out)

        cur.executemany(sql, rows())
        timings[name] = round(time.perf_counter() - started, 2)
    cur.execute("COMMIT")
    started = time.perf_counter()
    cur.execute("ANALYZE")
    timings["analyze"] = round(time.perf_counter() - started, 2)
    cur.close()
    return timings


def write_postgres(conn: Any, county: County) -> dict[str, float]:
    timings = {}
    with conn.cursor() as cur:
        for name in ORDER:
            table = county.tables[name]
            if not table.rows:
                continue
            have = table_columns(conn, "postgresql", name)
            if not have or not set(table.columns) <= have:
                timings[f"{name}_skipped"] = 0.0
                continue
            started = time.perf_counter()
            geo = table.columns.index(table.geometry) if table.geometry else -1
            with cur.copy(f"COPY {name} ({', '.join(table.columns)}) FROM STDIN") as copy:
                for row in table.rows:
                    if geo >= 0 and row[geo] is not None:
                        row = list(row)
                        row[geo] = square_wkb(*row[geo], srid=SRID).hex()
                    copy.write_row(row)
            timings[name] = round(time.perf_counter() - started, 2)
        for name in ORDER:
            if "id" in table_columns(conn, "postgresql", name) and name != "division":
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"coalesce((SELECT max(id) FROM {name}), 0) + 1, false)"
                )
    conn.commit()
    started = time.perf_counter()
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    conn.autocommit = False
    timings["analyze"] = round(time.perf_counter() - started, 2)
    return timings


@dataclass
class Database:
    url: str
    backend: str
    drop: Any
    build: dict[str, Any]


def _empty_database(
    backend: str, keep: bool, households: int, admin_url: str | None = None
) -> tuple[str, Any]:
    import sqlalchemy as sa

    if backend == "sqlite":
        folder = OUT if keep else Path(tempfile.mkdtemp(prefix="sanquan-county-"))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"county-{households}-{uuid.uuid4().hex[:8]}.sqlite"

        def drop() -> None:
            if not keep:
                for suffix in ("", "-wal", "-shm", "-journal"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
                folder.rmdir()

        return f"sqlite:///{path}", drop
    name = f"sanquan_county_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url or PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin.url.set(database=name)
    eng = sa.create_engine(url)
    with eng.begin() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
    eng.dispose()

    def drop_pg() -> None:
        if not keep:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return url.render_as_string(hide_password=False), drop_pg


def build(
    backend: str, households: int, seed: int, keep: bool = False, admin_url: str | None = None
) -> Database:
    """A migrated database holding the generated county. ``build`` of the result has the times
    (migrations, generation, inserts) and the counts of what went in. PostgreSQL: a new database
    on the server of ``admin_url`` (default SANQUAN_BENCH_PG_URL or the local server)."""
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    url, drop = _empty_database(backend, keep, households, admin_url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
    info: dict[str, Any] = {"backend": backend, "households": households, "seed": seed}
    try:
        with app.app_context():
            t0, c0 = time.perf_counter(), time.process_time()
            upgrade()
            t1 = time.perf_counter()
            county = generate(households, seed)
            t2, c2 = time.perf_counter(), time.process_time()
            raw = db.engine.raw_connection()
            try:
                driver = raw.driver_connection
                if backend == "sqlite":
                    info["insert_by_table_s"] = write_sqlite(driver, county)
                else:
                    info["insert_by_table_s"] = write_postgres(driver, county)
            finally:
                raw.close()
            t3, c3 = time.perf_counter(), time.process_time()
            db.session.remove()
            db.engine.dispose()
    except BaseException:
        drop()
        raise
    info.update(
        migrate_s=round(t1 - t0, 2),
        generate_s=round(t2 - t1, 2),
        insert_s=round(t3 - t2, 2),
        total_s=round(t3 - t0, 2),
        # this process's CPU: what the build cost when other jobs share the cores
        cpu_migrate_and_generate_s=round(c2 - c0, 2),
        cpu_insert_s=round(c3 - c2, 2),
        counts=county.facts,
    )
    return Database(url, backend, drop, info)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.county", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--households", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--keep", action="store_true", help="keep the database (under bench/out)")
    args = parser.parse_args(argv)
    if args.households < 1_000:
        parser.error("--households must be at least 1000 (15 townships x 20 villages x 3)")
    database = build(args.backend, args.households, args.seed, keep=args.keep)
    print(json.dumps(database.build, indent=2, ensure_ascii=False, default=str))
    print(f"database: {database.url}")
    if not args.keep:
        database.drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
