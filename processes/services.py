"""The application's services without the web app: the one place that puts a database, the runtime and every
stage together. The web app, the CLI, the scheduler and the bench all start from `compose`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from engine import Limits, Runtime, load_config, make_engine, make_session_factory, utcnow

from . import register_all


@dataclass
class Services:
    """Settings, database sessions and the runtime with every stage's operations registered."""

    config: dict
    engine: object
    sessions: Callable
    runtime: Runtime
    clock: Callable = utcnow

    def dispose(self) -> None:
        """Close the database connections (a CLI command or benchmark is done)."""
        self.engine.dispose()


def compose(config: dict | None = None, *, background_checkpoints: bool = False) -> Services:
    """Build the services from settings (config.toml < environment when none are given).

    `background_checkpoints`: for long-running processes (server, scheduler), see engine/checkpoint.py.
    """
    from .forms import personal

    config = config or load_config()
    personal.keyring(config)  # the master key file is created on first run, outside the database
    engine = make_engine(config["database"]["url"], background_checkpoints=background_checkpoints)
    runtime = Runtime(limits=Limits.from_config(config))  # the [engine] step budget
    register_all(runtime, config)
    sessions = make_session_factory(engine, info={"config": config})  # whose keyring opens sealed values
    return Services(config=config, engine=engine, sessions=sessions, runtime=runtime)
