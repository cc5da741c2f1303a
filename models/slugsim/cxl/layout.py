"""Bit layouts: a message class declares its fields with widths, and gets checking and packing.

A field is declared as ``name: Annotated[int, Bits(12)]`` (or an ``IntEnum`` type, whose values
must be members). Fields are packed LSB first in declaration order, so the first field sits at
bit 0. Address fields carry byte addresses but store only the bits above ``shift`` (a line
address drops the 6 offset bits, a page address 12); an address with low bits set is refused.

The constructor check and ``unpack`` are generated per class as straight-line code (as
``dataclasses`` does), because models create millions of messages and a generic loop over
fields costs several times more (cocotb scoreboards unpack every beat the RTL produces).
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
import typing
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar, TypeVar

from .opcodes import ENUM_WIDTHS, MESSAGE_CLASS_OF, Channel, MessageClass


@dataclass(frozen=True, slots=True)
class Bits:
    """Field annotation: ``width`` stored bits; the value's low ``shift`` bits must be zero."""

    width: int
    shift: int = 0


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    lsb: int
    width: int
    shift: int
    enum: type[IntEnum] | None

    @property
    def mask(self) -> int:
        return (1 << self.width) - 1

    @property
    def limit(self) -> int:
        """Exclusive upper bound of the (unshifted) value."""
        return 1 << (self.width + self.shift)


class Message:
    """Base of every message. Subclasses are made by the ``@message`` decorator."""

    __slots__ = ()
    CHANNEL: ClassVar[Channel | None]
    VC: ClassVar[int]  # the MessageClass (virtual channel) it travels in on a link
    FIELDS: ClassVar[tuple[FieldSpec, ...]]
    WIDTH: ClassVar[int]
    wire_bytes: ClassVar[int]
    SOURCE: ClassVar[str]
    TAG_FIELD: ClassVar[str | None]
    ADDR_FIELD: ClassVar[str | None]
    OPCODE_FIELD: ClassVar[str | None]

    @classmethod
    def field_spec(cls, name: str | None) -> FieldSpec | None:
        """The layout of field ``name`` (None for no such field, or no name)."""
        return next((s for s in cls.FIELDS if s.name == name), None)

    @classmethod
    def unchecked(cls, *names: str) -> typing.Callable[..., Any]:
        """A constructor ``make(*values)`` taking the fields ``names`` in that order (the others
        keep their defaults) and skipping the range checks of ``__init__``, for models that
        build millions of messages from values in range by construction (a tag below its
        width, an enum member, a line-aligned address). See docs/performance.md."""
        unknown = [n for n in names if cls.field_spec(n) is None]
        if unknown:
            raise ValueError(f"{cls.__name__} has no field {unknown[0]!r}")
        env: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
        lines = [f"def make({', '.join(names)}):", "    m = _new(_cls)"]
        for f in dataclasses.fields(cls):
            if f.name in names:
                value = f.name
            elif type(f.default) is int:
                value = repr(f.default)
            else:
                env[f"_{f.name}"] = f.default
                value = f"_{f.name}"
            lines.append(f"    m.{f.name} = {value}")
        lines.append("    return m")
        exec("\n".join(lines), env)
        make = env["make"]
        make.__qualname__ = f"{cls.__qualname__}.unchecked"
        return typing.cast(typing.Callable[..., Any], make)

    def pack(self) -> int:
        word = 0
        for spec in self.FIELDS:
            word |= (int(getattr(self, spec.name)) >> spec.shift) << spec.lsb
        return word

    @classmethod
    def unpack(cls, word: int) -> Any:
        if not isinstance(word, int) or word < 0 or word >> cls.WIDTH:
            raise ValueError(
                f"{cls.__name__}.unpack needs a non-negative int of at most {cls.WIDTH} bits, "
                f"got {word!r}"
            )
        values: dict[str, Any] = {}
        for spec in cls.FIELDS:
            raw = (word >> spec.lsb) & spec.mask
            if spec.enum is not None:
                try:
                    values[spec.name] = spec.enum(raw)
                except ValueError:
                    raise ValueError(
                        f"{cls.__name__}.{spec.name}: {raw:#x} is not a valid "
                        f"{spec.enum.__name__} encoding"
                    ) from None
            else:
                values[spec.name] = raw << spec.shift
        return cls(**values)

    def to_bytes(self) -> bytes:
        return self.pack().to_bytes(self.wire_bytes, "little")

    @classmethod
    def from_bytes(cls, data: bytes) -> Any:
        if len(data) != cls.wire_bytes:
            raise ValueError(f"{cls.__name__} needs {cls.wire_bytes} bytes, got {len(data)}")
        return cls.unpack(int.from_bytes(data, "little"))


