"""Production defaults: behind HTTPS every cookie is Secure and HSTS is sent; behind the one
trusted reverse proxy the client's address and scheme come from it, and from nobody else."""

from __future__ import annotations

import pytest
from flask import request

from tests.conftest import PASSWORD, app_for


def _app_with_whoami(database_url, **settings):
    other = app_for(database_url, **settings)

    @other.get("/_test/whoami")
    def _whoami():
        return {"addr": request.remote_addr, "scheme": request.scheme}

    return other


@pytest.fixture
def apps(app, database_url):
    from app.core.web import PUBLIC_ENDPOINTS
    from app.extensions import db

    made = []

    def make(**settings):
        made.append(_app_with_whoami(database_url, **settings))
        return made[-1]

    PUBLIC_ENDPOINTS.add("_whoami")
    yield make
    PUBLIC_ENDPOINTS.discard("_whoami")
    for other in made:
        with other.app_context():
            db.engine.dispose()


@pytest.fixture
def secure_app(apps):
    return apps(SESSION_COOKIE_SECURE=True, TRUSTED_PROXIES=1)


def _cookie_headers(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_over_https_the_session_cookie_is_secure_and_hsts_is_sent(secure_app):
    client = secure_app.test_client()
    r = client.post("/login", data={"username": "admin_a", "password": PASSWORD})
    assert r.status_code == 302
    cookies = [c for c in _cookie_headers(r) if c.startswith("session=")]
    assert cookies and all("Secure" in c and "HttpOnly" in c for c in cookies)
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")
    lang = client.get("/lang/en")
    assert all("Secure" in c for c in _cookie_headers(lang))


def test_plain_http_default_sends_no_hsts(client):
    r = client.post("/login", data={"username": "admin_a", "password": PASSWORD})
    assert "Strict-Transport-Security" not in r.headers
    assert not any("Secure" in c for c in _cookie_headers(r))


def test_the_trusted_proxy_names_the_client_and_scheme(secure_app):
    r = secure_app.test_client().get(
        "/_test/whoami",
        headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    assert r.get_json() == {"addr": "203.0.113.7", "scheme": "https"}


def test_without_a_trusted_proxy_forwarded_headers_are_ignored(apps):
    r = (
        apps()
        .test_client()
        .get(
            "/_test/whoami",
            headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
            environ_base={"REMOTE_ADDR": "198.51.100.9"},
        )
    )
    assert r.get_json() == {"addr": "198.51.100.9", "scheme": "http"}


def _csrf_token(html: str) -> str:
    import re

    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_a_browser_logs_in_over_https_with_csrf_checks_on(apps):
    """Behind HTTPS, CSRF protection also wants a same-site Referer: the page's own referrer
    policy must let the browser send it, or nobody can log in."""
    secure = apps(SESSION_COOKIE_SECURE=True, TRUSTED_PROXIES=1, WTF_CSRF_ENABLED=True)
    client = secure.test_client()
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "sanquan.example"}
    page = client.get("/login", headers=https)
    # What a browser sends under the page's policy: same-origin keeps the referrer on this site.
    assert page.headers["Referrer-Policy"] == "same-origin"
    form = {"username": "admin_a", "password": PASSWORD, "csrf_token": _csrf_token(page.text)}
    r = client.post(
        "/login", data=form, headers={**https, "Referer": "https://sanquan.example/login"}
    )
    assert r.status_code == 302
    # A cross-site post carrying a stolen token is still refused.
    page = client.get("/", headers=https, follow_redirects=True)
    form = {"csrf_token": _csrf_token(page.text)}
    r = client.post("/logout", data=form, headers={**https, "Referer": "https://evil.example/"})
    assert r.status_code == 400
