"""What the import says about the Kamal configuration: what Berth does not take and why, what it took
differently, and what to check. Nothing is dropped silently: every key the translation does not consume
gets a note (translate.py `unaccounted`)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Literal

from .source import Origin

Kind = Literal["not-taken", "changed", "check"]
TITLES = {"not-taken": "Not taken from the Kamal configuration",
          "changed": "Taken, with a change",
          "check": "Check"}


@dataclass(frozen=True)
class Note:
    kind: Kind
    key: str  # Kamal's own way of naming it: servers/web/labels, hook pre-deploy
    message: str
    origin: Origin | None = None

    def __str__(self) -> str:
        where = f" ({self.origin})" if self.origin else ""
        return f"{self.key}{where}: {self.message}"


@dataclass(frozen=True)
class KamalAccessory:
    """A Kamal accessory as the hosts know it: its name in `kamal accessory`, its container (and data directory)
    name, its hosts; `berth`: the container Berth runs instead (None: left to Kamal)."""

    name: str
    container: str
    hosts: tuple[str, ...]
    berth: str | None = None


# Why Berth does not take a whole top-level section, and what does the job instead.
SECTIONS = {
    "builder": "Berth releases an image your CI built and pushed as <image>:<version> (berth:version); it builds "
               "nothing (the README's CI section shows the build job)",
    "sshkit": "Berth reaches hosts through Pulumi's SSH connections, not SSHKit",
    "hooks_output": "Berth runs no hooks (see the hooks below)",
    "run_directory": "Berth keeps its files on the hosts under /var/lib/berth",
    "minimum_version": "Berth pins its own versions (kamal-proxy: berth:proxy.version)",
    "error_pages_path": "Berth does not hand kamal-proxy custom error pages",
    "readiness_delay": "Berth does not wait a fixed delay for roles without the proxy: Docker must report the "
                       "container running (must_run), and proxied roles pass kamal-proxy's health check",
    "labels": "Berth labels its containers with service, role and version; custom labels are not carried "
              "(routing labels for Traefik have no effect under kamal-proxy)",
}

# Kamal's hooks (lib/kamal/cli/templates/sample_hooks at v2.11.0) and what replaces each under Berth.
HOOKS = {
    "docker-setup": "Berth's bootstrap installs Docker (berth:bootstrap.docker) and the kamal network on every host",
    "pre-connect": "nothing to prepare: `pulumi up` opens its own SSH connections; do it in CI before `pulumi up`",
    "pre-build": "CI builds the image: run these checks in the CI job before it pushes the image",
    "pre-deploy": "berth:releaseCommand runs once per release before traffic switches, with the app's env; or a CI "
                  "step before `pulumi up`",
    "post-deploy": "a CI step after `pulumi up` succeeds",
    "pre-app-boot": "berth:releaseCommand (it runs before the new containers start)",
    "post-app-boot": "a CI step after `pulumi up` succeeds",
    "pre-proxy-reboot": "Berth replaces kamal-proxy only when berth:proxy.version changes: run it before that `pulumi up`",
    "post-proxy-reboot": "Berth replaces kamal-proxy only when berth:proxy.version changes: run it after that `pulumi up`",
}


def hook_notes(hooks: list[str], hooks_path: str) -> list[Note]:
    """One note per hook Kamal would run, with what replaces it."""
    return [Note("not-taken", f"hook {name}", "Berth runs no hooks; instead: "
                 + HOOKS.get(name, "Kamal does not run a hook by this name either"), Origin(f"{hooks_path}/{name}", 1))
            for name in hooks]


def alias_replacement(command: str) -> str:
    """The Berth verb for a Kamal alias's command, when there is one."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    flags = [w for w in words if w.startswith("-")]
    rest = [w for w in words if not w.startswith("-")]
    interactive = "-i" in flags or "--interactive" in flags
    if rest[:2] == ["app", "exec"] and len(rest) > 2:
        run = rest[-1]
        verbs = {"bin/rails console": "berth console", "rails console": "berth console",
                 "bin/rails dbconsole": "berth dbconsole", "rails dbconsole": "berth dbconsole"}
        if run in verbs:
            return verbs[run]
        if interactive and run in ("bash", "sh", "/bin/bash", "/bin/sh"):
            return "berth shell"
        return f"berth exec {'-i ' if interactive else ''}{shlex.quote(run)}"
    if rest[:2] == ["app", "logs"] or rest[:1] == ["logs"]:
        return "berth logs" + (" -f" if "-f" in flags or "--follow" in flags else "")
    if rest[:2] in (["proxy", "logs"], ["proxy", "details"]):
        return f"berth {' '.join(rest[:2])}"
    if rest[:1] == ["details"] or rest[:2] == ["app", "details"]:
        return "berth details"
    if rest[:1] == ["rollback"]:
        return "berth rollback"
    if rest[:1] in (["deploy"], ["redeploy"]):
        return "set berth:version and `pulumi up`"
    return "no Berth verb does this; `berth exec '…'` runs a command in the app container"
