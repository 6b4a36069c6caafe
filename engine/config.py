"""Settings from config.toml, overridden by GUICHET_<SECTION>_<KEY> environment variables."""
from __future__ import annotations

import os
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = ROOT / "config.toml"


class ConfigError(ValueError):
    """A setting that cannot be read."""


def _coerce(raw: str, default):
    """Read an environment string as the type of the default it replaces."""
    if isinstance(default, bool):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"expected a boolean, got {raw!r}")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw


def load_config(path: str | Path | None = None, env: dict | None = None, overrides: dict | None = None) -> dict:
    """Return {section: {key: value}} from the file, then the environment, then `overrides`."""
    env = os.environ if env is None else env
    with open(path or DEFAULT_FILE, "rb") as fh:
        config = tomllib.load(fh)
    for section, values in config.items():
        for key, default in values.items():
            name = f"GUICHET_{section}_{key}".upper()
            if name in env:
                try:
                    values[key] = _coerce(env[name], default)
                except ValueError as exc:
                    raise ConfigError(f"{name}: {exc}") from exc
    for section, values in (overrides or {}).items():
        config.setdefault(section, {}).update(values)
    instance = Path(config["app"]["instance_path"])
    if not instance.is_absolute():
        instance = ROOT / instance
    config["app"]["instance_path"] = str(instance)
    url = config["database"]["url"]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and ":memory:" not in url:
        # Relative SQLite paths are relative to the project, not the working directory.
        config["database"]["url"] = "sqlite:///" + str(ROOT / url[len("sqlite:///"):])
    return config
