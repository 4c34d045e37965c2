"""The HOMEASSISTANT_* settings (docs/contracts.md, Configuration): off by default, and a
malformed value is one clear line at start."""

import pytest

from app.config import ConfigError, load_settings


def settings(tmp_path, **env):
    return load_settings(env, tmp_path)


def test_home_assistant_is_off_by_default(tmp_path):
    config = settings(tmp_path)

    assert config["HOMEASSISTANT_DISCOVERY"] is False
    assert config["HOMEASSISTANT_DISCOVERY_PREFIX"] == "homeassistant"
    assert config["HOMEASSISTANT_POLL_SECONDS"] == 5
    assert config["HOMEASSISTANT_USERS"] == []


def test_home_assistant_settings_are_read(tmp_path):
    config = settings(
        tmp_path,
        HOMEASSISTANT_DISCOVERY="yes",
        HOMEASSISTANT_DISCOVERY_PREFIX=" ha/discovery ",
        HOMEASSISTANT_POLL_SECONDS="30",
        HOMEASSISTANT_USERS="Ana@Example.com, bo@example.com",
    )

    assert config["HOMEASSISTANT_DISCOVERY"] is True
    assert config["HOMEASSISTANT_DISCOVERY_PREFIX"] == "ha/discovery"
    assert config["HOMEASSISTANT_POLL_SECONDS"] == 30
    assert config["HOMEASSISTANT_USERS"] == ["ana@example.com", "bo@example.com"]


@pytest.mark.parametrize("prefix", ["", "home/#", "home/+/x", "/homeassistant", "homeassistant/", "a//b", "x" * 129])
def test_a_discovery_prefix_that_is_no_topic_is_refused(tmp_path, prefix):
    with pytest.raises(ConfigError, match="HOMEASSISTANT_DISCOVERY_PREFIX must be topic levels"):
        settings(tmp_path, HOMEASSISTANT_DISCOVERY_PREFIX=prefix or " ")


@pytest.mark.parametrize(("name", "value"), [("HOMEASSISTANT_DISCOVERY", "maybe"), ("HOMEASSISTANT_POLL_SECONDS", "0")])
def test_other_malformed_settings_are_refused(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        settings(tmp_path, **{name: value})
