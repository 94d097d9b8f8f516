"""Checkpoints of the audit chain's head (R16), signed with a key kept outside the database.

A hash chain shows that nothing inside it changed; it cannot show that its tail was cut off, or
that someone able to write the table rewrote an entry and hashed every later one again. A
checkpoint is the head (entry count, last hash, time) signed with a private key the database
never sees: AUDIT_SIGNING_KEY from the environment (PEM, or the 32-byte seed in base64), else a
key file made on first use in the instance folder (mode 0600). Checkpoints are small JSON files
in AUDIT_CHECKPOINT_DIR (default instance/checkpoints/), each naming its key id, so anyone with
an export, a checkpoint and the public key can check them (``python -m app.audit.verify``).

Rotation: a new key signs from then on. Every key that has signed or been shown has its public
key kept in ``keys/`` beside the checkpoints, and all of them stay published at
/.well-known/sanquan-audit-key, so older checkpoints remain checkable.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from flask import Flask

from app.audit.verify import (
    CHECKPOINT_FORMAT,
    GENESIS,
    checkpoint_payload,
    key_id,
    read_checkpoint,
)

KEY_FILE = "audit_signing_key.pem"
KEYS_FORMAT = "sanquan-audit-keys-1"


class KeyUnusable(ValueError):
    """AUDIT_SIGNING_KEY or the key file cannot be read as an Ed25519 private key."""


def checkpoint_dir(app: Flask) -> Path:
    configured = app.config.get("AUDIT_CHECKPOINT_DIR")
    return Path(configured) if configured else Path(app.instance_path) / "checkpoints"


def key_path(app: Flask) -> Path:
    return Path(app.instance_path) / KEY_FILE


def _from_text(text: str) -> Ed25519PrivateKey:
    try:
        if "-----BEGIN" in text:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(text.strip()))
    except (ValueError, TypeError):
        raise KeyUnusable("the audit signing key cannot be read") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyUnusable("the audit signing key is not an Ed25519 key")
    return key


def _pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _create(path: Path) -> None:
    """Write a new key at ``path`` readable by its owner only; another process may win the race."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as fh:
        fh.write(_pem(Ed25519PrivateKey.generate()))
        fh.flush()
        os.fsync(fh.fileno())


def signing_key(app: Flask) -> Ed25519PrivateKey:
    """The current private key: AUDIT_SIGNING_KEY, else the instance key file (made if absent)."""
    configured = app.config.get("AUDIT_SIGNING_KEY")
    if configured:
        key = _from_text(configured)
    else:
        path = key_path(app)
        if not path.exists():
            _create(path)
        key = _from_text(path.read_text(encoding="utf-8"))
    publish(app, key.public_key())
    return key


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def publish(app: Flask, key: Ed25519PublicKey) -> str:
    """Keep ``key`` among the published public keys (idempotent); returns its key id."""
    kid = key_id(raw_public(key))
    folder = checkpoint_dir(app) / "keys"
    path = folder / f"{kid}.pem"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, public_pem(key).encode())
    return kid


def published_keys(app: Flask) -> dict:
    """What /.well-known/sanquan-audit-key serves: every public key, the current one first."""
    current = signing_key(app).public_key()
    current_id = key_id(raw_public(current))
    keys = [{"key_id": current_id, "algorithm": "Ed25519", "public_key_pem": public_pem(current)}]
    for path in sorted((checkpoint_dir(app) / "keys").glob("*.pem")):
        if path.stem != current_id:
            keys.append(
                {
                    "key_id": path.stem,
                    "algorithm": "Ed25519",
                    "public_key_pem": path.read_text(encoding="utf-8"),
                }
            )
    return {"format": KEYS_FORMAT, "current": current_id, "keys": keys}


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def sign_head(app: Flask, seq: int, last_hash: str | None) -> tuple[Path, dict]:
    """Sign the head (``seq`` entries, the last with ``last_hash``) and write it as a new file."""
    key = signing_key(app)
    now = datetime.now(UTC)
    body = {
        "format": CHECKPOINT_FORMAT,
        "key_id": key_id(raw_public(key.public_key())),
        "seq": seq,
        "hash": last_hash or GENESIS,
        "signed_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    body["signature"] = base64.b64encode(key.sign(checkpoint_payload(body))).decode()
    folder = checkpoint_dir(app)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"checkpoint-{seq:012d}-{stamp}.json"
    _write_atomic(path, (json.dumps(body, indent=2) + "\n").encode())
    return path, body


def rotate(app: Flask) -> tuple[str, str]:
    """Replace the instance key file with a new key; the old public key stays published.

    Returns (old key id, new key id). With AUDIT_SIGNING_KEY set, rotation is done by setting a
    new value there (KeyUnusable is raised here).
    """
    if app.config.get("AUDIT_SIGNING_KEY"):
        raise KeyUnusable(
            "the signing key comes from AUDIT_SIGNING_KEY: set a new key there to rotate"
        )
    old = signing_key(app)  # publishes the old public key before the private key goes
    old_id = key_id(raw_public(old.public_key()))
    path = key_path(app)
    new = Ed25519PrivateKey.generate()
    _write_atomic_private(path, _pem(new))
    new_id = publish(app, new.public_key())
    return old_id, new_id


def _write_atomic_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def latest(app: Flask) -> dict | None:
    """The newest checkpoint written here (by entry count, then time), or None."""
    files = sorted(checkpoint_dir(app).glob("checkpoint-*.json"))
    if not files:
        return None
    return read_checkpoint(str(files[-1]))
