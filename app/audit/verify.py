#!/usr/bin/env python3
"""Verify an exported audit trail (JSON Lines) with nothing but the Python standard library.

    python3 app/audit/verify.py audit.jsonl
    python -m app.audit.verify audit.jsonl --checkpoint CHECKPOINT.json --public-key KEY

With a signed checkpoint (``flask audit checkpoint``) and the public key (a PEM file, or the
document served at /.well-known/sanquan-audit-key), the export must also reach the checkpoint's
entry with the very hash that was signed: a cut tail, or a chain rewritten and hashed again, fails,
and so does a checkpoint not signed by that key. Checking a signature needs ``cryptography``;
everything else is the standard library.

Fast path: ``flask audit export`` writes each line as the canonical bytes exactly as they were
hashed with ``,"hash":"…"}`` in place of the closing brace, so the verifier hashes the bytes as
they stand and reads only the sequence number and the previous hash. A line in any other form
(older exports) is parsed and serialised again, as before.

Each entry's hash is SHA-256 over the canonical serialisation of its fields (every field but
"hash"; keys sorted, no spaces, UTF-8) which include the previous entry's hash. The first entry's
previous hash is 64 zeros. Sequence numbers run 1, 2, 3, ... without gaps, so an edited, deleted,
inserted or reordered line is found and named. Exit status 0 when intact, 1 when not, 2 on a
file that cannot be read.

Range exports (``flask audit export --from … --to …``, or the download on the auditor's log
page): a hash chain verifies only over a contiguous run, so a filtered export holds every entry
from the first to the last that matched, each marked ``"matched":true`` or ``false`` after its
hash (the mark is a convenience, not covered by any hash), under a header line
``{"anchor":…,"filter":…,"first":F,"format":"sanquan-audit-range-1","last":L,…}``. The anchor
is the hash of entry F-1 (64 zeros when F is 1): the chain is checked from it, and must run from
F to L without a gap. With a checkpoint whose entry lies in the range (or is the anchor's), that
entry must carry the signed hash; a checkpoint before or after the range is named, plainly, as
not covering it (the range is then checked only as a chain).

The app computes hashes with the functions below, so there is one definition of the format.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Iterator

GENESIS = "0" * 64

# The fields an entry's hash covers, in the order they are exported. Changing this list changes
# the format: bump FORMAT and keep the old verifier.
FIELDS = (
    "seq",
    "ts",
    "actor",
    "actor_id",
    "role",
    "action",
    "event",
    "object_type",
    "object_id",
    "collective_id",
    "before",
    "after",
    "reason",
    "source_sha256",
    "prev_hash",
)
FORMAT = "sanquan-audit-1"
RANGE_FORMAT = "sanquan-audit-range-1"


# One encoder for every entry: json.dumps with arguments builds a new one on each call.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_text(entry: dict) -> str:
    return _ENCODER.encode({k: entry.get(k) for k in FIELDS})


def canonical(entry: dict) -> bytes:
    return canonical_text(entry).encode()


def export_line(entry: dict) -> str:
    """One line of an export: the canonical text with its hash added as the last key."""
    return canonical_text(entry)[:-1] + ',"hash":"' + entry["hash"] + '"}\n'


_TAIL = b',"hash":"'
# A range export marks each line after its hash; the mark is not hashed.
_MARKS = (b',"matched":true}', b',"matched":false}')
_TAIL_LEN = len(_TAIL) + 64 + 2  # ,"hash":"<64 hex>"}
_SEQ = b',"seq":'
_PREV = b',"prev_hash":"'


def _fast(raw: bytes) -> tuple[int, str, str] | None:
    """(seq, prev_hash, hash) of a line in export form whose bytes match its hash, else None.

    The canonical form sorts its keys and escapes every quote inside strings, so the last
    ``,"seq":`` and ``,"prev_hash":"`` are the entry's own (only strings and numbers follow them).
    """
    end = len(raw)
    while end and raw[end - 1] in b"\r\n":
        end -= 1
    for mark in _MARKS:
        if raw.endswith(mark, 0, end):
            raw = raw[: end - len(mark)] + b"}"
            end = len(raw)
            break
    cut = end - _TAIL_LEN
    if cut <= 0 or raw[end - 2 : end] != b'"}' or raw[cut : cut + len(_TAIL)] != _TAIL:
        return None
    digest = raw[end - 66 : end - 2].decode("ascii", "replace")
    hasher = hashlib.sha256(memoryview(raw)[:cut])
    hasher.update(b"}")
    if hasher.hexdigest() != digest:
        return None
    i = raw.rfind(_SEQ, 0, cut)
    j = raw.find(b",", i + len(_SEQ), cut)
    k = raw.rfind(_PREV, 0, cut)
    if i < 0 or j < 0 or k < 0:
        return None
    try:
        seq = int(raw[i + len(_SEQ) : j])
    except ValueError:
        return None
    prev = raw[k + len(_PREV) : k + len(_PREV) + 64].decode("ascii", "replace")
    return seq, prev, digest


def entry_hash(entry: dict) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


class Problem:
    def __init__(self, position: int, seq: object, message: str) -> None:
        self.position = position  # 1-based line number / row position
        self.seq = seq
        self.message = message

    def __str__(self) -> str:
        return f"entry at position {self.position} (seq {self.seq}): {self.message}"


def verify(entries: Iterable[dict]) -> tuple[int, Problem | None]:
    """Walk the chain; return (entries checked, first problem or None)."""
    count, problem, _ = verify_items((e, None) for e in entries)
    return count, problem


def verify_items(
    items: Iterable[tuple[dict | None, tuple[int, str, str] | None]],
    at_seq: int | None = None,
    *,
    first: int = 1,
    anchor: str = GENESIS,
) -> tuple[int, Problem | None, str | None]:
    """Walk the chain of (entry, fast) pairs: ``fast`` is (seq, prev_hash, hash) already checked
    against the line's own bytes, else ``entry`` is hashed again. The chain starts at entry
    ``first``, linked to ``anchor`` (the hash of the entry before it). Returns (entries checked,
    first problem or None, the hash of the entry numbered ``at_seq`` when reached)."""
    prev_hash = anchor
    expected_seq = first
    count = 0
    found = anchor if at_seq is not None and at_seq == first - 1 else None
    for position, (entry, fast) in enumerate(items, start=1):
        count = position
        if fast is not None:
            seq, linked, digest = fast
        else:
            seq, linked, digest = entry.get("seq"), entry.get("prev_hash"), entry.get("hash")
        if linked != prev_hash:
            if isinstance(seq, int) and seq > expected_seq:
                why = f"entries {expected_seq}..{seq - 1} are missing (deleted?)"
            elif isinstance(seq, int) and seq < expected_seq:
                why = f"out of order: seq {seq} after {expected_seq - 1} (reordered or inserted?)"
            else:
                why = "does not link to the entry before it (inserted, reordered or edited?)"
            return count, Problem(position, seq, why), found
        if seq != expected_seq:
            return count, Problem(position, seq, f"expected seq {expected_seq}"), found
        if fast is None and entry_hash(entry) != digest:
            return count, Problem(position, seq, "content does not match its hash (edited)"), found
        if seq == at_seq:
            found = digest
        prev_hash = digest
        expected_seq += 1
    return count, None, found


def read_jsonl(lines: Iterable[str]) -> Iterator[dict]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        yield _parse(line, number)


def _parse(line: str | bytes, number: int) -> dict:
    try:
        value = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise ValueError(f"line {number} is not JSON: {why}") from None
    if not isinstance(value, dict):
        raise ValueError(f"line {number} is not an audit entry")
    return value


def read_export(lines: Iterable[bytes]) -> Iterator[tuple[dict | None, tuple | None]]:
    """(entry, fast) pairs of an export's lines (bytes): fast when the line is in export form
    and its bytes match its hash, else the parsed entry."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fast = _fast(line)
        yield (None, fast) if fast is not None else (_parse(line, number), None)


