"""The codes in a window of a parcels file: plot codes (DKBM) and household codes (CBFBM),
checked against the national formats (app.core.codes) and the collective they must belong to.
Each finding goes to ``err`` (see ``validate.ParcelValidator._attributes``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

from app.core import codes
from app.imports.columns import arrow, stored_code, text_column


def plot_codes(
    s: Any,
    col: dict[str, Any],
    n: int,
    codes_list: list[str | None],
    err: Callable,
    check: bool,
) -> tuple[list[str | None], list[int | None]]:
    """DKBM -> (the code as stored, the collective it names). ``s``: the ParcelSettings
    (``collective_id``, ``fbfbm`` of a collective's import; ``collectives`` of a county's)."""
    dkbms: list[str | None] = [stored_code(c) for c in codes_list]
    collective_ids: list[int | None] = [s.collective_id] * n
    if not check or "DKBM" not in col:
        return dkbms, collective_ids
    numeric = pa.types.is_floating(arrow(col["DKBM"]).type)
    prefix = s.fbfbm
    for i, code in enumerate(codes_list):
        if code is None:
            err(i, "dkbm_missing", "地块编码（DKBM）为空", "The plot code (DKBM) is empty")
            continue
        if numeric:
            err(
                i,
                "dkbm_number",
                "地块编码以数字类型存储，19 位编码会丢失精度；请将该字段改为文本",
                "The plot code is stored as a number, which loses digits of a "
                "19-digit code; store the field as text",
            )
            continue
        if not (
            len(code) == 19
            and code.isascii()
            and code.isdigit()
            and code[14:] != "00000"
            and (prefix is None or code.startswith(prefix))
        ):
            try:
                code = codes.validate_dkbm(code, prefix)
            except codes.CodeError as exc:
                err(i, f"dkbm_{exc.code}", exc.message_zh, exc.message_en)
                continue
            dkbms[i] = code
        if prefix is None:
            cid = s.collectives.get(code[:14])
            collective_ids[i] = cid
            if cid is None:
                err(
                    i,
                    "dkbm_collective",
                    f"地块编码前 14 位 {code[:14]} 不是本县已登记的发包方编码",
                    f"The first 14 digits of the plot code, {code[:14]}, are not the "
                    "code (FBFBM) of a registered collective",
                )
    return dkbms, collective_ids


def household_codes(
    fbfbm: str | None, column: Any, dkbms: list[str | None], err: Callable, check: bool
) -> list[str | None]:
    """CBFBM -> the code as stored, checked against the collective it must belong to."""
    out: list[str | None] = []
    for i, value in enumerate(text_column(column)[0]):
        if value is not None and check:
            code = dkbms[i]
            owner = fbfbm or (code[:14] if code and len(code) >= 14 else None)
            try:
                value = codes.validate_cbfbm(value, owner)
            except codes.CodeError as exc:
                err(i, f"cbfbm_{exc.code}", exc.message_zh, exc.message_en)
        out.append(value[:64] if value is not None else None)
    return out
