"""All settings in one validated table.

``config.yaml`` (or the file named by ``INTEL_CONFIG``) holds one mapping per section.
An unknown key or a wrong type stops start-up with a message naming it. Connection
strings come from the environment (``DATABASE_URL``, ``REDIS_URL``), never the file.
``python -m intel config show`` prints every key with its type, default and meaning.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ConfigDict, Field, ValidationError

from intel.settings._base import Section
from intel.settings.auth import AuthSettings
from intel.settings.detector import DetectorSettings
from intel.settings.insights import InsightsSettings
from intel.settings.limits import LimitSettings
from intel.settings.notifications import NotificationSettings
from intel.settings.replay import ReplaySettings
from intel.settings.triage import TriageSettings
from intel.settings.worker import WorkerSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO_ROOT / "config.yaml"
DEFAULT_DATABASE_URL = f"sqlite:///{REPO_ROOT / 'data' / 'aetherlink.db'}"


class SettingsError(ValueError):
    """The configuration is invalid; the message names the file and the key."""


class Settings(Section):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    detector: DetectorSettings = Field(default_factory=DetectorSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    replay: ReplaySettings = Field(default_factory=ReplaySettings)
    insights: InsightsSettings = Field(default_factory=InsightsSettings)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    triage: TriageSettings = Field(default_factory=TriageSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)


def _describe(error: dict) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"unknown key '{where}'"
    return f"{where}: {error['msg']} (got {error.get('input')!r})"


def parse_settings(data: object, source: str = "config") -> Settings:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SettingsError(f"{source}: expected a mapping of sections, got {type(data).__name__}")
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(e) for e in exc.errors())
        raise SettingsError(f"{source}: {problems}") from None


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """Read and validate the YAML config (``INTEL_CONFIG`` or ``config.yaml``).

    A missing default file means all defaults; a missing explicit file is an error.
    """
    explicit = path or os.environ.get("INTEL_CONFIG")
    config_path = Path(explicit) if explicit else DEFAULT_CONFIG
    if not config_path.exists():
        if explicit:
            raise SettingsError(f"{config_path}: config file not found")
        return Settings()
    try:
        data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SettingsError(f"{config_path}: not valid YAML: {exc}") from None
    return parse_settings(data, str(config_path))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, loaded once."""
    return load_settings()


def database_url() -> str:
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def redis_url() -> str | None:
    return os.environ.get("REDIS_URL") or None


def describe_settings() -> list[dict]:
    """Every key: section, name, type, default, description (for docs and `config show`)."""
    rows = []
    for section_name, field in Settings.model_fields.items():
        section_cls = field.default_factory  # each section is its own model
        for name, sub in section_cls.model_fields.items():
            rows.append(
                {
                    "key": f"{section_name}.{name}",
                    "type": getattr(sub.annotation, "__name__", str(sub.annotation)),
                    "default": sub.default,
                    "description": sub.description or "",
                }
            )
    return rows
