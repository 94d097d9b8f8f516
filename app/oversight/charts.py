"""Charts of the county report, drawn on the server: geometry only, the template writes the
inline ``<svg>`` (no script, no style attribute: classes of app.css colour it, CSP holds).

Each chart carries its title and a description for screen readers, and every bar its number
as text beside it; the report's tables hold the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from app.oversight.report import DAY_BUCKETS, CountyReport, Figures

WIDTH = 640
LABEL_WIDTH = 130  # names of townships / villages, left of the bars
VALUE_ROOM = 48  # the number written after the longest bar
BAR = 9
GAP = 14


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    #: css class: settled / land / homestead / shares / days
    kind: str
    value: int
    #: what the bar is, for its <title>
    label: str
    text_x: float
    text_y: float


@dataclass(frozen=True)
class Group:
    label: str
    x: float
    y: float
    bars: list[Bar]


@dataclass(frozen=True)
class Chart:
    title: str
    description: str
    width: int
    height: int
    groups: list[Group]
    #: (css class, words) of each kind of bar
    legend: list[tuple[str, str]]


def _series() -> list[tuple[str, str]]:
    return [
        ("settled", _("Settled persons")),
        ("land", _("Kept their land contract")),
        ("homestead", _("Kept their homestead")),
        ("shares", _("Kept their shares")),
    ]


def _values(f: Figures) -> list[int]:
    return [f.settled_persons, f.land.kept, f.homestead.kept, f.shares.kept]


def kept_chart(report: CountyReport) -> Chart:
    """Per township (per village when the report is of one township): settled persons and how
    many kept each right, as horizontal bars."""
    if report.township_code is None:
        rows = [(t.name, t.subtotal) for t in report.townships]
        over = _("township")
    else:
        rows = [(v.name, v.figures) for v in report.villages]
        over = _("village")
    series = _series()
    top = max([max(_values(f)) for _n, f in rows] + [1])
    scale = (WIDTH - LABEL_WIDTH - VALUE_ROOM) / top
    groups = []
    y = 10.0
    for name, figures in rows:
        bars = []
        for i, ((kind, words), value) in enumerate(zip(series, _values(figures), strict=True)):
            by = y + i * BAR
            w = value * scale
            bars.append(
                Bar(
                    x=LABEL_WIDTH,
                    y=by,
                    width=round(w, 1),
                    height=BAR - 1,
                    kind=kind,
                    value=value,
                    label=f"{name}: {words} {value}",
                    text_x=round(LABEL_WIDTH + w + 4, 1),
                    text_y=by + BAR - 1,
                )
            )
        groups.append(Group(label=name, x=LABEL_WIDTH - 6, y=y + 2 * BAR + 3, bars=bars))
        y += len(series) * BAR + GAP
    return Chart(
        title=_("Settled persons and the rights they kept, by %(over)s", over=over),
        description=_(
            "For each %(over)s: settled persons, and how many of them kept their land contract, "
            "their homestead and their shares. The numbers are written beside the bars and in "
            "the table below.",
            over=over,
        ),
        width=WIDTH,
        height=int(y) + 4,
        groups=groups,
        legend=series,
    )


def days_chart(report: CountyReport) -> Chart:
    """How long after settling the registered exits came: a bar per span of days."""
    counts = [0] * len(DAY_BUCKETS)
    for days in report.days_to_exit:
        for i, (upper, _label) in enumerate(DAY_BUCKETS):
            if upper is None or days <= upper:
                counts[i] += 1
                break
    height = 220
    base = height - 40
    slot = (WIDTH - 20) / len(DAY_BUCKETS)
    top = max(counts + [1])
    groups = []
    for i, ((_upper, label), value) in enumerate(zip(DAY_BUCKETS, counts, strict=True)):
        h = value * (base - 30) / top
        x = 10 + i * slot
        groups.append(
            Group(
                label=str(label),
                x=round(x + slot / 2, 1),
                y=base + 18,
                bars=[
                    Bar(
                        x=round(x + slot * 0.2, 1),
                        y=round(base - h, 1),
                        width=round(slot * 0.6, 1),
                        height=round(h, 1),
                        kind="days",
                        value=value,
                        label=f"{label}: {value}",
                        text_x=round(x + slot / 2, 1),
                        text_y=round(base - h - 4, 1),
                    )
                ],
            )
        )
    return Chart(
        title=_("Days from settlement to a registered exit or transfer"),
        description=_(
            "How many registered exits and transfers by settled persons came within each span "
            "of days after the holder settled in town (%(n)s in all).",
            n=len(report.days_to_exit),
        ),
        width=WIDTH,
        height=height,
        groups=groups,
        legend=[("days", _("Exits and transfers registered"))],
    )