M = TypeVar("M", bound=type[Message])

MESSAGE_TYPES: list[type[Message]] = []


def message(
    channel: Channel | None,
    source: str,
    tag: str | None = None,
    addr: str | None = None,
    opcode: str | None = "opcode",
) -> typing.Callable[[M], M]:
    """Turn an annotated class into a slotted dataclass message with a bit layout.

    ``source`` names where the layout comes from; ``tag``/``addr``/``opcode`` name the fields
    an EMC record takes its tag, address and opcode from.
    """

    def wrap(cls: M) -> M:
        namespace = vars(sys.modules[cls.__module__])
        specs: list[FieldSpec] = []
        lsb = 0
        for name, hint in inspect.get_annotations(cls).items():
            if isinstance(hint, str):
                hint = eval(hint, namespace)
            base, bits = typing.get_args(hint)
            enum = base if isinstance(base, type) and issubclass(base, IntEnum) else None
            if enum is not None and ENUM_WIDTHS[enum] != bits.width:
                raise TypeError(
                    f"{cls.__name__}.{name}: {enum.__name__} is {ENUM_WIDTHS[enum]} bits"
                )
            specs.append(FieldSpec(name, lsb, bits.width, bits.shift, enum))
            lsb += bits.width
        if not issubclass(cls, Message):
            raise TypeError(f"{cls.__name__} must derive from Message")
        # dataclass only calls a __post_init__ that exists when it builds __init__.
        cls.__post_init__ = _make_check(cls, specs)  # type: ignore[attr-defined]
        made: Any = dataclass(slots=True)(cls)
        made.FIELDS = tuple(specs)
        made.WIDTH = lsb
        made.wire_bytes = (lsb + 7) // 8
        made.CHANNEL = channel
        made.VC = int(MESSAGE_CLASS_OF[channel] if channel is not None else MessageClass.IO)
        made.SOURCE = source
        made.TAG_FIELD = tag
        made.ADDR_FIELD = addr
        made.OPCODE_FIELD = opcode if any(s.name == opcode for s in specs) else None
        if "unpack" not in vars(cls):  # a class may still bring its own
            made.unpack = classmethod(_make_unpack(made, specs))
        if "pack" not in vars(cls):
            made.pack = _make_pack(made, specs)
        MESSAGE_TYPES.append(made)
        return typing.cast(M, made)

    return wrap


def _make_check(cls: type, specs: list[FieldSpec]) -> typing.Callable[[Any], None]:
    """Generate ``__post_init__``: range, alignment and enum checks as straight-line code."""
    lines = ["def __post_init__(self):"]
    env: dict[str, Any] = {"_fail": _fail}
    for spec in specs:
        value = f"self.{spec.name}"
        if spec.enum is not None:
            env[f"_enum_{spec.name}"] = spec.enum
            lines.append(
                f"    if {value}.__class__ is not _enum_{spec.name}:\n"
                f"        if {value}.__class__ is bool: _fail(self, {spec.name!r})\n"
                f"        try: self.{spec.name} = _enum_{spec.name}({value})\n"
                f"        except (ValueError, TypeError): _fail(self, {spec.name!r})"
            )
            continue
        lines.append(
            f"    if {value}.__class__ is not int or not 0 <= {value} < {spec.limit}"
            + (f" or {value} & {(1 << spec.shift) - 1}" if spec.shift else "")
            + f":\n        _fail(self, {spec.name!r})"
        )
    if len(lines) == 1:
        lines.append("    pass")
    exec("\n".join(lines), env)
    check = env["__post_init__"]
    check.__qualname__ = f"{cls.__qualname__}.__post_init__"
    return typing.cast(typing.Callable[[Any], None], check)


