"""Chinese by default, English available, and no UI string left untranslated."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_message_has_a_chinese_translation(tmp_path):
    """Every message the code uses today (extracted afresh, into a scratch file: the test
    leaves the repository's catalogs as they are) has a Chinese translation that is not fuzzy."""
    import sys

    from babel.messages.pofile import read_po

    pybabel = Path(sys.executable).with_name("pybabel")
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [str(pybabel), "-q", "extract", "-F", "babel.cfg", "-k", "_l", "-o", str(pot), "app"],
        check=True,
        cwd=ROOT,
    )
    with pot.open("rb") as fh:
        used = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    with (ROOT / "app" / "translations" / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        zh = read_po(fh, locale="zh")  # one plural form, as Chinese has
    translated = set()
    for m in zh:
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if m.id and all(strings) and "fuzzy" not in m.flags:
            translated.add(m.id if isinstance(m.id, str) else m.id[0])
    missing = sorted(used - translated)
    assert not missing, "untranslated (scripts/i18n update, then set):\n" + "\n".join(missing)


def test_api_follows_accept_language(client):
    zh = client.post("/api/v1/auth/token", json=[])
    en = client.post("/api/v1/auth/token", json=[], headers={"Accept-Language": "en"})
    assert zh.get_json()["error"]["message"] == "请求体须为 JSON 对象。"
    assert en.get_json()["error"]["message"] == "Send a JSON object as the request body."


def test_translations_keep_placeholders_and_format_cleanly():
    """A stray % in a translation breaks the page (templates always %-format their strings)."""
    import re

    from babel.messages.pofile import read_po

    for locale in ("zh", "en"):
        with open(
            ROOT / "app" / "translations" / locale / "LC_MESSAGES" / "messages.po", "rb"
        ) as fh:
            catalog = read_po(fh)
        for message in catalog:
            if not message.id or not message.string:
                continue
            msgid = message.id if isinstance(message.id, str) else message.id[0]
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            names = set(re.findall(r"%\((\w+)\)", msgid))
            values = {name: 1 for name in names}
            for text in strings:
                assert set(re.findall(r"%\((\w+)\)", text)) <= names, (locale, msgid, text)
                try:
                    text % values
                except (ValueError, TypeError, KeyError) as exc:
                    raise AssertionError(f"{locale}: {text!r} ({exc})") from None


def test_a_page_in_english_stays_english_and_a_forced_language_is_honoured(app, client):
    """The page's texts are looked up in the request's catalog once a request: a page asked for
    in English after one in Chinese is English throughout, and a text forced into Chinese in
    the middle of an English request (a notification's words) is Chinese, then English again."""
    from flask import render_template_string
    from flask_babel import force_locale

    page = "{{ _('Households') }}|{{ _('Log in') }}"
    with app.test_request_context("/"):
        assert render_template_string(page) == "农户|登录"
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert render_template_string(page) == "Households|Log in"
        with force_locale("zh_CN"):
            assert render_template_string(page) == "农户|登录"
        assert render_template_string(page) == "Households|Log in"
    # …and through the app, one client switching language between two views
    assert "登录" in client.get("/login").get_data(as_text=True)
    client.set_cookie("lang", "en")
    english = client.get("/login").get_data(as_text=True)
    assert "Log in" in english and "登录" not in english
