"""Alembic environment: runs migrations on the URL handed over by services.domain.migrate.migrate.

`target_metadata` is every table model, so `alembic check` (and the test that runs its
comparison on both databases) finds any drift between the models and the migrations."""

from alembic import context
from sqlalchemy import create_engine, pool

from services.domain.migrate import all_tables

url = context.config.get_main_option("sqlalchemy.url")
connectable = create_engine(url, poolclass=pool.NullPool)
with connectable.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=all_tables(),
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
connectable.dispose()
