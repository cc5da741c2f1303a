"""Pydantic models generated from the parameter dataclasses in ``fabric/params.py``.

The dataclasses stay the single source of truth: field types, defaults, one-line docs, units
(``metadata["unit"]``) and bounds (``ge`` / ``le``) become a pydantic model per dataclass, which
validates YAML values ("70ns" -> 70000 ps) and exports the JSON Schema. Validation errors become
``Issue``s at the line of the offending value.
"""

from __future__ import annotations

import dataclasses
import math
import types
from collections.abc import Callable
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from annotated_types import Ge, Le
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    WithJsonSchema,
    create_model,
)

from ..fabric.errors import Issue, did_you_mean
from ..fabric.validate import format_size
from ..kernel.units import (
    format_time,
    parse_bandwidth,
    parse_rate,
    parse_size,
    parse_time,
    parse_width,
)
from .yaml_source import Document, YamlPath

INT64_MAX = 2**63 - 1

UNITS: dict[str, tuple[Callable[[Any], int], str, Callable[[int], str]]] = {
    # unit: (parser, JSON Schema pattern of the text form, formatter for defaults in docs)
    "time": (parse_time, r"^\s*[0-9.eE+]+\s*(ps|ns|us|µs|ms|s)\s*$", format_time),
    "size": (parse_size, r"^\s*[0-9.eE+]+\s*([KMGT]i?B|B)\s*$", format_size),
    "rate": (parse_rate, r"^\s*[0-9.eE+]+\s*([KMG]?T/s)\s*$", lambda v: f"{v / 1e9:g}GT/s"),
    "bandwidth": (
        parse_bandwidth,
        r"^\s*[0-9.eE+]+\s*([KMGT]?B/s)\s*$",
        lambda v: f"{v / 1e9:g}GB/s",
    ),
    "width": (parse_width, r"^\s*x?(1|2|4|8|16)\s*$", lambda v: f"x{v}"),
}
EXAMPLES = {
    "time": "70ns",
    "size": "64GiB",
    "rate": "32GT/s",
    "bandwidth": "64GB/s",
    "width": "x16",
}


def _unit_validator(unit: str) -> Callable[[Any], int]:
    parse = UNITS[unit][0]

    def validate(value: Any) -> int:
        # The kernel parsers raise ValueError for text; infinities and huge floats would escape
        # as OverflowError, so they are turned into the same kind of message here.
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"expected a {unit} such as '{EXAMPLES[unit]}', got {value!r}")
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ValueError(f"expected a {unit} such as '{EXAMPLES[unit]}', got {value!r}")
        try:
            result = parse(value)
        except (OverflowError, TypeError):
            raise ValueError(f"{value!r} is not a usable {unit}") from None
        if result > INT64_MAX:
            raise ValueError(f"{value!r} is too large for a {unit}")
        return result

    return validate


def _unit_type(unit: str) -> Any:
    schema = {
        "anyOf": [
            {"type": "integer", "minimum": 0},
            {"type": "string", "pattern": UNITS[unit][1]},
        ],
        "examples": [EXAMPLES[unit]],
    }
    return Annotated[int, BeforeValidator(_unit_validator(unit)), WithJsonSchema(schema)]


_SCALARS: dict[Any, Any] = {int: StrictInt, float: StrictFloat, str: StrictStr, bool: StrictBool}