def verify_export(path: str, at_seq: int | None = None) -> tuple[int, Problem | None, str | None]:
    """Verify the whole export at ``path``; raises OSError or ValueError when it cannot be read."""
    with open(path, "rb") as fh:
        return verify_items(read_export(fh), at_seq)


def read_range_header(line: bytes) -> dict | None:
    """The header of a range export, or None when ``line`` is an entry (a whole export)."""
    if RANGE_FORMAT.encode() not in line:
        return None
    header = _parse(line, 1)
    if "seq" in header:
        return None  # an entry that happens to carry the words
    if (
        header.get("format") != RANGE_FORMAT
        or not isinstance(header.get("first"), int)
        or not isinstance(header.get("last"), int)
        or not isinstance(header.get("anchor"), str)
        or header["first"] < 1
        or header["last"] < header["first"]
    ):
        raise ValueError("line 1 is not the header of a range export")
    return header


class Checked:
    """What verifying an export found: ``count`` entries (``matched`` of them marked as matching
    a range export's filter), the first problem, and the hash at the checkpoint's entry."""

    def __init__(self, header: dict | None) -> None:
        self.header = header
        self.count = 0
        self.matched = 0
        self.problem: Problem | None = None
        self.found: str | None = None


def check_file(path: str, at_seq: int | None = None) -> Checked:
    """Verify a whole or a range export; raises OSError or ValueError when it cannot be read."""
    with open(path, "rb") as fh:
        lines = (line for line in fh if line.strip())
        head = next(lines, None)
        header = read_range_header(head) if head is not None else None
        checked = Checked(header)
        if header is None:
            rest: Iterable[bytes] = [head] if head is not None else []
            rest = _chain(rest, lines)
            checked.count, checked.problem, checked.found = verify_items(read_export(rest), at_seq)
            return checked

        def counted(raw: Iterable[bytes]) -> Iterator[bytes]:
            for line in raw:
                if line.rstrip(b"\r\n").endswith(_MARKS[0]):
                    checked.matched += 1
                yield line

        count, problem, found = verify_items(
            read_export(counted(lines)), at_seq, first=header["first"], anchor=header["anchor"]
        )
        checked.count, checked.problem, checked.found = count, problem, found
        expected = header["last"] - header["first"] + 1
        if problem is None and count != expected:
            ends = header["first"] + count - 1
            if count < expected:
                why = (
                    f"the export ends at entry {ends}, but its header says it runs to "
                    f"{header['last']}: the last {expected - count} "
                    f"{'entry has' if expected - count == 1 else 'entries have'} been removed"
                )
            else:
                why = f"the export runs past entry {header['last']}, where its header ends it"
            checked.problem = Problem(count + 1, ends, why)
        return checked


