"""Hostile uploads: files that try to make the server read other files, reach the network, or
exhaust it. Through the web form and the API, on both databases.

Every file references a canary (a CSV file holding a random token, outside the import store)
and a real TCP listener on 127.0.0.1 that counts connections. Whatever the file is, the token
never comes back in any response (upload, job page, field mapping page, report download, API),
in the job's row or its problems, or in the audit trail; and nothing connects to the listener.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import socket
import sqlite3
import stat
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyogrio
import pytest
from sqlalchemy import func, select, text

from app.audit.models import AuditEntry
from app.extensions import db
from app.imports import readers
from app.imports.models import ImportJob, ImportProblem
from app.registry.models import Plot
from tests.conftest import token_for
from tests.imports.conftest import nyt_file

pytestmark = pytest.mark.hostile


# ------------------------------------------------------------------------------------------
# The canary and the listener
# ------------------------------------------------------------------------------------------


@dataclass
class Canary:
    token: str
    csv: Path  # a CSV file whose one field is named the token and holds it


@pytest.fixture
def canary(tmp_path) -> Canary:
    token = "CANARY" + secrets.token_hex(12)
    folder = tmp_path / "private"
    folder.mkdir()
    path = folder / "secret.csv"
    path.write_text(f"{token}\n{token}\n", encoding="utf-8")  # a field name and a value
    return Canary(token=token, csv=path)


class Listener:
    """A TCP server on 127.0.0.1 that accepts and counts every connection."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def url(self, path: str = "data") -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    # The listener works: a connection is counted (and then the count starts from zero).
    socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
    for _ in range(50):
        if server.connections:
            break
        threading.Event().wait(0.05)
    assert server.connections == 1
    server.connections = 0
    yield server
    server.close()


# ------------------------------------------------------------------------------------------
# Hostile files: (file name, bytes, import kind)
# ------------------------------------------------------------------------------------------


def _vrt(canary: Canary, listener: Listener) -> bytes:
    return (
        "<OGRVRTDataSource>"
        f'<OGRVRTLayer name="plots"><SrcDataSource>CSV:{canary.csv}</SrcDataSource>'
        "<SrcLayer>secret</SrcLayer></OGRVRTLayer>"
        f'<OGRVRTLayer name="remote"><SrcDataSource>/vsicurl/{listener.url("x.csv")}'
        "</SrcDataSource></OGRVRTLayer>"
        "</OGRVRTDataSource>"
    ).encode()


def _gdalg(source: str) -> bytes:
    return json.dumps(
        {
            "type": "gdal_streamed_alg",
            "command_line": f"gdal vector pipeline ! read {source}",
            "relative_paths_relative_to_this_file": False,
        }
    ).encode()


def _wfs(listener: Listener) -> bytes:
    return (
        f"<OGRWFSDataSource><URL>{listener.url('wfs')}?SERVICE=WFS</URL></OGRWFSDataSource>"
    ).encode()


def _gml_remote_schema(listener: Listener) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<ogr:FeatureCollection xmlns:ogr="http://ogr.maptools.org/" '
        'xmlns:gml="http://www.opengis.net/gml" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="http://ogr.maptools.org/ {listener.url("schema.xsd")}">'
        '<gml:featureMember><ogr:plots fid="plots.0"><ogr:DKBM>1</ogr:DKBM>'
        "</ogr:plots></gml:featureMember></ogr:FeatureCollection>"
    ).encode()


def _zip(members: dict[str, bytes], *, links: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in links:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, data)
    return buf.getvalue()


def _good_gpkg(tmp_path: Path) -> Path:
    src, _ = nyt_file(tmp_path, 3, name="base.geojson")
    path = tmp_path / "base.gpkg"
    if path.exists():
        path.unlink()
    meta, _, geometry, values = pyogrio.raw.read(str(src))
    pyogrio.raw.write(
        str(path),
        geometry,
        values,
        fields=meta["fields"],
        crs="EPSG:4547",
        driver="GPKG",
        geometry_type="Polygon",
    )
    return path


