#!/usr/bin/env python3
"""Verify an exported audit trail (JSON Lines) with nothing but the Python standard library.

    python3 app/audit/verify.py audit.jsonl

Each entry's hash is SHA-256 over the canonical serialisation of its fields (every field but
"hash"; keys sorted, no spaces, UTF-8) which include the previous entry's hash. The first entry's
previous hash is 64 zeros. Sequence numbers run 1, 2, 3, ... without gaps, so an edited, deleted,
inserted or reordered line is found and named. Exit status 0 when intact, 1 when not, 2 on a
file that cannot be read.

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


def canonical(entry: dict) -> bytes:
    body = {k: entry.get(k) for k in FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


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
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    for position, entry in enumerate(entries, start=1):
        count = position
        seq = entry.get("seq")
        if entry.get("prev_hash") != prev_hash:
            if isinstance(seq, int) and seq > expected_seq:
                why = f"entries {expected_seq}..{seq - 1} are missing (deleted?)"
            elif isinstance(seq, int) and seq < expected_seq:
                why = f"out of order: seq {seq} after {expected_seq - 1} (reordered or inserted?)"
            else:
                why = "does not link to the entry before it (inserted, reordered or edited?)"
            return count, Problem(position, seq, why)
        if seq != expected_seq:
            return count, Problem(position, seq, f"expected seq {expected_seq}")
        if entry_hash(entry) != entry.get("hash"):
            return count, Problem(position, seq, "content does not match its hash (edited)")
        prev_hash = entry["hash"]
        expected_seq += 1
    return count, None


def read_jsonl(lines: Iterable[str]) -> Iterator[dict]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {number} is not JSON: {exc.msg}") from None
        if not isinstance(value, dict):
            raise ValueError(f"line {number} is not an audit entry")
        yield value


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: verify.py AUDIT.jsonl", file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as fh:
            count, problem = verify(read_jsonl(fh))
    except (OSError, ValueError) as exc:
        print(f"cannot read {argv[1]}: {exc}", file=sys.stderr)
        return 2
    if problem is not None:
        print(f"FAILED: {problem}")
        return 1
    print(f"OK: {count} entries, chain intact")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
