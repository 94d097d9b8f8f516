"""The CRS a parcels file is judged in (``validate.ParcelValidator``'s plan).

CRS decision (documented in the report as ``crs``): geometry is judged in the registry CRS when
the data lies inside that CRS's area of use (pyproj ``CRS.area_of_use``). Data outside it can never
be promoted (a file-level error says why): a Gauss-Krüger zone far from its central meridian
distorts areas beyond any tolerance, or cannot project at all. A dry run still judges such data
honestly, in the file's own CRS when it is projected, else in the UTM zone of the data, so that
validity, areas and overlap tolerances mean square metres.
"""

from __future__ import annotations

import functools

from pyproj import CRS, Transformer
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info


@functools.lru_cache(maxsize=8)
def _to_lonlat(src: CRS) -> Transformer:
    """A transformer to lon/lat (building one costs ~0.1 s of PROJ database lookups)."""
    return Transformer.from_crs(src, "EPSG:4326", always_xy=True)


def lonlat_bounds(bounds: tuple[float, float, float, float], src: CRS) -> tuple[float, ...]:
    return tuple(_to_lonlat(src).transform_bounds(*bounds, densify_pts=21))


def inside_area_of_use(lonlat: tuple[float, ...], crs: CRS) -> bool:
    aou = crs.area_of_use
    if aou is None:
        return True
    w, s, e, n = lonlat
    return w >= aou.west and e <= aou.east and s >= aou.south and n <= aou.north


def utm_for(lonlat: tuple[float, ...]) -> CRS:
    w, s, e, n = lonlat
    found = query_utm_crs_info(
        datum_name="WGS 84",
        area_of_interest=AreaOfInterest(
            west_lon_degree=w, south_lat_degree=s, east_lon_degree=e, north_lat_degree=n
        ),
    )
    if not found:  # pragma: no cover - every point on earth has a UTM zone
        return CRS.from_epsg(3857)
    return CRS.from_authority(found[0].auth_name, found[0].code)


def crs_label(crs: CRS) -> str:
    auth = crs.to_authority(min_confidence=70)
    return f"{auth[0]}:{auth[1]}" if auth else crs.name
