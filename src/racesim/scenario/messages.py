"""Turn a pydantic ValidationError into one plain line per problem.

Each line reads ``<source>: <field path>: <message> (got <value>)``, for example::

    flash_sale.toml: channels[2].webhook.latency.p99: must be ≥ median (got 3s < 5s)

The field path is pydantic's error location with list indices written ``[2]`` and the
tags of discriminated unions (``lognormal`` above) left out: they are values in the file,
not keys. To name those tags, and to suggest the right key for a misspelled one, the
location is walked through the model's type annotations.
"""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from racesim.scenario.fields import PROBLEM, show
from racesim.scenario.limits import MAX_MESSAGE_LINE, MAX_PROBLEMS

__all__ = ["describe_errors"]


@dataclass(frozen=True, slots=True)
class _Place:
    """Where an error location points, in the file's terms."""

    path: str
    """Dotted path with ``[i]`` indices, union tags removed."""
    parent: type[BaseModel] | None
    """The model that holds the last key, if known."""
    tag: tuple[str, str, tuple[type[BaseModel], ...]] | None
    """(discriminator, tag, union members) when ``parent`` was chosen by a tag."""
    end: Any
    """The annotation at the end of the location (e.g. a union), if known."""


def describe_errors(error: ValidationError, source: str, root: type[BaseModel]) -> str:
    """One line per problem, ``<source>: <path>: <message>``, in the order pydantic found them."""
    lines: list[str] = []
    details = error.errors(include_url=False)
    for detail in details:
        place = _locate(root, detail["loc"])
        path, message = _explain(detail, place)
        line = " ".join(f"{source}: {path}: {message}".splitlines())
        if len(line) > MAX_MESSAGE_LINE:
            line = line[: MAX_MESSAGE_LINE - 1] + "…"
        if line not in lines:
            lines.append(line)
    if len(lines) > MAX_PROBLEMS:
        more = len(lines) - MAX_PROBLEMS
        lines = [*lines[:MAX_PROBLEMS], f"{source}: … and {more} more problem(s)"]
    return "\n".join(lines)


def _explain(detail: Any, place: _Place) -> tuple[str, str]:
    """(field path, message) for one pydantic error."""
    kind, ctx, value = detail["type"], detail.get("ctx") or {}, detail.get("input")
    path = place.path or "(top level)"
    if kind == PROBLEM:
        return path, str(ctx["message"])
    if kind == "missing":
        return path, "required field is missing"
    if kind == "extra_forbidden":
        return path, _unknown_key(place)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        key = str(ctx.get("discriminator", "")).strip("'\"")
        tags = ctx.get("expected_tags") or ", ".join(repr(tag) for tag in _tags(place.end, key))
        where = f"{place.path}.{key}" if place.path else key
        if kind == "union_tag_not_found":
            return where, f"required field is missing (one of {tags})"
        return where, f"unknown {key} {show(ctx.get('tag'))}: expected one of {tags}"
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return path, str(ctx["error"])
    return path, f"{_builtin_message(kind, ctx, detail['msg'])} (got {show(value)})"


_BOUNDS = {
    "greater_than": ("gt", ">"),
    "greater_than_equal": ("ge", "≥"),
    "less_than": ("lt", "<"),
    "less_than_equal": ("le", "≤"),
}
_KINDS = {
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "dict_type": "must be a table",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "finite_number": "must be a finite number",
}


def _builtin_message(kind: str, ctx: dict[str, Any], fallback: str) -> str:
    """Plain wording for pydantic's own error kinds."""
    if kind in _BOUNDS:
        key, sign = _BOUNDS[kind]
        return f"must be {sign} {show(ctx[key])}"
    if kind == "literal_error":
        return f"must be one of {ctx['expected']}"
    if kind == "too_short":
        return f"must have at least {ctx['min_length']} item(s)"
    if kind == "too_long":
        return f"must have at most {ctx['max_length']} item(s)"
    if kind.startswith("int_"):
        return "must be a whole number"
    if kind.startswith("float_"):
        return "must be a number"
    return _KINDS.get(kind, fallback[:1].lower() + fallback[1:])


