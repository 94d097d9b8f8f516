"""Server-side PDFs of the printed sheets (certificates, statements, attestations, notices).

``render_pdf(template_name, **context)`` renders a Jinja template to HTML and WeasyPrint lays it
out on A4 with the Noto CJK fonts the machine has installed (``fonts-noto-cjk``, from
``./dev.sh setup`` and the Dockerfile; fontconfig finds them by family name, nothing is fetched).
A PDF template extends ``pdf/base.html`` (print.css and pdf.css) and includes the same sheet
partial as the HTML page, so paper and screen never drift apart.

What the layout engine may load is decided here, not by the document: only the app's own
bundled static files (style sheets, fonts, images under ``app/static``) and inline images
(``data:image/...``, e.g. a statement's QR code). Every other address is refused: no network,
no ``file://``, no path outside the static folder, so a name such as
``<img src=file:///etc/passwd>`` (escaped by Jinja anyway) can never pull anything in.

A new printable document (the lease contract, say) needs three things:

1. a partial with its sheet (``leases/_contract_sheet.html``) that the HTML page includes;
2. ``pdf/lease_contract.html``::

       {% extends "pdf/base.html" %}
       {% block title %}{{ _('Lease contract') }} {{ lease.number }}{% endblock %}
       {% block content %}{% include "leases/_contract_sheet.html" %}{% endblock %}

3. a ``.pdf`` route beside the HTML one, with the same role decorator and the same load (another
   collective's object is a 404), answering ``pdf_response(render_pdf(
   "pdf/lease_contract.html", lease=lease, ...), f"lease-{lease.number}.pdf")``.
"""

from __future__ import annotations

import binascii
import logging
import mimetypes
from base64 import b64decode
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from flask import Response, current_app, has_request_context, render_template, request
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse
from werkzeug.security import safe_join

log = logging.getLogger(__name__)

#: The made-up origin the document's relative addresses resolve against. Nothing is ever
#: requested from it: the fetcher maps its static paths to files of the app.
ORIGIN = "https://sanquan-print.invalid"

#: What the bundled static files may be, by suffix: style sheets, fonts, images.
STATIC_SUFFIXES = frozenset({".css", ".woff", ".woff2", ".ttf", ".otf", ".png", ".jpg", ".svg"})

#: Inline images only (a QR code as an SVG data URI); no inline style sheets or documents.
DATA_TYPES = frozenset({"image/svg+xml", "image/png", "image/jpeg"})


class RefusedAddress(ValueError):
    """The document asked for something outside the app's own static files."""


class StaticOnlyFetcher(URLFetcher):
    """A WeasyPrint fetcher that serves the app's static files and inline images, nothing else.

    ``static_prefix`` is the address of the static folder as the document writes it (the made-up
    origin, the script root, ``/static/``); ``static_folder`` the directory it maps to.
    """

    def __init__(self, static_prefix: str, static_folder: str) -> None:
        super().__init__(allowed_protocols=("https", "data"), allow_redirects=False)
        self.static_prefix = static_prefix
        self.static_folder = static_folder

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        if url.startswith("data:"):
            return self._data(url)
        if url.startswith(self.static_prefix):
            return self._static(url)
        log.warning("PDF: refused to fetch %.200s", url)
        raise RefusedAddress("only the app's own static files are loaded into a PDF")

    def _data(self, url: str) -> URLFetcherResponse:
        header, _comma, payload = url[5:].partition(",")
        params = [p.strip().lower() for p in header.split(";")]
        media_type = params[0]
        if media_type not in DATA_TYPES:
            raise RefusedAddress("only inline images are loaded into a PDF")
        try:
            body = b64decode(payload, validate=True) if "base64" in params[1:] else None
        except binascii.Error as exc:
            raise RefusedAddress("not a readable inline image") from exc
        if body is None:
            body = unquote_to_bytes(payload)
        return URLFetcherResponse(url, body, {"Content-Type": media_type})

    def _static(self, url: str) -> URLFetcherResponse:
        relative = unquote(urlsplit(url[len(self.static_prefix) :]).path)
        found = safe_join(self.static_folder, relative)
        if found is None or Path(found).suffix.lower() not in STATIC_SUFFIXES:
            raise RefusedAddress("not a static file of the app")
        path = Path(found)
        if not path.is_file():
            raise RefusedAddress("no such static file")
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": media_type})


def static_fetcher() -> StaticOnlyFetcher:
    """The fetcher for the current app (and request: an app mounted below a path prefix)."""
    script_root = request.script_root if has_request_context() else ""
    static_path = (current_app.static_url_path or "/static").rstrip("/")
    folder = current_app.static_folder
    if folder is None:  # pragma: no cover - the app always has its static folder
        raise RuntimeError("the app has no static folder")
    return StaticOnlyFetcher(f"{ORIGIN}{script_root}{static_path}/", folder)


def html_to_pdf(html: str) -> bytes:
    """Lay out ``html`` (already rendered, trusted markup of the app) as a PDF."""
    document = HTML(string=html, base_url=f"{ORIGIN}/", url_fetcher=static_fetcher())
    return document.write_pdf()


def render_pdf(template_name: str, **context: object) -> bytes:
    """Render ``template_name`` with ``context`` and return the PDF's bytes.

    The template should extend ``pdf/base.html``. Jinja's autoescaping applies as on every
    page, so what users typed comes out as text.
    """
    return html_to_pdf(render_template(template_name, **context))


def pdf_response(pdf: bytes, download_name: str) -> Response:
    """A download of ``pdf`` under ``download_name`` (never cached: it shows personal data).

    The name is kept to ASCII letters, digits, dots and dashes (a certificate number may hold
    Chinese text or brackets); anything else becomes a dash.
    """
    safe = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in ".-") else "-" for ch in download_name
    )
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{safe}"'
    response.headers["Cache-Control"] = "no-store"
    return response
