"""Households (CBF) and members (CBF_JTCY) from CSV and XLSX, with code and ID checks."""

from __future__ import annotations

import csv
import json

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.core.codes import id_number_check_char
from app.extensions import db
from app.registry.models import Household, HouseholdMember, Person
from tests.imports.conftest import COLLECTIVE_A


def idn(k: int) -> str:
    first = f"44022219{70 + k % 30:02d}0{1 + k % 9}1{k % 10}{k % 1000:03d}"
    return first + id_number_check_char(first)


def tables(n: int = 3) -> tuple[list[list[str]], list[list[str]]]:
    cbf = [["CBFBM", "CBFMC", "CBFZJHM", "CBFCYSL"]]
    members = [["CBFBM", "CYXM", "CYZJHM", "YHZGX", "SFGYR"]]
    for h in range(1, n + 1):
        code = f"{COLLECTIVE_A}{h:04d}"
        cbf.append([code, f"王{h}", idn(h * 10), "2"])
        members.append([code, f"王{h}", idn(h * 10), "02", "1"])
        members.append([code, f"陈{h}", idn(h * 10 + 1), "10", "1"])
    return cbf, members


def write_csv(path, rows, encoding="utf-8-sig"):
    with open(path, "w", newline="", encoding=encoding) as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_households_and_members_from_csv(cli, tmp_path):
    cbf, members = tables(3)
    a = write_csv(tmp_path / "CBF.csv", cbf)
    b = write_csv(tmp_path / "CBF_JTCY.csv", members, encoding="gb18030")  # Excel's Chinese CSV
    result = cli.run("import", "households", a, "--members", b, "--collective", COLLECTIVE_A)
    assert result.exit_code == 0, result.output
    households = list(db.session.scalars(select(Household).where(Household.end_lifespan.is_(None))))
    assert sorted(h.cbfbm for h in households) == [f"{COLLECTIVE_A}{h:04d}" for h in (1, 2, 3)]
    head = db.session.scalar(select(Person).where(Person.id_number == idn(10)))
    assert head.name == "王1" and head.version == 1 and head.birth_date.year == 1980
    links = list(
        db.session.scalars(select(HouseholdMember).where(HouseholdMember.person_uid == head.uid))
    )
    assert len(links) == 1 and links[0].relation == "02" and links[0].is_co_holder
    event = db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.event == "import.promote",
            AuditEntry.action == "event",
            AuditEntry.object_type == "household",
        )
    )
    details = json.loads(event.after)
    assert details["count"] == 3 and details["members"] == 6
    assert idn(10) not in event.after  # no personal data in the audit entry


def test_households_and_members_from_one_xlsx_workbook(cli, tmp_path):
    cbf, members = tables(2)
    wb = Workbook()
    ws = wb.active
    ws.title = "CBF"
    for row in cbf:
        ws.append(row)
    ws2 = wb.create_sheet("CBF_JTCY")
    for row in members:
        ws2.append(row)
    path = tmp_path / "households.xlsx"
    wb.save(path)
    result = cli.run("import", "households", path, "--collective", COLLECTIVE_A)
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Person).where(Person.id_number == idn(21))).name == "陈2"


def test_bad_codes_id_numbers_and_relations_are_refused(cli, tmp_path):
    cbf, members = tables(3)
    cbf[1][0] = "44022210020599" + "0001"  # another collective's code
    members[3][2] = idn(20)[:-1] + ("0" if idn(20)[-1] != "0" else "1")  # check digit wrong
    members[4][3] = "18"  # no such relation (GB/T 4761 has no 18)
    a = write_csv(tmp_path / "CBF.csv", cbf)
    b = write_csv(tmp_path / "CBF_JTCY.csv", members)
    out = tmp_path / "r.json"
    result = cli.run(
        "import", "households", a, "--members", b, "--collective", COLLECTIVE_A, "--report", out
    )
    assert result.exit_code == 1
    report = json.loads(out.read_text(encoding="utf-8"))
    problems = {(p["index"], p["problem"]) for p in report["problems"]}
    assert (0, "cbfbm_prefix") in problems
    assert (1, "member_id_check_digit") in problems
    assert (1, "member_relation") in problems
    assert db.session.scalar(select(Household).limit(1)) is None  # all or nothing


def test_a_household_already_registered_is_refused(cli, tmp_path):
    cbf, members = tables(1)
    a = write_csv(tmp_path / "CBF.csv", cbf)
    b = write_csv(tmp_path / "CBF_JTCY.csv", members)
    assert cli.run("import", "households", a, "--members", b).exit_code == 0
    again = cli.run("import", "households", a, "--members", b, "--dry-run")
    assert again.exit_code == 1
    assert "code_in_registry" in again.output and "member_elsewhere" in again.output


