"""Configuration: defaults, the TOML file, and the environment.

The TOML file's sections (`[database]`, `[wechat]`, …) become upper-case keys of `app.config`
(`app.config["WECHAT"]["api_base_url"]`), because Flask only takes upper-case keys.
"""

from __future__ import annotations

import copy
import os
import tomllib
from pathlib import Path
from typing import Any, BinaryIO

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config.example.toml"

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": None,
    "DEMO": False,
    "DATABASE": {"url": "sqlite:///instance/qingsu.db", "busy_timeout_seconds": 30, "retry_after_seconds": 5},
    "SECURITY": {
        "data_key": "",
        "max_failed_logins": 5,
        "lockout_minutes": 15,
        "max_failed_logins_per_ip": 20,
        "secure_cookies": True,
    },
    "CALENDAR": {"timezone": "Asia/Shanghai"},
    "LIGHTS": {"yellow_fraction_left": 0.34, "batch_size": 2000},
    "EVALUATION": {"window_days": 7, "reminder_after_hours": 72, "batch_size": 500},
    "WECHAT": {
        "api_base_url": "https://api.weixin.qq.com",
        "api_timeout_seconds": 5,
        "timestamp_window_seconds": 300,
        "max_body_bytes": 65536,
        "conversation_idle_minutes": 30,
        "token_store_redis_url": "",
    },
    "CLASSIFIER": {"model_path": "instance/classifier.joblib"},
    "SCHEDULER": {
        "embedded": False,
        "outbox_interval_seconds": 10,
        "lights_interval_seconds": 300,
        "max_attempts": 8,
        "backoff_base_seconds": 30,
        "backoff_max_seconds": 21600,
        "delivery_lease_seconds": 60,
        "outbox_batch_size": 100,
        "channel_wait_minutes": 30,
        "channel_max_wait_hours": 72,
        "leader_lease_seconds": 30,
        "leader_renew_seconds": 10,
        "housekeeping_interval_seconds": 60,
        "token_refresh_interval_seconds": 300,
        "tallies_interval_seconds": 300,
        "daily_summary_hour": 8,
    },
    "ACCOUNTS": [],
}


def load_toml(fp: BinaryIO) -> dict[str, Any]:
    """`tomllib.load`, with top-level keys upper-cased for Flask."""
    return {key.upper(): value for key, value in tomllib.load(fp).items()}


def config_path() -> Path:
    """The file named by QINGSU_CONFIG, else ./config.toml, else the example (which runs the demo)."""
    named = os.environ.get("QINGSU_CONFIG")
    if named:
        return Path(named).resolve()
    local = Path("config.toml")
    return local.resolve() if local.exists() else EXAMPLE_CONFIG


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of `base` with `override` merged in, section by section."""
    result = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result
