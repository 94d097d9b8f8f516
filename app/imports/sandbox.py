"""The reading sandbox: one import file, read by a process of its own that can reach nothing else.

``app.imports.readers`` runs this file as a script (``python -I app/imports/sandbox.py``) for
every read of an upload, in a clean environment (no SECRET_KEY, no DATABASE_URL, no inherited
file descriptors), in an empty working directory. The request comes as one JSON object on stdin;
the answer goes back on stdout as frames (one type byte, an 8-byte big-endian length, the
payload):

``M`` the layer's description (JSON) · ``S`` the Arrow schema · ``B`` one Arrow record batch ·
``T`` a table (JSON) · ``E`` a refusal (JSON: code and parameters; the parent words it) ·
``D`` the end.

What this process does before it reads a byte of the file, in this order:

1. leaves the network: a new user and network namespace when the kernel allows it (then no
   socket can reach any host, loopback included); GDAL's HTTP is refused in any case (below);
2. limits itself: address space (IMPORT_READER_MEMORY_MB), CPU seconds (IMPORT_READER_SECONDS),
   no file writes at all (RLIMIT_FSIZE 0), no core files;
3. decides the file's kind from its content (magic bytes and structure), checks it against the
   name's extension and refuses anything but GeoPackage, GeoJSON, FlatGeobuf and a zipped
   Shapefile (CSV and XLSX for tables). GML, KML, FileGDB, plain SQLite, OGR VRT, GDALG, WFS
   descriptors and everything unknown are refused before GDAL sees them;
4. checks a zip's directory before anything is decompressed (member count, total size, no
   absolute paths, no '..', no symbolic links, no encryption) and a GeoPackage's schema with
   Python's sqlite3 opened read-only and immutable, without extensions: ordinary tables, the
   GeoPackage tables, R-tree index virtual tables and the triggers of the standard (and GDAL's
   feature-count triggers) only; views, other virtual tables and computed columns are refused;
5. deregisters every GDAL driver but the one the kind allows, so GDAL cannot pick another from
   the content (pyogrio does not expose GDALOpenEx's allowed-driver list; deregistering through
   GDAL's C API in this process has the same effect, for every open this process makes), installs
   a global HTTP callback that fails every request, and sets GDAL's configuration so that
   /vsicurl/ and friends, directory listings, .aux.xml side files and SQLite's external access
   are off.

Then it reads: the layer's description and features in Arrow batches (feature count and
vertices per feature checked here, IMPORT_MAX_FEATURES / IMPORT_MAX_VERTICES), or a CSV / XLSX
table (openpyxl parses XML through defusedxml). A hostile file can exhaust only this process:
the parent kills it on its wall-clock limit and fails the import with a plain reason.

This module imports nothing from the app (it runs with ``-I``, outside the app's package).
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import resource
import signal
import stat
import sys
import zipfile
from typing import Any

# The one GDAL driver each vector kind may be opened by.
DRIVERS = {
    "gpkg": "GPKG",
    "geojson": "GeoJSON",
    "fgb": "FlatGeobuf",
    "shapefile": "ESRI Shapefile",
}
# Which content each extension may hold.
EXTENSION_KINDS = {
    ".gpkg": "gpkg",
    ".geojson": "geojson",
    ".json": "geojson",
    ".fgb": "fgb",
    ".zip": "zip",
    ".csv": "csv",
    ".xlsx": "xlsx",
}
# GDAL configuration of the reading process (also put in its environment by the parent).
GDAL_CONFIG = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_PAM_ENABLED": "NO",
    "GDAL_DRIVER_PATH": "disable",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_PROXY": "127.0.0.1:9",  # unreachable should anything bypass the callback
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".sanquan-no-network",
    "CPL_VSIL_CURL_ALLOWED_FILENAME": "/sanquan-no-network",
    "CPL_ALLOW_VSISTDIN": "NO",
    "GDAL_ALLOW_REMOTE_RESOURCE_TO_ACCESS_LOCAL_FILE": "NO",
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
    "OGR_SQLITE_DIALECT_ALLOW_CREATE_VIRTUAL_TABLE": "NO",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
    "PROJ_NETWORK": "OFF",
    "CPL_DEBUG": "OFF",
}
# Open options per driver: a GeoPackage is opened immutable (no lock, no -wal/-shm files,
# nothing written even for one in WAL mode).
OPEN_OPTIONS = {"GPKG": {"IMMUTABLE": "YES"}}
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_HEAD = 64 * 1024
# Triggers a GeoPackage may carry: the standard's (R-tree index, tile matrix, metadata,
# geometry type / SRS id extensions) and GDAL's feature-count ones. A trigger never fires on
# a read-only open; foreign ones are refused all the same, as something we did not expect.
_GPKG_TRIGGERS = re.compile(
    r"^(rtree_.+_(insert|update\d|delete)|gpkg_.+|trigger_(insert|delete)_feature_count_.+"
    r"|fgt[iu]_.+|fgs[iu]_.+)$",
    re.IGNORECASE,
)


class Refused(Exception):
    """The file is refused; the parent words ``code`` for the user, with ``params``."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


