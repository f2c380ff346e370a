"""Alembic's entry point for the warehouse schema Köprü's code owns (ingest, raw, privacy, quality). Run by
`kopru.warehouse.bootstrap()` on the connection it holds, never from the alembic command line."""

from alembic import context
from kopru.schema import VERSION_TABLE, VERSION_TABLE_SCHEMA

context.configure(connection=context.config.attributes["connection"], version_table=VERSION_TABLE,
                  version_table_schema=VERSION_TABLE_SCHEMA, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
