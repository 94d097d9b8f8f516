"""Helpers for the import tests: generated NY/T 2539 files, the CLI, a private import store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.import_bench import generate_plots
from tests.conftest import COLLECTIVE_A, COLLECTIVE_B

DATA = Path(__file__).resolve().parent.parent / "data" / "parcels"
# A corner of Shixing inside EPSG:4547's area of use; B's plots lie elsewhere.
ORIGIN_A = (507_000.0, 2_755_000.0)
ORIGIN_B = (520_000.0, 2_770_000.0)


@pytest.fixture(autouse=True)
def _import_store(app, tmp_path, monkeypatch):
    """Uploaded files go to a per-test folder, never the repository's instance/."""
    monkeypatch.setitem(app.config, "IMPORT_STORE", str(tmp_path / "store"))
    monkeypatch.setitem(app.config, "IMPORT_RUNNER", "inline")
    yield


def nyt_file(tmp_path: Path, n: int = 30, *, name: str = "dk.geojson", **kw) -> tuple[Path, dict]:
    """A NY/T 2539 DK layer of ``n`` plots of collective A (unless told otherwise)."""
    path = tmp_path / name
    kw.setdefault("fbfbms", [COLLECTIVE_A])
    kw.setdefault("origin", ORIGIN_A)
    planted = generate_plots(path, n, **kw)
    return path, planted


class Cli:
    def __init__(self, app) -> None:
        self.app = app

    def run(self, *args: str):
        return self.app.test_cli_runner().invoke(args=[str(a) for a in args])

    def report(self, *args: str, tmp_path: Path) -> tuple[object, dict]:
        out = tmp_path / "report.json"
        if out.exists():
            out.unlink()
        result = self.run(*args, "--report", out)
        return result, json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}


@pytest.fixture
def cli(app) -> Cli:
    return Cli(app)


__all__ = ["COLLECTIVE_A", "COLLECTIVE_B", "DATA", "ORIGIN_A", "ORIGIN_B", "nyt_file"]