def _annotation(hint: Any, meta: dict[str, Any]) -> Any:
    """The pydantic type for a dataclass field's type hint and metadata."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        inner = _annotation(args[0] if len(args) == 1 else Union[tuple(args)], meta)  # noqa: UP007
        return inner | None if len(args) < len(get_args(hint)) else inner
    if origin is tuple:
        return tuple[_annotation(get_args(hint)[0], {}), ...]
    if origin is Literal:
        return hint
    if dataclasses.is_dataclass(hint):
        return model_for(hint)
    base = _unit_type(meta["unit"]) if "unit" in meta else _SCALARS[hint]
    bounds = [Ge(meta["ge"])] if "ge" in meta else []
    bounds += [Le(meta["le"])] if "le" in meta else []
    if hint is int and "le" not in meta:
        bounds.append(Le(INT64_MAX))  # the models use these as 64-bit quantities
    return Annotated[base, *bounds] if bounds else base


@cache
def model_for(cls: type) -> type[BaseModel]:
    """A pydantic model accepting what the YAML may say for dataclass ``cls``."""
    hints = get_type_hints(cls)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        meta = dict(f.metadata)
        extra: dict[str, Any] = {}
        if f.default is not dataclasses.MISSING:
            spec = Field(default=f.default, description=meta.get("doc"), json_schema_extra=extra)
            if "unit" in meta and isinstance(f.default, int):
                extra["default"] = UNITS[meta["unit"]][2](f.default)
        elif f.default_factory is not dataclasses.MISSING:
            spec = Field(default_factory=f.default_factory, description=meta.get("doc"))
        else:
            spec = Field(description=meta.get("doc"))
        fields[f.name] = (_annotation(hints[f.name], meta), spec)
    config = ConfigDict(extra="forbid", title=cls.__name__, arbitrary_types_allowed=True)
    model = create_model(cls.__name__, __config__=config, __doc__=cls.__doc__, **fields)
    model.__dataclass_for__ = cls  # type: ignore[attr-defined]
    return model


def to_dataclass(value: Any) -> Any:
    """A validated model (and any models nested in it) as the params dataclass it stands for."""
    if isinstance(value, BaseModel):
        cls = type(value).__dataclass_for__  # type: ignore[attr-defined]
        return cls(
            **{name: to_dataclass(getattr(value, name)) for name in type(value).model_fields}
        )
    if isinstance(value, tuple):
        return tuple(to_dataclass(v) for v in value)
    return value


def validate_params(
    cls: type, data: Any, document: Document, path: YamlPath, what: str
) -> tuple[Any, list[Issue]]:
    """``data`` as a ``cls`` dataclass, or ``(None, issues)`` located in ``document``."""
    model = model_for(cls)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        issue = Issue(
            document.where(path),
            f"{what} must be a mapping of fields, got {_show(data)}",
            f"write {{field: value, ...}}; fields: {', '.join(model.model_fields)}",
        )
        return None, [issue]
    try:
        return to_dataclass(model.model_validate(data)), []
    except ValidationError as exc:
        return None, [_issue(err, model, document, path, what) for err in exc.errors()]


def _issue(
    err: dict[str, Any], model: type[BaseModel], document: Document, path: YamlPath, what: str
) -> Issue:
    loc = tuple(err["loc"])
    where = document.where((*path, *loc))
    owner, name = _owner(model, loc)
    dotted = ".".join(str(p) for p in loc)
    info = owner.model_fields.get(name) if owner is not None else None
    about = f"{name}: {info.description}" if info is not None and info.description else ""
    kind = err["type"]
    if kind == "extra_forbidden":
        known = list(owner.model_fields) if owner is not None else []
        hint = f"known fields: {', '.join(known)}{did_you_mean(name, known)}"
        return Issue(where, f"unknown field '{dotted}' in {what}", hint)
    if kind == "missing":
        return Issue(where, f"{what} needs '{dotted}'", about)
    message = err["msg"].removeprefix("Value error, ")
    if kind != "value_error":
        message = f"{message[0].lower()}{message[1:]}, got {_show(err.get('input'))}"
    if kind == "tuple_type":
        about = f"write a list, e.g. [{_show(err.get('input'))}]; {about}"
    return Issue(where, f"{what}: {dotted}: {message}", about)


def _owner(model: type[BaseModel], loc: tuple) -> tuple[type[BaseModel] | None, str]:
    """The model that holds the last named field of ``loc``, and that field's name."""
    names = [p for p in loc if isinstance(p, str)]
    if not names:
        return model, ""
    owner: type[BaseModel] | None = model
    for part in names[:-1]:
        info = owner.model_fields.get(part) if owner is not None else None
        owner = _nested_model(info.annotation) if info is not None else None
    return owner, names[-1]


def _nested_model(hint: Any) -> type[BaseModel] | None:
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return hint
    for arg in get_args(hint):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
