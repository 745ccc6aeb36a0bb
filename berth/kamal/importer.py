"""`berth import`: read the Kamal configuration, translate it, plan the stack file, write it, say what next.

The file is written only once the plan accepts it (validation, policy pack), so a failed import leaves
nothing behind; an existing stack file is replaced only with --force. Every message names the Kamal line
it is about; no secret value is ever printed.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
from rich.console import Console

from components import catalog, yamlv3
from components.errors import ConfigError, loc_of
from components.errors import Problem as PlanProblem
from tooling import plan as planning

from . import project, secrets_file, source, translate, writer
from .notes import TITLES, Note
from .source import ImportError_, Origin, Problem


@dataclass(frozen=True)
class Options:
    config: Path
    destination: str | None = None
    stack: str | None = None
    provider: str = "existing"
    region: str | None = None
    allow_from: tuple[str, ...] = ()
    authorized_keys: tuple[Path, ...] = ()
    cloudflare_zone: str | None = None
    version: str | None = None
    force: bool = False
    directory: Path = field(default_factory=Path.cwd)  # where Pulumi.<stack>.yaml goes (the Berth project)
    app_dir: Path | None = None  # where Kamal runs (config/, .kamal/); default: above config/


@dataclass
class Result:
    path: Path
    draft: translate.Draft
    plan: planning.Plan
    commands: list[str]
    kamal: source.KamalConfig
    project: project.Project


def app_dir_of(config: Path) -> Path:
    """Kamal runs from the app's root, where config/deploy.yml and .kamal/ live."""
    parent = config.resolve().parent
    return parent.parent if parent.name == "config" else parent


def run(options: Options, console: Console) -> int:
    """The verb: 0 when the stack file is written, 1 (nothing written) otherwise."""
    try:
        result = build(options)
    except ImportError_ as error:
        console.print(f"berth import: nothing written; {len(error.problems)} "
                      f"problem{'s' if len(error.problems) > 1 else ''}:", style="red", markup=False)
        for problem in error.problems:
            console.print(f"  {problem}", markup=False, highlight=False, soft_wrap=True)
        return 1
    report(result, options, console)
    return 0


def build(options: Options) -> Result:
    """Everything but the printing. Raises ImportError_ with every problem; writes only on success."""
    app_dir = (options.app_dir or app_dir_of(options.config)).resolve()
    stack = options.stack or options.destination or "production"
    target = options.directory / f"Pulumi.{stack}.yaml"
    problems = _option_problems(options, stack, target)
    if problems:
        raise ImportError_(problems)
    kamal = source.read(options.config.resolve(), options.destination, app_dir, shown=app_dir)
    keys = _authorized_keys(options, kamal)
    version = options.version or os.environ.get("VERSION") or _git_revision(app_dir)
    if version is None:
        raise ImportError_([Problem("no version to release: Kamal would use the git commit, and there is no git "
                                    f"repository in {app_dir}; pass --version TAG (the image tag CI pushes)")])
    settings = translate.Settings(stack=stack, version=version, allow_from=options.allow_from,
                                  provider=options.provider, region=options.region, authorized_keys=tuple(keys),
                                  cloudflare_zone=options.cloudflare_zone)
    draft = translate.translate(kamal, settings)
    if draft.problems:
        raise ImportError_(draft.problems)
    paths = secrets_file.files(app_dir, str(kamal.get("secrets_path") or ".kamal/secrets"), options.destination)
    defined = secrets_file.read(paths, shown=app_dir)
    shown = [str(p.relative_to(app_dir)) if p.is_relative_to(app_dir) else str(p) for p in paths]
    unread = _unread_secrets(app_dir, str(kamal.get("secrets_path") or ".kamal/secrets"), options.destination,
                             draft, defined)
    defined = {**unread, **defined}
    _secret_notes(draft, defined, shown)
    text = writer.render(draft, _header(options, kamal, stack, shown))
    with tempfile.TemporaryDirectory() as scratch:
        trial = Path(scratch) / target.name
        trial.write_text(text)
        plan = _plan(trial, draft)
    options.directory.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    found = project.of(options.directory)
    berth_dir = _berth_dir(found, app_dir)
    commands = secrets_file.set_commands(stack, sorted(draft.secrets), {**defined, **{
        name: secrets_file.SecretLine(name, Origin("berth import", 0), expression)
        for name, expression in draft.expressions.items() if name not in defined}}, berth_dir)
    return Result(target, draft, plan, commands, kamal, found)


