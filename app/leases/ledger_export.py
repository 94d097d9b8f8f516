"""The ledger of leases as a spreadsheet (XLSX): the summary by township, village and lessee
type with its subtotals and total, and the leases one by one. Every text cell goes through
``app.core.spreadsheets``, so a lessee named "=1+1" opens as that text, never as a formula. No
ID numbers: names, types, terms, areas and rents."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from flask_babel import gettext as _

from app.core.spreadsheets import xlsx_row
from app.leases.ledger import Figures, Ledger, method_label, use_label


def summary_header() -> list[str]:
    return [
        _("Township"),
        _("Village"),
        _("Lessee type"),
        _("Number of leases"),
        _("Area (mu)"),
        _("Mean term (years)"),
        _("Yearly rent (yuan)"),
    ]


def _figures(f: Figures) -> list[Any]:
    return [f.leases, f.area_mu, f.mean_term_years, f.rent_yuan]


def summary_rows(ledger: Ledger) -> Iterator[list[Any]]:
    """Each village's rows by lessee type and its subtotal, each township's subtotal, the total;
    then the total by lessee type."""
    for t in ledger.townships:
        for v in t.villages:
            for k in v.kinds:
                yield [t.name, v.name, k.label, *_figures(k.figures)]
            yield [t.name, v.name, _("Village subtotal"), *_figures(v.subtotal)]
        yield [t.name, "", _("Township subtotal"), *_figures(t.subtotal)]
    yield [_("Total"), "", "", *_figures(ledger.total)]
    for k in ledger.kinds:
        yield [_("Total"), "", k.label, *_figures(k.figures)]


def lease_header() -> list[str]:
    return [
        _("Township"),
        _("Village"),
        _("Lease contract number"),
        _("Holder household"),
        _("Lessee"),
        _("Lessee type"),
        _("Method"),
        _("Use"),
        _("Starts on"),
        _("Ends on"),
        _("Term (years)"),
        _("Area (mu)"),
        _("Rent per mu per year (yuan)"),
        _("Yearly rent (yuan)"),
    ]


def lease_rows(ledger: Ledger) -> Iterator[list[Any]]:
    for t in ledger.townships:
        for v in t.villages:
            for line in v.lines:
                yield [
                    t.name,
                    v.name,
                    line.number,
                    line.holder,
                    line.lessee,
                    line.kind_label,
                    method_label(line.method),
                    use_label(line.use),
                    line.starts_on,
                    line.ends_on,
                    line.term_years,
                    line.area_mu,
                    line.rent_yuan_per_mu,
                    line.rent_yuan,
                ]


def to_xlsx(ledger: Ledger) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    summary = wb.create_sheet(_("Summary"))
    summary.append(xlsx_row(summary, [_("Leases in force on %(day)s", day=ledger.as_of)]))
    summary.append(xlsx_row(summary, summary_header()))
    for row in summary_rows(ledger):
        summary.append(xlsx_row(summary, row))
    leases = wb.create_sheet(_("The leases"))
    leases.append(xlsx_row(leases, lease_header()))
    for row in lease_rows(ledger):
        leases.append(xlsx_row(leases, row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
