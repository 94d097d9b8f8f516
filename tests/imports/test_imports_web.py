"""The web pages and the API: upload, map, watch, promote; scoped to the job's collective."""

from __future__ import annotations

import io
import time

import pyogrio
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.imports import runners
from app.imports.models import ImportJob, ImportStaging
from app.registry.models import Plot
from tests.conftest import token_for
from tests.imports.conftest import COLLECTIVE_A, nyt_file


def _upload(client, collective_id, path, **extra):
    data = {"kind": "parcels", "file": (io.BytesIO(path.read_bytes()), path.name), **extra}
    return client.post(
        f"/collectives/{collective_id}/imports", data=data, content_type="multipart/form-data"
    )


def test_admin_uploads_checks_and_promotes(client, auth, baseline, tmp_path):
    path, _ = nyt_file(tmp_path, 12)
    auth.login("admin_a")
    page = client.get(f"/collectives/{baseline.collective_a}/imports")
    assert page.status_code == 200 and "csrf_token" in page.text
    r = _upload(client, baseline.collective_a, path)
    assert r.status_code == 302
    job_url = r.headers["Location"]
    job = db.session.scalar(select(ImportJob).order_by(ImportJob.id.desc()))
    assert job.status == "validated" and job.summary["valid"] == 12
    page = client.get(job_url)
    assert page.status_code == 200 and "Refresh" not in page.headers
    assert "<script" not in page.text and "style=" not in page.text
    r = client.post(f"/imports/{job.id}/promote", data={})
    assert r.status_code == 302
    job = db.session.get(ImportJob, job.id)
    assert job.status == "promoted" and job.promoted == 12
    assert db.session.scalar(select(func.count()).select_from(Plot)) == 12
    report = client.get(f"/imports/{job.id}/report.json")
    assert report.status_code == 200 and report.json["features"] == 12


def test_a_running_job_page_refreshes_itself_without_javascript(client, auth, baseline, tmp_path):
    path, _ = nyt_file(tmp_path, 3)
    auth.login("admin_a")
    _upload(client, baseline.collective_a, path)
    job = db.session.scalar(select(ImportJob).order_by(ImportJob.id.desc()))
    job.status, job.phase, job.done, job.total = "running", "reading", 1, 3
    job_id = job.id
    db.session.commit()
    page = client.get(f"/imports/{job_id}")
    assert page.headers["Refresh"] == "2"
    assert "<progress" in page.text


def _file_with_other_field_names(tmp_path, n: int):
    """A parcels file whose plot code and name are in fields called "code" and "label"."""
    path, _ = nyt_file(tmp_path, n)
    src = pyogrio.raw.read(str(path))
    fields = list(src[0]["fields"])
    mine = tmp_path / "mine.gpkg"
    pyogrio.raw.write(
        str(mine),
        src[2],
        [src[3][fields.index("DKBM")], src[3][fields.index("DKMC")]],
        fields=["code", "label"],
        crs="EPSG:4547",
        driver="GPKG",
        geometry_type="Polygon",
    )
    return mine


def test_a_file_with_other_field_names_asks_for_a_mapping(client, auth, baseline, tmp_path):
    mine = _file_with_other_field_names(tmp_path, 4)
    auth.login("admin_a")
    r = _upload(client, baseline.collective_a, mine)
    assert r.status_code == 302 and r.headers["Location"].endswith("/mapping")
    form = client.get(r.headers["Location"])
    assert form.status_code == 200 and "code" in form.text and "DKBM" in form.text
    r = client.post(r.headers["Location"], data={"DKBM": "code", "DKMC": "label"})
    assert r.status_code == 302
    job = db.session.scalar(select(ImportJob).order_by(ImportJob.id.desc()))
    assert job.status == "validated" and job.summary["valid"] == 4
    assert job.summary["mapping"] == {"DKBM": "code", "DKMC": "label"}


