"""Kamal's `registry` as the stack's: the server (its host; a namespace stays in the image), the user name (or
the secret naming it), and the password, always a secret. A password Kamal reads from a command, through ERB
(`<%= %x(op read ...) %>`, backticks) or written as `$(...)`, becomes that secret's expression: the
`pulumi config set --secret` line runs the same command, and the command never runs here."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .source import ErbTag

if TYPE_CHECKING:
    from .translate import Translation

SECRET = "KAMAL_REGISTRY_PASSWORD"
_COMMAND = re.compile(r"^(?:%x(?:\((?P<p>.*)\)|\{(?P<b>.*)\}|\[(?P<s>.*)\])|`(?P<t>.*)`)(?:\.(?:strip|chomp))*$")


def command_password(tag: ErbTag) -> str | None:
    """The shell command of an ERB tag that prints the registry password, if it is one."""
    if not (tag.output and tuple(tag.path[:2]) == ("registry", "password")):
        return None
    found = _COMMAND.match(tag.code.strip())
    return next((g for g in found.groups() if g is not None), None) if found else None


def translate(t: Translation) -> None:
    registry = t.k.get("registry") or {}
    server = registry.get("server")
    if server and re.match(r"^localhost[:$]", str(server)):
        t.problem(("registry", "server"), f"{server} is Kamal's local registry, which it pushes to from your "
                                          "machine over SSH; Berth hosts pull from a registry your CI pushes to: "
                                          "set registry.server (and image) to it")
        return
    out: dict[str, Any] = {}
    if server:
        host, slash, namespace = str(server).partition("/")
        out["server"] = host
        t.take("registry", "server")
        if slash:
            t.note("changed", ("registry", "server"), f"Docker logs in to the registry host {host}; the namespace "
                                                      f"{namespace} stays in the image's name "
                                                      f"({t.d.config.get('image')})")
    username, password = registry.get("username"), registry.get("password")
    if named := _named(t, username, "username"):
        out["usernameSecret"] = named
    elif username:
        out["username"] = str(username)
        t.take("registry", "username")
    if named := _named(t, password, "password"):
        out["password"] = named
    elif password:
        out["password"] = SECRET
        t.secret(SECRET, "registry.password")
        command = _command(t, str(password))
        if command is not None:
            t.d.expressions[SECRET] = f"$({command})"
            t.note("changed", ("registry", "password"), f"is read from a command: Berth names it {SECRET}, a secret "
                                                        "whose set command runs the same command "
                                                        f"(\"$({command})\")")
        else:
            t.d.hidden[SECRET] = str(t.k.at("registry", "password"))
            t.note("changed", ("registry", "password"), f"is written in the configuration itself (not shown): Berth "
                                                        f"names it {SECRET}, a secret; remove the value from "
                                                        "deploy.yml")
    if ("username" in out or "usernameSecret" in out) and "password" in out:
        t.put(("registry",), out, ("registry",))


def _named(t: Translation, value: Any, key: str) -> str | None:
    """Kamal's `[NAME]` form: the value is a secret's name."""
    if not (isinstance(value, list) and value):
        return None
    t.secret(str(value[0]), f"registry.{key}")
    t.take("registry", key)
    return str(value[0])


def _command(t: Translation, password: str) -> str | None:
    """The command behind the password: an ERB tag that runs one, or the shell's `$(...)` written as the value."""
    for tag in t.k.erb:
        command = command_password(tag)
        if command is not None:
            return command
    shell = re.fullmatch(r"\$\((.+)\)", password.strip())
    return shell.group(1) if shell else None
