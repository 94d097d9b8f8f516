"""The deployment's projected CRS, applied to every geometry column."""

from __future__ import annotations

from geoalchemy2 import Geometry

_registry_types: list[Geometry] = []
_srid = 4547


def registry_geometry(geometry_type: str = "MULTIPOLYGON") -> Geometry:
    """A geometry column in the registry CRS (REGISTRY_SRID), spatially indexed."""
    col = Geometry(geometry_type=geometry_type, srid=_srid, spatial_index=True)
    _registry_types.append(col)
    return col


def apply_registry_srid(srid: int) -> None:
    global _srid
    _srid = int(srid)
    for col in _registry_types:
        col.srid = _srid


def registry_srid() -> int:
    return _srid
