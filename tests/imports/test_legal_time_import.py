"""Imported rows carry legal time too: the date the importer declares, else the day of promotion.

The bulk import writes version rows with SQL, not through history.create; valid_from is bound
once per job, so the import keeps its speed."""

from __future__ import annotations

import io
from datetime import date, timedelta

from sqlalchemy import select

from app.extensions import db
from app.imports.models import ImportJob
from app.registry import history
from app.registry.models import Household, HouseholdMember, Person, Plot
from tests.imports.conftest import COLLECTIVE_A, nyt_file
from tests.imports.test_households_import import tables, write_csv


def test_imported_plots_take_effect_on_the_declared_date(cli, tmp_path):
    path, _ = nyt_file(tmp_path, 5)
    result = cli.run(
        "import", "parcels", path, "--collective", COLLECTIVE_A, "--effective-on", "2018-06-30"
    )
    assert result.exit_code == 0, result.output
    plots = list(db.session.scalars(select(Plot).where(Plot.end_lifespan.is_(None))))
    assert len(plots) == 5
    assert {(p.valid_from, p.valid_to) for p in plots} == {(date(2018, 6, 30), None)}
    # legal time: the plots exist on 2019-01-01 although they were recorded today
    assert history.as_of(Plot, plots[0].uid, date(2019, 1, 1)).uid == plots[0].uid


def test_imported_plots_without_a_declared_date_take_effect_on_promotion(cli, tmp_path):
    path, _ = nyt_file(tmp_path, 3)
    result = cli.run("import", "parcels", path, "--collective", COLLECTIVE_A)
    assert result.exit_code == 0, result.output
    plots = list(db.session.scalars(select(Plot).where(Plot.end_lifespan.is_(None))))
    assert len(plots) == 3 and {p.valid_from for p in plots} == {history.county_today()}


def test_an_import_dated_in_the_future_is_refused(cli, tmp_path):
    path, _ = nyt_file(tmp_path, 3)
    result = cli.run(
        "import", "parcels", path, "--collective", COLLECTIVE_A, "--effective-on", "2999-01-01"
    )
    assert result.exit_code == 2
    assert db.session.scalar(select(Plot.id).limit(1)) is None


def test_imported_households_people_and_members_take_effect_on_the_declared_date(cli, tmp_path):
    cbf, members = tables(2)
    a = write_csv(tmp_path / "CBF.csv", cbf)
    b = write_csv(tmp_path / "CBF_JTCY.csv", members)
    result = cli.run(
        "import",
        "households",
        a,
        "--members",
        b,
        "--collective",
        COLLECTIVE_A,
        "--effective-on",
        "2017-12-31",
    )
    assert result.exit_code == 0, result.output
    for model in (Household, Person, HouseholdMember):
        rows = list(
            db.session.scalars(select(model).where(model.change_reason.like("import job%")))
        )
        assert rows and {(r.valid_from, r.valid_to) for r in rows} == {(date(2017, 12, 31), None)}


def _upload(client, collective_id, path, **extra):
    data = {"kind": "parcels", "file": (io.BytesIO(path.read_bytes()), path.name), **extra}
    return client.post(
        f"/collectives/{collective_id}/imports", data=data, content_type="multipart/form-data"
    )


def test_the_upload_form_takes_the_date_the_data_took_effect(client, auth, baseline, tmp_path):
    path, _ = nyt_file(tmp_path, 4)
    auth.login("admin_a")
    page = client.get(f"/collectives/{baseline.collective_a}/imports").text
    assert 'name="effective_on"' in page
    tomorrow = (history.county_today() + timedelta(days=1)).isoformat()
    r = _upload(client, baseline.collective_a, path, effective_on=tomorrow)
    assert r.status_code == 422 and "生效日期不能晚于今天" in r.text
    assert db.session.scalar(select(ImportJob.id).limit(1)) is None
    r = _upload(client, baseline.collective_a, path, effective_on="2018-06-30")
    assert r.status_code == 302
    job = db.session.scalar(select(ImportJob).order_by(ImportJob.id.desc()))
    assert client.post(f"/imports/{job.id}/promote", data={}).status_code == 302
    plots = list(db.session.scalars(select(Plot).where(Plot.end_lifespan.is_(None))))
    assert len(plots) == 4 and {p.valid_from for p in plots} == {date(2018, 6, 30)}
