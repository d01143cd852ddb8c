"""Settings come from MODESHIFT_* variables, validated once; a typo is an error, not a silent default."""

from __future__ import annotations

import pytest

from modeshift.config import settings_from_env
from modeshift.errors import ConfigurationError


def test_settings_from_env_reads_typed_values_when_variables_are_set() -> None:
    settings = settings_from_env(
        {
            "MODESHIFT_CLUSTERS": "shop, core ,",
            "MODESHIFT_LOOKBACK_DAYS": "28",
            "MODESHIFT_GOAL": "price",
            "MODESHIFT_NOTIFY_AUDIENCES": "machine,email",
            "AWS_REGION": "eu-west-1",
        }
    )
    assert settings.clusters == ("shop", "core")
    assert settings.lookback_days == 28
    assert settings.goal.value == "price"
    assert settings.notify_audiences == ("machine", "email")
    assert settings.region == "eu-west-1"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MODESHIFT_LOOKBAK_DAYS", "14", "unknown setting MODESHIFT_LOOKBAK_DAYS"),
        ("MODESHIFT_GOAL", "cheap", "goal"),
        ("MODESHIFT_LOOKBACK_DAYS", "0", "lookback_days"),
        ("MODESHIFT_NOTIFY_AUDIENCES", "machine,sms", "notify_audiences"),
    ],
)
def test_settings_from_env_raises_configuration_error_when_a_value_is_wrong(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        settings_from_env({name: value})


def test_settings_from_env_prefers_modeshift_region_over_sdk_region_when_both_are_set() -> None:
    settings = settings_from_env({"MODESHIFT_REGION": "us-west-2", "AWS_DEFAULT_REGION": "eu-west-1"})
    assert settings.region == "us-west-2"


def test_settings_carry_right_sizing_headroom_into_policy_options_when_set() -> None:
    from modeshift.config import settings_from_env

    settings = settings_from_env({"MODESHIFT_CPU_HEADROOM_PCT": "35", "MODESHIFT_MEMORY_HEADROOM_PCT": "10"})

    options = settings.policy_options()
    assert (options.cpu_headroom_pct, options.memory_headroom_pct) == (35.0, 10.0)


def test_settings_hold_a_confidence_floor_of_one_half_when_none_is_set() -> None:
    assert settings_from_env({}).confidence_floor == 0.5


def test_settings_from_env_reads_the_confidence_floor_when_it_is_set() -> None:
    assert settings_from_env({"MODESHIFT_CONFIDENCE_FLOOR": "0.7"}).confidence_floor == 0.7


@pytest.mark.parametrize("value", ["1.5", "-0.1", "high"])
def test_settings_from_env_raises_configuration_error_when_the_confidence_floor_is_not_between_0_and_1(
    value: str,
) -> None:
    with pytest.raises(ConfigurationError, match="confidence_floor"):
        settings_from_env({"MODESHIFT_CONFIDENCE_FLOOR": value})