def _berth_dir(found: project.Project, app_dir: Path) -> Path | None:
    """Where the next steps' `pulumi -C` points: the Berth project, unless they run there anyway (the app's own
    directory is the project); a placeholder when the project is not known."""
    directory = found.directory or Path("<your Berth project>")
    return None if directory == app_dir else directory


def _option_problems(options: Options, stack: str, target: Path) -> list[Problem]:
    problems = []
    if not options.config.is_file():
        problems.append(Problem(f"Configuration file not found in {options.config}"))
    if not re.match(r"^[A-Za-z0-9_.-]+$", stack):
        problems.append(Problem(f"--stack {stack!r}: a Pulumi stack name holds letters, digits, '_', '.' and '-'"))
    if target.exists() and not options.force:
        problems.append(Problem(f"{target} exists; pass --force to replace it"))
    if options.provider not in translate.PROVIDERS:
        problems.append(Problem(f"--provider {options.provider!r}: one of {', '.join(translate.PROVIDERS)}"))
    regions = {"digitalocean": catalog.DIGITALOCEAN_REGIONS, "hetzner": catalog.HETZNER_LOCATIONS}
    if options.region and options.provider == "existing":
        problems.append(Problem("--region goes with --provider digitalocean or hetzner (existing hosts stay put)"))
    elif options.region and options.provider in regions and options.region not in regions[options.provider]:
        problems.append(Problem(f"--region {options.region!r} is not a {options.provider} region; one of "
                                f"{', '.join(regions[options.provider])}"))
    if not options.allow_from:
        problems.append(Problem("--allow-from is required: Kamal has no firewall, and Berth opens SSH only to the "
                                "addresses you name (the machine or CI runner that runs `pulumi up`, e.g. "
                                "--allow-from 203.0.113.7/32); it never guesses the world"))
    for cidr in options.allow_from:
        try:
            ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            problems.append(Problem(f"--allow-from {cidr!r} is not a CIDR like 203.0.113.7/32"))
    return problems


def _authorized_keys(options: Options, kamal: source.KamalConfig) -> list[str]:
    """New servers get public keys: --authorized-key files, else the .pub beside each of Kamal's ssh.keys."""
    if options.provider == "existing":
        return [_public_key(path) for path in options.authorized_keys]
    paths = list(options.authorized_keys)
    if not paths:
        paths = [(kamal.app_dir / Path(str(key)).expanduser()).with_name(Path(str(key)).name + ".pub")
                 for key in kamal.get("ssh", "keys") or []]  # relative to where Kamal runs
        paths = [p for p in paths if p.is_file()]
    if not paths:
        raise ImportError_([Problem(f"new {options.provider} servers need the public keys to install: pass "
                                    "--authorized-key ~/.ssh/id_ed25519.pub (Kamal's ssh.keys have no .pub beside "
                                    "them)")])
    return [_public_key(path) for path in paths]


def _public_key(path: Path) -> str:
    try:
        line = path.expanduser().read_text().strip().splitlines()[0]
    except (OSError, IndexError):
        raise ImportError_([Problem(f"--authorized-key {path}: cannot read a public key line there")]) from None
    if "PRIVATE KEY" in line:
        raise ImportError_([Problem(f"--authorized-key {path} is a private key; give the .pub file")])
    return line


