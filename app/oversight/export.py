"""The county report as a spreadsheet: XLSX (the village table and the exits list, two sheets)
and CSV (the village table). Every text cell goes through ``app.core.spreadsheets``, so a name
starting with "=" opens as that text, never as a formula. Names only: no codes, no ID numbers.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _

from app.core.spreadsheets import csv_writer, xlsx_row
from app.oversight.report import CountyReport, Figures, VillageRow


def _yes_no(value: bool | None) -> str:
    if value is None:
        return ""
    return _("Yes") if value else _("No")


def village_header() -> list[str]:
    return [
        _("Township"),
        _("Village"),
        _("Settled persons"),
        _("Settled households"),
        _("Held land contract on settling"),
        _("Still hold land contract"),
        _("Held homestead on settling"),
        _("Still hold homestead"),
        _("Held shares on settling"),
        _("Still hold shares"),
        _("Exits and transfers registered"),
        _("Median days from settlement to exit"),
        _("Settled households with an exit in the last 12 months"),
        _("Share of settled households with an exit"),
        _("Stands out"),
    ]


def _figures(f: Figures) -> list[Any]:
    return [
        f.settled_persons,
        f.settled_households,
        f.land.held,
        f.land.kept,
        f.homestead.held,
        f.homestead.kept,
        f.shares.held,
        f.shares.kept,
        f.exits,
        f.median_days_to_exit,
    ]


def _share(v: VillageRow) -> list[Any]:
    s = v.exit_share
    if s is None:
        return [None, None, _yes_no(v.stands_out)]
    share = None if s.share is None else s.share.quantize(Decimal("0.0001"))
    return [s.exited_households, share, _yes_no(v.stands_out)]


def village_rows(report: CountyReport) -> Iterator[list[Any]]:
    """Each village, then its township's subtotal; the county's (or township's) total last."""
    for t in report.townships:
        for v in t.villages:
            yield [t.name, v.name, *_figures(v.figures), *_share(v)]
        yield [t.name, _("Township subtotal"), *_figures(t.subtotal), None, None, ""]
    yield [_("Total"), "", *_figures(report.total), None, None, ""]


def exit_header() -> list[str]:
    return [
        _("Township"),
        _("Village"),
        _("Seller"),
        _("Right"),
        _("Kind of deal"),
        _("Declared on"),
        _("Declared by the holder in person online"),
        _("Co-holders' consents given"),
        _("Co-holders' consents needed"),
        _("Flags for review"),
        _("Review decision"),
        _("Holder interviewed in person"),
        _("State now"),
        _("Settled on"),
        _("Days from settlement to declaration"),
        _("Registered on"),
        _("Days from settlement to registration"),
    ]


def exit_rows(report: CountyReport) -> Iterator[list[Any]]:
    for e in report.exits:
        yield [
            e.township_name,
            e.village_name,
            e.seller,
            e.right_kind,
            e.deal_kind,
            e.declared_on,
            _yes_no(e.declared_by_holder),
            e.consents_given,
            e.consents_needed,
            "\n".join(e.flags),
            e.decision or "",
            _yes_no(e.interviewed),
            e.state,
            e.settled_on,
            e.days_to_declaration,
            e.registered_on,
            e.days_to_registration,
        ]


def to_xlsx(report: CountyReport) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    villages = wb.create_sheet(_("Village table"))
    villages.append(xlsx_row(villages, village_header()))
    for row in village_rows(report):
        villages.append(xlsx_row(villages, row))
    exits = wb.create_sheet(_("Exits and transfers"))
    exits.append(xlsx_row(exits, exit_header()))
    for row in exit_rows(report):
        exits.append(xlsx_row(exits, row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_csv(report: CountyReport) -> bytes:
    """The village table; UTF-8 with a byte-order mark so that Excel and WPS read the names."""
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(village_header())
    for row in village_rows(report):
        writer.writerow(
            [v.isoformat() if hasattr(v, "isoformat") else ("" if v is None else v) for v in row]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
