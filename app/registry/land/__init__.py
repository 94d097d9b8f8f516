"""Contracted land (土地承包经营权): contracts, plots and the quality checks on their geometry.

Every rule about contracts and plots lives here, once; the HTML views and the JSON API both call
these functions. They flush and never commit: the caller commits once per request.

* R01 the holder of a contract is a current household of the 发包方's collective, with at least
      one co-holder who is a member of that collective.
* R02 a contract runs at most 30 years on arable land, 50 on grassland and 70 on forest land
      (Art. 21) and is renewed within the same cap; no term, lease or transfer may run past
      what remains of it (``check_within_term``, also used by the marketplace).
* R01 reserve land (机动地, class 22) is the collective's: never in a household's contract,
      never counted in a contract's area.
* Plots: the DKBM belongs to the collective and is unique among current plots; a geometry must
  come with its CRS, be valid (or be repaired with the user's consent, never silently) and is
  stored in the registry CRS; overlaps with other current plots beyond a tolerance become
  findings to review ("flag, don't block"); neighbours that only touch are fine.

The package, by part: ``common`` (shared helpers), ``contracts`` (R01, R02: create, renew, the
renewal window, term checks, contract candidates), ``geometry`` (parse, CRS, validity, repair),
``overlaps`` (overlap findings), ``plots`` (add, revise, assign, move), ``findings`` (decide,
labels, lists) and ``reading`` (a contract's plots, ``?as_of=``). Import from here:
``from app.registry import land`` then ``land.add_plot(...)``.
"""

from app.registry.land.common import _area as _area
from app.registry.land.common import _current_plot as _current_plot
from app.registry.land.common import _source as _source
from app.registry.land.common import _text as _text
from app.registry.land.common import _uid as _uid
from app.registry.land.common import add_years, area_warnings, tolerance_m2
from app.registry.land.contracts import (
    ARABLE_TERM_YEARS,
    TERM_CAP_YEARS,
    ContractCandidate,
    RenewalWindow,
    check_no_return_in_term,
    check_within_term,
    contract_candidates,
    contract_of_household,
    create_contract,
    household_candidates,
    renew_contract,
    renewal_window,
    renewal_window_years,
)
from app.registry.land.contracts import _sync_contract_area as _sync_contract_area
from app.registry.land.findings import (
    DECISIONS,
    FINDING_STATES,
    collective_findings,
    decide_finding,
    finding_state_label,
    findings_of_plot,
)
from app.registry.land.geometry import (
    MIN_PLOT_AREA_M2,
    GeometryRejected,
    parse_geometry,
    prepare_geometry,
)
from app.registry.land.geometry import _declared_crs as _declared_crs
from app.registry.land.geometry import _unreadable as _unreadable
from app.registry.land.overlaps import _record_overlaps as _record_overlaps
from app.registry.land.overlaps import _serialise_geometry_writes as _serialise_geometry_writes
from app.registry.land.plots import (
    PlotChange,
    add_plot,
    assign_plot_to_contract,
    update_plot_attributes,
    update_plot_geometry,
)
from app.registry.land.plots import _move_plot as _move_plot
from app.registry.land.reading import (
    AS_OF_TIMES,
    contract_plots,
    may_read_record_time,
    parse_as_of,
)

# The private names above (``_sync_contract_area``, ``_move_plot``…) are used by the registry's
# other services (people, moves, plot_changes) and by tests; they stay reachable as before but
# are not part of ``__all__``.

__all__ = [
    "AS_OF_TIMES",
    "ARABLE_TERM_YEARS",
    "DECISIONS",
    "FINDING_STATES",
    "MIN_PLOT_AREA_M2",
    "TERM_CAP_YEARS",
    "ContractCandidate",
    "GeometryRejected",
    "PlotChange",
    "RenewalWindow",
    "add_plot",
    "check_no_return_in_term",
    "add_years",
    "area_warnings",
    "assign_plot_to_contract",
    "check_within_term",
    "collective_findings",
    "contract_candidates",
    "contract_of_household",
    "contract_plots",
    "create_contract",
    "decide_finding",
    "finding_state_label",
    "findings_of_plot",
    "household_candidates",
    "may_read_record_time",
    "parse_as_of",
    "parse_geometry",
    "prepare_geometry",
    "renew_contract",
    "renewal_window",
    "renewal_window_years",
    "tolerance_m2",
    "update_plot_attributes",
    "update_plot_geometry",
]