def _chain(*parts: Iterable[bytes]) -> Iterator[bytes]:
    for part in parts:
        yield from part


# Signed checkpoints. The signature covers the canonical form of every field but "signature".
CHECKPOINT_FORMAT = "sanquan-audit-checkpoint-1"
CHECKPOINT_FIELDS = ("format", "key_id", "seq", "hash", "signed_at")


def checkpoint_payload(body: dict) -> bytes:
    return _ENCODER.encode({k: body.get(k) for k in CHECKPOINT_FIELDS}).encode()


def key_id(raw_public_key: bytes) -> str:
    """A public key's id: the first 16 hex digits of SHA-256 over its 32 raw bytes."""
    return hashlib.sha256(raw_public_key).hexdigest()[:16]


class CheckpointFailed(ValueError):
    """The checkpoint is unreadable, not signed by the key given, or not matched by the export."""


def read_checkpoint(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            body = json.load(fh)
    except (OSError, ValueError) as exc:
        raise CheckpointFailed(f"cannot read the checkpoint {path}: {exc}") from None
    if (
        not isinstance(body, dict)
        or body.get("format") != CHECKPOINT_FORMAT
        or not isinstance(body.get("seq"), int)
        or not isinstance(body.get("hash"), str)
        or not isinstance(body.get("key_id"), str)
        or not isinstance(body.get("signature"), str)
    ):
        raise CheckpointFailed(f"{path} is not an audit checkpoint")
    return body


def check_signature(checkpoint: dict, public_key_path: str) -> None:
    """Raise CheckpointFailed unless ``checkpoint`` was signed by the key in the file (a PEM
    public key, or the key list served at /.well-known/sanquan-audit-key)."""
    import base64

    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        with open(public_key_path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise CheckpointFailed(f"cannot read the public key {public_key_path}: {exc}") from None
    pems = []
    if data.lstrip().startswith(b"{"):
        try:
            listed = json.loads(data)["keys"]
            pems = [
                k["public_key_pem"].encode() for k in listed if k["key_id"] == checkpoint["key_id"]
            ]
        except (ValueError, KeyError, TypeError):
            raise CheckpointFailed(f"{public_key_path} is not a list of audit keys") from None
        if not pems:
            raise CheckpointFailed(
                f"the checkpoint was signed with key {checkpoint['key_id']}, "
                "which is not in the list of published keys"
            )
    else:
        pems = [data]
    try:
        key = serialization.load_pem_public_key(pems[0])
    except ValueError:
        raise CheckpointFailed(f"{public_key_path} is not a public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointFailed(f"{public_key_path} is not an Ed25519 public key")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if key_id(raw) != checkpoint["key_id"]:
        raise CheckpointFailed(
            f"the checkpoint names key {checkpoint['key_id']}, "
            f"but the public key given is {key_id(raw)}"
        )
    try:
        key.verify(base64.b64decode(checkpoint["signature"]), checkpoint_payload(checkpoint))
    except (InvalidSignature, ValueError):
        raise CheckpointFailed(
            "the checkpoint's signature does not match: it was altered or not signed by this key"
        ) from None


def check_reaches(checkpoint: dict, count: int, found: str | None) -> None:
    """Raise CheckpointFailed unless an intact export of ``count`` entries holds the signed entry
    with the signed hash (``found``: the hash the export has at the checkpoint's entry)."""
    seq = checkpoint["seq"]
    if seq == 0:
        return
    if count < seq:
        missing = seq - count
        raise CheckpointFailed(
            f"the export ends at entry {count}, but the checkpoint signed "
            f"{checkpoint.get('signed_at', '')} covers {seq}: the last {missing} "
            f"{'entry has' if missing == 1 else 'entries have'} been removed"
        )
    if found != checkpoint["hash"]:
        raise CheckpointFailed(
            f"entry {seq} is not the one the checkpoint signed: entries up to it have been "
            "changed and the chain hashed again"
        )


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="verify.py", description="Verify an exported audit trail."
    )
    parser.add_argument("export", metavar="AUDIT.jsonl")
    parser.add_argument("--checkpoint", help="a signed checkpoint the export must reach")
    parser.add_argument("--public-key", help="the PEM public key or the published key list")
    try:
        args = parser.parse_args(argv[1:])
    except SystemExit as exc:
        return 2 if exc.code else 0
    if bool(args.checkpoint) != bool(args.public_key):
        print("--checkpoint and --public-key go together", file=sys.stderr)
        return 2
    checkpoint = None
    if args.checkpoint:
        try:
            checkpoint = read_checkpoint(args.checkpoint)
            check_signature(checkpoint, args.public_key)
        except CheckpointFailed as exc:
            print(f"FAILED: {exc}")
            return 1
    try:
        checked = check_file(args.export, checkpoint["seq"] if checkpoint else None)
    except (OSError, ValueError) as exc:
        print(f"cannot read {args.export}: {exc}", file=sys.stderr)
        return 2
    count, problem, found = checked.count, checked.problem, checked.found
    if problem is not None:
        print(f"FAILED: {problem}")
        return 1
    if checked.header is not None:
        return _report_range(checked, checkpoint)
    if checkpoint is not None:
        try:
            check_reaches(checkpoint, count, found)
        except CheckpointFailed as exc:
            print(f"FAILED: {exc}")
            return 1
        print(
            f"OK: {count} entries, chain intact; entry {checkpoint['seq']} matches the "
            f"checkpoint signed {checkpoint.get('signed_at', '')} by key {checkpoint['key_id']}"
        )
        return 0
    print(f"OK: {count} entries, chain intact")
    return 0


def _report_range(checked: Checked, checkpoint: dict | None) -> int:
    header = checked.header or {}
    first, last = header["first"], header["last"]
    print(
        f"OK: entries {first} to {last} ({checked.count}), chain intact from the anchor; "
        f"{checked.matched} of them match the filter {json.dumps(header.get('filter') or {})}"
    )
    if checkpoint is None:
        print("(no checkpoint given: the range is checked as a chain only)")
        return 0
    seq = checkpoint["seq"]
    when, key = checkpoint.get("signed_at", ""), checkpoint["key_id"]
    signed = f"the checkpoint signed {when} by key {key}"
    if first - 1 <= seq <= last and seq > 0:
        if checked.found != checkpoint["hash"]:
            print(
                f"FAILED: entry {seq} is not the one {signed} names: entries up to it have been "
                "changed and the chain hashed again"
            )
            return 1
        print(f"entry {seq} matches {signed}")
    elif seq > last:
        print(
            f"NOTE: {signed} covers entry {seq}, after this range ends at {last}; it says "
            "nothing about the range. Check against an earlier checkpoint, or export up to it."
        )
    else:
        print(
            f"NOTE: {signed} covers entry {seq}, before this range starts at {first}; it says "
            "nothing about the range. Check against a later checkpoint."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
