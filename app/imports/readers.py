"""Reading import files: vector layers through GDAL (pyogrio), tables through csv / openpyxl.

Nothing here parses a geodata format: GDAL does, through pyogrio. This module only decides *what*
to hand GDAL (a zip is opened through /vsizip/, with the dataset inside it found by the names of
its members), reads the layer in windows of features so memory stays bounded by the window and not
by the file, and turns every way a file can be unusable into one ``ImportRefused`` with a Chinese
and an English message.

Features are streamed with pyogrio's Arrow reader (pyarrow): one pass over the file, memory
bounded by a batch. Where pyarrow is missing, windows of ``pyogrio.raw.read(skip_features=,
max_features=)``: a window re-opens the dataset, which costs nothing for formats with random
access (GeoPackage, Shapefile, FileGDB, FlatGeobuf) but means a fresh parse for text formats
(GeoJSON, GML); those get bigger windows (IMPORT_WINDOW_SEQUENTIAL) so the re-parsing stays a
small multiple of one read.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import queue
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

try:  # pyogrio's streaming (Arrow) reader: one pass over any file, memory bounded by a batch
    import pyarrow  # noqa: F401

    _HAVE_ARROW = True
except ImportError:  # pragma: no cover - pyarrow is a dependency; kept for slim installs
    _HAVE_ARROW = False

__all__ = [
    "Batch",
    "ImportRefused",
    "StoredFile",
    "Table",
    "VectorSource",
    "open_vector",
    "read_batches",
    "read_table",
    "store_file",
]

#: Extensions GDAL is asked to open, inside or outside a zip (lower case).
VECTOR_EXTENSIONS = (
    ".gpkg",
    ".geojson",
    ".json",
    ".shp",
    ".gml",
    ".kml",
    ".fgb",
    ".sqlite",
    ".gdb",
)
#: What an upload may be called (a lone .shp is useless without its .dbf/.shx: zip them).
UPLOAD_EXTENSIONS = (*VECTOR_EXTENSIONS, ".zip", ".csv", ".xlsx")
#: Drivers that can only read forward: every window parses the file from its start again.
SEQUENTIAL_DRIVERS = frozenset(
    {"GeoJSON", "GeoJSONSeq", "GML", "KML", "LIBKML", "CSV", "ESRIJSON", "TopoJSON", "JSONFG"}
)


class ImportRefused(ValueError):
    """The file cannot be imported at all (as opposed to problems with some of its features)."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(code, message_zh, message_en)
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en

    def __str__(self) -> str:
        return self.message_en


def _unsupported(name: str, detail: str = "") -> ImportRefused:
    kinds = "GeoPackage, GeoJSON, zipped Shapefile, GML, FileGDB (zipped), CSV/XLSX"
    tail_zh = f"（{detail}）" if detail else ""
    tail_en = f" ({detail})" if detail else ""
    return ImportRefused(
        "unsupported_file",
        f"不支持的文件：{name} 不是可读取的地块数据格式{tail_zh}。支持的格式：{kinds}",
        f"Unsupported file: {name} is not in a format that can be read{tail_en}. "
        f"Supported: {kinds}",
    )


# --------------------------------------------------------------------------------------------
# Storing uploads
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredFile:
    key: str  # relative to the import store: "ab/<sha256><ext>"
    sha256: str
    size: int
    filename: str


def store_root() -> Path:
    """Where import files are kept: IMPORT_STORE, or instance/imports."""
    from flask import current_app

    root = (
        current_app.config.get("IMPORT_STORE")
        or os.environ.get("IMPORT_STORE")
        or os.path.join(current_app.instance_path, "imports")
    )
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _extension(filename: str) -> str:
    name = filename.lower()
    for ext in sorted(UPLOAD_EXTENSIONS, key=len, reverse=True):
        if name.endswith(ext):
            return ext
    return ""