def _git_revision(app_dir: Path) -> str | None:
    """Kamal's default version: `git rev-parse HEAD` where it runs."""
    try:
        done = subprocess.run(["git", "-C", str(app_dir), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=False)
    except FileNotFoundError:
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def _unread_secrets(app_dir: Path, secrets_path: str, destination: str | None, draft: translate.Draft,
                    defined: dict[str, secrets_file.SecretLine]) -> dict[str, secrets_file.SecretLine]:
    """With a destination Kamal reads `<secrets_path>.<destination>`, never `<secrets_path>` itself: a secret
    only that file defines would stop Kamal. Its expression still makes the command, with a note."""
    if destination is None:
        return {}
    plain = app_dir / secrets_path
    found = secrets_file.read([plain], shown=app_dir)
    unread = {name: line for name, line in found.items() if name in draft.secrets and name not in defined}
    for name, line in sorted(unread.items()):
        draft.notes.append(Note("check", f"secret {name}", f"defined only in {secrets_path}, which Kamal does not read "
                                                           f"with -d {destination} (it reads {secrets_path}-common and "
                                                           f"{secrets_path}.{destination}); its set command uses it anyway",
                                line.origin))
    return unread


def _secret_notes(draft: translate.Draft, defined: dict[str, secrets_file.SecretLine], paths: list[str]) -> None:
    for name, where in sorted(draft.secrets.items()):
        line = defined.get(name)
        if name in draft.hidden:
            draft.notes.append(Note("check", f"secret {name}", f"its value is written in {draft.hidden[name]}: not "
                                                               "shown; paste it where its set command says <value>"))
        elif name in draft.expressions:
            continue
        elif line is None:
            draft.notes.append(Note("check", f"secret {name}", f"named by {', '.join(where)} but not defined in "
                                                               f"{' or '.join(paths)} (Kamal would stop with "
                                                               "\"Secret not found\"): its set command says <value>"))
        elif line.expression is None:
            draft.notes.append(Note("check", f"secret {name}", f"{line.why_hidden}: not shown; paste it where its "
                                                               "set command says <value>", line.origin))


def _header(options: Options, kamal: source.KamalConfig, stack: str, secrets: list[str]) -> list[str]:
    command = ["berth", "import", str(options.config)]
    if options.destination:
        command += ["-d", options.destination]
    command += ["--stack", stack]
    if options.provider != "existing":
        command += ["--provider", options.provider] + (["--region", options.region] if options.region else [])
    if options.cloudflare_zone:
        command += ["--cloudflare-zone", options.cloudflare_zone]
    for cidr in options.allow_from:
        command += ["--allow-from", cidr]
    return [
        f"Stack {stack}, imported from Kamal by: {shlex.join(command)}",
        f"Read as Kamal 2.11 reads it: {', '.join(kamal.files)}.",
        "Secrets are not in this file: `berth import` printed the command that sets each one, with the",
        f"expression from {' or '.join(secrets)}. Check with: berth-plan --file <this file>",
        "",
    ]


def _plan(path: Path, draft: translate.Draft) -> planning.Plan:
    """The plan of the written file; its problems name the Kamal line each key came from."""
    try:
        plan = planning.build(path)
    except ConfigError as error:
        raise ImportError_([_traced(problem, draft) for problem in error.faults]) from None
    except (yamlv3.SyntaxProblem, pulumi.RunError) as error:
        raise ImportError_([Problem(f"the written stack file does not plan: {error}")]) from None
    if plan.violations:
        raise ImportError_([Problem(f"policy {policy}: {message}") for policy, message in plan.violations])
    return plan


def _traced(problem: PlanProblem, draft: translate.Draft) -> Problem:
    """A plan problem in the user's words: the Kamal key its stack key came from, at that key's line, with the
    stack file's key after it (the rest of the path below the Kamal key, if any, in the stack file's names)."""
    loc = loc_of(problem.path)
    origin = next((draft.origins[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in draft.origins), None)
    found = next((n for n in range(len(loc), 0, -1) if loc[:n] in draft.kamal_keys), None)
    if found is None:
        return Problem(f"{problem.path}: {problem.message}", origin)
    kamal = "/".join(map(str, (*draft.kamal_keys[loc[:found]], *loc[found:])))
    return Problem(f"{kamal}: {problem.message} ({problem.path} in the stack file)", origin)


# --- what the user sees --------------------------------------------------------------------------------------

def report(result: Result, options: Options, console: Console) -> None:
    out = lambda text="", **kw: console.print(text, markup=False, highlight=False, soft_wrap=True, **kw)  # noqa: E731
    plan, draft = result.plan, result.draft
    out(f"Read {', '.join(result.kamal.files)} as Kamal 2.11 reads it; wrote {result.path}.")
    if result.project.misplaced:
        out(project.warning(result.path.resolve(), result.project), style="yellow")
    for kind, title in TITLES.items():
        chosen = [n for n in draft.notes if n.kind == kind]
        if chosen:
            out()
            out(f"{title}:", style="bold")
            for note in chosen:
                out(f"  - {note}")
    out()
    planning.summary(plan, console)
    out()
    out("Next:", style="bold")
    step = 1
    app_dir = result.kamal.app_dir
    berth_dir = _berth_dir(result.project, app_dir)
    cd = f"cd {shlex.quote(str(app_dir))}   # the secrets' commands run where Kamal ran them\n  " \
        if berth_dir is not None else ""
    pulumi_c = f"pulumi -C {shlex.quote(str(berth_dir))}" if berth_dir is not None else "pulumi"
    stack = plan.evaluation.stack
    if result.project.misplaced:
        out(f"{step}. Move the stack file into your Berth project, beside its Pulumi.yaml: mv -i "
            f"{shlex.quote(str(result.path.resolve()))} {shlex.quote(str(berth_dir or '<your Berth project>'))}/")
        step += 1
    out(f"{step}. Create the stack and set its secrets (expressions from .kamal/secrets, never evaluated here):")
    out(f"  {cd}{pulumi_c} stack init {stack}")
    for command in result.commands:
        out(f"  {command}")
    step += 1
    s = plan.stack
    if s.provider == "existing":
        for line in stop_kamal(draft, options.destination, str(result.kamal.get("ssh", "user") or "root")):
            out(line if line.startswith(" ") else f"{step}. {line}")
        step += 1
    if s.dns is not None:
        out(f"{step}. DNS: Berth creates the records for {', '.join(s.proxy.hosts)} in the Cloudflare zone "
            f"{s.dns.zone} (CLOUDFLARE_API_TOKEN in the environment).")
        step += 1
    elif s.provider == "existing" and s.proxy.hosts:
        out(f"{step}. DNS: the records Kamal used for {', '.join(s.proxy.hosts)} already point at these hosts.")
        step += 1
    elif s.proxy.hosts:
        out(f"{step}. DNS: after `pulumi up`, point {', '.join(s.proxy.hosts)} at the new hosts "
            f"(pulumi stack output --stack {stack} dnsRecordsToCreate).")
        step += 1
    out(f"{step}. Push the image {s.image}:{s.version} from CI (Berth builds nothing), load your SSH key "
        f"(ssh-add), then: {pulumi_c} up --stack {stack}")
    if draft.to_copy:
        out(f"{step + 1}. After that first `pulumi up` and before DNS points at the new hosts, copy "
            f"{'; '.join(draft.to_copy)} from the Kamal hosts: the new servers start without them (the Check notes "
            "above say how).")


def stop_kamal(draft: translate.Draft, destination: str | None, user: str) -> list[str]:
    """How to stop what Kamal runs on the hosts Berth takes over, keeping every byte of data: never `kamal accessory
    remove`, which deletes the accessory's directory on the host (lib/kamal/cli/accessory.rb `remove_accessory`:
    container, image, then `rm -rf <service_name>`), only `stop`, and `docker rm` of a stopped container whose name
    Berth's takes. Accessories Berth does not run are named, to be left alone."""
    d = f" -d {destination}" if destination else ""
    lines = ["These hosts run Kamal's containers: stop them, keeping their data (the site is down until `pulumi up` "
             "ends), or import with --provider to start on new servers and move DNS once they serve:",
             f"  kamal app remove{d}   # the app's containers and images; its volumes and host paths stay",
             f"  kamal proxy remove{d}   # Berth's kamal-proxy takes its name and ports"]
    for accessory in draft.replaced:
        lines.append(f"  kamal accessory stop {accessory.name}{d}   # Berth runs {accessory.berth} instead; the data "
                     "stays on the host")
        if accessory.container == accessory.berth:
            lines += [f"  ssh {user}@{host} docker rm {accessory.container}   # the stopped container only, as "
                      "Berth's takes its name; its directories and volumes stay" for host in accessory.hosts]
    if draft.replaced:
        lines.append("  Never `kamal accessory remove`: it deletes the accessory's data directory on the host with "
                     "its container and image.")
    for accessory in draft.left:
        lines.append(f"  Leave {accessory.name} ({accessory.container} on {', '.join(accessory.hosts) or 'no host'}) "
                     "running: Berth does not manage it, and none of the commands above touches it.")
    return lines
