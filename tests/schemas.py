"""Validating JSON against the schemas of a committed or live OpenAPI document (issue #17)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker


def format_checker() -> FormatChecker:
    """jsonschema's checker, with ``date-time`` checked here (its own needs an extra package): ISO 8601 with a
    time zone, as every answer writes it."""
    checker = FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if datetime.fromisoformat(value).tzinfo is None:
            raise ValueError(f"no time zone: {value}")
        return True

    return checker


def validator(spec: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A validator of ``schema`` whose ``#/components/...`` references resolve in ``spec``."""
    return Draft202012Validator({**schema, "components": spec.get("components", {})}, format_checker=format_checker())