def test_member_count_mismatch_is_a_warning(cli, tmp_path):
    cbf, members = tables(1)
    cbf[1][3] = "5"
    a = write_csv(tmp_path / "CBF.csv", cbf)
    b = write_csv(tmp_path / "CBF_JTCY.csv", members)
    result = cli.run("import", "households", a, "--members", b)
    assert result.exit_code == 0
    assert "member_count" in result.output


def test_households_upload_on_the_web(client, auth, baseline, tmp_path):
    import io

    from app.imports.models import ImportJob

    cbf, members = tables(2)
    a = write_csv(tmp_path / "CBF.csv", cbf)
    b = write_csv(tmp_path / "CBF_JTCY.csv", members)
    auth.login("admin_a")
    r = client.post(
        f"/collectives/{baseline.collective_a}/imports",
        data={
            "kind": "households",
            "file": (io.BytesIO(a.read_bytes()), "CBF.csv"),
            "members": (io.BytesIO(b.read_bytes()), "CBF_JTCY.csv"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    job_id = db.session.scalar(select(ImportJob.id).order_by(ImportJob.id.desc()))
    page = client.get(f"/imports/{job_id}")
    assert page.status_code == 200
    assert db.session.get(ImportJob, job_id).summary["members"] == 4
    assert client.post(f"/imports/{job_id}/promote", data={}).status_code == 302
    assert db.session.get(ImportJob, job_id).status == "promoted"
    assert db.session.scalar(select(Person).where(Person.id_number == idn(11))).name == "陈1"


@pytest.mark.authz
def test_a_member_registered_in_another_collective_is_not_named(cli, tmp_path):
    """A member table listing someone on another collective's roll gets the answer the
    registration form gives (the same for one registered on no roll): no household code or
    name of the other collective, and nothing is attached."""
    from tests.imports.conftest import COLLECTIVE_B

    theirs = [
        ["CBFBM", "CBFMC", "CBFZJHM", "CBFCYSL"],
        [f"{COLLECTIVE_B}0001", "瑶1", idn(500), "1"],
    ]
    their_members = [
        ["CBFBM", "CYXM", "CYZJHM", "YHZGX", "SFGYR"],
        [f"{COLLECTIVE_B}0001", "瑶1", idn(500), "02", "1"],
    ]
    a = write_csv(tmp_path / "B.csv", theirs)
    b = write_csv(tmp_path / "B_JTCY.csv", their_members)
    assert (
        cli.run("import", "households", a, "--members", b, "--collective", COLLECTIVE_B).exit_code
        == 0
    )
    cbf, members = tables(1)
    members[2][2] = idn(500)  # the spouse is B's member
    a = write_csv(tmp_path / "CBF.csv", cbf)
    b = write_csv(tmp_path / "CBF_JTCY.csv", members)
    out = tmp_path / "r.json"
    result = cli.run(
        "import", "households", a, "--members", b, "--collective", COLLECTIVE_A, "--report", out
    )
    assert result.exit_code == 1
    report = out.read_text(encoding="utf-8")
    assert "member_registered" in report and "member_elsewhere" not in report
    assert f"{COLLECTIVE_B}0001" not in report + result.output and "瑶1" not in report
    assert idn(500) not in report + result.output  # masked
    assert db.session.scalar(select(Household).where(Household.cbfbm == cbf[1][0])) is None


def test_r01_the_whole_gbt_4761_relation_list_imports(cli, tmp_path):
    """Real 确权 member tables use the detailed codes: 12 wife, 22 eldest son, 51 father, …"""
    cbf = [["CBFBM", "CBFMC", "CBFZJHM", "CBFCYSL"]]
    members = [["CBFBM", "CYXM", "CYZJHM", "YHZGX", "SFGYR"]]
    code = f"{COLLECTIVE_A}0001"
    cbf.append([code, "王一", idn(500), "7"])
    used = ["02", "12", "22", "33", "51", "61", "93"]
    for k, relation in enumerate(used):
        members.append([code, f"王{k}", idn(500 + k), relation, "1"])
    a = write_csv(tmp_path / "CBF.csv", cbf)
    b = write_csv(tmp_path / "CBF_JTCY.csv", members)
    result = cli.run("import", "households", a, "--members", b, "--collective", COLLECTIVE_A)
    assert result.exit_code == 0, result.output
    rows = db.session.scalars(select(HouseholdMember.relation)).all()
    assert sorted(rows) == sorted(used)
