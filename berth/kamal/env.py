"""Kamal's env (clear, secret, tags) at the root and per role: clear values stay clear unless they look like
a credential, which becomes a secret whose value is never shown; host tags have no Berth counterpart."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from components.fields import looks_like_credential

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



def _env_text(value: Any) -> str:
    """Env values as Kamal passes them to `docker run --env`: Ruby's to_s (true, 2, 1.5)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)
