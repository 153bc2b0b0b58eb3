"""Templates: one file per message (``templates/<name>.txt``, Jinja2), overridable per city.

A city's ``templates_dir`` (``[city.notifications]`` in the city directory, relative to the repository or
absolute) is searched first: a file of the same name there replaces the default. Rendering is strict: a
variable the template names but the event did not give is an error (the event goes to the DLQ with it).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

DEFAULT_DIR = Path(__file__).resolve().parent / "templates"
REPO = Path(__file__).resolve().parents[3]


class TemplateFailed(RuntimeError):
    """A template could not be rendered (missing, broken, or naming a variable the message lacks)."""


@lru_cache(maxsize=64)
def _environment(override_dir: str | None) -> jinja2.Environment:
    paths = [str(DEFAULT_DIR)]
    if override_dir:
        override = Path(override_dir)
        paths.insert(0, str(override if override.is_absolute() else REPO / override))
    return jinja2.Environment(loader=jinja2.FileSystemLoader(paths), undefined=jinja2.StrictUndefined,
                              autoescape=False, keep_trailing_newline=False, trim_blocks=True)


def render(name: str, context: dict[str, str], override_dir: str | None = None) -> str:
    """The text of template ``name`` with ``context``; :class:`TemplateFailed` naming the template otherwise."""
    try:
        return _environment(override_dir).get_template(f"{name}.txt").render(**context).strip()
    except jinja2.TemplateError as exc:
        raise TemplateFailed(f"template {name!r} ({override_dir or 'default'}) failed to render: "
                             f"{type(exc).__name__}: {exc}") from exc


def check_all(names: list[str], override_dirs: list[str | None]) -> None:
    """At start-up: every template parses, in every city's directory (a broken file stops the service)."""
    for override in override_dirs:
        env = _environment(override)
        for name in names:
            try:
                env.get_template(f"{name}.txt")
            except jinja2.TemplateError as exc:
                raise TemplateFailed(f"template {name!r} ({override or 'default'}): {exc}") from exc
