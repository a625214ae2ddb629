"""Configuration: defaults, the TOML file, and the environment.

The TOML file's sections (`[database]`, `[wechat]`, …) become upper-case keys of `app.config`
(`app.config["WECHAT"]["api_base_url"]`), because Flask only takes upper-case keys.
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config.example.toml"

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": None,
    "DEMO": False,
    "DATABASE": {"url": "sqlite:///instance/models.db", "busy_timeout_seconds": 30, "retry_after_seconds": 5},
    "SECURITY": {
        "data_key": "",
        "max_failed_logins": 5,
        "lockout_minutes": 15,
        "max_failed_logins_per_ip": 20,
        "secure_cookies": True,
        "max_request_bytes": 2 * 1024 * 1024,
    },
    "CALENDAR": {"timezone": "Asia/Shanghai"},
    "LIGHTS": {"yellow_fraction_left": 0.34, "batch_size": 2000},
    "EVALUATION": {"window_days": 7, "reminder_after_hours": 72, "batch_size": 500},
    "EXTENSIONS": {
        "max_approved_per_round": 1,
        "max_total_working_days": {"livelihood": 5, "development": 20, "enforcement": 20},
    },
    "WECHAT": {
        "api_base_url": "https://api.weixin.qq.com",
        "api_timeout_seconds": 5,
        "timestamp_window_seconds": 300,
        "max_body_bytes": 65536,
        "conversation_idle_minutes": 30,
        "account_cache_seconds": 10,
        "token_store_redis_url": "",
        "fake_state_file": "",
    },
    "HOTLINE": {"push_url": "", "push_secret": "", "timeout_seconds": 5},
    "OPEN311": {"public_read": False},
    "WEB": {"public_base_url": "", "reply_link_grace_days": 30},
    "MEDIA": {
        "folder": "instance/media",
        "interval_seconds": 30,
        "max_attempts": 6,
        "backoff_base_seconds": 60,
        "backoff_max_seconds": 3600,
        "lease_seconds": 120,
        "batch_size": 20,
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
        "hot_issues_interval_seconds": 900,
        "duplicates_interval_seconds": 60,
        "warnings_interval_seconds": 300,
        "daily_summary_hour": 8,
    },
    "HOT_ISSUES": {"windows": [7]},
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


# --- production safety ---------------------------------------------------------------------------------------------

MIN_SECRET_LENGTH = 32
# Keys whose example value must never reach production (the example file is public).
_SECRET_NAME = ("secret", "key", "token", "password")
# Secrets the environment may supply instead of the file (they override it).
SECRET_ENVIRONMENT = {"QINGSU_SECRET_KEY": ("SECRET_KEY",), "QINGSU_DATA_KEY": ("SECURITY", "data_key")}


class UnsafeConfiguration(RuntimeError):
    """Production was asked to start with a public example secret, a weak key or the example WeChat accounts.

    The message names every key to change; `problems` lists them one by one.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "refusing to start in production (DEMO = false) with this configuration; change:\n"
            + "\n".join(f"  - {problem}" for problem in problems)
            + "\n(generate keys with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )


def apply_secret_environment(config: dict[str, Any], environ: Mapping[str, str]) -> None:
    """Let QINGSU_SECRET_KEY and QINGSU_DATA_KEY override the file's SECRET_KEY and [security] data_key."""
    for variable, path in SECRET_ENVIRONMENT.items():
        value = environ.get(variable)
        if not value:
            continue
        target = config
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value


@cache
def example_config() -> dict[str, Any]:
    """config.example.toml as the application would load it (upper-case top-level keys)."""
    with EXAMPLE_CONFIG.open("rb") as fp:
        return load_toml(fp)


def _secret_leaves(section: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, tuple[str, ...], str]]:
    for key, value in section.items():
        if isinstance(value, dict):
            yield from (
                (f"{prefix}[{key.lower()}] {name}", (key, *path), leaf)
                for name, path, leaf in _secret_leaves(value, prefix)
            )
        elif isinstance(value, str) and value and any(word in key.lower() for word in _SECRET_NAME):
            yield key, (key,), value


def _lookup(config: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = config
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def production_problems(config: Mapping[str, Any]) -> list[str]:
    """What makes `config` unfit for production: each entry names a key and what is wrong with it.

    Refused: any secret-looking key (a name with secret, key, token or password) still holding its value from
    config.example.toml; an empty or short (under 32 characters) SECRET_KEY or [security] data_key; any
    [[accounts]] entry that shares an appid, token, AES key or secret with the example accounts; a [hotline]
    push_url without its push_secret.
    """
    problems: list[str] = []
    example = example_config()
    for name, path, example_value in _secret_leaves({k: v for k, v in example.items() if k != "ACCOUNTS"}):
        if _lookup(dict(config), path) == example_value:
            problems.append(f"{name}: still the public example value")
    for name, path in (("SECRET_KEY", ("SECRET_KEY",)), ("[security] data_key", ("SECURITY", "data_key"))):
        value = _lookup(dict(config), path)
        if not value:
            problems.append(f"{name}: empty")
        elif len(str(value)) < MIN_SECRET_LENGTH and not any(p.startswith(name + ":") for p in problems):
            problems.append(f"{name}: shorter than {MIN_SECRET_LENGTH} characters")
    example_values = {
        entry.get(field)
        for entry in example.get("ACCOUNTS", [])
        for field in ("appid", "token", "encoding_aes_key", "secret")
        if entry.get(field)
    }
    demo_accounts = [
        str(entry.get("district", f"#{position}"))
        for position, entry in enumerate(config.get("ACCOUNTS") or [], start=1)
        if any(
            entry.get(field) in example_values for field in ("appid", "token", "encoding_aes_key", "secret")
        )
    ]
    if demo_accounts:
        problems.append(
            f"[[accounts]]: the example demo accounts ({', '.join(demo_accounts)}), whose tokens and secrets are "
            "public; remove them (managers add each district's real account on the admin site)"
        )
    hotline = config.get("HOTLINE") or {}
    if hotline.get("push_url") and not hotline.get("push_secret"):
        problems.append(
            "[hotline] push_secret: empty while push_url is set (the hotline could not check the pushes)"
        )
    if (config.get("WECHAT") or {}).get("api_base_url") == "self":
        problems.append(
            '[wechat] api_base_url: "self" is the demo\'s fake WeChat API; use https://api.weixin.qq.com'
        )
    return problems


def check_production(config: Mapping[str, Any]) -> None:
    """Refuse a production configuration with example or weak secrets (demo and test configurations pass).

    :raises UnsafeConfiguration: naming every key to change.
    """
    if config.get("DEMO") or config.get("TESTING"):
        return
    problems = production_problems(config)
    if problems:
        raise UnsafeConfiguration(problems)
