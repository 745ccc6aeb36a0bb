"""A command line as a POSIX shell splits it into words (`cmd` of a role or an accessory).

Kamal writes `cmd` into the `docker run` line its SSH session's shell reads, so a `cmd: >` folded block whose
lines end in `\\` (a continuation, kept as backslash-newline by YAML's more-indented lines) reaches Docker as
one argument list. Python's shlex keeps the newline as an argument of its own ("\\n"), which the program would
hand to Docker as is. So a backslash-newline is removed first, as the shell removes it outside single quotes
(POSIX 2.2.1 and 2.2.3), and the rest is shlex's POSIX splitting. No expansion happens: Berth passes the words
to Docker without a shell, as it always has.
"""

from __future__ import annotations

import shlex


def without_continuations(text: str) -> str:
    out: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(text):
        char = text[i]
        if quote == "'":
            quote = None if char == "'" else quote
            out.append(char)
            i += 1
        elif char == "\\" and i + 1 < len(text):
            if text[i + 1] != "\n":
                out.append(text[i:i + 2])
            i += 2
        else:
            if char in "'\"" and quote in (None, char):
                quote = None if quote == char else char
            out.append(char)
            i += 1
    return "".join(out)


def shell_words(text: str) -> list[str]:
    return shlex.split(without_continuations(text))
