"""`python -m intel config show|check`: the settings table and its validation."""

from __future__ import annotations

import sys

from intel.settings import SettingsError, describe_settings, load_settings


def register(subparsers) -> None:
    parser = subparsers.add_parser("config", help="show or check the settings (config.yaml)")
    parser.add_argument("action", choices=["show", "check"])
    parser.add_argument("--config", help="YAML file (default: INTEL_CONFIG or config.yaml)")
    parser.set_defaults(func=run)


def run(args) -> int:
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.action == "check":
        print("config OK")
        return 0
    current = settings.model_dump()
    for row in describe_settings():
        section, name = row["key"].split(".", 1)
        value = current[section][name]
        print(f"{row['key']:<36} {row['type']:<8} = {value!r:<12} {row['description']}")
    return 0