def _unknown_key(place: _Place) -> str:
    """Why a key is refused: used by another mode/policy, a likely typo, or simply unknown."""
    key = place.path.rsplit(".", 1)[-1]
    if place.parent is None:
        return "unknown field"
    if place.tag is not None:
        discriminator, tag, members = place.tag
        users = [
            other
            for other in _tags_of(members, discriminator)
            if key in _keys(_member(members, discriminator, other))
        ]
        if users:
            allowed = " or ".join(repr(other) for other in users)
            return (
                f"not allowed when {discriminator} = {tag!r} "
                f"(only when {discriminator} = {allowed})"
            )
    known = _keys(place.parent)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"unknown field; did you mean {close[0]!r}?"
    return f"unknown field; expected one of: {', '.join(known)}"


def _locate(root: type[BaseModel], loc: tuple[int | str, ...]) -> _Place:
    """Follow ``loc`` through the annotations below ``root``."""
    parts: list[str] = []
    annotation: Any = root
    discriminator: str | None = None
    parent: type[BaseModel] | None = None
    tag: tuple[str, str, tuple[type[BaseModel], ...]] | None = None
    chosen: tuple[str, str, tuple[type[BaseModel], ...]] | None = None
    for item in loc:
        annotation, found = _unwrap(annotation)
        discriminator = found or discriminator
        if isinstance(item, int):
            parts.append(f"[{item}]")
            args = get_args(annotation)
            annotation, discriminator = (args[0] if args else None), None
            continue
        members = _union_members(annotation)
        if members and discriminator and item in _tags_of(members, discriminator):
            chosen = (discriminator, item, members)
            annotation, discriminator = _member(members, discriminator, item), None
            continue
        parts.append(f".{_short(item)}" if parts else _short(item))
        parent, tag, chosen = _as_model(annotation), chosen, None
        field = _field(parent, item) if parent else None
        annotation = field.annotation if field else None
        discriminator = _discriminator(field)
    end, _ = _unwrap(annotation)
    return _Place("".join(parts), parent, tag, end)


def _short(key: str) -> str:
    """A key as it goes into a field path: cut when it is absurdly long."""
    return key if len(key) <= 60 else key[:57] + "..."


def _discriminator(field: FieldInfo | None) -> str | None:
    """The field's discriminator key, if it is a discriminated union on a plain key."""
    found = field.discriminator if field is not None else None
    return found if isinstance(found, str) else None


def _unwrap(annotation: Any) -> tuple[Any, str | None]:
    """Strip ``Annotated`` and ``X | None``; return the type and any discriminator found."""
    discriminator = None
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *metadata = get_args(annotation)
            for meta in metadata:
                if isinstance(meta, FieldInfo):
                    discriminator = _discriminator(meta) or discriminator
            continue
        if origin in (typing.Union, types.UnionType):
            options = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(options) == 1:
                annotation = options[0]
                continue
        return annotation, discriminator


def _union_members(annotation: Any) -> tuple[type[BaseModel], ...]:
    """The model classes of a union annotation (empty if it is not a union of models)."""
    if get_origin(annotation) not in (typing.Union, types.UnionType):
        return ()
    return tuple(arg for arg in get_args(annotation) if _as_model(arg))


def _tags_of(members: tuple[type[BaseModel], ...], discriminator: str) -> list[str]:
    """The tag of each member, in declaration order."""
    tags: list[str] = []
    for member in members:
        field = member.model_fields.get(discriminator)
        if field is not None:
            tags.extend(str(arg) for arg in get_args(field.annotation))
    return tags


def _tags(annotation: Any, discriminator: str) -> list[str]:
    """The tags of the union at ``annotation`` (empty if unknown)."""
    return _tags_of(_union_members(annotation), discriminator) if discriminator else []


def _member(
    members: tuple[type[BaseModel], ...], discriminator: str, tag: str
) -> type[BaseModel] | None:
    """The member whose discriminator is the literal ``tag``."""
    for member in members:
        field = member.model_fields.get(discriminator)
        if field is not None and tag in get_args(field.annotation):
            return member
    return None


def _as_model(annotation: Any) -> type[BaseModel] | None:
    """``annotation`` if it is a pydantic model class."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _field(model: type[BaseModel], key: str) -> FieldInfo | None:
    """The field spelled ``key`` in the file (its alias if it has one)."""
    for name, field in model.model_fields.items():
        if (field.alias or name) == key:
            return field
    return None


def _keys(model: type[BaseModel] | None) -> list[str]:
    """The keys a model accepts, as spelled in the file."""
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]
