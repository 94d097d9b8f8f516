"""R16: signed checkpoints of the audit chain's head, and the stand-alone verifier against them.

An export must reach the last signed checkpoint's entry with the signed hash; a cut tail, an
edited, deleted, inserted or reordered entry, a chain rewritten and hashed again, and a checkpoint
not signed by the published key all fail, in plain words.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from app.audit.verify import entry_hash, export_line

VERIFY = Path(__file__).resolve().parent.parent / "app" / "audit" / "verify.py"
ROOT = VERIFY.parent.parent.parent


def _pem_key() -> str:
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


@pytest.fixture
def signer(app, tmp_path, monkeypatch):
    """The app writing checkpoints to a folder of this test's own, with a key of its own."""
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", _pem_key())
    return app


def _cli(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def _checkpoint(app) -> Path:
    result = _cli(app, "audit", "checkpoint")
    assert result.exit_code == 0, result.output
    return Path(result.output.strip().rsplit(": ", 1)[1])


def _public_key(app, tmp_path) -> Path:
    result = _cli(app, "audit", "public-key")
    assert result.exit_code == 0, result.output
    path = tmp_path / "audit_key.pem"
    path.write_text(result.output, encoding="utf-8")
    return path


def _export(app, tmp_path) -> list[bytes]:
    path = tmp_path / "audit.jsonl"
    result = _cli(app, "audit", "export", str(path))
    assert result.exit_code == 0, result.output
    return path.read_bytes().splitlines(keepends=True)


def _verify(tmp_path, lines: list[bytes], checkpoint: Path, key: Path):
    export = tmp_path / "checked.jsonl"
    export.write_bytes(b"".join(lines))
    return subprocess.run(
        [sys.executable, str(VERIFY), str(export), "--checkpoint", str(checkpoint)]
        + ["--public-key", str(key)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_r16_export_reaching_the_signed_checkpoint_verifies(signer, tmp_path):
    checkpoint = _checkpoint(signer)
    key = _public_key(signer, tmp_path)
    lines = _export(signer, tmp_path)
    result = _verify(tmp_path, lines, checkpoint, key)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"OK: {len(lines)} entries" in result.stdout
    assert "matches the checkpoint" in result.stdout
    # The module form named in the docs works too.
    as_module = subprocess.run(
        [sys.executable, "-m", "app.audit.verify", str(tmp_path / "checked.jsonl")]
        + ["--checkpoint", str(checkpoint), "--public-key", str(key)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert as_module.returncode == 0, as_module.stdout + as_module.stderr


@pytest.mark.hostile
def test_r16_truncated_export_fails_against_the_last_checkpoint(signer, tmp_path):
    checkpoint = _checkpoint(signer)
    key = _public_key(signer, tmp_path)
    lines = _export(signer, tmp_path)
    result = _verify(tmp_path, lines[:-2], checkpoint, key)
    assert result.returncode == 1, result.stdout
    assert "the last 2 entries have been removed" in result.stdout


@pytest.mark.hostile
@pytest.mark.parametrize("tamper", ["edit", "delete", "insert", "reorder"])
def test_r16_tampered_export_fails_with_a_checkpoint(signer, tmp_path, tamper):
    checkpoint = _checkpoint(signer)
    key = _public_key(signer, tmp_path)
    bad = _export(signer, tmp_path)
    assert len(bad) > 11
    if tamper == "edit":
        # An edit in place, keeping the export's own form: its bytes no longer match its hash.
        entry = json.loads(bad[9])
        bad[9] = bad[9].replace(b'"actor":"', b'"actor":"x', 1)
        expect = f"(seq {entry['seq']}): content does not match its hash"
    elif tamper == "delete":
        del bad[9]
        expect = "missing"
    elif tamper == "insert":
        forged = json.loads(bad[9])
        forged["actor"] = "mallory"
        forged["hash"] = entry_hash(forged)
        bad.insert(10, export_line(forged).encode())
        expect = "position 11"
    else:
        bad[9], bad[10] = bad[10], bad[9]
        expect = "position 10"
    result = _verify(tmp_path, bad, checkpoint, key)
    assert result.returncode == 1, result.stdout
    assert expect in result.stdout


@pytest.mark.hostile
def test_r16_rewritten_and_rehashed_chain_fails_against_the_checkpoint(signer, tmp_path):
    """Someone able to write the log edits an entry and hashes every later one again: the chain
    is whole, but the signed entry is not the one the export holds."""
    checkpoint = _checkpoint(signer)
    key = _public_key(signer, tmp_path)
    entries = [json.loads(line) for line in _export(signer, tmp_path)]
    entries[4]["reason"] = "nothing happened here"
    prev = entries[3]["hash"]
    for entry in entries[4:]:
        entry["prev_hash"] = prev
        entry["hash"] = prev = entry_hash(entry)
    lines = [export_line(e).encode() for e in entries]
    result = _verify(tmp_path, lines, checkpoint, key)
    assert result.returncode == 1, result.stdout
    assert f"entry {len(entries)} is not the one the checkpoint signed" in result.stdout


@pytest.mark.hostile
def test_r16_checkpoint_signed_by_another_key_fails(signer, tmp_path, monkeypatch):
    key = _public_key(signer, tmp_path)
    monkeypatch.setitem(signer.config, "AUDIT_SIGNING_KEY", _pem_key())
    checkpoint = _checkpoint(signer)
    lines = _export(signer, tmp_path)
    result = _verify(tmp_path, lines, checkpoint, key)
    assert result.returncode == 1, result.stdout
    assert "the public key given is" in result.stdout


@pytest.mark.hostile
def test_r16_forged_checkpoint_fails_its_signature(signer, tmp_path):
    checkpoint = _checkpoint(signer)
    key = _public_key(signer, tmp_path)
    lines = _export(signer, tmp_path)
    body = json.loads(checkpoint.read_text(encoding="utf-8"))
    body["seq"] -= 3  # claim less was signed, so a cut export would pass
    body["hash"] = json.loads(lines[body["seq"] - 1])["hash"]
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(body), encoding="utf-8")
    result = _verify(tmp_path, lines[:-3], forged, key)
    assert result.returncode == 1, result.stdout
    assert "signature does not match" in result.stdout


def test_r16_checkpoint_twice_makes_two_checkpoints(signer, tmp_path):
    first = _checkpoint(signer)
    second = _checkpoint(signer)
    assert first != second
    files = sorted((tmp_path / "checkpoints").glob("checkpoint-*.json"))
    assert files == sorted([first, second])
    bodies = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    assert {b["key_id"] for b in bodies} == {bodies[0]["key_id"]}
    assert all(b["signature"] and b["seq"] > 0 for b in bodies)


def test_r16_well_known_url_serves_the_keys_without_login(signer, client, tmp_path):
    checkpoint = json.loads(_checkpoint(signer).read_text(encoding="utf-8"))
    response = client.get("/.well-known/sanquan-audit-key")
    assert response.status_code == 200
    document = response.get_json()
    assert document["current"] == checkpoint["key_id"]
    assert [k["key_id"] for k in document["keys"]] == [checkpoint["key_id"]]
    assert "BEGIN PUBLIC KEY" in document["keys"][0]["public_key_pem"]
    # The served document is itself a key file the verifier accepts.
    served = tmp_path / "keys.json"
    served.write_bytes(response.data)
    result = _verify(tmp_path, _export(signer, tmp_path), _checkpoint(signer), served)
    assert result.returncode == 0, result.stdout + result.stderr


def test_r16_key_file_is_made_once_readable_by_its_owner_only(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", None)
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    first = _cli(app, "audit", "public-key")
    assert first.exit_code == 0, first.output
    key_file = tmp_path / "instance" / "audit_signing_key.pem"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert _cli(app, "audit", "public-key").output == first.output


def test_r16_rotated_key_signs_and_the_old_one_stays_published(app, client, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", None)
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    old = json.loads(_checkpoint(app).read_text(encoding="utf-8"))
    rotated = _cli(app, "audit", "rotate-key")
    assert rotated.exit_code == 0, rotated.output
    new = json.loads(_checkpoint(app).read_text(encoding="utf-8"))
    assert new["key_id"] != old["key_id"]
    document = client.get("/.well-known/sanquan-audit-key").get_json()
    assert document["current"] == new["key_id"]
    assert {k["key_id"] for k in document["keys"]} == {old["key_id"], new["key_id"]}
    # Both checkpoints verify against the published list.
    served = tmp_path / "keys.json"
    served.write_text(json.dumps(document), encoding="utf-8")
    lines = _export(app, tmp_path)
    for name in sorted((tmp_path / "checkpoints").glob("checkpoint-*.json")):
        result = _verify(tmp_path, lines, name, served)
        assert result.returncode == 0, result.stdout + result.stderr


def test_r16_old_export_form_still_verifies_with_a_checkpoint(signer, tmp_path):
    checkpoint = _checkpoint(signer)
    key = _public_key(signer, tmp_path)
    old_form = [
        (json.dumps(json.loads(line), ensure_ascii=False, sort_keys=True) + "\n").encode()
        for line in _export(signer, tmp_path)
    ]
    assert not old_form[0].rstrip().endswith(b'"}') or b'", "' in old_form[0]
    result = _verify(tmp_path, old_form, checkpoint, key)
    assert result.returncode == 0, result.stdout + result.stderr


def test_r16_signing_key_from_the_environment_is_base64_or_pem(app, tmp_path, monkeypatch):
    seed = base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", seed)
    assert _cli(app, "audit", "checkpoint").exit_code == 0
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", "not a key")
    refused = _cli(app, "audit", "checkpoint")
    assert refused.exit_code != 0
    assert "cannot be read" in refused.output


@pytest.mark.hostile
def test_r16_checkpoint_is_not_signed_when_the_last_checkpoints_entries_are_gone(signer, tmp_path):
    last = json.loads(_checkpoint(signer).read_text(encoding="utf-8"))
    # The last checkpoint saw more entries than the log now holds (its tail was cut).
    claimed = dict(last, seq=last["seq"] + 5)
    later = tmp_path / "checkpoints" / f"checkpoint-{claimed['seq']:012d}-29990101T000000Z.json"
    later.write_text(json.dumps(claimed), encoding="utf-8")
    refused = _cli(signer, "audit", "checkpoint")
    assert refused.exit_code == 1
    assert "the last 5 entries have been removed; nothing was signed" in refused.output
    assert len(list((tmp_path / "checkpoints").glob("checkpoint-*.json"))) == 2
