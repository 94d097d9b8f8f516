"""The county's base tiles for maps (MAP_TILE_URL, MAP_TILE_KEY) and what the CSP must allow.

Maps work without tiles (and without the internet): the plots are drawn in the registry's CRS.
With tiles they are drawn over a Web Mercator (EPSG:3857) base such as Tianditu's, whose host then
joins the CSP's img-src and connect-src, and only then.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

_PLACEHOLDER = re.compile(r"\{[^}]*\}")


@dataclass(frozen=True)
class TileSource:
    url: str  # the XYZ template, its {key} filled
    origin: str | None  # what the CSP allows beside 'self' (None: served by this site)


def tile_source(config: Mapping[str, Any]) -> TileSource | None:
    """The configured base tiles, or None. A URL that is neither absolute http(s) nor a path on
    this site, or that lacks {z}, {x} or {y}, stops the start with the setting's name."""
    raw = (config.get("MAP_TILE_URL") or "").strip()
    if not raw:
        return None
    if not all(p in raw for p in ("{z}", "{x}", "{y}")) or any(c in raw for c in " ;'\""):
        raise RuntimeError("MAP_TILE_URL: give a tile URL with {z}, {x} and {y}")
    url = raw.replace("{key}", quote(str(config.get("MAP_TILE_KEY") or ""), safe=""))
    if url.startswith("/") and not url.startswith("//"):
        return TileSource(url, None)
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise RuntimeError("MAP_TILE_URL: give an http(s) URL or a path on this site")
    labels = parts.netloc.split(".")
    if any(_PLACEHOLDER.search(label) for label in labels[1:]):
        raise RuntimeError("MAP_TILE_URL: only the first label of the host may vary, as {0-7}")
    if _PLACEHOLDER.search(labels[0]):
        labels[0] = "*"  # t{0-7}.tianditu.gov.cn -> *.tianditu.gov.cn
    return TileSource(url, f"{parts.scheme}://{'.'.join(labels)}")


def content_security_policy(config: Mapping[str, Any]) -> str:
    """The strict CSP; the tile host is allowed for images and fetches only when configured."""
    source = tile_source(config)
    extra = f" {source.origin}" if source is not None and source.origin else ""
    return (
        f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:{extra}; "
        f"font-src 'self'; connect-src 'self'{extra}; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
