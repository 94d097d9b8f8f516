"""R16: the auditor's tools. Each change on the log page in words (a plot edited, a listing's
step, a settlement recorded: labels, amounts and names, never stored codes); a filtered range
exported from the page or the command line that the stand-alone verifier accepts, and fails when
a line is edited, deleted, reordered or cut; `flask audit verify` against the last signed
checkpoint; only the auditor exports.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date
from html import unescape
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from app.audit.models import AuditEntry
from app.extensions import db
from app.registry import land
from app.settlement import services as settlement
from tests.market import walk
from tests.test_audit import tampering

VERIFY = Path(__file__).resolve().parents[2] / "app" / "audit" / "verify.py"
# The system interpreter in isolated mode, outside the virtualenv, where it has `cryptography`
# (for the signature); the standard library alone checks an export without a checkpoint.
PLAIN_PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable


def _pem_key() -> str:
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


@pytest.fixture
def signer(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", _pem_key())
    return app


def _cli(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def _changes(html: str) -> list[str]:
    """The text of each entry's "what changed" list on the page."""
    cells = re.findall(r'<ul class="changes">(.*?)</ul>', html, flags=re.S)
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells]


def _auditor_page(client, auth, query: str) -> str:
    auth.logout()
    auth.login("auditor")
    response = client.get(f"/audit/?{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


# Stored codes an auditor must not be shown: land-use codes (not the digits of a date or time),
# market states and methods, settlement channels.
CODES = re.compile(
    r"(?<![-:,.\d])\b0\d{1,2}\b(?![-:,.\d])|\b(awaiting_consent|draft|ready|housing|negotiated|transfer)\b"
)


# --- changes in words -----------------------------------------------------------------------


def test_r16_the_log_shows_a_plot_edit_in_words(app, client, auth, ctx, baseline, family):
    plot = family["plots"][0]
    land.update_plot_attributes(
        plot,
        source_document_id=family["doc"],
        reason="更正地类",
        land_use="021",
        is_basic_farmland=True,
        contract_area_m2=1234.5,
    )
    db.session.commit()
    html = _auditor_page(client, auth, "event=plot.attributes")
    shown = _changes(html)
    assert shown, html
    newest = " | ".join(shown)  # the plot's new version, and its contract's (the area)
    assert "土地利用类型" in newest and "果园" in newest  # land use: orchard
    assert "基本农田 : 否 → 是" in newest  # basic farmland: no → yes
    assert "测绘成果" in newest  # the source document by its title
    assert "1,234.50 平方米" in newest  # an area with its unit
    assert not CODES.search(newest), newest


def test_r16_the_log_shows_a_market_step_in_words(app, client, auth, ctx, baseline, family):
    walk.ready(family)
    db.session.commit()
    html = _auditor_page(client, auth, "event=market.declare")
    shown = " | ".join(_changes(html))
    assert "草稿" in shown and "等待共有人同意" in shown  # draft → waiting for co-holders
    assert not CODES.search(shown), shown
    listing = _auditor_page(client, auth, "event=market.create")
    created = " | ".join(_changes(listing))
    assert "30,000.00 元" in created  # the asking price in yuan, not 3000000 fen
    assert "李家" in created  # the household by its name
    assert not CODES.search(created), created


def test_r16_the_log_shows_a_settlement_in_words(app, client, auth, ctx, baseline, family):
    settlement.record_settlement(
        walk.user("officer"),
        family["head"],
        settled_on=date(2026, 3, 1),
        city="韶关市",
        district="浈江区",
        channel="housing",
        source_document_id=family["doc"],
    )
    db.session.commit()
    html = _auditor_page(client, auth, "event=settlement.record")
    shown = " | ".join(_changes(html))
    assert "购房落户" in shown  # the channel: purchase of housing
    assert "李大山" in shown  # the person by name
    assert "2026-03-01" in shown and "韶关市" in shown
    assert "（记录值）" in shown or "source" not in shown
    assert not CODES.search(shown), shown


# --- range exports ----------------------------------------------------------------------------


def _last_seq() -> int:
    return db.session.scalar(sa.select(sa.func.max(AuditEntry.seq)))


def _verify(path: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PLAIN_PYTHON, "-I", str(VERIFY), str(path), *extra],
        capture_output=True,
        text=True,
        check=False,
        env={},
    )


