"""Reading import files: every upload is read in a sandboxed process, by one allowed GDAL driver.

Uploads are hostile until read. GDAL picks a format from a file's *content* and follows
references inside files (OGR VRT sources, GDALG pipelines, WFS descriptors, GML schema
locations, SQLite virtual tables), so a file named ``.geojson`` could make it read any path or
URL. Nothing in this process therefore hands an upload to GDAL, openpyxl or csv: each read runs
``app/imports/sandbox.py`` as a child process (see its docstring for what it checks and locks
down) and receives the result over a pipe:

- the child decides the file's kind from its content, checked against the name: GeoPackage,
  GeoJSON, FlatGeobuf or a zipped Shapefile for plots, CSV or XLSX for households; anything
  else (GML, KML, FileGDB, plain SQLite, VRT, GDALG, WFS, unknown) is an ``ImportRefused``;
- GDAL there can open only the one driver of that kind, on the stored copy only (a zip's
  members are checked before /vsizip/ touches them), with no network and no file writes;
- it runs with limits (settings ``IMPORT_READER_MEMORY_MB``, ``IMPORT_READER_SECONDS``,
  ``IMPORT_MAX_FEATURES``, ``IMPORT_MAX_VERTICES``, ``IMPORT_MAX_UNZIPPED_BYTES``,
  ``IMPORT_MAX_ZIP_MEMBERS``); this process kills it when it waits longer than the time limit
  for it, and every way it can end badly is one ``ImportRefused`` with a Chinese and an English
  message: a hostile file fails its import, never the server.

A layer is opened once for an import (``stream_layer``): the child streams pyogrio's Arrow
batches as Arrow IPC messages, so memory here stays bounded by a window and the callers see the
same ``(VectorSource, batches)`` as when GDAL ran in-process. For GeoJSON every open is a full
parse of the file, so it is not opened again to count its features (the upload counted them).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa

from app.imports import sandbox

__all__ = [
    "Batch",
    "ImportRefused",
    "ReadLimits",
    "StoredFile",
    "Table",
    "VectorSource",
    "open_vector",
    "read_table",
    "store_file",
    "stream_layer",
]

log = logging.getLogger(__name__)

#: What an upload may be called; the content must agree (see sandbox.EXTENSION_KINDS).
UPLOAD_EXTENSIONS = tuple(sandbox.EXTENSION_KINDS)
_KINDS = "GeoPackage, GeoJSON, FlatGeobuf, zipped Shapefile; CSV/XLSX for households"
_KINDS_ZH = "GeoPackage、GeoJSON、FlatGeobuf、压缩的 Shapefile（.zip）；户籍表为 CSV/XLSX"


class ImportRefused(ValueError):
    """The file cannot be imported at all (as opposed to problems with some of its features)."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(code, message_zh, message_en)
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en

    def __str__(self) -> str:
        return self.message_en


