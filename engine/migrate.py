"""Schema migrations with Alembic (the scripts live in migrations/ at the project root)."""
from __future__ import annotations

from alembic import command
from alembic.config import Config

from .config import ROOT
from .db import make_engine


def alembic_config(url: str) -> Config:
    """An Alembic config for the given database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database to the newest schema (creating the SQLite file's folder if needed)."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()
