"""`.kamal/secrets` read as text, never evaluated, and turned into `pulumi config set --secret` lines.

Kamal reads `<secrets_path>-common`, then `<secrets_path>` (or `<secrets_path>.<destination>`), with the
dotenv gem: `NAME=value`, `export NAME=value`, quotes, comments; `$VAR`, `${VAR}` and `$(command)` are
substituted unless the value is in single quotes (lib/kamal/secrets.rb and
secrets/dotenv/inline_command_substitution.rb at v2.11.0). Berth keeps secrets in the stack, encrypted by
Pulumi, so each one becomes a `pulumi config set` line that carries the user's own expression. A value
written into the file itself is never shown: its line says where to find it.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from components.fields import looks_like_credential

from .source import Origin

_LINE = re.compile(r"^\s*(?:export\s+)?(?P<name>[\w.]+)\s*(?:=|:\s)\s*(?P<value>.*)$")
_VARIABLE = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")


@dataclass(frozen=True)
class SecretLine:
    name: str
    origin: Origin
    expression: str | None  # the shell text that yields the value; None when the file holds the value itself
    why_hidden: str = ""  # when expression is None

    @property
    def variables(self) -> list[str]:
        """Variables the expression reads ($VAR, ${VAR}, also inside a command)."""
        text = self.expression or ""
        return [m.group("braced") or m.group("plain") for m in _VARIABLE.finditer(text)]


def files(app_dir: Path, secrets_path: str, destination: str | None) -> list[Path]:
    """The files Kamal reads, in its order (a later one wins)."""
    base = app_dir / secrets_path
    return [base.with_name(base.name + "-common"),
            base.with_name(base.name + (f".{destination}" if destination else ""))]


def read(paths: list[Path], shown: Path | None = None) -> dict[str, SecretLine]:
    """Every NAME the files define, the later file winning, as dotenv's `overwrite: true` merge does."""
    found: dict[str, SecretLine] = {}
    for path in paths:
        if not path.is_file():
            continue
        try:
            name = str(path.relative_to(shown)) if shown else str(path)
        except ValueError:
            name = str(path)
        lines = path.read_text(errors="replace").splitlines()  # a stray byte spoils one value, not the file
        skip_until = None
        for number, line in enumerate(lines, start=1):
            if skip_until is not None:  # inside a multi-line quoted value
                if skip_until in line:
                    skip_until = None
                continue
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            match = _LINE.match(line)
            if not match:
                continue
            value = match.group("value").rstrip()
            quote = value[:1] if value[:1] in ("'", '"') else ""
            if quote and (len(value) < 2 or not value.endswith(quote)) and value.count(quote) == 1:
                skip_until = quote  # PEM keys and other values across lines
            found[match.group("name")] = _classify(match.group("name"), value, Origin(name, number))
    return found


def _classify(name: str, value: str, origin: Origin) -> SecretLine:
    if value.startswith("'"):
        return SecretLine(name, origin, None, "holds the value itself, in single quotes")
    quote = value[:1] if value[:1] == '"' else ""
    if quote:
        end = value.rfind('"')
        body = value[1:end] if end > 0 else value[1:]
    else:
        body = re.split(r"\s+#", value, maxsplit=1)[0].strip()
    if not body:
        return SecretLine(name, origin, None, "is empty")
    if not _only_substitutions(body):
        return SecretLine(name, origin, None, "holds the value itself, or text around a substitution")
    if any(_credential_word(word) for word in re.split(r"[\s()${}'\"]+", body) if word):
        return SecretLine(name, origin, None, "runs a command that carries what looks like a credential")
    return SecretLine(name, origin, body)


def _only_substitutions(body: str) -> bool:
    """True when the value is made of $(command), $VAR and ${VAR} only (whitespace between)."""
    i = 0
    while i < len(body):
        if body[i].isspace():
            i += 1
            continue
        if body.startswith("$(", i):
            depth, j = 0, i + 1
            while j < len(body):
                if body[j] == "\\":
                    j += 2
                    continue
                depth += {"(": 1, ")": -1}.get(body[j], 0)
                if depth == 0:
                    break
                j += 1
            if depth != 0:
                return False
            i = j + 1
            continue
        match = _VARIABLE.match(body, i)
        if not match:
            return False
        i = match.end()
    return True


def _credential_word(word: str) -> bool:
    return looks_like_credential("", word) or bool(re.fullmatch(r"(?=[A-Za-z0-9]*[0-9])[A-Za-z0-9_-]{32,}", word))


def set_commands(stack: str, names: list[str], defined: dict[str, SecretLine], berth_dir: Path | None = None
                 ) -> list[str]:
    """Shell lines that put each secret into the stack: assignments of the variables the expressions read
    (in the file's order), then one `pulumi config set` per secret. A value never shown becomes <value>."""
    cwd = f"-C {shlex.quote(str(berth_dir))} " if berth_dir else ""
    needed: list[str] = []

    def need(variable: str, seen: frozenset[str] = frozenset()) -> None:
        line = defined.get(variable)
        if line is None or variable in seen or line.expression is None or line.variables == [variable]:
            return  # from the environment (NAME=$NAME), or nothing to show
        for inner in line.variables:
            need(inner, seen | {variable})
        if variable not in needed:
            needed.append(variable)

    for name in names:
        line = defined.get(name)
        for variable in line.variables if line and line.expression else []:
            need(variable)
    out = [f"{v}={defined[v].expression}   # {defined[v].origin}" for v in needed]
    for name in names:
        line = defined.get(name)
        value = f'"{line.expression}"' if line and line.expression else "<value>"
        out.append(f"pulumi {cwd}config set --stack {stack} --secret --path 'secrets.{name}' {value}")
    return out