def _unsupported(name: str, detail: str = "", detail_zh: str = "") -> ImportRefused:
    tail_zh = f"（{detail_zh or detail}）" if detail_zh or detail else ""
    tail_en = f" ({detail})" if detail else ""
    return ImportRefused(
        "unsupported_file",
        f"不支持的文件：{name} 不是可读取的地块数据格式{tail_zh}。支持的格式：{_KINDS_ZH}",
        f"Unsupported file: {name} is not in a format that can be read{tail_en}. "
        f"Supported: {_KINDS}",
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

    The stored name is the SHA-256 plus the original extension (the reader checks the content
    against it); the user's file name is only kept as a label. The same bytes are stored once.
    A name of a kind that is never read (.gml, .kml, .sqlite, .vrt, ...) is refused here.
    """
    filename = clean_filename(filename)
    ext = _extension(filename)
    if not ext:
        raise _unsupported(filename, "this kind of file is not accepted", "不接受此类文件")
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
# The reading process
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadLimits:
    """What one read of an upload may use (settings of the same names, IMPORT_*)."""

    memory_mb: int = 2048  # IMPORT_READER_MEMORY_MB: address space of the reading process
    seconds: int = 900  # IMPORT_READER_SECONDS: its CPU time, and how long we wait for it
    features: int = 2_000_000  # IMPORT_MAX_FEATURES: features (or table rows) in one file
    vertices: int = 100_000  # IMPORT_MAX_VERTICES: vertices of one feature
    unzipped_bytes: int = 2 * 1024**3  # IMPORT_MAX_UNZIPPED_BYTES: a zip's members, in all
    zip_members: int = 1_000  # IMPORT_MAX_ZIP_MEMBERS: files in one zip

    @classmethod
    def current(cls) -> ReadLimits:
        """From the app's configuration (defaults outside an app context)."""
        from flask import current_app, has_app_context

        if not has_app_context():
            return cls()
        config = current_app.config
        names = {
            "memory_mb": "IMPORT_READER_MEMORY_MB",
            "seconds": "IMPORT_READER_SECONDS",
            "features": "IMPORT_MAX_FEATURES",
            "vertices": "IMPORT_MAX_VERTICES",
            "unzipped_bytes": "IMPORT_MAX_UNZIPPED_BYTES",
            "zip_members": "IMPORT_MAX_ZIP_MEMBERS",
        }
        given = {k: int(config[v]) for k, v in names.items() if config.get(v) is not None}
        return cls(**given)


_SANDBOX = Path(sandbox.__file__).resolve()
_SIGNALLED_TIME = (signal.SIGXCPU, signal.SIGKILL)

# How the refusals the reading process sends (a code and parameters) read for the user.
_WHAT = {
    "sqlite": ("一个 SQLite 数据库", "an SQLite database"),
    "xml": (
        "一个 XML 文件（GML、KML 或其他 GIS 描述文件）",
        "an XML file (GML, KML or another GIS description)",
    ),
    "gdalg": ("一个 GDAL 处理流程文件", "a GDAL processing pipeline"),
    "json": ("一个不是 GeoJSON 的 JSON 文件", "a JSON file that is not GeoJSON"),
    "filegdb": ("一个 ESRI 文件地理数据库（FileGDB）", "an ESRI file geodatabase (FileGDB)"),
    "binary": ("一个无法识别的文件", "a file we do not recognise"),
    "empty": ("一个空文件", "an empty file"),
}
_CONTENT = {
    "gpkg": ("GeoPackage", "GeoPackage"),
    "geojson": ("GeoJSON", "GeoJSON"),
    "fgb": ("FlatGeobuf", "FlatGeobuf"),
    "zip": ("压缩包（zip）", "a zip archive"),
    "xlsx": ("XLSX 工作簿", "an XLSX workbook"),
    "csv": ("文本表格（CSV）", "a text table (CSV)"),
}
_GPKG_WHAT = {
    "view": ("视图", "a view"),
    "virtual": ("虚拟表", "a virtual table"),
    "trigger": ("GeoPackage 标准以外的触发器", "a trigger outside the GeoPackage standard"),
    "generated": ("计算列", "a computed column"),
}
_ZIP_WHAT = {
    "path": ("有文件的路径指向压缩包以外", "a file's path leads outside the archive"),
    "link": ("含有符号链接", "it holds a symbolic link"),
    "encrypted": ("有加密的文件", "it holds an encrypted file"),
    "method": ("使用了不支持的压缩方式", "it uses an unsupported compression method"),
}


def _refusal(code: str, params: dict[str, Any], name: str) -> ImportRefused:
    """The reading process's refusal, in the user's words."""
    p = params
    if code == "not_geojson":
        return ImportRefused(
            "not_geojson",
            f"{name} 是 JSON 数组，不是 GeoJSON：GeoJSON 文件应是含 "
            '"type": "FeatureCollection" 和 "features" 的对象。请导出为 GeoJSON 后再导入',
            f"{name} is a JSON array, not GeoJSON: a GeoJSON file is an object with "
            '"type": "FeatureCollection" and "features". Export it as GeoJSON and try again',
        )
    if code == "refused_format":
        zh, en = _WHAT.get(str(p.get("what")), _WHAT["binary"])
        return ImportRefused(
            "refused_format",
            f"{name} 是{zh}，不能导入。请在 GIS 软件中另存为 GeoPackage、GeoJSON、FlatGeobuf "
            "或压缩的 Shapefile 后再导入（户籍表为 CSV 或 XLSX）",
            f"{name} is {en} and cannot be imported. Save it as GeoPackage, GeoJSON, FlatGeobuf "
            "or a zipped Shapefile in your GIS software and try again (households: CSV or XLSX)",
        )
    if code == "name_mismatch":
        zh, en = _CONTENT.get(str(p.get("content")), ("其他格式", "another format"))
        ext = str(p.get("ext", ""))
        gap = " " if zh[:1].isascii() else ""
        return ImportRefused(
            "name_mismatch",
            f"{name} 的内容是{gap}{zh}，与扩展名 {ext} 不符。请确认文件后使用正确的扩展名再导入",
            f"{name} holds {en}, which does not match its extension {ext}. Check the file and "
            "give it the right extension",
        )
    if code == "table_for_parcels":
        return _unsupported(
            name,
            "a table without geometry: use it for households",
            "没有图形的表格：请用于导入承包方",
        )
    if code == "not_a_table":
        return _unsupported(
            name, "households come as CSV or XLSX", "承包方数据应为 CSV 或 XLSX 表格"
        )
    if code == "not_xlsx":
        return _unsupported(name, "not a readable XLSX workbook", "不是可读取的 XLSX 工作簿")
    if code == "zip_damaged":
        return _unsupported(name, "damaged zip archive", "压缩包已损坏")
    if code == "encoding":
        return ImportRefused(
            "encoding",
            "无法识别 CSV 文件的字符编码（应为 UTF-8 或 GBK）",
            "Cannot tell the CSV file's character encoding (expected UTF-8 or GBK)",
        )
    if code == "gpkg_unsafe":
        zh, en = _GPKG_WHAT.get(str(p.get("what")), _GPKG_WHAT["virtual"])
        return ImportRefused(
            "gpkg_unsafe",
            f"GeoPackage 文件 {name} 含有{zh}，为安全起见不予读取。请在 GIS 软件中把图层导出为"
            "普通的 GeoPackage 后再导入",
            f"The GeoPackage {name} contains {en}; for safety it is not read. Export the layer "
            "to a plain GeoPackage in your GIS software and try again",
        )
    if code == "zip_unsafe":
        zh, en = _ZIP_WHAT.get(str(p.get("what")), _ZIP_WHAT["path"])
        return ImportRefused(
            "zip_unsafe",
            f"压缩包 {name} {zh}，为安全起见不予读取",
            f"The zip archive {name} is not read for safety: {en}",
        )
    if code == "zip_size":
        return ImportRefused(
            "zip_too_big",
            f"压缩包 {name} 解压后超过 {p.get('limit_mb')} MB，超出导入上限",
            f"The zip archive {name} would unpack to more than {p.get('limit_mb')} MB, over the "
            "import limit",
        )
    if code == "zip_members":
        return ImportRefused(
            "zip_too_big",
            f"压缩包 {name} 中的文件超过 {p.get('limit')} 个，超出导入上限",
            f"The zip archive {name} holds more than {p.get('limit')} files, over the import limit",
        )
    if code == "zip_no_shapefile":
        return ImportRefused(
            "zip_no_shapefile",
            f"压缩包 {name} 中没有 Shapefile（.shp）。压缩包应只包含一个 Shapefile"
            "（.shp、.shx、.dbf，可带 .prj、.cpg）；GeoPackage、GeoJSON、FlatGeobuf 请直接上传",
            f"The zip archive {name} holds no Shapefile (.shp). A zip should hold one Shapefile "
            "(.shp, .shx, .dbf, optionally .prj and .cpg); upload GeoPackage, GeoJSON and "
            "FlatGeobuf files as they are",
        )
    if code == "zip_shapefile_parts":
        missing = str(p.get("missing", ""))
        return ImportRefused(
            "zip_shapefile_parts",
            f"压缩包 {name} 中的 Shapefile 缺少 {missing} 文件",
            f"The Shapefile in {name} lacks its {missing} file",
        )
    if code == "no_layer":
        names = ", ".join(str(n) for n in p.get("names", []))
        return ImportRefused(
            "no_layer",
            f"文件中没有图层 {p.get('layer')}（有：{names}）",
            f"The file has no layer {p.get('layer')} (it has: {names})",
        )
    if code == "too_many_features":
        return ImportRefused(
            "too_many_features",
            f"{name} 的要素超过 {p.get('limit')} 个，超出一次导入的上限。请分成几个文件导入",
            f"{name} has more than {p.get('limit')} features, over the limit of one import. "
            "Split it into several files",
        )
    if code == "too_many_rows":
        return ImportRefused(
            "too_many_rows",
            f"{name} 的数据超过 {p.get('limit')} 行，超出一次导入的上限。请分成几个文件导入",
            f"{name} has more than {p.get('limit')} rows, over the limit of one import. "
            "Split it into several files",
        )
    if code == "too_many_vertices":
        return ImportRefused(
            "too_many_vertices",
            f"{name} 的第 {p.get('index')} 个要素有 {p.get('count')} 个顶点，超过每个要素 "
            f"{p.get('limit')} 个顶点的上限",
            f"Feature {p.get('index')} of {name} has {p.get('count')} vertices, over the limit "
            f"of {p.get('limit')} per feature",
        )
    if code == "reader_memory":
        return ImportRefused(
            "reader_memory",
            f"读取 {name} 所需的内存超出上限，已停止读取。文件可能已损坏或过于复杂",
            f"Reading {name} needed more memory than allowed and was stopped. The file may be "
            "damaged or too complex",
        )
    if code == "reader_time":
        return ImportRefused(
            "reader_time",
            f"读取 {name} 超出时间上限，已停止读取。文件可能已损坏或过于复杂",
            f"Reading {name} took longer than allowed and was stopped. The file may be damaged "
            "or too complex",
        )
    if code == "reader_failed":
        return ImportRefused(
            "reader_failed",
            f"读取 {name} 时读取程序意外停止：文件可能已损坏，或读取它所需的内存超出上限",
            f"Reading {name} stopped unexpectedly: the file may be damaged, or need more memory "
            "than allowed",
        )
    return _unsupported(name)


def _child_environment(workdir: str) -> dict[str, str]:
    """The reading process's whole environment: no secret, no database, no proxy of ours."""
    return {
        "PATH": os.defpath,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": workdir,
        "TMPDIR": workdir,
        "CPL_TMPDIR": workdir,
        # Fewer threads and arenas: the address-space limit then measures data, not reservations.
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
        "ARROW_DEFAULT_MEMORY_POOL": "system",
        **sandbox.GDAL_CONFIG,
    }


class _Reader:
    """One reading process: started with a request, read frame by frame, killed at the end.

    ``seconds`` bounds the time spent *waiting* for the process (its CPU time is bounded by its
    own rlimit): a reader that stalls is killed; one whose consumer is slow is not.
    """

    def __init__(self, request: dict[str, Any], name: str, limits: ReadLimits) -> None:
        self.name = name
        self.limits = limits
        self.waited = 0.0
        self.workdir = tempfile.mkdtemp(prefix="sanquan-reader-")
        request = {**request, "limits": limits.__dict__}
        try:
            self.proc = subprocess.Popen(  # noqa: S603 - our own script, no shell
                [sys.executable, "-I", str(_SANDBOX)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=_child_environment(self.workdir),
                cwd=self.workdir,
                close_fds=True,
                start_new_session=True,
                bufsize=0,
            )
            with suppress(BrokenPipeError):  # it died at once: frame() tells why
                self.proc.stdin.write(json.dumps(request).encode("utf-8"))
            with suppress(BrokenPipeError):
                self.proc.stdin.close()
        except OSError as exc:  # no process could be started (resources): not the file's fault
            log.exception("cannot start the import reader for %s", name)
            self.close()
            raise _refusal("reader_failed", {}, name) from exc
        except BaseException:
            self.close()
            raise
        self.fd = self.proc.stdout.fileno()
        self.poll = select.poll()
        self.poll.register(self.fd, select.POLLIN | select.POLLHUP | select.POLLERR)

    def frame(self) -> tuple[bytes, bytearray]:
        """The next frame; a refusal frame is raised as ImportRefused."""
        header = self._read(9)
        kind, size = bytes(header[:1]), int.from_bytes(header[1:], "big")
        payload = self._read(size) if size else bytearray()
        if kind == b"E":
            message = json.loads(payload.decode("utf-8"))
            if message.get("detail"):
                log.warning("import reader failed on %s: %s", self.name, message["detail"])
            raise _refusal(str(message.get("code")), message.get("params") or {}, self.name)
        return kind, payload

    def _read(self, n: int) -> bytearray:
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            left = self.limits.seconds - self.waited
            if left <= 0:
                self._stop()
                raise _refusal("reader_time", {}, self.name)
            started = time.monotonic()
            ready = self.poll.poll(min(left, 5.0) * 1000)
            self.waited += time.monotonic() - started
            if not ready:
                continue
            chunk = self.proc.stdout.readinto(view[got:])
            if not chunk:
                raise self._ended()
            got += chunk
        return buf

    def _ended(self) -> ImportRefused:
        """The process closed its end before the answer was complete: why, for the user."""
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._stop()
            code = self.proc.returncode
        log.warning("import reader for %s ended with %s", self.name, code)
        if code is not None and -code in _SIGNALLED_TIME:
            return _refusal("reader_time", {}, self.name)
        return _refusal("reader_failed", {}, self.name)

    def _stop(self) -> None:
        if self.proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def close(self) -> None:
        proc = getattr(self, "proc", None)
        if proc is not None:
            self._stop()
            proc.stdout.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _request(op: str, path: Path, **kw: Any) -> dict[str, Any]:
    return {"op": op, "path": str(path.resolve()), "ext": _extension(path.name), **kw}


def _answer(request: dict[str, Any], name: str, kind: bytes) -> dict[str, Any]:
    """Run a one-answer request (a probe, a table) and return its JSON answer."""
    reader = _Reader(request, name, ReadLimits.current())
    try:
        got, payload = reader.frame()
        if got != kind:
            raise _refusal("reader_failed", {}, name)
        return json.loads(payload.decode("utf-8"))
    finally:
        reader.close()


# --------------------------------------------------------------------------------------------
# Vector files
# --------------------------------------------------------------------------------------------


@dataclass
class VectorSource:
    """An opened (well: probed) vector layer, ready to be read in windows."""

    path: str  # the stored copy
    layer: str
    driver: str
    crs: str | None  # as declared by the file; None when it declares none
    fields: list[str]
    features: int  # -1 when the driver cannot count cheaply
    encoding: str | None
    geometry_type: str | None
    options: dict[str, Any] = field(default_factory=dict)


def _source(path: Path, meta: dict[str, Any]) -> VectorSource:
    return VectorSource(
        path=str(path),
        layer=str(meta.get("layer") or ""),
        driver=str(meta.get("driver")),
        crs=meta.get("crs") or None,
        fields=[str(f) for f in meta.get("fields", [])],
        features=int(meta.get("features", -1)),
        encoding=meta.get("encoding"),
        geometry_type=meta.get("geometry_type"),
    )


def open_vector(
    path: str | os.PathLike, name: str | None = None, *, layer: str | None = None
) -> VectorSource:
    """Probe a vector file and describe its layer; raise ImportRefused when it cannot be read.

    Used when a file is uploaded (to offer the field mapping and count the features). The import
    itself opens the layer once more, with ``stream_layer``. Both read in the sandbox.
    """
    path = Path(path)
    name = name or path.name
    meta = _answer(_request("probe", path, layer=layer), name, b"M")
    return _source(path, meta)


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

    The reading process streams the layer through pyogrio's Arrow reader, so memory is bounded
    by a batch (here and there). The description's ``features`` is -1 for GeoJSON, where
    counting would mean parsing the whole file again; other formats count from their index or
    header, which costs nothing. Leaving the block stops the reading process.
    """
    path = Path(path)
    name = name or path.name
    request = _request("stream", path, layer=layer, encoding=encoding, batch_size=batch_size)
    reader = _Reader(request, name, ReadLimits.current())
    try:
        kind, payload = reader.frame()
        if kind != b"M":
            raise _refusal("reader_failed", {}, name)
        meta = json.loads(payload.decode("utf-8"))
        kind, payload = reader.frame()
        if kind != b"S":
            raise _refusal("reader_failed", {}, name)
        schema = pa.ipc.read_schema(pa.py_buffer(payload))
        source = _source(path, meta)
        yield source, _batches(reader, schema, meta["geometry_name"], source.fields, name)
    finally:
        reader.close()


def _batches(
    reader: _Reader, schema: pa.Schema, geometry: str, names: list[str], name: str
) -> Iterator[Batch]:
    start = 0
    number = 0
    while True:
        kind, payload = reader.frame()
        if kind == b"D":
            return
        if kind != b"B":
            raise _refusal("reader_failed", {}, name)
        record_batch = pa.ipc.read_record_batch(pa.py_buffer(payload), schema)
        n = record_batch.num_rows
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
    #: Each row's number in the file as a spreadsheet shows it (the header is row 1); empty
    #: rows are left out of ``rows`` but counted here.
    numbers: list[int] = field(default_factory=list)


def read_table(path: str | os.PathLike, name: str, *, sheet: str | None = None) -> Table:
    """Read a CSV or XLSX table (first sheet, or ``sheet`` when the workbook has one so named).

    The reading process parses it (XLSX with openpyxl in read-only mode, its XML through
    defusedxml) and sends the cells back as trimmed strings.
    """
    path = Path(path)
    answer = _answer(_request("table", path, sheet=sheet), name, b"T")
    header = [str(h).upper() for h in answer["header"]]
    rows = [
        {h: (values[i] if i < len(values) else "") for i, h in enumerate(header) if h}
        for values in answer["rows"]
    ]
    numbers = [int(n) for n in answer.get("numbers", [])]
    return Table(header=header, rows=rows, numbers=numbers)


def sheet_names(path: str | os.PathLike, name: str | None = None) -> list[str]:
    """The sheets of an XLSX workbook ([] for a CSV file)."""
    path = Path(path)
    if _extension(path.name) != ".xlsx":
        return []
    answer = _answer(_request("table", path, only_sheets=True), name or path.name, b"T")
    return [str(s) for s in answer["sheets"]]
