"""Kamal's env (clear, secret, tags) at the root and per role: clear values stay clear unless they look like
a credential, which becomes a secret whose value is never shown; host tags have no Berth counterpart."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from components.fields import looks_like_credential

from .notes import Note

if TYPE_CHECKING:
    from .translate import Translation


def translate(t: Translation, roles: dict[str, list[str]]) -> None:
    clear, secret = section(t, t.k.get("env"), ("env",), "env")
    if clear or secret:
        t.put(("env",), {k: v for k, v in (("clear", clear), ("secret", secret)) if v}, ("env",))
    tags = (t.k.get("env") or {}).get("tags") if isinstance(t.k.get("env"), dict) else None
    for tag in tags or {}:
        hosts = [h for h, t in t.host_tags.items() if tag in t]
        t.note("not-taken", ("env", "tags", tag), f"extra env for the hosts tagged {tag} "
                                                     f"({', '.join(hosts) or 'none'}); Berth runs one env per role: "
                                                     "give those hosts a role of their own with servers.<role>.env")
    servers = t.k.get("servers")
    for role in roles:
        spec = servers.get(role) if isinstance(servers, dict) else None
        if isinstance(spec, dict) and "env" in spec:
            clear, secret = section(t, spec["env"], ("servers", role, "env"), f"servers.{role}.env")
            if clear or secret:
                t.put(("servers", t.role(role), "env"), {k: v for k, v in (("clear", clear), ("secret", secret)) if v},
                         ("servers", role, "env"))


def section(t: Translation, env: Any, path: tuple, where: str) -> tuple[dict[str, Any], list[str]]:
    """Kamal's Env: a mapping without clear/secret/tags is all clear. A plain value that is a credential
    becomes a secret (its value is never shown)."""
    if not isinstance(env, dict):
        return {}, []
    complex_ = bool(set(env) & {"clear", "secret", "tags"})
    clear_raw = (env.get("clear") or {}) if complex_ else env
    clear: dict[str, Any] = {}
    secret: list[str] = []
    for name, value in clear_raw.items():
        at = (*path, "clear", name) if complex_ else (*path, name)
        t.take(*at)
        text = _env_text(value)
        if looks_like_credential(str(name), text):
            secret.append(str(name))
            t.secret(str(name), f"{where}.clear")
            t.d.hidden[str(name)] = str(t.k.at(*at))
            t.note("changed", at, "looks like a credential written in plain text (not shown): Berth makes it "
                                     "a secret; remove the value from deploy.yml")
        else:
            clear[str(name)] = value if isinstance(value, (int, float)) and not isinstance(value, bool) else text
    for i, entry in enumerate((env.get("secret") or []) if complex_ else []):
        if str(entry).partition(":")[0] in [s.partition(":")[0] for s in secret]:
            t.note("changed", (*path, "secret", i), f"names {str(entry).partition(':')[0]} a second time; Kamal passes "
                                                   "it once, and so does Berth")
            continue
        secret.append(str(entry))
        name = str(entry).partition(":")[2] or str(entry)
        t.secret(name, f"{where}.secret")
        t.take(*path, "secret", i)
    t.take(*path, "clear")
    t.take(*path, "secret")
    return clear, secret



def renamed_containers(t: Translation) -> None:
    """Berth's accessory containers are `<service>-<name>` with Berth's names, so `service: my_app` (every
    `rails new my_app`) turns Kamal's `my_app-db` into `my-app-db`, and an accessory's own `service` into
    `<service>-<name>`: a clear env value that names the old container (`DB_HOST: my_app-db`, the generator's own
    advice) would name no container. Each such value is rewritten to the new name, and each change is listed.
    Rewritten rather than given as a network alias of the container: the value then says what runs, and the
    containers Berth already runs keep their inputs. A secret's value is never seen here, so it is named for the
    user to set again."""
    renames = {a.container: a.berth for a in t.d.replaced if a.berth and a.container != a.berth}
    if not renames:
        return
    pattern = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, sorted(renames, key=len, reverse=True)))
                         + r")(?![\w-])")
    for node, key, at in clear_values(t):
        value = node[key]
        if not isinstance(value, str) or not pattern.search(value):
            continue
        new = pattern.sub(lambda m: renames[m.group(1)], value)
        node[key] = new
        old_names = sorted({m.group(1) for m in pattern.finditer(value)})
        t.note("changed", at, f"{value} names Kamal's container {', '.join(old_names)}, which Berth runs as "
                              f"{', '.join(renames[o] for o in old_names)}: the value is now {new}")
    if t.d.secrets:
        names = ", ".join(f"{old} as {new}" for old, new in sorted(renames.items()))
        t.d.notes.append(Note("check", "env/secret", "the import never reads a secret's value: set one that names a "
                                                     f"renamed container (a DATABASE_URL, say) with its new name: {names}",
                              t.k.at("env")))


def clear_values(t: Translation) -> list[tuple[dict, str, tuple]]:
    """(the stack's section, key, Kamal key path of the value) of every clear env value the import wrote, so a pass
    that rewrites values can name each one by its Kamal line. The Kamal path is `env/clear/KEY` or `env/KEY` as
    written there (Kamal's simple form has no `clear`)."""
    out = []
    for berth_path, kamal_path in _clear_sections(t):
        node: Any = t.d.config
        for part in berth_path:
            node = node.get(part) if isinstance(node, dict) else None
        raw = t.k.get(*kamal_path)
        complex_ = isinstance(raw, dict) and bool(set(raw) & {"clear", "secret", "tags"})
        out += [(node, key, (*kamal_path, *(("clear",) if complex_ else ()), key)) for key in node or {}]
    return out


def _clear_sections(t: Translation) -> list[tuple[tuple, tuple]]:
    """(stack key path, Kamal key path) of every env section the import wrote."""
    out = [(("env", "clear"), ("env",))]
    servers = t.k.get("servers")
    for role in servers if isinstance(servers, dict) else []:
        out.append((("servers", t.role(role), "env", "clear"), ("servers", role, "env")))
    for accessory in t.d.replaced:
        out.append((("accessories", accessory.berth.removeprefix(f"{t.d.config.get('service')}-"), "env", "clear"),
                    ("accessories", accessory.name, "env")))
    return out


def _env_text(value: Any) -> str:
    """Env values as Kamal passes them to `docker run --env`: Ruby's to_s (true, 2, 1.5)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)
