"""Alembic environment, wired for GeoAlchemy2 on SpatiaLite and PostGIS."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from geoalchemy2 import alembic_helpers

from app.core import database
from app.core.schema import include_object

config = context.config
if config.config_file_name and not config.attributes.get("skip_logging_config"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def run_migrations_online():
    def process_revision_directives(ctx, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")
                return
        alembic_helpers.writer.process_revision_directives(ctx, revision, directives)

    # As the tables' owner (MIGRATION_DATABASE_URL) when set: the app's own role owns nothing.
    owner = database.migration_engine(current_app)
    connectable = owner if owner is not None else target_db.engine
    try:
        _migrate(connectable, process_revision_directives)
    finally:
        if owner is not None:
            owner.dispose()


def _migrate(connectable, process_revision_directives):
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_db.metadata,
            include_object=include_object,
            process_revision_directives=process_revision_directives,
            render_item=alembic_helpers.render_item,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: run against a database")
run_migrations_online()
