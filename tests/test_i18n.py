"""Chinese by default, English available, and no UI string left untranslated."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_message_has_a_chinese_translation():
    subprocess.run([str(ROOT / "scripts" / "i18n"), "update"], check=True, cwd=ROOT)
    missing = subprocess.run(
        [str(ROOT / "scripts" / "i18n"), "missing"], capture_output=True, text=True, cwd=ROOT
    )
    assert missing.returncode == 0, "untranslated:\n" + missing.stdout


def test_api_follows_accept_language(client):
    zh = client.post("/api/v1/auth/token", json=[])
    en = client.post("/api/v1/auth/token", json=[], headers={"Accept-Language": "en"})
    assert zh.get_json()["error"]["message"] == "请求体须为 JSON 对象。"
    assert en.get_json()["error"]["message"] == "Send a JSON object as the request body."
