"""Property values as the engine sends them (protobuf Structs), to plain Python and back.

The engine's wire format (pulumi/pulumi sdk/go/common/resource/plugin/rpc.go, mirrored by the Python SDK's
`pulumi.runtime.rpc`): a secret is an object `{<sig>: <secret sig>, value: …}`, a value not known yet (in
a preview) is the string `UNKNOWN`, numbers are float64. Here a secret is a `Secret`, an unknown value is
`UNKNOWN`, and whole numbers are ints, so the plugins work with plain Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf import struct_pb2

# The engine's signatures (sdk/go/common/resource/sig/sig.go `Key`, `Secret`, `UnknownStringValue`), written
# here rather than imported from the Python SDK's `pulumi.runtime.rpc`, which loads the whole SDK: a plugin
# starts without it (plugins/__main__.py). tests/test_lab_plugins.py pins them to the SDK's.
_special_sig_key = "4dabf18193072939515e22adb298388d"
_special_secret_sig = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN_TEXT = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


@dataclass(frozen=True)
class Secret:
    value: Any


def _plain(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "null_value" or kind is None:
        return None
    if kind == "bool_value":
        return value.bool_value
    if kind == "number_value":
        number = value.number_value
        return int(number) if number.is_integer() else number
    if kind == "string_value":
        return UNKNOWN if value.string_value == UNKNOWN_TEXT else value.string_value
    if kind == "list_value":
        return [_plain(item) for item in value.list_value.values]
    fields = value.struct_value.fields
    if _special_sig_key in fields:
        if fields[_special_sig_key].string_value == _special_secret_sig:
            return Secret(_plain(fields["value"]))
        raise ValueError(f"the lab's plugins take no assets, archives or resource references: {fields[_special_sig_key]}")
    return {key: _plain(item) for key, item in fields.items()}


def decode(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A property map; nulls are dropped, as the engine treats a null property as absent."""
    return {key: plain for key, item in struct.fields.items() if (plain := _plain(item)) is not None}


def _value(value: Any) -> struct_pb2.Value:
    out = struct_pb2.Value()
    if value is None:
        out.null_value = struct_pb2.NULL_VALUE
    elif value is UNKNOWN:
        out.string_value = UNKNOWN_TEXT
    elif isinstance(value, Secret):
        out.struct_value.fields[_special_sig_key].string_value = _special_secret_sig
        out.struct_value.fields["value"].CopyFrom(_value(value.value))
    elif isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int | float):
        out.number_value = float(value)
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, list | tuple):
        out.list_value.values.extend(_value(item) for item in value)
    elif isinstance(value, dict):
        for key, item in value.items():
            out.struct_value.fields[key].CopyFrom(_value(item))
    else:
        raise TypeError(f"cannot send {type(value).__name__} to the engine")
    return out


def encode(properties: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    for key, item in properties.items():
        struct.fields[key].CopyFrom(_value(item))
    return struct


def reveal(value: Any) -> Any:
    """The value with every secret unwrapped (what the provider works with)."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if isinstance(value, dict):
        return {key: reveal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [reveal(item) for item in value]
    return value


def has_secret(value: Any) -> bool:
    if isinstance(value, Secret):
        return True
    if isinstance(value, dict):
        return any(has_secret(item) for item in value.values())
    if isinstance(value, list):
        return any(has_secret(item) for item in value)
    return False


def has_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, Secret):
        return has_unknown(value.value)
    if isinstance(value, dict):
        return any(has_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(has_unknown(item) for item in value)
    return False