def clean_filename(filename: str | None) -> str:
    """A label from the user's file name: no directories or control characters, bounded."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:200] or "upload"


def store_file(root: Path, source: BinaryIO | str | os.PathLike, filename: str) -> StoredFile:
    """Copy an upload (a stream or a path) into the content-addressed import store.

    The stored name is the SHA-256 plus the original extension (GDAL picks its driver by it); the
    user's file name is only kept as a label. The same bytes are stored once.
    """
    filename = clean_filename(filename)
    ext = _extension(filename)
    if not ext:
        raise _unsupported(filename, "unknown extension")
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            stream = open(source, "rb") if isinstance(source, str | os.PathLike) else source  # noqa: SIM115
            try:
                while chunk := stream.read(1 << 20):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            finally:
                if stream is not source:
                    stream.close()
        sha = digest.hexdigest()
        key = f"{sha[:2]}/{sha}{ext}"
        final = root / key
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            os.unlink(tmp)
        else:
            os.replace(tmp, final)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return StoredFile(key=key, sha256=sha, size=size, filename=filename)


# --------------------------------------------------------------------------------------------
# Vector files
# --------------------------------------------------------------------------------------------


@dataclass
class VectorSource:
    """An opened (well: probed) vector layer, ready to be read in windows."""

    path: str  # what GDAL opens, possibly /vsizip/…
    layer: str
    driver: str
    crs: str | None  # as declared by the file; None when it declares none
    fields: list[str]
    features: int  # -1 when the driver cannot count cheaply
    encoding: str | None
    geometry_type: str | None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def sequential(self) -> bool:
        return self.driver in SEQUENTIAL_DRIVERS


def _sniff(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(4096)


def _refuse_json_array(path: Path, name: str) -> None:
    """A JSON array of features is a common near-miss (what web apps store); say so plainly."""
    head = _sniff(path).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"["):
        raise ImportRefused(
            "not_geojson",
            f"{name} 是 JSON 数组，不是 GeoJSON：GeoJSON 文件应是含 "
            '"type": "FeatureCollection" 和 "features" 的对象。请导出为 GeoJSON 后再导入',
            f"{name} is a JSON array, not GeoJSON: a GeoJSON file is an object with "
            '"type": "FeatureCollection" and "features". Export it as GeoJSON and try again',
        )


def _zip_target(path: Path, name: str) -> str:
    """The dataset inside a zip for GDAL: a .gdb folder, a .shp, a .gpkg, a .geojson …"""
    try:
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.namelist() if not m.startswith("__MACOSX/")]
    except zipfile.BadZipFile as exc:
        raise _unsupported(name, "damaged zip archive") from exc
    gdbs = sorted(
        {m[: m.lower().index(".gdb/") + 4] for m in members if ".gdb/" in m.lower()}, key=len
    )
    candidates = gdbs or [
        m
        for ext in VECTOR_EXTENSIONS
        for m in members
        if m.lower().endswith(ext) and not m.endswith("/")
    ]
    if not candidates:
        shown = ", ".join(members[:5]) or "-"
        raise _unsupported(name, f"zip contains {shown}")
    return f"/vsizip/{path}/{candidates[0]}"


def open_vector(
    path: str | os.PathLike, name: str | None = None, *, layer: str | None = None
) -> VectorSource:
    """Probe a vector file and describe its layer; raise ImportRefused when GDAL cannot read it."""
    path = Path(path)
    name = name or path.name
    lower = str(path).lower()
    if lower.endswith(".zip"):
        target = _zip_target(path, name)
    elif lower.endswith((".csv", ".xlsx")):
        raise _unsupported(name, "a table without geometry: use it for households")
    else:
        if lower.endswith(".json"):
            _refuse_json_array(path, name)
        target = str(path)
    try:
        if layer is not None:
            names = {str(row[0]) for row in pyogrio.list_layers(target)}
            if layer not in names:
                raise ImportRefused(
                    "no_layer",
                    f"文件中没有图层 {layer}（有：{', '.join(sorted(names))}）",
                    f"The file has no layer {layer} (it has: {', '.join(sorted(names))})",
                )
        # One open: for text formats (GeoJSON, GML) every open is a full parse of the file.
        info = pyogrio.read_info(target, layer=layer)
        chosen = str(info.get("layer_name") or layer or "")
    except (DataSourceError, DataLayerError) as exc:
        raise _unsupported(name) from exc
    return VectorSource(
        path=target,
        layer=chosen,
        driver=str(info.get("driver")),
        crs=info.get("crs") or None,
        fields=[str(f) for f in info.get("fields", [])],
        features=int(info.get("features", -1)),
        encoding=info.get("encoding"),
        geometry_type=info.get("geometry_type"),
    )


@dataclass
class Batch:
    """A window of features: ``start`` is the index of the first one in the file."""

    number: int
    start: int
    wkb: np.ndarray  # object array of WKB bytes (None where a feature has no geometry)
    fields: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.wkb)

    def split(self, size: int, first_number: int) -> Iterator[Batch]:
        """Sub-batches of at most ``size`` features, numbered from ``first_number``.

        A window is read in one GDAL call (each call re-opens the file: text formats get big
        windows), but checked in smaller pieces, so the shapely objects and staging rows built
        for checking never exist for more than ``size`` features at once.
        """
        for k, lo in enumerate(range(0, len(self), size)):
            hi = lo + size
            yield Batch(
                number=first_number + k,
                start=self.start + lo,
                wkb=self.wkb[lo:hi],
                fields={name: values[lo:hi] for name, values in self.fields.items()},
            )


def streaming_reader() -> bool:
    """Whether layers are streamed in one pass (pyarrow present)."""
    return _HAVE_ARROW


def read_batches(
    source: VectorSource,
    columns: list[str],
    batch_size: int,
    *,
    encoding: str | None = None,
) -> Iterator[Batch]:
    """Yield the layer's features in batches of ``batch_size`` (only the named columns).

    With pyarrow installed, GDAL streams the layer once (pyogrio's Arrow reader): one pass over
    the file whatever its format. Without it, windows of ``raw.read`` (see the module's note).
    """
    if _HAVE_ARROW:
        yield from _stream_batches(source, columns, batch_size, encoding=encoding)
        return
    yield from _window_batches(source, columns, batch_size, encoding=encoding)


def _stream_batches(
    source: VectorSource, columns: list[str], batch_size: int, *, encoding: str | None
) -> Iterator[Batch]:
    try:
        with pyogrio.raw.open_arrow(
            source.path,
            layer=source.layer,
            columns=columns,
            batch_size=batch_size,
            encoding=encoding,
            use_pyarrow=True,
        ) as (meta, reader):
            names = [str(f) for f in meta["fields"]]
            geometry = meta.get("geometry_name") or "wkb_geometry"
            start = 0
            for number, record_batch in enumerate(reader):
                n = record_batch.num_rows
                if n == 0:
                    continue
                table_names = record_batch.schema.names
                wkb = (
                    record_batch.column(table_names.index(geometry)).to_numpy(zero_copy_only=False)
                    if geometry in table_names
                    else np.full(n, None, dtype=object)
                )
                yield Batch(
                    number=number,
                    start=start,
                    wkb=np.asarray(wkb, dtype=object),
                    fields={
                        name: record_batch.column(table_names.index(name)).to_numpy(
                            zero_copy_only=False
                        )
                        for name in names
                    },
                )
                start += n
    except (DataSourceError, DataLayerError) as exc:
        raise _unsupported(os.path.basename(source.path)) from exc


def _window_batches(
    source: VectorSource,
    columns: list[str],
    batch_size: int,
    *,
    encoding: str | None = None,
) -> Iterator[Batch]:
    start = 0
    number = 0
    while True:
        try:
            meta, _fids, wkb, values = pyogrio.raw.read(
                source.path,
                layer=source.layer,
                columns=columns,
                skip_features=start,
                max_features=batch_size,
                encoding=encoding,
            )
        except (DataSourceError, DataLayerError) as exc:
            if start and "skip_features" in str(exc):  # read past the end
                return
            raise _unsupported(os.path.basename(source.path)) from exc
        n = 0 if wkb is None else len(wkb)
        if n == 0:
            return
        names = [str(f) for f in meta["fields"]]
        yield Batch(
            number=number,
            start=start,
            wkb=wkb,
            fields={name: values[i] for i, name in enumerate(names)},
        )
        number += 1
        start += n
        if n < batch_size or (source.features >= 0 and start >= source.features):
            return


def read_ahead(windows: Iterator[Batch]) -> Iterator[Batch]:
    """Read the next window in a thread while the caller checks the current one.

    GDAL parses with the GIL released, so on two cores reading and checking overlap. At most
    two windows exist at once (the one being checked, the one being read): the reader starts a
    window only when the caller has taken the previous one. Errors surface in the caller.
    """
    wanted: queue.Queue[bool] = queue.Queue()
    ready: queue.Queue[tuple[str, Any]] = queue.Queue()

    def work() -> None:
        try:
            while wanted.get():
                try:
                    ready.put(("batch", next(windows)))
                except StopIteration:
                    ready.put(("end", None))
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            ready.put(("error", exc))

    thread = threading.Thread(target=work, name="import-reader", daemon=True)
    thread.start()
    wanted.put(True)
    try:
        while True:
            kind, value = ready.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            wanted.put(True)  # start reading the next window now
            yield value
    finally:
        wanted.put(False)
        thread.join()


# --------------------------------------------------------------------------------------------
# Tables (households)
# --------------------------------------------------------------------------------------------


@dataclass
class Table:
    header: list[str]
    rows: list[dict[str, str]]  # values as trimmed strings ("" for empty cells)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _decode_csv(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportRefused(
        "encoding",
        "无法识别 CSV 文件的字符编码（应为 UTF-8 或 GBK）",
        "Cannot tell the CSV file's character encoding (expected UTF-8 or GBK)",
    )


def read_table(path: str | os.PathLike, name: str, *, sheet: str | None = None) -> Table:
    """Read a CSV or XLSX table (first sheet, or ``sheet`` when the workbook has one so named).

    XLSX is read with openpyxl in read-only mode, row by row, so a big workbook is not built in
    memory as a tree of cells.
    """
    path = Path(path)
    lower = str(path).lower()
    if lower.endswith(".csv"):
        reader = csv.reader(io.StringIO(_decode_csv(path)))
        rows_iter: Iterator[list[Any]] = iter(reader)
    elif lower.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise _unsupported(name, "not a readable XLSX workbook") from exc
        ws = wb[sheet] if sheet and sheet in wb.sheetnames else wb.worksheets[0]
        rows_iter = (list(r) for r in ws.iter_rows(values_only=True))
    else:
        raise _unsupported(name, "households come as CSV or XLSX")
    try:
        header = [_cell(h).upper() for h in next(rows_iter)]
    except StopIteration:
        header = []
    rows = []
    for raw in rows_iter:
        values = [_cell(v) for v in raw]
        if not any(values):
            continue
        rows.append({h: (values[i] if i < len(values) else "") for i, h in enumerate(header) if h})
    if lower.endswith(".xlsx"):
        wb.close()
    return Table(header=header, rows=rows)


def sheet_names(path: str | os.PathLike) -> list[str]:
    if not str(path).lower().endswith(".xlsx"):
        return []
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()
