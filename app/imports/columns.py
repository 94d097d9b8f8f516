"""Attribute columns of an import, as Arrow hands them over: text, numbers, yes/no flags.

A column is converted in one Arrow pass where its type allows (strings trimmed, integers cast),
cell by cell otherwise (a code stored as a float, bytes); numbers that are not numbers are
reported back with their cell, never guessed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def _text(value: Any) -> str | None:
    """A cell as text; None for null/empty. Integral numbers lose their ".0"."""
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).strip()
    return text or None


def stored_code(code: str | None) -> str | None:
    """A code as staging keeps it (at most 64 characters)."""
    return code[:64] if code else None


def _number(value: Any) -> float | None | str:
    """A numeric cell as float; None for null; the original text when it is not a number."""
    if value is None:
        return None
    if isinstance(value, int | float | np.number):
        v = float(value)
        return None if math.isnan(v) else v
    text = str(value).strip().replace(",", "")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return str(value)


#: NY/T 2539 是否 codes and the usual spellings of yes and no.
YES = {"1", "是", "Y", "YES", "TRUE", "T"}
NO = {"2", "0", "否", "N", "NO", "FALSE", "F"}


def parse_flag(value: Any) -> bool | None:
    """NY/T 2539 是否 codes (1 = yes, 2 = no) and the usual spellings; None if unreadable."""
    text = _text(value)
    if text is None:
        return False
    upper = text.upper()
    if upper in YES:
        return True
    if upper in NO:
        return False
    return None


def text_column(values: Any) -> tuple[list[str | None], Any]:
    """A column as text cells (see ``_text``) and, for string columns, the trimmed Arrow array.

    String and integer columns are converted by Arrow in one pass; anything else (a code stored
    as a float, bytes) cell by cell. The Arrow array lets callers measure lengths without Python.
    """
    arr = arrow(values)
    kind = arr.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        trimmed = pc.utf8_trim_whitespace(arr)
        trimmed = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, kind), trimmed)
        return trimmed.to_pylist(), trimmed
    if pa.types.is_integer(kind):
        cast = pc.cast(arr, pa.string())
        return cast.to_pylist(), cast
    return [_text(v) for v in arr.to_pylist()], None


def number_column(values: Any) -> tuple[np.ndarray, list[tuple[int, Any]]]:
    """A column as float64 (NaN where empty) and the cells that are not numbers ``(i, cell)``."""
    arr = arrow(values)
    if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type):
        out = pc.fill_null(pc.cast(arr, pa.float64()), math.nan)
        return np.asarray(out.to_numpy(zero_copy_only=False), dtype=float), []
    cells = arr.to_pylist()
    out = np.full(len(cells), math.nan)
    bad: list[tuple[int, Any]] = []
    for i, cell in enumerate(cells):
        value = _number(cell)
        if isinstance(value, str):
            bad.append((i, value))
        elif value is not None:
            out[i] = value
    return out, bad


def arrow(values: Any) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    if isinstance(values, pa.Array):
        return values
    return pa.array(list(values), from_pandas=True)


def longer_than(trimmed: Any, values: list[str | None], limit: int) -> np.ndarray:
    """Indices of cells longer than ``limit`` characters."""
    if trimmed is not None:
        long = pc.fill_null(pc.greater(pc.utf8_length(trimmed), limit), False)
        return np.flatnonzero(long.to_numpy(zero_copy_only=False))
    return np.array([i for i, v in enumerate(values) if v is not None and len(v) > limit], int)


def nullable(values: np.ndarray) -> list[float | None]:
    """Floats for a staging row, None for NaN."""
    return [None if v != v else v for v in values.tolist()]  # noqa: PLR0124 - NaN test
