"""Configuration layers: defaults -> instance/config.py -> environment -> test overrides."""

from __future__ import annotations

from app import create_app
from app.config import from_environment, normalise_database_url


def test_environment_overrides_instance_file_and_tests_override_both(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text(
        "SHARE_CAP_PERCENT = 4.0\nCOOLING_OFF_DAYS = 20\nPUBLIC_NOTICE_DAYS = 9\n"
    )
    monkeypatch.setenv("COOLING_OFF_DAYS", "30")
    monkeypatch.setenv("PUBLIC_NOTICE_DAYS", "12")
    monkeypatch.setenv("SANQUAN_INSTANCE", str(instance))
    application = create_app(
        {"PUBLIC_NOTICE_DAYS": 14, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite"}
    )
    assert application.config["SHARE_CAP_PERCENT"] == 4.0  # file over default
    assert application.config["COOLING_OFF_DAYS"] == 30  # environment over file
    assert application.config["PUBLIC_NOTICE_DAYS"] == 14  # test override over all
    assert application.config["REGISTRY_SRID"] == 4547  # default


def test_database_url_spellings():
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert from_environment(
        {
            "DATABASE_URL": "postgresql://u@h/db",
            "REGISTRY_SRID": "4546",
            "SESSION_COOKIE_SECURE": "true",
        }
    ) == {
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@h/db",
        "REGISTRY_SRID": 4546,
        "SESSION_COOKIE_SECURE": True,
    }


def test_migrations_connect_as_the_owner_the_app_as_itself():
    """docs/DEPLOYMENT.md: the app's DATABASE_URL names a role that owns nothing; `flask db`
    uses MIGRATION_DATABASE_URL (the owner) when it is set."""
    assert from_environment(
        {
            "DATABASE_URL": "postgres://app@h/db",
            "MIGRATION_DATABASE_URL": "postgres://owner@h/db",
            "AUDIT_HEAD_FILE": "/var/lib/sanquan/audit_head.json",
        }
    ) == {
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://app@h/db",
        "MIGRATION_DATABASE_URL": "postgresql+psycopg://owner@h/db",
        "AUDIT_HEAD_FILE": "/var/lib/sanquan/audit_head.json",
    }


def test_secret_key_is_generated_once_per_installation(tmp_path, monkeypatch):
    monkeypatch.setenv("SANQUAN_INSTANCE", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite"}).config[
        "SECRET_KEY"
    ]
    second = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite"}).config[
        "SECRET_KEY"
    ]
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_passwords_are_hashed_with_scrypt_unless_the_tests_say_otherwise(tmp_path, monkeypatch):
    """The suite's cheap hash is a test setting only: an installation hashes with scrypt."""
    from app.auth.services import hash_password

    monkeypatch.setenv("SANQUAN_INSTANCE", str(tmp_path))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite"})
    with app.app_context():
        assert hash_password("demo-pass-2026").startswith("scrypt:")


def test_the_readme_lists_exactly_the_settings_read_from_the_environment():
    """One declaration per setting (app/config.py SETTINGS), and the README's table agrees."""
    import re
    from pathlib import Path

    from app.config import SETTINGS

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = {
        name
        for line in table.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1])
    }
    # URLs are normalised, and the instance folder is read before any setting exists
    outside = {"DATABASE_URL", "MIGRATION_DATABASE_URL", "SANQUAN_INSTANCE"}
    declared = {s.name for s in SETTINGS}
    assert documented - outside == declared, (
        f"in the README only: {sorted(documented - outside - declared)}; "
        f"declared only: {sorted(declared - documented)}"
    )
    assert len(declared) == len(SETTINGS), "a setting is declared twice"


def test_every_declared_setting_is_read_from_the_environment_with_its_type():
    from datetime import timedelta
    from decimal import Decimal

    from app.config import SETTINGS

    samples = {str: "x", int: "7", float: "2.5", bool: "yes", timedelta: "1.5", Decimal: "0.25"}
    env = {s.name: samples[s.kind] for s in SETTINGS}
    read = from_environment(env)
    for s in SETTINGS:
        assert isinstance(read[s.name], s.kind), s.name
    assert read["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=90)
    assert read["SESSION_COOKIE_SECURE"] is True