def _make_pack(cls: type, specs: list[FieldSpec]) -> typing.Callable[[Any], int]:
    """Generate ``pack``: the same word as ``Message.pack``, as one expression."""
    terms = []
    for spec in specs:
        value = f"(self.{spec.name} >> {spec.shift})" if spec.shift else f"self.{spec.name}"
        terms.append(f"({value} << {spec.lsb})" if spec.lsb else value)
    # int(): IntEnum members shift to plain ints, but a message of one enum field would not
    source = f"def pack(self):\n    return int({' | '.join(terms) or '0'})"
    env: dict[str, Any] = {}
    exec(source, env)
    pack = env["pack"]
    pack.__qualname__ = f"{cls.__qualname__}.pack"
    return typing.cast(typing.Callable[[Any], int], pack)


def _make_unpack(cls: type, specs: list[FieldSpec]) -> typing.Callable[..., Any]:
    """Generate ``unpack``: the same result as ``Message.unpack``, as straight-line code.

    Enum fields are looked up in the enum's value map; anything unusual (a bad word, a value
    that is no member) goes to the generic ``Message.unpack`` for its error message.
    """
    width = sum(spec.width for spec in specs)
    env: dict[str, Any] = {
        "_generic": Message.unpack.__func__,  # type: ignore[attr-defined]
        "_new": object.__new__,
    }
    # every value below is valid by construction (masked, aligned, a member), so the object is
    # filled in directly instead of through __init__ and its checks
    lines = [
        "def unpack(cls, word):",
        f"    if word.__class__ is not int or word < 0 or word >> {width}:",
        "        return _generic(cls, word)",
        "    msg = _new(cls)",
        "    try:",
    ]
    for spec in specs:
        raw = f"(word >> {spec.lsb}) & {spec.mask:#x}" if spec.lsb else f"word & {spec.mask:#x}"
        if spec.enum is not None:
            env[f"_map_{spec.name}"] = spec.enum._value2member_map_
            lines.append(f"        msg.{spec.name} = _map_{spec.name}[{raw}]")
        elif spec.shift:
            lines.append(f"        msg.{spec.name} = ({raw}) << {spec.shift}")
        else:
            lines.append(f"        msg.{spec.name} = {raw}")
    lines += ["    except KeyError:", "        return _generic(cls, word)", "    return msg"]
    exec("\n".join(lines), env)
    unpack = env["unpack"]
    unpack.__qualname__ = f"{cls.__qualname__}.unpack"
    return typing.cast(typing.Callable[..., Any], unpack)


def _fail(msg: Message, name: str) -> typing.NoReturn:
    spec = msg.field_spec(name)
    assert spec is not None
    value = getattr(msg, name)
    if spec.enum is not None:
        members = ", ".join(f"{m.name}={m.value}" for m in spec.enum)
        raise ValueError(
            f"{type(msg).__name__}.{name}={value!r} is not a {spec.enum.__name__} ({members})"
        )
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{type(msg).__name__}.{name} must be an int, got {value!r}")
    if spec.shift and value & ((1 << spec.shift) - 1):
        raise ValueError(
            f"{type(msg).__name__}.{name}={value:#x} must be {1 << spec.shift}-byte aligned"
        )
    raise ValueError(f"{type(msg).__name__}.{name}={value!r} is out of range [0, {spec.limit:#x})")


def field_names(cls: type[Message]) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]
