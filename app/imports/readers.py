"""Reading import files: vector layers through GDAL (pyogrio), tables through csv / openpyxl.

Nothing here parses a geodata format: GDAL does, through pyogrio. This module only decides *what*
to hand GDAL (a zip is opened through /vsizip/, with the dataset inside it found by the names of
its members), streams the layer in batches so memory stays bounded by a batch and not by the
file, and turns every way a file can be unusable into one ``ImportRefused`` with a Chinese and an
English message.

A layer is opened once for an import (``stream_layer``): pyogrio's Arrow reader hands over the
description and then the features, in one pass. For text formats (GeoJSON, GML) every open is a
full parse of the file (GDAL scans it to learn the fields), so nothing opens them again to count.
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
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

__all__ = [
    "Batch",
    "ImportRefused",
    "StoredFile",
    "Table",
    "VectorSource",
    "open_vector",
    "read_table",
    "store_file",
    "stream_layer",
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
#: Text formats: GDAL parses the whole file on every open, so they are opened once only.
TEXT_EXTENSIONS = (".geojson", ".json", ".gml", ".kml")


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


def _target(path: Path, name: str) -> str:
    """What GDAL opens for ``path``: the file itself, or the dataset inside a zip."""
    lower = str(path).lower()
    if lower.endswith(".zip"):
        return _zip_target(path, name)
    if lower.endswith((".csv", ".xlsx")):
        raise _unsupported(name, "a table without geometry: use it for households")
    if lower.endswith(".json"):
        _refuse_json_array(path, name)
    return str(path)


def _check_layer(target: str, layer: str | None) -> None:
    if layer is None:
        return
    names = {str(row[0]) for row in pyogrio.list_layers(target)}
    if layer not in names:
        raise ImportRefused(
            "no_layer",
            f"文件中没有图层 {layer}（有：{', '.join(sorted(names))}）",
            f"The file has no layer {layer} (it has: {', '.join(sorted(names))})",
        )


def open_vector(
    path: str | os.PathLike, name: str | None = None, *, layer: str | None = None
) -> VectorSource:
    """Probe a vector file and describe its layer; raise ImportRefused when GDAL cannot read it.

    Used when a file is uploaded (to offer the field mapping and count the features). The import
    itself opens the layer once more, with ``stream_layer``.
    """
    path = Path(path)
    name = name or path.name
    target = _target(path, name)
    try:
        _check_layer(target, layer)
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
    """A batch of features: ``start`` is the index of the first one in the file."""

    number: int
    start: int
    wkb: np.ndarray  # object array of WKB bytes (None where a feature has no geometry)
    fields: dict[str, Any]  # field name -> its values, an Arrow array

    def __len__(self) -> int:
        return len(self.wkb)


@contextmanager
def stream_layer(
    path: str | os.PathLike,
    name: str | None = None,
    *,
    layer: str | None = None,
    encoding: str | None = None,
    batch_size: int = 10_000,
) -> Iterator[tuple[VectorSource, Iterator[Batch]]]:
    """Open a layer once: its description, then its features in batches of ``batch_size``.

    GDAL streams the layer through pyogrio's Arrow reader, so memory is bounded by a batch. The
    description's ``features`` is -1 for text formats, where counting would mean parsing the
    whole file again; other formats count from their index or header, which costs nothing.
    """
    path = Path(path)
    name = name or path.name
    target = _target(path, name)
    try:
        _check_layer(target, layer)
        info: dict[str, Any] = {}
        if not target.lower().endswith(TEXT_EXTENSIONS):
            info = pyogrio.read_info(target, layer=layer)
        with pyogrio.raw.open_arrow(
            target, layer=layer, batch_size=batch_size, encoding=encoding, use_pyarrow=True
        ) as (meta, reader):
            source = VectorSource(
                path=target,
                layer=str(info.get("layer_name") or layer or Path(target).stem),
                driver=str(info.get("driver") or _text_driver(target)),
                crs=meta.get("crs") or None,
                fields=[str(f) for f in meta["fields"]],
                features=int(info.get("features", -1)),
                encoding=meta.get("encoding"),
                geometry_type=meta.get("geometry_type"),
            )
            yield source, _batches(reader, meta, source.fields, name)
    except (DataSourceError, DataLayerError) as exc:
        raise _unsupported(name) from exc


def _text_driver(target: str) -> str:
    lower = target.lower()
    return "GML" if lower.endswith(".gml") else "KML" if lower.endswith(".kml") else "GeoJSON"


def _batches(reader: Any, meta: dict[str, Any], names: list[str], name: str) -> Iterator[Batch]:
    geometry = meta.get("geometry_name") or "wkb_geometry"
    start = 0
    number = 0
    try:
        for record_batch in reader:
            n = record_batch.num_rows
            if n == 0:
                continue
            columns = record_batch.schema.names
            wkb = (
                record_batch.column(columns.index(geometry)).to_numpy(zero_copy_only=False)
                if geometry in columns
                else np.full(n, None, dtype=object)
            )
            yield Batch(
                number=number,
                start=start,
                wkb=np.asarray(wkb, dtype=object),
                fields={f: record_batch.column(columns.index(f)) for f in names if f in columns},
            )
            start += n
            number += 1
    except (DataSourceError, DataLayerError) as exc:  # a broken feature midway
        raise _unsupported(name) from exc


def read_ahead(windows: Iterator[Batch], depth: int = 1) -> Iterator[Batch]:
    """Read up to ``depth`` windows ahead in a thread while the caller checks the current one.

    GDAL parses with the GIL released, so on two cores reading and checking overlap; reading more
    than one window ahead evens out windows that take longer to check than to read, and the
    reverse. At most ``depth + 1`` windows exist at once. Errors surface in the caller.
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
    for _ in range(max(1, depth)):
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
