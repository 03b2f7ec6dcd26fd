"""The Jinja2 environment of the report's templates (``templates/``), autoescape on.

Every page of a report is rendered here, so escaping is automatic: a value reaches the
HTML escaped unless the code marks it safe (:class:`markupsafe.Markup`), which the report
does only for figures' base64 ``data:`` URIs and for fragments this environment rendered.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

__all__ = ["environment", "render_macro", "render_template"]


@cache
def environment() -> Environment:
    """The environment: templates from the ``racesim.report`` package, autoescape on."""
    return Environment(loader=PackageLoader("racesim.report", "templates"), autoescape=True,
                       undefined=StrictUndefined, keep_trailing_newline=True)


def render_template(name: str, context: dict[str, Any]) -> str:
    """Template ``name`` rendered with ``context`` (values escaped)."""
    return environment().get_template(name).render(context)


def render_macro(name: str, macro: str, *args: Any) -> Markup:
    """One macro of template ``name`` called with ``args`` (values escaped)."""
    module = environment().get_template(name).make_module()
    return Markup(getattr(module, macro)(*args))
