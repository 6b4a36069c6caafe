"""Settings: config.toml, overridden by GUICHET_<SECTION>_<KEY> with the type of the default."""
from __future__ import annotations

import pytest

from engine.config import ROOT, ConfigError, load_config


def test_defaults_come_from_config_toml():
    config = load_config(env={})
    assert config["transfer"]["handover_sla"] == "PT4H"
    assert config["app"]["default_locale"] == "zh_CN"
    assert config["database"]["url"] == f"sqlite:///{ROOT}/instance/guichet.db"


def test_environment_overrides_with_types():
    config = load_config(env={
        "GUICHET_DATABASE_URL": "postgresql+psycopg://u@h/db",
        "GUICHET_TRANSFER_HANDOVER_SLA": "PT2H",
        "GUICHET_SERVER_PORT": "8080",
        "GUICHET_SCHEDULER_TICK_SECONDS": "0.5",
        "GUICHET_SCHEDULER_ENABLED": "false",
        "GUICHET_APP_DEMO": "1",
    })
    assert config["database"]["url"] == "postgresql+psycopg://u@h/db"
    assert config["transfer"]["handover_sla"] == "PT2H"
    assert config["server"]["port"] == 8080
    assert config["scheduler"]["tick_seconds"] == 0.5
    assert config["scheduler"]["enabled"] is False and config["app"]["demo"] is True


@pytest.mark.parametrize("name,value", [("GUICHET_SERVER_PORT", "eighty"), ("GUICHET_APP_DEMO", "maybe")])
def test_bad_environment_values_are_named(name, value):
    with pytest.raises(ConfigError) as info:
        load_config(env={name: value})
    assert name in str(info.value)
