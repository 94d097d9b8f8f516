"""Overlaps inside a parcels file across its windows, and the findings they become.

``OverlapTracker`` keeps only each earlier feature's bounding box (and the previous window's
geometries) and fetches back from staging the few earlier geometries a new window meets;
``overlap_problems`` and ``group_problem`` word what it finds (geo.overlap_findings: pairs, and
groups of duplicate or stacked plots reported once).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import shapely

from app.geo import geometry as geo
from app.imports.problems import Problem

#: A plot in a group finding: (feature index, code).
Member = tuple[int, str | None]

#: How many plots of a group the finding names.
GROUP_SHOWN = 5


class OverlapTracker:
    """Finds overlaps between a new window and all earlier ones, keeping only bounding boxes.

    Memory is 40 bytes per valid earlier feature (four float64 bounds and the index), plus the
    previous window's geometries: files are mostly written in spatial order, so most neighbours
    across a window boundary are in the window just before. Older candidates (whose box meets a
    new one) are fetched from staging.
    """

    def __init__(self) -> None:
        self._bounds = np.empty((0, 4))
        self._idx = np.empty(0, dtype=np.int64)
        self._n = 0
        self._recent: dict[int, tuple[Any, str | None]] = {}

    def _append(self, bounds: np.ndarray, idx: np.ndarray) -> None:
        need = self._n + len(idx)
        if need > len(self._idx):
            cap = max(need, 2 * len(self._idx), 1024)
            nb = np.empty((cap, 4))
            ni = np.empty(cap, dtype=np.int64)
            nb[: self._n] = self._bounds[: self._n]
            ni[: self._n] = self._idx[: self._n]
            self._bounds, self._idx = nb, ni
        self._bounds[self._n : need] = bounds
        self._idx[self._n : need] = idx
        self._n = need

    def extent(self) -> tuple[float, float, float, float] | None:
        """Bounds of every valid feature seen so far (None before the first)."""
        if not self._n:
            return None
        b = self._bounds[: self._n]
        return (
            float(b[:, 0].min()),
            float(b[:, 1].min()),
            float(b[:, 2].max()),
            float(b[:, 3].max()),
        )

    def add_and_check(
        self,
        geoms: np.ndarray,
        idx: np.ndarray,
        tolerance: float,
        fetch: Callable[[list[int]], dict[int, tuple[Any, str | None]]],
        codes: list[str | None],
    ) -> tuple[
        list[tuple[int, str | None, int, float]], list[tuple[str, list[Member], float | None]]
    ]:
        """Overlaps of the new window with earlier ones beyond ``tolerance``: pairs (earlier
        idx, its code, new idx, area) and groups (kind, members (idx, code), area) that have
        members on both sides (see geo.overlap_findings); then remember the new window's boxes.
        ``geoms`` are the window's valid polygonal geometries, ``idx`` their indices and
        ``codes`` their codes; ``fetch`` returns {idx: (geometry, code)} of earlier features."""
        pairs: list[tuple[int, str | None, int, float]] = []
        groups: list[tuple[str, list[Member], float | None]] = []
        if len(geoms) and self._n:
            nb = shapely.bounds(geoms)
            minx, miny = nb[:, 0].min(), nb[:, 1].min()
            maxx, maxy = nb[:, 2].max(), nb[:, 3].max()
            old = self._bounds[: self._n]
            near = np.flatnonzero(
                (old[:, 0] <= maxx)
                & (old[:, 2] >= minx)
                & (old[:, 1] <= maxy)
                & (old[:, 3] >= miny)
            )
            if near.size:
                tree = shapely.STRtree(geoms)
                boxes = shapely.box(old[near, 0], old[near, 1], old[near, 2], old[near, 3])
                qi, ti = tree.query(boxes)
                if qi.size:
                    old_idx = np.unique(self._idx[near[qi]])
                    new_local = np.unique(ti)
                    wanted = old_idx.tolist()
                    earlier = {i: self._recent[i] for i in wanted if i in self._recent}
                    older = [i for i in wanted if i not in earlier]
                    if older:
                        earlier.update(fetch(older))
                    old_list = [i for i in old_idx.tolist() if i in earlier]
                    group = np.empty(len(old_list) + len(new_local), dtype=object)
                    group[: len(old_list)] = [earlier[i][0] for i in old_list]
                    group[len(old_list) :] = geoms[new_local]
                    k = len(old_list)

                    def member(a: int) -> Member:
                        if a < k:
                            return old_list[a], earlier[old_list[a]][1]
                        return int(idx[new_local[a - k]]), codes[new_local[a - k]]

                    found = geo.overlap_findings(group, tolerance)
                    for a, b, area in found.pairs:
                        if a < k <= b:  # one earlier, one new: pairs inside a window are known
                            first = old_list[a]
                            pairs.append(
                                (first, earlier[first][1], int(idx[new_local[b - k]]), area)
                            )
                    for grp in found.groups:
                        if grp.members[0] < k <= grp.members[-1]:
                            groups.append((grp.kind, [member(a) for a in grp.members], grp.area_m2))
        if len(geoms):
            self._append(shapely.bounds(geoms), idx)
        self._recent = dict(zip(idx.tolist(), zip(geoms, codes, strict=True), strict=True))
        return pairs, groups


def overlap_problems(i: int, ci: str | None, j: int, cj: str | None, area: float) -> list[Problem]:
    zh = "与文件中第 {o} 个地块（{c}）重叠 {a:.2f} 平方米，超过容差"
    en = "Overlaps feature {o} ({c}) of the file by {a:.2f} m², more than the tolerance"
    return [
        Problem(
            a,
            ca,
            "overlap",
            "error",
            zh.format(o=b, c=cb or "-", a=area),
            en.format(o=b, c=cb or "-", a=area),
            other_idx=b,
            other_code=cb,
            area_m2=area,
        )
        for a, ca, b, cb in ((i, ci, j, cj), (j, cj, i, ci))
    ]


def group_problem(kind: str, members: list[Member], area: float | None) -> Problem:
    """One finding for a group of overlapping plots (geo.OverlapGroup): how many, the first
    few by row and code. Every member counts as faulty; only this one row is reported."""
    members = sorted(members)
    n = len(members)
    shown = members[:GROUP_SHOWN]
    zh_list = "、".join(f"第 {i} 个（{c or '-'}）" for i, c in shown)
    en_list = ", ".join(f"feature {i} ({c or '-'})" for i, c in shown)
    if n > GROUP_SHOWN:
        zh_list += f" 等 {n} 个"
        en_list += f" and {n - GROUP_SHOWN} more"
    if kind == "duplicate":
        problem = "duplicate_plots"
        zh = f"{n} 个地块的边界完全相同（每块 {area or 0:.2f} 平方米）：{zh_list}"
        en = f"{n} plots have exactly the same boundary ({area or 0:.2f} m² each): {en_list}"
    else:
        problem = "stacked_plots"
        zh = f"{n} 个地块叠放在一起、互相重叠，超过容差：{zh_list}"
        en = f"{n} plots lie on top of one another, overlapping beyond the tolerance: {en_list}"
    (first, code), second = members[0], members[1]
    return Problem(
        first,
        code,
        problem,
        "error",
        zh,
        en,
        other_idx=second[0],
        other_code=second[1],
        area_m2=area,
    )
