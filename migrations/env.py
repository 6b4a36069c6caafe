"""Alembic environment: the URL comes from Guichet's settings, the tables from every package's models."""
from alembic import context
from sqlalchemy import engine_from_config, pool

from engine.config import load_config
from engine.db import Base
import engine.models  # noqa: F401
import processes.models  # noqa: F401 - imports every stage's tables

config = context.config
url = config.get_main_option("sqlalchemy.url") or load_config()["database"]["url"]
target_metadata = Base.metadata


def run_offline() -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(connection=connectable, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config({"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
