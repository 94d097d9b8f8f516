from alembic.script import ScriptDirectory


def test_healthz_tells_an_anonymous_caller_only_ok(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok"}


def test_healthz_reports_backend_and_revision_to_the_system_admin(app, client, auth):
    auth.login("sysadmin")
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ok"
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        head = ScriptDirectory.from_config(config).get_current_head()
    assert body["schema_revision"] == head
    assert body["database"] in {"sqlite+spatialite", "postgresql+postgis"}


def test_login_page_is_chinese(client):
    r = client.get("/login")
    assert r.status_code == 200
    assert "登录" in r.get_data(as_text=True)


def test_admin_logs_in_and_lands_on_collectives(auth, client):
    r = auth.login("admin_a")
    assert r.status_code == 302
    r = client.get("/", follow_redirects=True)
    assert "东湖坪村第一村民小组" in r.get_data(as_text=True)


def test_healthz_refuses_a_database_built_for_another_crs(app, database_url):
    from app.core import spatial
    from tests.conftest import PASSWORD, app_for

    other = app_for(database_url, REGISTRY_SRID=4546)
    try:
        anonymous = other.test_client().get("/healthz")
        assert anonymous.status_code == 503
        assert anonymous.get_json() == {"status": "error"}
        admin = other.test_client()
        admin.post("/login", data={"username": "sysadmin", "password": PASSWORD})
        r = admin.get("/healthz")
        assert r.status_code == 503
        assert "EPSG:4547" in r.get_json()["problem"]
    finally:
        spatial.apply_registry_srid(app.config["REGISTRY_SRID"])
        with other.app_context():
            from app.extensions import db

            db.engine.dispose()