# --------------------------------------------------------------------------------------------
# The process: network, limits, frames
# --------------------------------------------------------------------------------------------


def leave_network() -> bool:
    """A user + network namespace of our own: no interface but a loopback that is down. Must run
    while the process has one thread (before numpy & co. start theirs). False where the kernel
    or the container does not allow it; GDAL's HTTP is refused below in any case."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) == 0
    except (OSError, AttributeError):
        return False


def limit_self(memory_mb: int, seconds: int) -> None:
    """Address space, CPU time, no file writes, no core dumps."""
    if memory_mb > 0:
        size = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    if seconds > 0:
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 5))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write fails (EFBIG) instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class Channel:
    """Frames to the parent on a private copy of stdout (fd 1 then points at stderr, so that
    nothing a library prints can break the stream)."""

    def __init__(self) -> None:
        self.fd = os.dup(1)
        os.dup2(2, 1)

    def send(self, kind: bytes, payload: bytes | memoryview = b"") -> None:
        view = memoryview(payload).cast("B")
        self._write(kind + len(view).to_bytes(8, "big"))
        self._write(view)

    def json(self, kind: bytes, value: Any) -> None:
        self.send(kind, json.dumps(value, ensure_ascii=False).encode("utf-8"))

    def _write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]


# --------------------------------------------------------------------------------------------
# What the file is
# --------------------------------------------------------------------------------------------


def head_of(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(_HEAD)


def content_kind(head: bytes) -> str:
    """The file's kind from its first bytes: gpkg, sqlite, zip, fgb, geojson, json_array, gdalg,
    json, xml, text, binary or empty."""
    if not head:
        return "empty"
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg" if head[68:72] in (b"GPKG", b"GP10", b"GP11") else "sqlite"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if head[:3] == b"fgb" and head[4:7] == b"fgb":
        return "fgb"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        if re.search(rb'"gdal_streamed_alg"|"command_line"', head):
            return "gdalg"
        if re.search(rb'"type"\s*:\s*"(FeatureCollection|Feature)"', head):
            return "geojson"
        return "json"
    if text.startswith(b"["):
        return "json_array"
    if text.startswith(b"<"):
        return "xml"
    if b"\x00" in head:
        return "binary"
    return "text"


# Content kinds that are never read, with the name the parent gives them.
REFUSED_CONTENT = {"sqlite", "gdalg", "json", "xml", "binary", "empty", "filegdb"}


def decide(path: str, ext: str, purpose: str) -> str:
    """The kind to read ``path`` as (gpkg, geojson, fgb, zip, csv, xlsx), from its content,
    checked against its extension and the purpose (vector or table); or Refused."""
    found = content_kind(head_of(path))
    expected = EXTENSION_KINDS.get(ext)
    if expected is None:
        raise Refused("unsupported")
    if found == "json_array" and expected == "geojson":
        raise Refused("not_geojson")
    if found in REFUSED_CONTENT or found == "json_array":
        raise Refused("refused_format", what=found)
    if found == "text":
        found = "csv"
    if found == "zip" and expected == "xlsx":
        found = "xlsx"
    if found != expected:
        raise Refused("name_mismatch", content=found, ext=ext)
    if purpose == "vector" and found in ("csv", "xlsx"):
        raise Refused("table_for_parcels")
    if purpose == "table" and found not in ("csv", "xlsx"):
        raise Refused("not_a_table")
    return found


def check_zip(path: str, max_bytes: int, max_members: int) -> list[zipfile.ZipInfo]:
    """The zip's members, after checking its directory (nothing is decompressed yet)."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise Refused("zip_damaged") from exc
    if len(infos) > max_members:
        raise Refused("zip_members", limit=max_members)
    total = 0
    for info in infos:
        name = info.filename
        parts = re.split(r"[/\\]", name)
        if (
            not name
            or "\x00" in name
            or name.startswith(("/", "\\"))
            or re.match(r"^[A-Za-z]:", name)
            or ".." in parts
        ):
            raise Refused("zip_unsafe", what="path")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise Refused("zip_unsafe", what="link")
        if info.flag_bits & 0x1:
            raise Refused("zip_unsafe", what="encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise Refused("zip_unsafe", what="method")
        total += info.file_size
    if total > max_bytes:
        raise Refused("zip_size", limit_mb=max_bytes // (1024 * 1024))
    return infos


def shapefile_in(path: str, infos: list[zipfile.ZipInfo]) -> str:
    """The GDAL path of the one Shapefile in a checked zip (its .shx and .dbf beside it)."""
    files = [i.filename for i in infos if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
    lower = {f.lower() for f in files}
    shps = [f for f in files if f.lower().endswith(".shp")]
    if not shps:
        if any(".gdb/" in f.lower() for f in lower):
            raise Refused("refused_format", what="filegdb")
        raise Refused("zip_no_shapefile")
    shp = shps[0]
    stem = shp[:-4].lower()
    missing = [ext for ext in (".shx", ".dbf") if stem + ext not in lower]
    if missing:
        raise Refused("zip_shapefile_parts", missing=", ".join(missing))
    return f"/vsizip/{path}/{shp}"


def check_geopackage(path: str) -> list[str]:
    """Refuse a GeoPackage whose schema holds anything that could reach outside it when read:
    views, virtual tables other than the R-tree index, computed columns, foreign triggers.
    Returns the names of its layers (gpkg_contents)."""
    import sqlite3
    from urllib.parse import quote

    try:
        con = sqlite3.connect(f"file:{quote(path)}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:
        raise Refused("unsupported") from exc
    try:
        rows = con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
        for kind, name, _table, sql in rows:
            sql = sql or ""
            if kind == "view":
                raise Refused("gpkg_unsafe", what="view")
            if kind == "trigger" and not _GPKG_TRIGGERS.match(name or ""):
                raise Refused("gpkg_unsafe", what="trigger")
            if kind != "table":
                continue
            if re.match(r"\s*CREATE\s+VIRTUAL\s+TABLE", sql, re.IGNORECASE):
                if not (
                    str(name).lower().startswith("rtree_")
                    and re.search(r"\bUSING\s+rtree\s*\(", sql, re.IGNORECASE)
                ):
                    raise Refused("gpkg_unsafe", what="virtual")
                continue
            quoted = '"' + str(name).replace('"', '""') + '"'
            for column in con.execute(f"PRAGMA table_xinfo({quoted})"):
                if column[-1] in (2, 3):  # generated (computed) column
                    raise Refused("gpkg_unsafe", what="generated")
        return [str(r[0]) for r in con.execute("SELECT table_name FROM gpkg_contents")]
    except sqlite3.Error as exc:
        raise Refused("unsupported") from exc
    finally:
        con.close()


# --------------------------------------------------------------------------------------------
# GDAL, locked down
# --------------------------------------------------------------------------------------------

_keep: list[Any] = []  # ctypes callbacks must outlive their use


def lock_gdal(driver: str) -> Any:
    """pyogrio with GDAL able to open ``driver`` only, and no HTTP at all."""
    os.environ.update(GDAL_CONFIG)
    import pyogrio

    pyogrio.set_gdal_config_options(dict(GDAL_CONFIG))
    gdal = ctypes.CDLL(_libgdal())
    gdal.GDALGetDriverCount.restype = ctypes.c_int
    gdal.GDALGetDriver.restype = ctypes.c_void_p
    gdal.GDALGetDriver.argtypes = [ctypes.c_int]
    gdal.GDALGetDescription.restype = ctypes.c_char_p
    gdal.GDALGetDescription.argtypes = [ctypes.c_void_p]
    gdal.GDALDeregisterDriver.argtypes = [ctypes.c_void_p]
    others = []
    for i in range(gdal.GDALGetDriverCount()):
        handle = gdal.GDALGetDriver(i)
        if gdal.GDALGetDescription(handle) != driver.encode():
            others.append(handle)
    for handle in others:
        gdal.GDALDeregisterDriver(handle)
    # Every CPLHTTPFetch (WFS, OGC APIs, CRS from a URL, ...) goes to this callback: no request.
    fetch = ctypes.CFUNCTYPE(ctypes.c_void_p, *([ctypes.c_void_p] * 7))(lambda *_: None)
    _keep.append(fetch)
    gdal.CPLHTTPSetFetchCallback.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    gdal.CPLHTTPSetFetchCallback(ctypes.cast(fetch, ctypes.c_void_p), None)
    if set(pyogrio.list_drivers()) != {driver}:
        raise RuntimeError("GDAL drivers could not be restricted")
    return pyogrio


def _libgdal() -> str:
    with open("/proc/self/maps", encoding="utf-8") as maps:
        for line in maps:
            path = line.split()[-1]
            if "libgdal" in os.path.basename(path):
                return path
    raise RuntimeError("libgdal is not loaded")


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def vector_target(request: dict[str, Any]) -> tuple[str, str, list[str] | None]:
    """(GDAL path, driver, layer names when known) for a vector request, after every check of
    the file."""
    path = request["path"]
    limits = request["limits"]
    kind = decide(path, request["ext"], "vector")
    if kind == "zip":
        infos = check_zip(path, limits["unzipped_bytes"], limits["zip_members"])
        return shapefile_in(path, infos), DRIVERS["shapefile"], None
    layers = check_geopackage(path) if kind == "gpkg" else None
    return path, DRIVERS[kind], layers


def _describe(
    pyogrio: Any, target: str, driver: str, layers: list[str] | None, layer: str | None, count: bool
) -> dict[str, Any]:
    if layer is not None:
        names = layers if layers is not None else [str(r[0]) for r in pyogrio.list_layers(target)]
        if layer not in names:
            raise Refused("no_layer", layer=layer, names=sorted(names))
    if not count:
        return {}
    info = pyogrio.read_info(target, layer=layer, **OPEN_OPTIONS.get(driver, {}))
    return {
        "layer": str(info.get("layer_name") or layer or ""),
        "crs": info.get("crs") or None,
        "fields": [str(f) for f in info.get("fields", [])],
        "features": int(info.get("features", -1)),
        "encoding": info.get("encoding"),
        "geometry_type": info.get("geometry_type"),
    }


def probe(out: Channel, request: dict[str, Any]) -> None:
    target, driver, layers = vector_target(request)
    pyogrio = lock_gdal(driver)
    info = _guarded(lambda: _describe(pyogrio, target, driver, layers, request.get("layer"), True))
    if info["features"] > request["limits"]["features"]:
        raise Refused("too_many_features", limit=request["limits"]["features"])
    out.json(b"M", {**info, "driver": driver})


def stream(out: Channel, request: dict[str, Any]) -> None:
    target, driver, layers = vector_target(request)
    pyogrio = lock_gdal(driver)
    limits = request["limits"]
    layer = request.get("layer")
    # GeoJSON is parsed whole by every open: it is not counted beforehand (the upload did).
    info = _guarded(lambda: _describe(pyogrio, target, driver, layers, layer, driver != "GeoJSON"))
    if info.get("features", -1) > limits["features"]:
        raise Refused("too_many_features", limit=limits["features"])

    def run() -> None:
        with pyogrio.raw.open_arrow(
            target,
            layer=layer,
            batch_size=int(request.get("batch_size") or 10_000),
            encoding=request.get("encoding"),
            use_pyarrow=True,
            **OPEN_OPTIONS.get(driver, {}),
        ) as (meta, reader):
            out.json(
                b"M",
                {
                    "layer": info.get("layer") or layer or os.path.basename(target).split(".")[0],
                    "driver": driver,
                    "crs": meta.get("crs") or None,
                    "fields": [str(f) for f in meta["fields"]],
                    "features": info.get("features", -1),
                    "encoding": meta.get("encoding"),
                    "geometry_type": meta.get("geometry_type"),
                    "geometry_name": meta.get("geometry_name") or "wkb_geometry",
                },
            )
            out.send(b"S", reader.schema.serialize())
            geometry = meta.get("geometry_name") or "wkb_geometry"
            seen = 0
            for batch in reader:
                if batch.num_rows == 0:
                    continue
                if seen + batch.num_rows > limits["features"]:
                    raise Refused("too_many_features", limit=limits["features"])
                if geometry in batch.schema.names:
                    _check_vertices(batch.column(geometry), seen, limits["vertices"])
                seen += batch.num_rows
                out.send(b"B", batch.serialize())

    _guarded(run)


def _check_vertices(column: Any, start: int, limit: int) -> None:
    """Refuse a feature with more than ``limit`` vertices. A WKB vertex takes at least 16 bytes,
    so only geometries longer than 16 x limit bytes are parsed to count."""
    import numpy as np
    import pyarrow.compute as pc

    lengths = pc.binary_length(column).to_numpy(zero_copy_only=False)
    lengths = np.nan_to_num(lengths.astype("float64"), nan=0.0)
    suspects = np.flatnonzero(lengths > 16 * limit)
    if suspects.size == 0:
        return
    import shapely

    wkb = column.take(suspects).to_numpy(zero_copy_only=False)
    counts = shapely.get_num_coordinates(shapely.from_wkb(wkb, on_invalid="ignore"))
    for i, count in zip(suspects, counts, strict=True):
        if count > limit:
            raise Refused(
                "too_many_vertices", index=start + int(i) + 1, count=int(count), limit=limit
            )


def _guarded(fn: Any) -> Any:
    """GDAL's errors, as a plain refusal (never its message: it may quote the file)."""
    from pyogrio.errors import DataLayerError, DataSourceError, FieldError, GeometryError

    try:
        return fn()
    except (DataSourceError, DataLayerError, FieldError, GeometryError) as exc:
        raise Refused("unsupported") from exc


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def table(out: Channel, request: dict[str, Any]) -> None:
    """A CSV or XLSX table: ``sheets`` (XLSX), and the rows of ``sheet`` (or the first)."""
    path = request["path"]
    limits = request["limits"]
    kind = decide(path, request["ext"], "table")
    max_rows = limits["features"]
    sheets: list[str] = []
    if kind == "csv":
        rows_iter = _csv_rows(path)
    else:
        check_zip(path, limits["unzipped_bytes"], limits["zip_members"])
        import openpyxl.xml

        if not openpyxl.xml.DEFUSEDXML:  # pragma: no cover - a dependency of the project
            raise RuntimeError("defusedxml is missing: XLSX files are not read without it")
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise Refused("not_xlsx") from exc
        sheets = list(wb.sheetnames)
        if request.get("only_sheets"):
            out.json(b"T", {"sheets": sheets, "header": [], "rows": []})
            return
        sheet = request.get("sheet")
        ws = wb[sheet] if sheet and sheet in sheets else wb.worksheets[0]
        rows_iter = _sheet_rows(ws)
    header: list[str] = []
    rows: list[list[str]] = []
    numbers: list[int] = []  # each row's number as the user's spreadsheet shows it (header: 1)
    try:
        header = [_cell(h) for h in next(rows_iter)]
    except StopIteration:
        pass
    except Exception as exc:  # a broken sheet
        raise Refused("not_xlsx") from exc
    try:
        for number, raw in enumerate(rows_iter, start=2):
            values = [_cell(v) for v in raw]
            if not any(values):
                continue
            if len(rows) >= max_rows:
                raise Refused("too_many_rows", limit=max_rows)
            rows.append(values)
            numbers.append(number)
    except Refused:
        raise
    except Exception as exc:
        raise Refused("not_xlsx") from exc
    out.json(b"T", {"sheets": sheets, "header": header, "rows": rows, "numbers": numbers})


def _sheet_rows(ws: Any) -> Any:
    """The rows of a read-only worksheet, none wider than its header.

    openpyxl pads every row, the empty ones between rows included, to the width the sheet
    declares or uses: one blank cell at XFD500000 would make 500 000 rows of 16 384 cells each.
    Cells right of the header's last name are not read anyway, so the rows stop there.
    """
    try:
        first = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())
    except Exception as exc:  # a broken sheet
        raise Refused("not_xlsx") from exc
    header = [_cell(v) for v in first]
    while header and not header[-1]:
        header.pop()
    yield header
    if header:
        yield from (list(r) for r in ws.iter_rows(min_row=2, max_col=len(header), values_only=True))


def _csv_rows(path: str) -> Any:
    import csv
    import io

    raw = open(path, "rb").read()  # noqa: SIM115 - read at once, closed by refcount
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Refused("encoding")
    return iter(csv.reader(io.StringIO(text)))


OPERATIONS = {"probe": probe, "stream": stream, "table": table}


def main() -> int:
    leave_network()
    out = Channel()
    request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    limits = request["limits"]
    limit_self(int(limits["memory_mb"]), int(limits["seconds"]))
    try:
        OPERATIONS[request["op"]](out, request)
    except Refused as exc:
        out.json(b"E", {"code": exc.code, "params": exc.params})
        return 0
    except MemoryError:
        out.json(b"E", {"code": "reader_memory", "params": {}})
        return 0
    except Exception as exc:  # noqa: BLE001 - the parent logs the kind, never shows it
        out.json(b"E", {"code": "reader_failed", "params": {}, "detail": type(exc).__name__})
        return 0
    out.send(b"D")
    return 0


if __name__ == "__main__":
    sys.exit(main())
