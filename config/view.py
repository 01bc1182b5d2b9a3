"""The settings for people: what ``ledger config show`` prints (each setting's default, value and
source, secrets masked), the one sentence a bad setting gets, and the ``--db`` a command uses
when none is given."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.storage import DEFAULT_DATABASE
from storage.urls import describe_url


@dataclass(frozen=True)
class SettingView:
    """One setting for people: its variable, its default and current value (secrets masked) and
    where the value came from (``default``, ``environment``, ``.env`` or ``command line``)."""

    name: str
    default: str
    value: str
    source: str


SECRET_WORDS = ("password", "secret", "token", "api_key")
_QUERY_SECRET = re.compile(r"(?i)([?&](?:password|sslpassword)=)[^&]*")


def mask_secrets(text: str) -> str:
    """A setting's text with the passwords of URLs masked (``user:***@host``, ``?password=***``)."""
    return _QUERY_SECRET.sub(r"\1***", describe_url(text)) if "://" in text else text


def _shown(name: str, value: object) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if hasattr(value, "get_secret_value"):  # pydantic's SecretStr
        return "***" if value.get_secret_value() else ""
    text = str(value)
    if isinstance(value, str) and any(word in name.lower() for word in SECRET_WORDS):
        return "***" if text else ""
    return mask_secrets(text)


def _env_name(name: str) -> str:
    from config.settings import Settings

    return f"{Settings.model_config.get('env_prefix', '')}{name}".upper()


def _sources() -> tuple[dict[str, Any], dict[str, Any], str]:
    """The settings found in the environment and in the env file, and the env file's name."""
    from pydantic_settings import DotEnvSettingsSource, EnvSettingsSource

    from config.settings import Settings

    env_file = Settings.model_config.get("env_file")
    name = str(env_file) if isinstance(env_file, str | Path) else ".env"
    return EnvSettingsSource(Settings)(), DotEnvSettingsSource(Settings)(), name


def reporting_currency() -> str:
    """LEDGER_REPORTING_CURRENCY (environment, then .env, then USD): consolidated reports'
    currency when none is asked for."""
    from config.settings import Settings

    return Settings().reporting_currency


def settings_view(**overrides: object) -> list[SettingView]:
    """Every setting of :class:`config.settings.Settings` (``LEDGER_*`` from the environment, then
    the ``.env`` file, then the default), ``overrides`` given on the command line."""
    from config.settings import Settings

    current = Settings(**overrides)  # type: ignore[arg-type]  # pydantic-settings validates the values
    from_env, from_file, env_file = _sources()
    rows = []
    for name, field in Settings.model_fields.items():
        source = ("command line" if name in overrides else "environment" if name in from_env
                  else env_file if name in from_file else "default")
        rows.append(SettingView(_env_name(name), _shown(name, field.get_default(call_default_factory=True)),
                                _shown(name, getattr(current, name)), source))
    return rows


def settings_problem(error: BaseException) -> str | None:
    """One sentence for invalid settings (a pydantic ``ValidationError`` of the API's settings)
    naming the variable, its value and where it came from; None for any other error."""
    from pydantic import ValidationError

    from config.settings import Settings

    if not isinstance(error, ValidationError) or error.title != Settings.__name__:
        return None
    problems = error.errors()
    first = problems[0]
    name = str(first["loc"][0]) if first["loc"] else ""
    try:
        from_env, from_file, env_file = _sources()
        where = "the environment" if name in from_env else env_file if name in from_file else "the command line"
    except Exception:  # the env file itself cannot be read: say what we know
        where = "the environment"
    given = _shown(name, first.get("input"))
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return (f"setting {_env_name(name)}={given!r} (from {where}) is invalid: {message}{more}; fix or unset it "
            f"(`ledger config show` lists every setting)")


def configured_database() -> str:
    """``LEDGER_DATABASE_URL`` from the environment, else from the ``.env`` file, else the
    default: the ``--db`` every command uses when none is given."""
    import os

    value = os.environ.get("LEDGER_DATABASE_URL")
    if value:
        return value
    if Path(".env").is_file():
        _, from_file, _ = _sources()
        found = from_file.get("database_url")
        if isinstance(found, str) and found:
            return found
    return DEFAULT_DATABASE
