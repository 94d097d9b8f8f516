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