def _with_schema(path: Path, *statements: str, register: str | None = None) -> bytes:
    """``path``'s bytes after writing ``statements`` straight into its schema (sqlite_master),
    as an attacker's own tools would; ``register`` is listed as a feature table."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA writable_schema = ON")
    for i, sql in enumerate(statements):
        kind = "view" if sql.lstrip().upper().startswith("CREATE VIEW") else "table"
        con.execute(
            "INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) "
            "VALUES (?, ?, ?, 0, ?)",
            (kind, f"evil{i}", f"evil{i}", sql),
        )
    if register:
        con.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
            "VALUES (?, 'features', ?, 4547)",
            (register, register),
        )
        con.execute(
            "INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', 'POLYGON', 4547, 0, 0)",
            (register,),
        )
    con.commit()
    con.close()
    return path.read_bytes()


def _live_database(app) -> str:
    """The app's own database file (SQLite), else a path where one would be."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///"):
        return url.split("sqlite:///", 1)[1]
    return str(Path(app.instance_path) / "sanquan.sqlite")


def _xlsx(doctype: str, cell: str) -> bytes:
    """A CBF workbook whose sheet declares ``doctype`` and holds ``cell`` (raw XML text) as
    the first household's code."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "CBF"
    wb.active.append(["CBFBM", "CBFMC"])
    wb.active.append(["PLACEHOLDER", "y"])
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = data.decode("utf-8").replace("PLACEHOLDER", cell)
                if body.startswith("<?xml"):
                    body = body.split("?>", 1)[1]
                data = ('<?xml version="1.0"?>' + doctype + body).encode("utf-8")
            dst.writestr(item, data)
    return out.getvalue()


Builder = Callable[..., tuple[str, bytes, str]]

HOSTILE: dict[str, Builder] = {
    "vrt named .geojson": lambda c, n, t, a: ("plots.geojson", _vrt(c, n), "parcels"),
    "vrt named .json": lambda c, n, t, a: ("plots.json", _vrt(c, n), "parcels"),
    "vrt as the .shp of a zip": lambda c, n, t, a: (
        "plots.zip",
        _zip({"plots.shp": _vrt(c, n), "plots.shx": b"", "plots.dbf": b""}),
        "parcels",
    ),
    "vrt named .shp": lambda c, n, t, a: ("plots.shp", _vrt(c, n), "parcels"),
    "gdalg named .geojson": lambda c, n, t, a: ("plots.geojson", _gdalg(str(c.csv)), "parcels"),
    "gdalg of a url named .json": lambda c, n, t, a: (
        "plots.json",
        _gdalg("/vsicurl/" + n.url("x.csv")),
        "parcels",
    ),
    "wfs named .json": lambda c, n, t, a: ("plots.json", _wfs(n), "parcels"),
    "wfs named .gml": lambda c, n, t, a: ("plots.gml", _wfs(n), "parcels"),
    "gml with a remote schema": lambda c, n, t, a: ("plots.gml", _gml_remote_schema(n), "parcels"),
    "gml with a remote schema named .geojson": lambda c, n, t, a: (
        "plots.geojson",
        _gml_remote_schema(n),
        "parcels",
    ),
    "sqlite with VirtualOGR named .gpkg": lambda c, n, t, a: (
        "plots.gpkg",
        _plain_sqlite(t, f"CREATE VIRTUAL TABLE evil0 USING VirtualOGR('{c.csv}')"),
        "parcels",
    ),
    "sqlite named .sqlite": lambda c, n, t, a: (
        "plots.sqlite",
        _plain_sqlite(t, f"CREATE VIRTUAL TABLE evil0 USING VirtualOGR('{c.csv}')"),
        "parcels",
    ),
    "gpkg with VirtualOGR on the canary": lambda c, n, t, a: (
        "plots.gpkg",
        _with_schema(
            _good_gpkg(t),
            f"CREATE VIRTUAL TABLE evil0 USING VirtualOGR('{c.csv}')",
            register="evil0",
        ),
        "parcels",
    ),
    "gpkg with VirtualOGR on the live database": lambda c, n, t, a: (
        "plots.gpkg",
        _with_schema(
            _good_gpkg(t),
            f"CREATE VIRTUAL TABLE evil0 USING VirtualOGR('{_live_database(a)}', 0, 'user')",
            register="evil0",
        ),
        "parcels",
    ),
    "gpkg with a view": lambda c, n, t, a: (
        "plots.gpkg",
        _with_schema(_good_gpkg(t), "CREATE VIEW evil0 AS SELECT * FROM base", register="evil0"),
        "parcels",
    ),
    "zip member with ../": lambda c, n, t, a: (
        "plots.zip",
        _zip({"../../private/plots.shp": b"x", "plots.shx": b"", "plots.dbf": b""}),
        "parcels",
    ),
    "zip member with an absolute path": lambda c, n, t, a: (
        "plots.zip",
        _zip({f"{c.csv.parent}/plots.shp": b"x", "plots.shx": b"", "plots.dbf": b""}),
        "parcels",
    ),
    "zip member that is a symlink": lambda c, n, t, a: (
        "plots.zip",
        _zip(
            {"plots.shp": str(c.csv).encode(), "plots.shx": b"", "plots.dbf": b""},
            links=("plots.shp",),
        ),
        "parcels",
    ),
    "zip bomb": lambda c, n, t, a: (
        "plots.zip",
        _zip({"plots.shp": b"\0" * (24 << 20), "plots.shx": b"", "plots.dbf": b""}),
        "parcels",
    ),
    "xlsx with an external entity": lambda c, n, t, a: (
        "cbf.xlsx",
        _xlsx(f'<!DOCTYPE worksheet [<!ENTITY e SYSTEM "file://{c.csv}">]>', "&e;"),
        "households",
    ),
    "xlsx with a remote entity": lambda c, n, t, a: (
        "cbf.xlsx",
        _xlsx(f'<!DOCTYPE worksheet [<!ENTITY e SYSTEM "{n.url("e.xml")}">]>', "&e;"),
        "households",
    ),
    "xlsx entity bomb": lambda c, n, t, a: (
        "cbf.xlsx",
        _xlsx(
            '<!DOCTYPE worksheet [<!ENTITY a "'
            + "a" * 64
            + '">'
            + "".join(
                f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)
            )
            + "]>",
            "&i;",
        ),
        "households",
    ),
}


def _plain_sqlite(tmp_path: Path, *statements: str) -> bytes:
    path = tmp_path / "plain.sqlite"
    if path.exists():
        path.unlink()
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (a)")
    con.commit()
    con.close()
    return _with_schema(path, *statements)


# ------------------------------------------------------------------------------------------
# Uploading, and everything a user could see afterwards
# ------------------------------------------------------------------------------------------


def _latest_job_id() -> int:
    return db.session.scalar(select(func.max(ImportJob.id))) or 0


def _upload(app, client, auth, collective_id: int, via: str, name: str, data: bytes, kind: str):
    """Upload through the web form (as a logged-in admin) or the API; return every text the
    user could read afterwards, and the job (None when the upload was refused)."""
    before = _latest_job_id()
    texts: list[str] = []
    if via == "web":
        auth.login("admin_a")
        r = client.post(
            f"/collectives/{collective_id}/imports",
            data={"kind": kind, "file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )
        assert r.status_code in (302, 422), r.status_code
        texts.append(r.get_data(as_text=True))
        if r.status_code == 302:
            page = client.get(r.headers["Location"])
            assert page.status_code == 200
            texts.append(page.get_data(as_text=True))
    else:
        headers = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
        r = client.post(
            f"/api/v1/collectives/{collective_id}/imports",
            data={"kind": kind, "file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
            headers=headers,
        )
        assert r.status_code in (202, 422), (r.status_code, r.get_data(as_text=True))
        texts.append(_readable(r))
    job_id = _latest_job_id()
    job = db.session.get(ImportJob, job_id) if job_id > before else None
    if job is not None:
        if via == "web":
            urls = [f"/imports/{job.id}", f"/imports/{job.id}/mapping"]
            urls.append(f"/imports/{job.id}/report.json")
            for url in urls:
                r = client.get(url)
                assert r.status_code in (200, 302, 404), (url, r.status_code)
                texts.append(r.get_data(as_text=True))
        else:
            for url in (f"/api/v1/imports/{job.id}", f"/api/v1/imports/{job.id}/report"):
                r = client.get(url, headers=headers)
                assert r.status_code == 200, (url, r.status_code)
                texts.append(_readable(r))
    return texts, job


def _readable(response) -> str:
    """A response as text, JSON with its non-ASCII characters as they are (not escaped)."""
    body = response.get_data(as_text=True)
    try:
        return json.dumps(json.loads(body), ensure_ascii=False)
    except ValueError:
        return body


def _stored_texts(job: ImportJob | None) -> list[str]:
    """The job's row (every column), its problems, and the audit trail's entries."""
    out = [
        repr(dict(row)) for row in db.session.execute(select(AuditEntry.__table__)).mappings().all()
    ]
    if job is None:
        return out
    row = db.session.execute(select(ImportJob.__table__).where(ImportJob.id == job.id)).mappings()
    out += [repr(dict(r)) for r in row]
    problems = db.session.execute(
        select(ImportProblem.__table__).where(ImportProblem.job_id == job.id)
    ).mappings()
    out += [repr(dict(r)) for r in problems]
    return out


# What a refused file may be told (app.imports.readers words each of them).
REFUSALS = {
    "unsupported_file",
    "refused_format",
    "name_mismatch",
    "not_geojson",
    "gpkg_unsafe",
    "zip_unsafe",
    "zip_too_big",
    "zip_no_shapefile",
    "zip_shapefile_parts",
    "reader_memory",
    "reader_time",
    "reader_failed",
}


def _codes(texts: list[str]) -> list[str]:
    """Error codes of the API's answers; for the web form, the codes whose messages it shows
    (the page shows the message, not the code)."""
    codes = []
    for t in texts:
        try:
            codes.append(json.loads(t)["error"]["code"])
        except (ValueError, KeyError, TypeError):
            if "不支持的文件" in t or "Unsupported file" in t:
                codes.append("unsupported_file")
            elif "不能导入" in t or "cannot be imported" in t:
                codes.append("refused_format")
            elif "不予读取" in t or "not read" in t:
                codes.append("zip_unsafe")
            elif "没有 Shapefile" in t or "解压后" in t:
                codes.append("zip_too_big")
    return codes


@pytest.fixture
def small_limits(app, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_UNZIPPED_BYTES", 16 << 20)


@pytest.mark.parametrize("via", ["web", "api"])
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_file_reads_nothing_but_itself(
    app, client, auth, baseline, tmp_path, canary, listener, small_limits, via, case
):
    name, data, kind = HOSTILE[case](canary, listener, tmp_path, app)
    texts, job = _upload(app, client, auth, baseline.collective_a, via, name, data, kind)
    stored = _stored_texts(job)
    everything = "\n".join(texts + stored)
    assert canary.token not in everything
    assert listener.connections == 0
    # Refused with a plain reason: at the upload, or by the job it started (which failed).
    if job is not None:
        assert job.status == "failed", (job.status, job.summary)
        assert job.error_zh and job.error_en
    # Refused with a plain reason of ours (never an internal error): at the upload, or by the
    # job it started, which failed.
    if job is None:
        assert REFUSALS & set(_codes(texts)), texts
    else:
        assert job.status == "failed", (job.status, job.summary)
        assert job.error_code in REFUSALS and job.error_zh and job.error_en


def test_a_geojson_naming_its_crs_by_url_makes_no_request(
    app, client, auth, baseline, tmp_path, listener
):
    # A GeoJSON is read: its old-style "link" CRS must not make GDAL fetch the URL.
    path, _ = nyt_file(tmp_path, 3)
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["crs"] = {"type": "link", "properties": {"href": listener.url("crs.wkt"), "type": "wkt"}}
    for via in ("web", "api"):
        texts, job = _upload(
            app,
            client,
            auth,
            baseline.collective_a,
            via,
            "plots.geojson",
            json.dumps(doc).encode(),
            "parcels",
        )
        assert listener.connections == 0
        assert job is not None and job.status in ("validated", "failed")


# ------------------------------------------------------------------------------------------
# Wrong names, limits
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["web", "api"])
def test_content_decides_the_kind_and_must_match_the_name(
    app, client, auth, baseline, tmp_path, via
):
    gpkg = _good_gpkg(tmp_path).read_bytes()
    texts, job = _upload(
        app, client, auth, baseline.collective_a, via, "plots.geojson", gpkg, "parcels"
    )
    assert job is None
    told = " ".join(texts)
    assert "GeoPackage" in told and ".geojson" in told


def test_a_refused_file_is_explained_on_the_upload_form_itself(client, auth, baseline):
    """A busy administrator sees why on the form they used, with their choices kept, and can
    pick another file at once: not an error page."""
    auth.login("admin_a")
    vrt = b'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/etc/passwd'
    vrt += b"</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>"
    before = _latest_job_id()
    r = client.post(
        f"/collectives/{baseline.collective_a}/imports",
        data={"kind": "parcels", "crs": "EPSG:4547", "file": (io.BytesIO(vrt), "plots.geojson")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page  # the upload form, ready for another file
    assert 'class="field-error" role="alert">plots.geojson' in page
    assert "不能导入" in page and "GeoPackage" in page
    assert 'value="EPSG:4547"' in page  # what they chose is kept
    assert "root:" not in page
    assert _latest_job_id() == before


@pytest.mark.parametrize("via", ["web", "api"])
def test_too_many_features_are_refused_at_upload(
    app, client, auth, baseline, tmp_path, monkeypatch, via
):
    monkeypatch.setitem(app.config, "IMPORT_MAX_FEATURES", 10)
    path = _good_gpkg(tmp_path)  # 3 plots: allowed
    _, job = _upload(
        app, client, auth, baseline.collective_a, via, "ok.gpkg", path.read_bytes(), "parcels"
    )
    assert job is not None and job.status == "validated"
    path, _ = nyt_file(tmp_path, 30)
    texts, job = _upload(
        app, client, auth, baseline.collective_a, via, "big.geojson", path.read_bytes(), "parcels"
    )
    assert job is None
    told = " ".join(texts)
    assert "more than 10 features" in told or "超过 10 个" in told


def test_too_many_features_stop_the_reading_of_a_command_line_import(
    app, cli, tmp_path, monkeypatch
):
    # The command line reads without a probe first: the reading process counts as it streams.
    monkeypatch.setitem(app.config, "IMPORT_MAX_FEATURES", 10)
    monkeypatch.setitem(app.config, "IMPORT_BATCH", 4)
    path, _ = nyt_file(tmp_path, 30)
    result = cli.run("import", "parcels", path, "--dry-run")
    assert result.exit_code == 2
    assert "more than 10 features" in result.output and "超过 10 个" in result.output


def _spiky_geojson(tmp_path: Path, vertices: int) -> bytes:
    """Three plots of collective A; the second has ``vertices`` vertices."""
    path, _ = nyt_file(tmp_path, 3)
    doc = json.loads(path.read_text(encoding="utf-8"))
    ring = doc["features"][1]["geometry"]["coordinates"][0]
    (x0, y0), (x1, y1) = ring[0], ring[1]
    step = [(x0 + (x1 - x0) * i / vertices, y0 + (y1 - y0) * i / vertices) for i in range(vertices)]
    doc["features"][1]["geometry"]["coordinates"][0] = [*step, *ring[1:]]
    return json.dumps(doc).encode()


@pytest.mark.parametrize("via", ["web", "api"])
def test_a_feature_with_too_many_vertices_fails_the_job_saying_which(
    app, client, auth, baseline, tmp_path, monkeypatch, via
):
    monkeypatch.setitem(app.config, "IMPORT_MAX_VERTICES", 500)
    data = _spiky_geojson(tmp_path, 2_000)
    texts, job = _upload(
        app, client, auth, baseline.collective_a, via, "spiky.geojson", data, "parcels"
    )
    assert job is not None and job.status == "failed"
    assert job.error_code == "too_many_vertices"
    assert "Feature 2 " in job.error_en and "第 2 个要素" in job.error_zh
    assert db.session.scalar(select(func.count()).select_from(Plot)) == 0


@pytest.mark.parametrize("via", ["web", "api"])
def test_a_reader_over_its_time_is_stopped_and_the_job_fails_plainly(
    app, client, auth, baseline, tmp_path, monkeypatch, via
):
    # 300k points take GDAL seconds of CPU: over a one-second limit the reading process is
    # killed (CPU rlimit, or the parent's wait), and the upload (or, should the count at upload
    # squeeze in, the job) says so.
    monkeypatch.setitem(app.config, "IMPORT_READER_SECONDS", 1)
    feature = (
        '{"type":"Feature","properties":{"DKBM":"x"},'
        '"geometry":{"type":"Point","coordinates":[1,2]}}'
    )
    data = '{"type":"FeatureCollection","features":[' + ",".join([feature] * 300_000) + "]}"
    texts, job = _upload(
        app, client, auth, baseline.collective_a, via, "slow.geojson", data.encode(), "parcels"
    )
    if job is not None:
        assert job.status == "failed" and job.error_code == "reader_time"
        assert "took longer than allowed" in job.error_en and "超出时间上限" in job.error_zh
    else:
        told = " ".join(texts)
        assert "took longer than allowed" in told or "超出时间上限" in told


@pytest.mark.parametrize("via", ["web", "api"])
def test_a_reader_over_its_memory_is_stopped_and_the_upload_says_so(
    app, client, auth, baseline, tmp_path, listener, monkeypatch, via
):
    # 18 MB of GeoJSON that takes GDAL far more than 600 MB to parse: the reading process runs
    # out of address space (GDAL then fails or crashes), the upload is refused plainly, and the
    # app goes on.
    monkeypatch.setitem(app.config, "IMPORT_READER_MEMORY_MB", 600)
    ring = "[" + ",".join(["[1,2]", *(["[3,4]"] * 3_000_000), "[1,2]"]) + "]"
    data = (
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
        f'"geometry":{{"type":"Polygon","coordinates":[{ring}]}}}}]}}'
    )
    texts, job = _upload(
        app, client, auth, baseline.collective_a, via, "fat.geojson", data.encode(), "parcels"
    )
    assert job is None
    told = " ".join(texts)
    assert "more memory than allowed" in told or "内存超出上限" in told
    path, _ = nyt_file(tmp_path, 3)
    _, job = _upload(
        app, client, auth, baseline.collective_a, via, "ok.geojson", path.read_bytes(), "parcels"
    )
    assert job is not None and job.status == "validated"


# ------------------------------------------------------------------------------------------
# Good files still import; the live database survives the SQLite attack
# ------------------------------------------------------------------------------------------


def _as(tmp_path: Path, src: Path, driver: str, name: str) -> Path:
    meta, _, geometry, values = pyogrio.raw.read(str(src))
    out = tmp_path / name
    pyogrio.raw.write(
        str(out),
        geometry,
        values,
        fields=meta["fields"],
        crs="EPSG:4547",
        driver=driver,
        geometry_type="Polygon",
    )
    return out


def _shapefile_zip(tmp_path: Path, src: Path) -> bytes:
    folder = tmp_path / "shp"
    folder.mkdir()
    _as(folder, src, "ESRI Shapefile", "plots.shp")
    return _zip({p.name: p.read_bytes() for p in sorted(folder.iterdir())})


@pytest.mark.parametrize("via", ["web", "api"])
@pytest.mark.parametrize(
    "fmt", ["gpkg", "gpkg in WAL mode", "shapefile zip", "geojson", "flatgeobuf"]
)
def test_good_files_of_every_allowed_kind_still_import(
    app, client, auth, baseline, tmp_path, via, fmt
):
    src, _ = nyt_file(tmp_path, 5)
    name, data = {
        "gpkg": lambda: ("plots.gpkg", _as(tmp_path, src, "GPKG", "p.gpkg").read_bytes()),
        "gpkg in WAL mode": lambda: ("plots.gpkg", _wal(_as(tmp_path, src, "GPKG", "p.gpkg"))),
        "shapefile zip": lambda: ("plots.zip", _shapefile_zip(tmp_path, src)),
        "geojson": lambda: ("plots.geojson", src.read_bytes()),
        "flatgeobuf": lambda: ("plots.fgb", _as(tmp_path, src, "FlatGeobuf", "p.fgb").read_bytes()),
    }[fmt]()
    texts, job = _upload(app, client, auth, baseline.collective_a, via, name, data, "parcels")
    assert job is not None and job.status == "validated", texts
    assert job.summary["valid"] == 5
    # read, never written: the stored copy alone, unchanged (no -wal/-shm beside a GeoPackage)
    store = Path(app.config["IMPORT_STORE"])
    assert [p.name for p in store.rglob("*") if p.is_file()] == [Path(job.path).name]
    assert (store / job.path).read_bytes() == data


def _wal(path: Path) -> bytes:
    """A GeoPackage left in WAL mode, as QGIS often leaves them."""
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
    con.close()
    return path.read_bytes()


def test_the_live_database_still_works_after_the_sqlite_attack(
    app, client, auth, baseline, tmp_path, canary, listener
):
    for case in ("gpkg with VirtualOGR on the live database", "sqlite with VirtualOGR named .gpkg"):
        name, data, kind = HOSTILE[case](canary, listener, tmp_path, app)
        _upload(app, client, auth, baseline.collective_a, "api", name, data, kind)
    # write: a real import, promoted; read: the plots and the database's own check
    src, _ = nyt_file(tmp_path, 4)
    _, job = _upload(
        app, client, auth, baseline.collective_a, "api", "ok.geojson", src.read_bytes(), "parcels"
    )
    headers = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    r = client.post(f"/api/v1/imports/{job.id}/promote", json={}, headers=headers)
    assert r.status_code == 202 and r.json["status"] == "promoted"
    assert db.session.scalar(select(func.count()).select_from(Plot)) == 4
    if db.session.get_bind().dialect.name == "sqlite":
        assert db.session.execute(text("PRAGMA quick_check")).scalar() == "ok"


def _reading_processes() -> list[int]:
    """Our own children running the sandbox script."""
    me = str(os.getpid())
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            ppid = (proc / "stat").read_text().rsplit(")", 1)[1].split()[1]
        except OSError:
            continue
        if ppid == me and b"sandbox.py" in cmdline:
            found.append(int(proc.name))
    return found


def test_the_reading_process_inherits_no_secret_and_no_connection(app, tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "the-secret-key")
    monkeypatch.setenv("DATABASE_URL", "postgresql://user:password@db/sanquan")
    # Enough plots, one to a batch, that the reader fills the pipe and waits for us to read: a
    # small file is written out whole and the process ends (a zombie, with no command line)
    # before it can be looked at. Once a batch has come back the reader has started, and it
    # stays blocked on the full pipe until the block is left.
    src, _ = nyt_file(tmp_path, 600)
    with app.app_context():
        db.session.execute(text("SELECT 1"))  # the app holds a database connection
        with readers.stream_layer(src, batch_size=1) as (_, batches):
            next(batches)
            (pid,) = _reading_processes()
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            targets = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        db.session.remove()
    assert b"SECRET_KEY" not in environ and b"the-secret-key" not in environ
    assert b"DATABASE_URL" not in environ and b"password" not in environ
    assert not [t for t in targets if t.startswith("socket:")], targets
    live = _live_database(app)
    assert not [t for t in targets if t == live or t.startswith(live + "-")], targets
    # nothing open but its pipes, the file it reads and the CRS databases
    opened = [t for t in targets if not t.startswith("pipe:") and t != "/dev/null"]
    assert all(t == str(src) or t.endswith("/proj.db") for t in opened), opened
    assert not _reading_processes()  # and it is gone once the layer is closed