def test_unreadable_upload_is_a_clear_422(client, auth, baseline):
    auth.login("admin_a")
    r = client.post(
        f"/collectives/{baseline.collective_a}/imports",
        data={"kind": "parcels", "file": (io.BytesIO(b"[1, 2, 3]"), "x.json")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 422 and "GeoJSON" in r.text


@pytest.mark.authz
def test_jobs_of_another_collective_are_404(client, auth, baseline, tmp_path):
    path, _ = nyt_file(tmp_path, 3)
    auth.login("admin_a")
    _upload(client, baseline.collective_a, path)
    job_id = db.session.scalar(select(ImportJob.id).order_by(ImportJob.id.desc()))
    auth.logout()
    auth.login("admin_b")
    for url in (
        f"/imports/{job_id}",
        f"/imports/{job_id}/report.json",
        f"/imports/{job_id}/mapping",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/imports/{job_id}/promote").status_code == 404
    assert client.post(f"/collectives/{baseline.collective_a}/imports").status_code == 404
    assert client.get(f"/collectives/{baseline.collective_a}/export").status_code == 404
    r = client.post(f"/collectives/{baseline.collective_a}/export", data={"format": "gpkg"})
    assert r.status_code == 404
    auth.logout()
    auth.login("bureau")  # county-wide reader: sees, may not act
    assert client.get(f"/imports/{job_id}").status_code == 200
    assert client.post(f"/imports/{job_id}/promote").status_code == 404


def test_web_export_downloads_a_geopackage(client, auth, baseline, cli, tmp_path):
    path, _ = nyt_file(tmp_path, 5)
    assert cli.run("import", "parcels", path, "--collective", COLLECTIVE_A).exit_code == 0
    auth.login("admin_a")
    r = client.post(f"/collectives/{baseline.collective_a}/export", data={"format": "gpkg"})
    assert r.status_code == 200
    out = tmp_path / "down.gpkg"
    out.write_bytes(r.data)
    assert pyogrio.read_info(str(out))["features"] == 5
    auth.logout()
    auth.login("bureau")
    r = client.post("/exports/county", data={"format": "geojson"})
    assert r.status_code == 200 and b"FeatureCollection" in r.data


def _api_upload(app, client, collective_id, path):
    """Upload a parcels file through the API as admin_a; returns (response, auth headers)."""
    headers = {"Authorization": f"Bearer {token_for(app, 'admin_a')}"}
    r = client.post(
        f"/api/v1/collectives/{collective_id}/imports",
        data={"file": (io.BytesIO(path.read_bytes()), path.name)},
        content_type="multipart/form-data",
        headers=headers,
    )
    return r, headers


def test_api_upload_job_and_promote(app, client, baseline, tmp_path):
    path, _ = nyt_file(tmp_path, 6)
    r, headers = _api_upload(app, client, baseline.collective_a, path)
    assert r.status_code == 202, r.json
    job_id = r.json["job_id"]
    assert r.json["status"] == "validated" and r.json["summary"]["valid"] == 6
    r = client.post(
        f"/api/v1/imports/{job_id}/promote", json={"valid_only": False}, headers=headers
    )
    assert r.status_code == 202 and r.json["status"] == "promoted"
    r = client.get(f"/api/v1/imports/{job_id}/report", headers=headers)
    assert r.json["promoted"] == 6
    again = client.post(f"/api/v1/imports/{job_id}/promote", json={}, headers=headers)
    assert again.status_code == 422 and again.json["error"]["code"] == "job_state"


def test_api_mapping_checks_the_file_again_and_a_job_can_be_discarded(
    app, client, baseline, tmp_path
):
    with app.app_context():
        plots_before = db.session.scalar(select(func.count()).select_from(Plot))
    r, headers = _api_upload(
        app, client, baseline.collective_a, _file_with_other_field_names(tmp_path, 3)
    )
    assert r.status_code == 202 and r.json["status"] == "needs_mapping"
    url = f"/api/v1/imports/{r.json['job_id']}"
    r = client.post(f"{url}/mapping", json={"mapping": {"DKBM": "nothing"}}, headers=headers)
    assert r.status_code == 422 and r.json["error"]["code"] == "mapping_field"
    r = client.post(f"{url}/mapping", json={"mapping": "DKBM=code"}, headers=headers)
    assert r.status_code == 422 and r.json["error"]["field"] == "mapping"
    r = client.post(
        f"{url}/mapping", json={"mapping": {"DKBM": "code", "DKMC": "label"}}, headers=headers
    )
    assert r.status_code == 202 and r.json["status"] == "validated"
    assert r.json["summary"]["valid"] == 3
    r = client.post(f"{url}/discard", headers=headers)
    assert r.status_code == 200 and r.json["status"] == "discarded"
    r = client.post(f"{url}/promote", json={}, headers=headers)
    assert r.status_code == 422 and r.json["error"]["code"] == "job_state"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Plot)) == plots_before


def test_a_job_whose_staged_rows_are_gone_fails_and_writes_nothing(app, client, baseline, tmp_path):
    # On PostgreSQL the staging table is UNLOGGED: a server crash empties it. A job validated
    # before the crash must not "promote" nothing; the user is told to import the file again.
    path, _ = nyt_file(tmp_path, 6)
    r, headers = _api_upload(app, client, baseline.collective_a, path)
    job_id = r.json["job_id"]
    assert r.json["status"] == "validated"
    with app.app_context():
        db.session.execute(ImportStaging.__table__.delete().where(ImportStaging.job_id == job_id))
        db.session.commit()
        plots_before = db.session.scalar(select(func.count()).select_from(Plot))
    r = client.post(f"/api/v1/imports/{job_id}/promote", json={}, headers=headers)
    job = client.get(f"/api/v1/imports/{job_id}", headers=headers).json
    assert job["status"] == "failed"
    assert job["error"]["code"] == "staging_lost"
    assert "Import the file again" in job["error"]["message_en"]
    assert "重新导入" in job["error"]["message_zh"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Plot)) == plots_before


