"""A finding of an import check: one feature (or the whole file), a kind, in both languages.

Every check of a parcels or household file reports ``Problem``s; ``staging.ProblemLog`` stores
them in ``import_problem`` for the job's report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Problem:
    idx: int | None  # feature index in the file; None for the whole file
    code: str | None  # the feature's DKBM / CBFBM as read
    problem: str
    severity: str  # "error" | "warning"
    message_zh: str
    message_en: str
    other_idx: int | None = None
    other_code: str | None = None
    other_uid: int | None = None
    area_m2: float | None = None

    def row(self, job_id: int) -> dict[str, Any]:
        return {
            "job_id": job_id,
            "idx": self.idx,
            "code": self.code[:64] if self.code else self.code,
            "problem": self.problem,
            "severity": self.severity,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "other_idx": self.other_idx,
            "other_code": self.other_code,
            "other_uid": self.other_uid,
            "area_m2": self.area_m2,
        }
