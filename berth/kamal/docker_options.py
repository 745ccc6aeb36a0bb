"""A Kamal role's or accessory's `options` (extra `docker run` flags) and `logging`, as stack keys.

Kamal hands `options` to `docker run` as `--key value` (Kamal::Utils.optionize: a list repeats the flag, `true`
is a bare flag). What changes how the app runs is carried or refused, never only noted: memory and cpus,
`--user`, `--group-add` and `--add-host` become `options` keys, `--volume` and `--mount` (they hold data)
become volumes, and `--network host` is refused. Other flags (`--memory-swap`, `--health-cmd`, ...) are
noted with their line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import storage

if TYPE_CHECKING:
    from .translate import Translation

CARRIED = {"memory": "memory", "cpus": "cpus", "user": "user", "group-add": "groupAdd", "add-host": "addHost"}
_LISTS = ("groupAdd", "addHost")


@dataclass
class Carried:
    options: dict[str, Any] = field(default_factory=dict)  # the stack's `options`
    volumes: list[str] = field(default_factory=list)  # Kamal syntax, source:target[:ro]
    logging: dict[str, Any] = field(default_factory=dict)  # `--log-driver` / `--log-opt` given as options


def translate(t: Translation, options: Any, path: tuple) -> Carried:
    out = Carried()
    if not isinstance(options, dict):
        return out
    for key, value in options.items():
        at = (*path, key)
        values = value if isinstance(value, list) else [value]
        if not values or any(isinstance(v, (dict, list)) for v in values):
            t.problem(at, f"{'/'.join(map(str, at))}: {value!r} is not a value docker run --{key} takes")
        elif key in CARRIED:
            name = CARRIED[key]
            texts = [_add_host(v) if key == "add-host" else str(v) for v in values]
            out.options[name] = texts if name in _LISTS else (texts[-1] if key != "cpus" else value)
            t.take(*at)
        elif key in ("volume", "mount"):
            for i, item in enumerate(values):
                mount = _mount(t, str(item), at if len(values) == 1 else (*at, i)) if key == "mount" else \
                    storage.mount(t, str(item), at if len(values) == 1 else (*at, i))
                if mount:
                    out.volumes.append(mount)
            t.take(*at)
        elif key == "network":
            _network(t, str(value), at)
        elif key == "log-driver":
            out.logging["driver"] = str(values[-1])
            t.take(*at)
        elif key == "log-opt":
            for item in values:
                name, _, option = str(item).partition("=")
                out.logging.setdefault("options", {})[name] = option
            t.take(*at)
        else:
            t.note("not-taken", at, f"docker run --{key}: Berth sets memory, cpus, user, group-add, add-host, volumes "
                                    "and logging on a container, not this flag")
    if "memory" in out.options:
        out.options["memory"] = str(out.options["memory"])
    return out


def _add_host(value: Any) -> str:
    """Docker takes `name:ip` and, since 25, `name=ip`; the stack takes the first."""
    name, sep, ip = str(value).partition("=")
    return f"{name}:{ip}" if sep and ":" not in name else str(value)


def _network(t: Translation, network: str, path: tuple) -> None:
    key = "/".join(map(str, path))
    if network == "host":
        t.problem(path, f"{key}: host (docker run --network host): the container would share the host's network "
                        "and leave the kamal network, where kamal-proxy and the accessories reach it by name, and "
                        "its ports would bypass Berth's firewall rules; Berth runs every container on the kamal "
                        "network. Publish what the host must reach (an accessory's publish: 127.0.0.1:PORT) and "
                        "reach the host from the container with add-host: host.docker.internal:host-gateway")
    else:
        t.problem(path, f"{key}: {network} (docker run --network): Berth runs every container on the kamal "
                        "network only; an app that needs another network is not one Berth can release")


_MOUNT_KEYS = {"type", "source", "src", "target", "destination", "dst", "readonly", "ro"}


def _mount(t: Translation, text: str, path: tuple) -> str | None:
    """`--mount type=bind|volume,source=...,target=...[,readonly]` as Kamal's volume syntax; other types and
    mount options (tmpfs, propagation, volume drivers) are refused: Berth could not run them as written."""
    fields = dict((k, v) for k, _, v in (part.partition("=") for part in text.split(",") if part))
    kind = fields.get("type", "volume")
    source = fields.get("source", fields.get("src", ""))
    target = fields.get("target", fields.get("destination", fields.get("dst", "")))
    readonly = next((fields[k] for k in ("readonly", "ro") if k in fields), None)
    extra = sorted(set(fields) - _MOUNT_KEYS)
    if kind not in ("bind", "volume") or extra or not source or not target:
        why = f"type={kind}" if kind not in ("bind", "volume") else (
            f"{', '.join(extra)}" if extra else "no source or target")
        t.problem(path, f"{'/'.join(map(str, path))}: --mount {text}: Berth mounts a host path or a named volume "
                        f"at a path (source:target[:ro]); this mount has {why}, which it would not carry")
        return None
    ro = readonly is not None and readonly.lower() in ("", "1", "true")
    return storage.mount(t, f"{source}:{target}{':ro' if ro else ''}", path)


def logging(t: Translation, section: Any, path: tuple, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Kamal's `logging: {driver, options}` as the stack's `logging` (options as text, as Docker reads them)."""
    out: dict[str, Any] = {}
    if isinstance(section, dict):
        if section.get("driver"):
            out["driver"] = str(section["driver"])
        options = section.get("options") or {}
        if isinstance(options, dict) and options:
            out["options"] = {str(k): _text(v) for k, v in options.items()}
        t.take(*path)
    if extra:
        out = {**out, **({"driver": extra["driver"]} if "driver" in extra else {}),
               **({"options": {**out.get("options", {}), **extra["options"]}} if "options" in extra else {})}
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