# ------------------------------------------------------------------------------------------
# Background runners: a thread (embedded default) and RQ with a real Redis
# ------------------------------------------------------------------------------------------


def _wait(app, job_id, statuses, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            job = db.session.get(ImportJob, job_id)
            status = job.status
            db.session.remove()
        if status in statuses:
            return status
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {status}")


def test_thread_runner_validates_and_promotes_in_the_background(fresh_app, tmp_path):
    fresh_app.config.update(IMPORT_STORE=str(tmp_path / "store"), IMPORT_RUNNER="auto")
    path, _ = nyt_file(tmp_path, 20)
    client = fresh_app.test_client()
    from tests.conftest import PASSWORD

    client.post("/login", data={"username": "admin_a", "password": PASSWORD})
    with fresh_app.app_context():
        cid = fresh_app.extensions["sanquan_baseline"].collective_a
    r = _upload(client, cid, path)
    job_id = int(r.headers["Location"].rstrip("/").split("/")[-1])
    runners.wait(job_id, 60)
    assert _wait(fresh_app, job_id, {"validated"}) == "validated"
    client.post(f"/imports/{job_id}/promote", data={"valid_only": "y"})
    runners.wait(job_id, 60)
    assert _wait(fresh_app, job_id, {"promoted"}) == "promoted"
    with fresh_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Plot)) == 20


def test_rq_runner_with_redis(fresh_app, tmp_path):
    import uuid

    from redis import Redis
    from rq import SimpleWorker

    # ./dev.sh test and CI start a Redis server when none runs: a missing one is a failure here.
    assert Redis.from_url("redis://127.0.0.1:6379/0").ping()
    fresh_app.config.update(
        IMPORT_STORE=str(tmp_path / "store"),
        IMPORT_RUNNER="auto",
        REDIS_URL="redis://127.0.0.1:6379/0",
        IMPORT_QUEUE=f"sanquan-test-{uuid.uuid4().hex[:8]}",
    )
    path, _ = nyt_file(tmp_path, 15)
    client = fresh_app.test_client()
    from tests.conftest import PASSWORD

    client.post("/login", data={"username": "admin_a", "password": PASSWORD})
    with fresh_app.app_context():
        cid = fresh_app.extensions["sanquan_baseline"].collective_a
    r = _upload(client, cid, path)
    job_id = int(r.headers["Location"].rstrip("/").split("/")[-1])
    with fresh_app.app_context():
        assert db.session.get(ImportJob, job_id).status == "queued"
        db.session.remove()
        q = runners.queue(fresh_app)
        assert q.count == 1
        SimpleWorker([q], connection=q.connection).work(burst=True)
    assert _wait(fresh_app, job_id, {"validated"}) == "validated"
    client.post(f"/imports/{job_id}/promote", data={})
    with fresh_app.app_context():
        q = runners.queue(fresh_app)
        SimpleWorker([q], connection=q.connection).work(burst=True)
        q.delete(delete_jobs=True)
    assert _wait(fresh_app, job_id, {"promoted"}) == "promoted"
    with fresh_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Plot)) == 15
