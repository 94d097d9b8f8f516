"""The chain head last seen by ``flask audit verify``, kept outside the database (R16).

A hash chain shows that nothing was changed *inside* it; it cannot show that its last entries
were cut off, or that someone able to write the table rewrote an entry and re-hashed every entry
after it. Until signed checkpoints exist, each successful verification records the head it saw
(sequence number and hash) in a file, and the next one checks that the entry is still there,
unchanged. The file is written atomically and only after a verification that found nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

FORMAT = "sanquan-audit-head-1"


class HeadFileUnreadable(ValueError):
    """The head file exists but cannot be read as one."""


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str
    verified_at: str = ""


def read_head(path: Path) -> Head | None:
    """The head recorded at ``path``; None when no verification has recorded one yet."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise HeadFileUnreadable(f"cannot read {path}: {exc}") from None
    if (
        not isinstance(data, dict)
        or data.get("format") != FORMAT
        or not isinstance(data.get("seq"), int)
        or not isinstance(data.get("hash"), str)
    ):
        raise HeadFileUnreadable(f"{path} is not an audit head file")
    return Head(seq=data["seq"], hash=data["hash"], verified_at=str(data.get("verified_at", "")))


def write_head(path: Path, head: Head) -> None:
    """Replace the file at ``path`` atomically: a reader sees the old head or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "format": FORMAT,
        "seq": head.seq,
        "hash": head.hash,
        "verified_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    fd, tmp = tempfile.mkstemp(prefix=".audit_head-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(body, fh)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Watch:
    """Passes entries through unchanged, noting the last one and the one at ``seen.seq``."""

    def __init__(self, entries: Iterable[dict], seen: Head | None) -> None:
        self._entries = entries
        self._seen_seq = seen.seq if seen else None
        self.last: Head | None = None
        self.at_seen: str | None = None  # the hash now stored at the seen head's seq

    def __iter__(self) -> Iterator[dict]:
        for entry in self._entries:
            if entry.get("seq") == self._seen_seq:
                self.at_seen = entry.get("hash")
            self.last = Head(seq=entry.get("seq"), hash=entry.get("hash"))
            yield entry


CUT = "cut"
REWRITTEN = "rewritten"


def lost(seen: Head | None, count: int, at_seen: str | None) -> str | None:
    """R16: CUT, REWRITTEN or None (intact) since ``seen`` was recorded.

    ``count`` entries were verified as one intact chain; ``at_seen`` is the hash now stored
    at the seen head's sequence number.
    """
    if seen is None:
        return None
    if count < seen.seq:
        return CUT
    if at_seen != seen.hash:
        return REWRITTEN
    return None


def describe(kind: str, seen: Head, count: int) -> str:
    """What ``lost`` found, in plain words (for the command line)."""
    when = f" (checked {seen.verified_at})" if seen.verified_at else ""
    if kind == CUT:
        missing = seen.seq - count
        return (
            f"the audit log ends at entry {count}, but the last check{when} saw {seen.seq} "
            f"entries: the last {missing} {'entry has' if missing == 1 else 'entries have'} "
            "been removed"
        )
    return (
        f"entry {seen.seq}, the last one seen by the previous check{when}, has changed "
        "since: entries up to it have been rewritten and the chain hashed again"
    )