def _settle_twice(family) -> list[int]:
    """Two settlement records (two days: a person is recorded once a day) with a listing's
    entries between them; their ids."""
    ids = []
    for city, day in (("韶关市", date(2026, 3, 1)), ("广州市", date(2026, 5, 1))):
        record = settlement.record_settlement(
            walk.user("officer"),
            family["head"],
            settled_on=day,
            city=city,
            district="某区",
            channel="housing",
            source_document_id=family["doc"],
        )
        ids.append(record.id)
        if city == "韶关市":
            walk.draft(family)  # other entries in between
    db.session.commit()
    return ids


def test_r16_the_auditor_downloads_a_filtered_range_that_verifies(
    app, client, auth, ctx, baseline, family, tmp_path
):
    _settle_twice(family)
    auth.login("auditor")
    response = client.get("/audit/export?event=settlement.record&since=2020-01-01")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    lines = response.data.splitlines(keepends=True)
    header = json.loads(lines[0])
    assert header["format"] == "sanquan-audit-range-1"
    assert header["filter"] == {"event": "settlement.record", "since": "2020-01-01"}
    entries = [json.loads(line) for line in lines[1:]]
    assert [e["seq"] for e in entries] == list(range(header["first"], header["last"] + 1))
    matched = [e for e in entries if e["matched"]]
    assert {e["event"] for e in matched} == {"settlement.record"}
    assert len(matched) >= 2 and len(entries) > len(matched)  # the listing's entries between
    path = tmp_path / "range.jsonl"
    path.write_bytes(response.data)
    result = _verify(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"entries {header['first']} to {header['last']}" in result.stdout
    assert f"{len(matched)} of them match" in result.stdout
    # The download is itself in the log: who exported which entries.
    exported = db.session.scalar(
        sa.select(AuditEntry)
        .where(AuditEntry.event == "audit.export")
        .order_by(AuditEntry.seq.desc())
    )
    assert exported.actor == "auditor"
    assert json.loads(exported.after)["first"] == header["first"]
    # The link on the page carries the filter.
    page = client.get("/audit/?event=settlement.record").get_data(as_text=True)
    assert "/audit/export?event=settlement.record" in page


@pytest.mark.hostile
@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder", "cut", "drop_first", "anchor"])
def test_r16_a_tampered_range_export_fails(app, ctx, baseline, family, tmp_path, tamper):
    _settle_twice(family)
    path = tmp_path / "range.jsonl"
    result = _cli(app, "audit", "export", str(path), "--action", "settlement.record")
    assert result.exit_code == 0, result.output
    assert _verify(path).returncode == 0
    lines = path.read_bytes().splitlines(keepends=True)
    assert len(lines) >= 4  # the header, a record, the listing drafted between, a record
    if tamper == "edit":
        lines[2] = lines[2].replace(b'"actor":"', b'"actor":"x', 1)
        expect = "content does not match its hash"
    elif tamper == "delete":
        del lines[2]
        expect = "missing"
    elif tamper == "reorder":
        lines[2], lines[3] = lines[3], lines[2]
        expect = "position 2"
    elif tamper == "cut":
        del lines[-1]
        expect = "the last 1 entry has been removed"
    elif tamper == "drop_first":  # the first entry gone, the header left as it was
        del lines[1]
        expect = "missing"
    else:  # a header pointing at another anchor
        header = json.loads(lines[0])
        header["anchor"] = "f" * 64
        lines[0] = (json.dumps(header) + "\n").encode()
        expect = "does not link"
    path.write_bytes(b"".join(lines))
    result = _verify(path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED" in result.stdout and expect in result.stdout, result.stdout


def test_r16_a_range_export_is_checked_against_a_signed_checkpoint(
    signer, ctx, baseline, family, tmp_path
):
    ids = _settle_twice(family)
    signed = _cli(signer, "audit", "checkpoint")
    assert signed.exit_code == 0, signed.output
    checkpoint = Path(signed.output.strip().rsplit(": ", 1)[1])
    key = tmp_path / "key.pem"
    key.write_text(_cli(signer, "audit", "public-key").output, encoding="utf-8")
    # Another matching entry after the checkpoint: the range runs over the signed entry.
    settlement.record_settlement(
        walk.user("officer"),
        family["head"],
        settled_on=date(2026, 4, 1),
        city="深圳市",
        district="某区",
        channel="employment",
        source_document_id=family["doc"],
    )
    db.session.commit()
    path = tmp_path / "range.jsonl"
    assert (
        _cli(signer, "audit", "export", str(path), "--action", "settlement.record").exit_code == 0
    )
    with_key = ("--checkpoint", str(checkpoint), "--public-key", str(key))
    result = _verify(path, *with_key)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "matches the checkpoint signed" in result.stdout

    # The signed entry rewritten and the rest of the range hashed again: the chain is whole,
    # but the entry is not the one that was signed.
    from app.audit.verify import entry_hash, export_line

    lines = path.read_bytes().splitlines(keepends=True)
    entries = [json.loads(line) for line in lines[1:]]
    prev = json.loads(lines[0])["anchor"]
    entries[0]["reason"] = "nothing happened"
    for entry in entries:
        entry["prev_hash"] = prev
        entry["hash"] = prev = entry_hash(entry)
    forged = tmp_path / "forged.jsonl"
    forged.write_bytes(lines[0] + b"".join(export_line(e).encode() for e in entries))
    assert _verify(forged).returncode == 0  # alone, a rewritten chain cannot be told
    refused = _verify(forged, *with_key)
    assert refused.returncode == 1, refused.stdout
    assert "is not the one the checkpoint signed" in refused.stdout

    # A range that ends before the checkpoint's entry (the first record's entries only): said
    # plainly, not a failure.
    early = tmp_path / "early.jsonl"
    result = _cli(
        signer, "audit", "export", str(early), "--record", "settlement_record",
        "--record-id", str(ids[0]),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    said = _verify(early, *with_key)
    assert said.returncode == 0, said.stdout + said.stderr
    assert "NOTE" in said.stdout and "after this range ends" in said.stdout


def test_r16_whole_export_still_verifies_and_a_truncated_one_fails(signer, ctx, tmp_path):
    signed = _cli(signer, "audit", "checkpoint")
    checkpoint = Path(signed.output.strip().rsplit(": ", 1)[1])
    key = tmp_path / "key.pem"
    key.write_text(_cli(signer, "audit", "public-key").output, encoding="utf-8")
    path = tmp_path / "all.jsonl"
    assert _cli(signer, "audit", "export", str(path)).exit_code == 0
    lines = path.read_bytes().splitlines(keepends=True)
    assert json.loads(lines[0])["seq"] == 1  # no header: the whole log as before
    with_key = ("--checkpoint", str(checkpoint), "--public-key", str(key))
    assert _verify(path, *with_key).returncode == 0
    path.write_bytes(b"".join(lines[:-1]))
    cut = _verify(path, *with_key)
    assert cut.returncode == 1
    assert "the last 1 entry has been removed" in cut.stdout


def test_r16_cli_export_refuses_a_filter_nothing_matches(app, ctx, tmp_path):
    result = _cli(app, "audit", "export", str(tmp_path / "x.jsonl"), "--actor", "nobody-at-all")
    assert result.exit_code == 2
    assert "no entry matches" in result.output
    assert not (tmp_path / "x.jsonl").exists()
    bad = _cli(app, "audit", "export", str(tmp_path / "x.jsonl"), "--from", "yesterday")
    assert bad.exit_code == 2


@pytest.mark.authz
@pytest.mark.parametrize("name", ["admin_a", "bureau", "farmer_a", "sysadmin", "officer"])
def test_only_the_auditor_exports_the_log(client, auth, ctx, baseline, name):
    auth.login(name)
    assert client.get("/audit/export").status_code == 404
    assert client.get("/audit/export?event=settlement.record").status_code == 404


def test_an_export_that_matches_nothing_or_is_too_large_says_so(
    app, client, auth, ctx, baseline, monkeypatch
):
    auth.login("auditor")
    nothing = client.get("/audit/export?actor=nobody-at-all", follow_redirects=True)
    assert nothing.status_code == 200
    assert "没有" in nothing.get_data(as_text=True) or "No entries" in nothing.get_data(
        as_text=True
    )
    monkeypatch.setitem(app.config, "AUDIT_EXPORT_MAX", 10)
    big = client.get("/audit/export", follow_redirects=True)
    assert big.status_code == 200
    assert "10" in big.get_data(as_text=True)
    assert big.mimetype == "text/html"
    bad = client.get("/audit/export?since=yesterday")
    assert bad.status_code == 302


# --- flask audit verify against the last signed checkpoint ------------------------------------


@pytest.mark.hostile
def test_r16_cli_verify_fails_a_tail_cut_after_the_last_checkpoint(fresh_app, tmp_path):
    fresh_app.config["AUDIT_CHECKPOINT_DIR"] = str(tmp_path / "checkpoints")
    fresh_app.config["AUDIT_SIGNING_KEY"] = _pem_key()
    signed = _cli(fresh_app, "audit", "checkpoint")
    assert signed.exit_code == 0, signed.output
    with fresh_app.app_context():
        last = db.session.scalar(sa.select(sa.func.max(AuditEntry.seq)))
    with tampering(fresh_app) as conn:  # the last two entries go; no head file was recorded
        conn.execute(sa.text("DELETE FROM audit_entry WHERE seq > :s"), {"s": last - 2})
    result = _cli(fresh_app, "audit", "verify")
    assert result.exit_code == 1, result.output
    assert "checkpoint" in result.output and "the last 2 entries have been removed" in result.output
    explicit = _cli(
        fresh_app, "audit", "verify", "--checkpoint", signed.output.strip().rsplit(": ", 1)[1]
    )
    assert explicit.exit_code == 1


@pytest.mark.hostile
def test_r16_cli_verify_checks_the_checkpoint_and_its_signature(signer, ctx, tmp_path):
    signed = _cli(signer, "audit", "checkpoint")
    path = Path(signed.output.strip().rsplit(": ", 1)[1])
    ok = _cli(signer, "audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert "matches the checkpoint signed" in ok.output
    body = json.loads(path.read_text(encoding="utf-8"))
    body["seq"] -= 1  # claims less than was signed
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(body), encoding="utf-8")
    refused = _cli(signer, "audit", "verify", "--checkpoint", str(forged))
    assert refused.exit_code == 1
    assert "signature does not match" in refused.output


def test_r16_the_log_shows_a_person_and_a_sign_in_in_words(app, client, auth, ctx, baseline):
    from tests.factories import people as pf

    person = pf.member(baseline.collective_a, "周小梅", female=True)
    db.session.commit()
    html = _auditor_page(client, auth, "object_type=person")
    shown = " | ".join(_changes(html))
    assert "周小梅" in shown and "女" in shown  # the sex in words, not "F"
    assert person.id_number in shown  # the auditor sees ID numbers in full
    assert not re.search(r"\bF\b", shown), shown
    signed_in = " | ".join(_changes(_auditor_page(client, auth, "event=auth.login")))
    assert "账号 : auditor" in signed_in  # the session's account by its name
    assert "其他信息" not in signed_in, signed_in  # every field of a session has its name
