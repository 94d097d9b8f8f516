"""The police station's monthly settlement list: upload, the checked report, all-or-nothing
promotion through record_settlement, and what only the hukou desk may do.

Real CSV and XLSX files written with csv/openpyxl in tmp_path, uploaded through the pages, read
by the imports' sandboxed reader, on both databases.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from app.audit import trail
from app.audit.models import AuditEntry
from app.core.calendar import county_today
from app.core.codes import id_number_check_char
from app.extensions import db
from app.imports.models import ImportJob
from app.registry import history
from app.registry.models import Person, SourceDocument
from app.settlement import police, services
from app.settlement.models import SettlementRecord

ZH = ["公民身份号码", "姓名", "落户日期", "迁入地城市", "迁入地区县", "落户类型", "备注"]
EN = ["ID number", "Name", "Date", "City", "District", "Channel", "Note"]


@pytest.fixture(autouse=True)
def _import_store(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_STORE", str(tmp_path / "store"))
    monkeypatch.setitem(app.config, "IMPORT_RUNNER", "inline")


def _person(uid: int) -> Person:
    return db.session.scalar(select(Person).where(Person.uid == uid, Person.end_lifespan.is_(None)))


def _unknown_id() -> str:
    first17 = "44022219700101" + "999"
    return first17 + id_number_check_char(first17)


def _bad_check_digit(id_number: str) -> str:
    last = "0" if id_number[-1] != "0" else "1"
    return id_number[:17] + last


def _records() -> int:
    return db.session.scalar(select(func.count()).select_from(SettlementRecord))


def write_csv(tmp_path: Path, rows, *, header=ZH, name="list.csv", encoding="utf-8") -> Path:
    path = tmp_path / name
    with open(path, "w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(tmp_path: Path, rows, *, header=ZH, name="list.xlsx", blank_after=None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for i, row in enumerate(rows):
        ws.append(list(row))
        if blank_after is not None and i == blank_after:
            ws.append([])
    wb.save(path := tmp_path / name)
    return path


def upload(client, path: Path):
    with open(path, "rb") as fh:
        return client.post(
            "/settlement/imports",
            data={"file": (fh, path.name)},
            content_type="multipart/form-data",
        )


def upload_ok(client, path: Path) -> int:
    r = upload(client, path)
    assert r.status_code == 302, r.get_data(as_text=True)
    return int(r.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def report(client, job_id: int) -> str:
    r = client.get(f"/settlement/imports/{job_id}")
    assert r.status_code == 200
    return r.get_data(as_text=True)


def _offered(page: str, job_id: int) -> bool:
    return f'action="/settlement/imports/{job_id}/promote"' in page


def promote(client, job_id: int):
    return client.post(f"/settlement/imports/{job_id}/promote")


def row(
    person: Person, *, name=None, day="2026-03-01", city="韶关市", district="浈江区", how="购房"
):
    return [person.id_number, name or person.name, day, city, district, how, ""]


@pytest.fixture
def two(ctx, family):
    return _person(family["head"]), _person(family["wife"])


def test_a_clean_list_is_reported_then_every_row_recorded_citing_the_list(
    client, auth, two, tmp_path
):
    head, wife = two
    path = write_csv(tmp_path, [row(head), row(wife, how="投靠", day="2026/3/5")])
    auth.login("officer")
    job_id = upload_ok(client, path)
    page = report(client, job_id)
    assert _offered(page, job_id)  # the button that records the list
    assert _records() == 0  # nothing before promotion

    r = promote(client, job_id)
    assert r.status_code == 302
    job = db.session.get(ImportJob, job_id)
    assert job.status == "promoted" and job.promoted == 2
    records = {r.person_uid: r for r in db.session.scalars(select(SettlementRecord))}
    assert records[head.uid].channel == "housing"
    assert records[wife.uid].channel == "family"
    assert records[wife.uid].settled_on == date(2026, 3, 5)
    assert records[head.uid].recorded_by == "officer"
    doc = db.session.get(SourceDocument, records[head.uid].source_document_id)
    assert doc.collective_id is None and doc.sha256 == job.sha256  # the list itself, county-wide
    assert records[wife.uid].source_document_id == doc.id

    # Audited per record like the desk, plus one event for the promotion without personal data.
    inserts = select(func.count()).select_from(AuditEntry)
    inserts = inserts.where(
        AuditEntry.object_type == "settlement_record",
        AuditEntry.action == "insert",
        AuditEntry.event == "settlement.record",
    )
    assert db.session.scalar(inserts) == 2
    event = db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.event == "import.promote", AuditEntry.object_type == "settlement_record"
        )
    )
    details = event.after or ""
    assert json.loads(details)["count"] == 2
    for secret in (head.id_number, wife.id_number, head.name, wife.name):
        assert secret not in details

    # The list now appears in the desk's document picker, and on the person's page.
    person_page = client.get(f"/settlement/people/{head.uid}").get_data(as_text=True)
    assert f'value="{doc.id}"' in person_page
    assert "浈江区" in person_page


def test_one_unknown_id_number_promotes_nothing_and_fixing_it_promotes_all(
    client, auth, two, tmp_path
):
    head, wife = two
    unknown = _unknown_id()
    bad = [
        row(head),
        [unknown, "查无此人", "2026-03-01", "韶关市", "浈江区", "就业", ""],
        row(wife),
    ]
    auth.login("officer")
    job_id = upload_ok(client, write_csv(tmp_path, bad))
    page = report(client, job_id)
    assert "第 3 行" in page  # the row as the spreadsheet numbers it (the header is row 1)
    assert unknown not in page and unknown[-4:] in page  # masked: only the last 4 shown
    assert not _offered(page, job_id)

    r = promote(client, job_id)
    assert r.status_code == 302
    assert _records() == 0
    assert db.session.get(ImportJob, job_id).status == "validated"

    fixed = write_csv(tmp_path, [row(head), row(wife)], name="fixed.csv")
    job_id = upload_ok(client, fixed)
    assert promote(client, job_id).status_code == 302
    assert _records() == 2


def test_every_kind_of_problem_is_reported_by_row_in_plain_words(
    client, auth, two, baseline, tmp_path
):
    from tests.factories import people as pf

    head, wife = two
    zhao, _ = pf.household(baseline.collective_a, "赵大")
    other, _ = pf.household(baseline.collective_a, "钱二")
    with_other_date, _ = pf.household(baseline.collective_b, "王瑶")
    services.record_settlement(
        _officer(),
        with_other_date.uid,
        settled_on=date(2025, 1, 1),
        city="韶关市",
        district="武江区",
        channel="employment",
        source_document_id=_doc(),
    )
    tomorrow = (county_today() + timedelta(days=1)).isoformat()
    rows = [
        row(head, name="李小山"),  # 2: name mismatch
        [_bad_check_digit(wife.id_number), wife.name, "2026-03-01", "韶关市", "浈江区", "购房", ""],
        row(zhao, day=tomorrow),  # 4: future date
        row(other, day="1900-01-01"),  # 5: before birth
        row(with_other_date),  # 6: recorded on another day
        row(head, how="抽签"),  # 7: unknown channel, and a duplicate of row 2
        row(zhao, day="2026-02-30"),  # 8: no such date (and a duplicate of row 4)
    ]
    auth.login("officer")
    job_id = upload_ok(client, write_csv(tmp_path, rows))
    page = report(client, job_id)
    text = re.sub(r"\s+", " ", page)
    assert "第 2 行：姓名“李小山”与登记库中" in text
    assert "第 3 行：公民身份号码" in text and "校验码不对" in text
    assert "第 4 行：落户日期" in text and "晚于今天" in text
    assert "第 5 行：落户日期 1900-01-01 早于该人的出生日期" in text
    assert "第 6 行：该人已登记于 2025-01-01 落户" in text
    assert f"/settlement/people/{with_other_date.uid}" in page  # where to correct it
    assert "第 7 行：落户类型“抽签”无法识别；可用的写法：购房、就业、就学、投靠、其他" in text
    assert "第 8 行：落户日期“2026-02-30”不是有效日期" in text
    assert "出现 2 次（第 2、7 行）" in text
    for person in (head, wife, zhao, other, with_other_date):
        assert person.id_number not in page
    assert not _offered(page, job_id)
    assert promote(client, job_id).status_code == 302
    assert _records() == 1  # only the record made above


def test_already_recorded_rows_are_skipped_not_errors(client, auth, two, tmp_path):
    head, wife = two
    services.record_settlement(
        _officer(),
        head.uid,
        settled_on=date(2026, 3, 1),
        city="韶关市",
        district="浈江区",
        channel="housing",
        source_document_id=_doc(),
    )
    auth.login("officer")
    job_id = upload_ok(client, write_csv(tmp_path, [row(head), row(wife)]))
    page = report(client, job_id)
    assert "已登记于 2026-03-01 落户，本行跳过" in page
    job = db.session.get(ImportJob, job_id)
    assert (job.summary["valid"], job.summary["skipped"], job.summary["invalid"]) == (1, 1, 0)
    assert promote(client, job_id).status_code == 302
    assert db.session.get(ImportJob, job_id).promoted == 1
    assert _records() == 2  # the earlier one and the wife's; the head's not twice

    # A list of people all already recorded has nothing to write, and says so.
    job_id = upload_ok(client, write_csv(tmp_path, [row(head), row(wife)], name="again.csv"))
    r = promote(client, job_id)
    assert r.status_code == 302
    assert _records() == 2


def test_a_person_ended_between_check_and_promotion_refuses_the_whole_list(
    client, auth, two, tmp_path
):
    head, wife = two
    auth.login("officer")
    job_id = upload_ok(client, write_csv(tmp_path, [row(head), row(wife)]))
    assert _offered(report(client, job_id), job_id)
    with trail.acting(trail.AuditContext(actor="tester", role="collective_admin")):
        history.end(_person(wife.uid), reason="测试：人员记录注销")
        db.session.commit()

    assert promote(client, job_id).status_code == 302
    job = db.session.get(ImportJob, job_id)
    assert job.status == "validated" and job.promoted == 0
    assert _records() == 0  # not even the head's row, which still passes
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(SourceDocument)
            .where(SourceDocument.sha256 == job.sha256)
        )
        == 0
    )
    page = report(client, job_id)
    assert "复核时发现问题" in page  # the reason, on the job's page
    assert "第 3 行" in page and "不在登记库中" in page  # the report is the recheck's


def test_a_refusal_mid_write_leaves_nothing_written(client, auth, two, tmp_path):
    """A row that record_settlement refuses after others were written rolls them all back."""
    head, wife = two
    auth.login("officer")
    job_id = upload_ok(client, write_csv(tmp_path, [row(head), row(wife)]))
    job = db.session.get(ImportJob, job_id)
    checked = police.check_list(job)
    rows = checked.to_write
    assert len(rows) == 2
    rows[1].channel = "lottery"  # what the check would have refused: the service refuses it
    with trail.acting(trail.AuditContext(actor="officer", role="settlement_officer")):
        assert police._write(job, _officer(), rows, None) is None
    assert _records() == 0
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(SourceDocument)
            .where(SourceDocument.sha256 == job.sha256)
        )
        == 0
    )
    job = db.session.get(ImportJob, job_id)
    assert job.status == "validated" and "第 3 行写入时被拒绝" in job.error_zh


def test_an_xlsx_list_with_english_headers_variants_and_blank_rows(client, auth, two, tmp_path):
    head, wife = two
    rows = [
        [head.id_number.lower(), head.name, date(2026, 3, 1), "韶关市", "浈江区", "购房落户", "x"],
        [wife.id_number, " " + wife.name, "2026年3月5日", "广州市", "天河区", "夫妻投靠", ""],
    ]
    auth.login("officer")
    job_id = upload_ok(client, write_xlsx(tmp_path, rows, header=EN, blank_after=0))
    job = db.session.get(ImportJob, job_id)
    assert job.summary["valid"] == 2, report(client, job_id)
    assert promote(client, job_id).status_code == 302
    records = {r.person_uid: r for r in db.session.scalars(select(SettlementRecord))}
    assert (records[head.uid].channel, records[wife.uid].channel) == ("housing", "family")
    assert records[wife.uid].city == "广州市"


def test_a_single_destination_column_is_split_into_city_and_district(client, auth, two, tmp_path):
    head, _wife = two
    header = ["身份证号码", "姓名", "迁入日期", "迁入地", "落户途径"]
    rows = [
        [head.id_number, head.name, "20260301", "韶关市浈江区", "就业"],
    ]
    auth.login("officer")
    job_id = upload_ok(client, write_csv(tmp_path, rows, header=header))
    assert promote(client, job_id).status_code == 302
    record = db.session.scalar(select(SettlementRecord))
    assert (record.city, record.district, record.channel) == ("韶关市", "浈江区", "employment")


def test_a_list_missing_a_column_says_which(client, auth, two, tmp_path):
    head, _wife = two
    header = ["公民身份号码", "姓名", "落户日期", "迁入地城市", "迁入地区县"]
    auth.login("officer")
    job_id = upload_ok(client, write_csv(tmp_path, [row(head)[:5]], header=header))
    page = report(client, job_id)
    assert "文件缺少以下列：落户类型" in page
    assert promote(client, job_id).status_code == 302
    assert _records() == 0


# --- who may


@pytest.mark.authz
@pytest.mark.parametrize("username", ["admin_a", "farmer_a", "bureau", "auditor", "sysadmin"])
def test_only_the_hukou_desk_sees_or_uses_the_lists(client, auth, two, tmp_path, username):
    head, _wife = two
    auth.login("officer")
    job_id = upload_ok(client, write_csv(tmp_path, [row(head)]))
    auth.logout()
    auth.login(username)
    assert client.get("/settlement/imports").status_code == 404
    assert upload(client, write_csv(tmp_path, [row(head)], name="b.csv")).status_code == 404
    assert client.get(f"/settlement/imports/{job_id}").status_code == 404
    assert promote(client, job_id).status_code == 404
    assert client.post(f"/settlement/imports/{job_id}/discard").status_code == 404
    # nor through the imports' own pages and API, which serve plot and household files only
    assert client.get(f"/imports/{job_id}").status_code == 404
    assert client.get(f"/api/v1/imports/{job_id}").status_code in (401, 404)
    assert _records() == 0
    assert db.session.get(ImportJob, job_id).status == "validated"


@pytest.mark.authz
def test_a_job_of_another_kind_is_not_a_settlement_list(client, auth, two, tmp_path):
    auth.login("officer")
    job_id = upload_ok(client, write_csv(tmp_path, [row(two[0])]))
    job = db.session.get(ImportJob, job_id)
    job.kind = "households"
    db.session.commit()
    assert client.get(f"/settlement/imports/{job_id}").status_code == 404
    assert client.get("/settlement/imports/2147483647").status_code == 404


def test_the_desk_links_to_the_lists_and_discard_keeps_nothing(client, auth, two, tmp_path):
    auth.login("officer")
    assert "/settlement/imports" in client.get("/settlement").get_data(as_text=True)
    job_id = upload_ok(client, write_csv(tmp_path, [row(two[0])]))
    assert "list.csv" in client.get("/settlement/imports").get_data(as_text=True)
    r = client.post(f"/settlement/imports/{job_id}/discard")
    assert r.status_code == 302
    assert db.session.get(ImportJob, job_id).status == "discarded"
    assert promote(client, job_id).status_code == 302
    assert _records() == 0


# --- helpers that need the app


def _officer():
    from app.auth.models import User

    return db.session.scalar(select(User).where(User.username == "officer"))


def _doc() -> int:
    """A county-wide document (any person's settlement may cite it)."""
    doc = SourceDocument(collective_id=None, kind="other", title="户籍证明", sha256="ab" * 32)
    db.session.add(doc)
    db.session.flush()
    return doc.id


# --- hostile files: the imports' reader guards them; this kind says so in its own words


@pytest.mark.hostile
def test_formulas_in_names_are_text_that_does_not_match_and_nothing_is_written(
    client, auth, two, tmp_path
):
    head, wife = two
    formulas = ['=HYPERLINK("http://evil.example/","李大山")', "+cmd|' /C calc'!A0"]
    rows = [row(head, name=formulas[0]), row(wife, name=formulas[1])]
    auth.login("officer")
    job_id = upload_ok(client, write_csv(tmp_path, rows))
    page = report(client, job_id)
    assert page.count("与登记库中该公民身份号码的姓名不一致") == 2
    assert '<a href="http://evil' not in page and "HYPERLINK(&#34;http" in page  # escaped text
    assert not _offered(page, job_id)

    # In an XLSX a formula is never evaluated: its cell reads as empty (no cached value).
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(ZH)
    ws.append(
        [head.id_number, '=CONCATENATE("李","大山")', "2026-03-01", "韶关市", "浈江区", "购房"]
    )
    wb.save(path := tmp_path / "formula.xlsx")
    job_id = upload_ok(client, path)
    assert "第 2 行：姓名为空" in report(client, job_id)
    assert promote(client, job_id).status_code == 302
    assert _records() == 0


@pytest.mark.hostile
def test_a_gbk_csv_from_a_chinese_office_reads_as_written(client, auth, two, tmp_path):
    head, wife = two
    path = write_csv(tmp_path, [row(head), row(wife, how="就学")], encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # it really is not UTF-8
    auth.login("officer")
    job_id = upload_ok(client, path)
    assert db.session.get(ImportJob, job_id).summary["valid"] == 2, report(client, job_id)
    assert promote(client, job_id).status_code == 302
    assert {r.channel for r in db.session.scalars(select(SettlementRecord))} == {
        "housing",
        "study",
    }


@pytest.mark.hostile
def test_an_xlsx_with_a_million_empty_rows_and_a_huge_dimension_is_read_plainly(
    client, auth, two, tmp_path
):
    head, wife = two
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(ZH)
    ws.append(row(head))
    ws.cell(row=500_000, column=16384, value=" ")  # blank text far away: XFD500000
    ws.append(row(wife))  # lands on row 500001
    ws.cell(row=1_048_576, column=1, value="   ")  # the sheet's last row
    wb.save(path := tmp_path / "huge.xlsx")
    assert path.stat().st_size < 100_000
    auth.login("officer")
    job_id = upload_ok(client, path)
    job = db.session.get(ImportJob, job_id)
    assert job.status == "validated" and job.summary["features"] == 2, report(client, job_id)

    # a problem on the far row is reported with the row number the spreadsheet shows
    ws.cell(row=500_001, column=6, value="抽签")
    wb.save(path := tmp_path / "huge2.xlsx")
    job_id = upload_ok(client, path)
    assert "第 500001 行：落户类型“抽签”无法识别" in report(client, job_id)


@pytest.mark.hostile
def test_a_list_over_the_row_limit_fails_plainly(app, client, auth, two, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_FEATURES", 3)
    head, _wife = two
    auth.login("officer")
    job_id = upload_ok(client, write_csv(tmp_path, [row(head)] * 5))
    job = db.session.get(ImportJob, job_id)
    assert job.status == "failed" and "超过 3 行" in job.error_zh
    assert "超过 3 行" in report(client, job_id)


@pytest.mark.hostile
def test_a_file_that_is_not_a_spreadsheet_is_refused_in_plain_words(client, auth, two, tmp_path):
    from tests.factories import documents as fx

    auth.login("officer")
    # an image named .csv: the reader decides from the content
    (png := tmp_path / "list.csv").write_bytes(fx.tiny_png())
    job_id = upload_ok(client, png)
    job = db.session.get(ImportJob, job_id)
    assert job.status == "failed"
    assert "不是可读取的 CSV 或 XLSX 表格" in job.error_zh
    page = report(client, job_id)
    assert "不是可读取的 CSV 或 XLSX 表格" in page and "GIS" not in page

    # a zip that is no workbook, named .xlsx
    import zipfile

    with zipfile.ZipFile(fake := tmp_path / "fake.xlsx", "w") as z:
        z.writestr("hello.txt", "not a workbook")
    job = db.session.get(ImportJob, upload_ok(client, fake))
    assert job.status == "failed" and "不是可读取的 CSV 或 XLSX 表格" in job.error_zh

    # a plot layer or anything else by name: refused at the upload, beside the field
    (gpkg := tmp_path / "list.gpkg").write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    r = upload(client, gpkg)
    assert r.status_code == 422 and 'class="field-error"' in r.get_data(as_text=True)

    # no file at all
    r = client.post("/settlement/imports", data={}, content_type="multipart/form-data")
    assert r.status_code == 422
    assert _records() == 0


# --- the API: the same services as the pages


def _bearer(app, username: str) -> dict:
    from tests.conftest import token_for

    return {"Authorization": f"Bearer {token_for(app, username)}", "Accept-Language": "en"}


def test_the_api_uploads_reports_and_records_a_list(app, client, two, tmp_path):
    head, wife = two
    unknown = [_unknown_id(), "某人", "2026-03-01", "韶关市", "浈江区", "就业", ""]
    bad = write_csv(tmp_path, [row(head), unknown])
    good = write_csv(tmp_path, [row(head), row(wife)], name="ok.csv")
    officer = _bearer(app, "officer")
    with open(bad, "rb") as fh:
        r = client.post(
            "/api/v1/settlement-lists",
            headers=officer,
            data={"file": (fh, "list.csv")},
            content_type="multipart/form-data",
        )
    assert r.status_code == 202, r.get_json()
    answer = r.get_json()
    assert answer["status"] == "validated" and answer["promotable"] is False
    problem = answer["problems"][0]
    assert (problem["row"], problem["problem"]) == (3, "id_unknown")
    assert problem["id_number"].endswith(_unknown_id()[-4:]) and _unknown_id() not in str(answer)
    r = client.post(f"/api/v1/settlement-lists/{answer['job_id']}/promote", headers=officer)
    assert r.status_code == 422
    assert _records() == 0

    with open(good, "rb") as fh:
        r = client.post(
            "/api/v1/settlement-lists",
            headers=officer,
            data={"file": (fh, "ok.csv")},
            content_type="multipart/form-data",
        )
    job_id = r.get_json()["job_id"]
    r = client.post(f"/api/v1/settlement-lists/{job_id}/promote", headers=officer)
    assert r.status_code == 202
    assert (r.get_json()["status"], r.get_json()["promoted"]) == ("promoted", 2)
    assert r.get_json()["source_document_id"] is not None
    assert _records() == 2

    for username in ("bureau", "auditor", "admin_a"):
        other = _bearer(app, username)
        assert client.get(f"/api/v1/settlement-lists/{job_id}", headers=other).status_code == 404
        r = client.post(f"/api/v1/settlement-lists/{job_id}/discard", headers=other)
        assert r.status_code == 404


def test_the_lists_remarks_are_kept_and_shown_on_its_page_and_the_persons(
    app, client, auth, two, tmp_path
):
    """备注: each row's remark is kept with its record; the list's page shows what it recorded
    with the remarks, the person's page and the API show it too; hostile text stays text (no
    markup, no hidden characters, an ID number in it masked) and a remark over 200 characters
    is a problem of its row."""
    head, wife = two
    hostile = f'<script>alert(1)</script>=HYPERLINK("x") \u202e反向\u0007 {wife.id_number}'
    too_long = row(wife)
    too_long[6] = "长" * 201
    auth.login("officer")
    refused = upload_ok(client, write_csv(tmp_path, [row(head), too_long], name="long.csv"))
    assert "备注超过 200 个字" in report(client, refused)
    assert not _offered(report(client, refused), refused)

    first, second = row(head), row(wife, how="投靠")
    first[6] = "户主随单位集体户迁入"
    second[6] = hostile
    job_id = upload_ok(client, write_csv(tmp_path, [first, second]))
    assert "户主随单位集体户迁入" not in report(client, job_id)  # shown once recorded
    assert promote(client, job_id).status_code == 302
    records = {r.person_uid: r for r in db.session.scalars(select(SettlementRecord))}
    assert records[head.uid].note == "户主随单位集体户迁入"
    stored = records[wife.uid].note
    assert stored.startswith("<script>alert(1)</script>=HYPERLINK")
    assert "\u202e" not in stored and "\u0007" not in stored and "反向" in stored

    page = report(client, job_id)
    assert "户主随单位集体户迁入" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert wife.id_number not in page  # masked, in the remark too
    person_page = client.get(f"/settlement/people/{head.uid}").get_data(as_text=True)
    assert "户主随单位集体户迁入" in person_page
    auth.logout()
    answer = client.get(
        "/api/v1/settlements",
        query_string={"person_uid": head.uid},
        headers=_bearer(app, "officer"),
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert [s["note"] for s in answer.get_json()["items"]] == ["户主随单位集体户迁入"]
