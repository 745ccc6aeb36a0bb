"""Pulumi.<stack>.yaml from a Draft: the README reference's key order, a comment naming the Kamal line each
section came from, and the notes at the end, so the file explains itself in review.

Scalars are written so Go's yaml.v3 (the Pulumi CLI's reader) gives back exactly the value: text that
yaml.v3 would read as a number, a boolean or null, or that YAML would parse differently, is quoted.
"""

from __future__ import annotations

import json
import re
import textwrap
from typing import Any

from components import yamlv3
from components.stackfile import NAMESPACE

from .notes import TITLES
from .translate import Draft

ORDER = ("service", "image", "version", "secrets", "registry", "cloud", "ssh", "servers", "primaryRole", "bootstrap",
         "app", "firewall", "volume", "volumes", "assetPath", "proxy", "env", "releaseCommand", "retainContainers",
         "maintenance", "rollout", "database", "dns", "cloudflare", "backups", "accessories")
_PLAIN = re.compile(r"^[A-Za-z0-9_/.~$][A-Za-z0-9_./:@+=~$-]*$")
ALWAYS_QUOTED = {("version",)}  # tags like 2026.11.18 or 1.10 read as text only when quoted
WIDTH = 110


def quoted(text: str) -> str:
    """A YAML double-quoted scalar: printable characters as they are, the rest escaped (YAML's \\x, \\u, \\U)."""
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD and code != 0xFEFF \
                or 0x10000 <= code <= 0x10FFFF:
            out.append(char)
        elif code <= 0xFF:
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(char, f"\\x{code:02x}"))
        else:
            out.append(f"\\u{code:04x}")
    return '"' + "".join(out) + '"'


def scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and not text.endswith(":") and yamlv3.stays_text(text):
        return text
    return quoted(text)


def render(draft: Draft, header: list[str], footer_title: str = "Notes from the import") -> str:
    lines = [f"# {line}" if line else "#" for line in header]
    lines.append("config:")
    for key in sorted(draft.config, key=lambda k: ORDER.index(k) if k in ORDER else len(ORDER)):
        value = draft.config[key]
        comment = _comment(draft, (key,))
        if isinstance(value, (dict, list)) and value and not _flow(value):
            lines += _fitted(f"  {NAMESPACE}:{key}:", comment, "  ")
            lines += _block(draft, value, (key,), 4)
        else:
            text = quoted(str(value)) if (key,) in ALWAYS_QUOTED else _inline(value)
            lines += _fitted(f"  {NAMESPACE}:{key}: {text}", comment, "  ")
    if draft.notes:
        lines += ["", f"# {footer_title}:"]
        for kind, title in TITLES.items():
            chosen = [n for n in draft.notes if n.kind == kind]
            if chosen:
                lines.append(f"# {title}:")
                for note in chosen:
                    wrapped = textwrap.wrap(str(note), WIDTH - 6)
                    lines += [f"#   - {wrapped[0]}"] + [f"#     {more}" for more in wrapped[1:]]
    return "\n".join(lines) + "\n"


def _fitted(line: str, comment: str, pad: str) -> list[str]:
    """A comment beside its key when it fits, else on the line above."""
    if not comment or len(line + comment) <= WIDTH + 10:
        return [line + comment]
    return [f"{pad}#{comment.removeprefix('  #')}", line]


def _comment(draft: Draft, path: tuple) -> str:
    parts = []
    if path in draft.comments:
        parts.append(draft.comments[path])
    if path in draft.origins:
        parts.append(f"from {draft.origins[path]}")
    return f"  # {'; '.join(parts)}" if parts else ""


def _flow(value: Any) -> bool:
    """Short lists of scalars read best on one line: [a, b]."""
    return (isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value)
            and len(_inline(value)) <= 80)


def _inline(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_flow_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)}: {_flow_scalar(v)}" for k, v in value.items()) + "}"
    return scalar(value)


def _flow_scalar(value: Any) -> str:
    text = scalar(value)
    return quoted(value) if isinstance(value, str) and re.search(r"[,\[\]{}]", text) else text


def _key(key: Any) -> str:
    return scalar(str(key))


def _block(draft: Draft, value: Any, path: tuple, indent: int) -> list[str]:
    pad = " " * indent
    lines = []
    if isinstance(value, dict):
        for key, item in value.items():
            comment = _comment(draft, (*path, key))
            if isinstance(item, (dict, list)) and item and not _flow(item):
                lines.append(f"{pad}{_key(key)}:{comment}")
                lines += _block(draft, item, (*path, key), indent + 2)
            else:
                lines += _multiline(pad, _key(key), item, comment)
        return lines
    for i, item in enumerate(value):
        if isinstance(item, dict) and item:
            inner = _block(draft, item, (*path, i), indent + 2)
            lines.append(f"{pad}- {inner[0].lstrip()}")
            lines += inner[1:]
        else:
            lines.append(f"{pad}- {_inline(item)}")
    return lines


def _multiline(pad: str, key: str, item: Any, comment: str) -> list[str]:
    """A file's content reads best as a literal block; anything else on one line."""
    if (isinstance(item, str) and "\n" in item and item.endswith("\n") and not item[0].isspace()
            and not re.search(r"[\t\r]|[ ]\n", item)):
        body = [f"{pad}  {line}" if line else "" for line in item[:-1].split("\n")]
        indicator = "|" if not item.endswith("\n\n") else "|+"
        return [f"{pad}{key}: {indicator}{comment}", *body]
    return [f"{pad}{key}: {_inline(item)}{comment}"]
