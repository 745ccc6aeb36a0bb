"""`make plan` / `berth-plan`: what `pulumi up` would create for a stack, offline, with no CLI and no credentials.

The program runs under Pulumi's mock monitor with the stack file's config; the resources it declares
are printed as a tree per component with the settings a reviewer checks (values only a provider knows
as `<ip of web-1>`, never the mock's stand-ins), then unset secrets, review warnings, the policy pack's
verdict and a monthly cost estimate. A policy violation or an invalid file exits non-zero. `--json`
prints the same content for CI and other tools.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import typer
from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from components import catalog, checks, stackfile, yamlv3
from components.config import Stack
from components.errors import ConfigError, Problem, besides, loc_of
from components.hosts import host_specs
from components.render.proxy import proxy_calls, proxy_exec
from components.render.registry import DOCKER_HUB
from components.render.release import image_ref
from components.validation import load
from policy import berth_rules

from . import pricing
from .evaluate import Evaluation, OfflineMocks, Registration, evaluate

POLICY_RULES = len(berth_rules.RESOURCE_RULES) + len(berth_rules.STACK_RULES)


@dataclass
class Plan:
    stack: Stack
    evaluation: Evaluation
    warnings: list[str] = field(default_factory=list)
    unset_secrets: list[str] = field(default_factory=list)
    violations: list[tuple[str, str]] = field(default_factory=list)  # (policy, message), as the pack reports
    placeholders: dict[str, str] = field(default_factory=dict)  # mock value -> what it stands for

    def describe(self, resource: Registration) -> str:
        """The resource's settings, with every value the mocks invented shown as what it stands for."""
        return self.shown(describe(resource))

    def shown(self, text: str) -> str:
        """Text with every value the mocks invented replaced by what it stands for (`<ip of web-1>`)."""
        if not self.placeholders or not text:
            return text
        # Whole values only (an id inside a longer number stays), but a suffix after '-' is a value too.
        pattern = re.compile(r"(?<![\w.:])(" + "|".join(
            re.escape(v) for v in sorted(self.placeholders, key=len, reverse=True)) + r")(?![\w.-])")
        return pattern.sub(lambda m: self.placeholders[m.group(1)], text)


def build(path: Path) -> Plan:
    """Validate and evaluate one stack file, reading it as `pulumi up` does. Raises SyntaxProblem for text
    that is not YAML and ConfigError for any problem but unset secrets (the plan fills those in)."""
    stack_file = stackfile.read(path)
    unset_names = unset_secrets(stack_file, path)
    if unset_names:
        stack_file = stack_file.with_secrets(unset_names)
    stack = load(stack_file.program_view(), stack_name=stack_file.name)
    mocks = OfflineMocks()
    evaluation = evaluate(stack_file, mocks=mocks)
    warnings = [str(note.at(stack_file.line_of(loc_of(note.path)))) for note in checks.warnings(stack)]
    return Plan(stack, evaluation, warnings, unset_names, policy_violations(evaluation),
                mocks.invented)


def unset_secrets(stack_file: stackfile.StackFile, path: Path) -> list[str]:
    """The berth:secrets names the file uses but does not set. Raises ConfigError for any other problem
    (with the unset secrets listed apart, as the to-do they are)."""
    problems: list[Problem] = list(stack_file.problems)
    unset: list[Problem] = []
    try:
        load(stack_file.program_view(), stack_file.line_of, stack_file.name)
    except ConfigError as error:
        unset = error.unset_secrets
        problems += besides(stack_file.problems, error.faults)
    if problems:
        raise ConfigError([*problems, *unset], file=path.name)
    return sorted({p.missing_secret for p in unset})


def policy_violations(evaluation: Evaluation) -> list[tuple[str, str]]:
    """The policy pack's verdicts over what the program declared (policy/berth_rules.py)."""
    return berth_rules.check(berth_rules.Resource(type=r.type, name=r.name, props=r.plain_inputs, protect=r.protect)
                             for r in evaluation.resources if r.custom)


def _rules(rules: list[dict[str, Any]], direction: str) -> str:
    key = "sourceAddresses" if direction == "in" else "destinationAddresses"
    parts = []
    for rule in rules:
        addresses = rule.get(key) or rule.get("sourceIps") or rule.get("destinationIps") or []
        who = "world" if set(addresses) >= {"0.0.0.0/0"} else ", ".join(addresses[:3]) + (
            f" (+{len(addresses) - 3})" if len(addresses) > 3 else "")
        if rule.get("sourceTags"):  # the stack's own droplets
            who = "droplets tagged " + ", ".join(rule["sourceTags"])
        port = rule.get("portRange") or rule.get("port") or "all"
        parts.append(f"{port}/{rule['protocol']} {'from' if direction == 'in' else 'to'} {who}")
    return "; ".join(parts)


def _registries(logins: list, secret_username: bool) -> list[dict[str, Any]]:
    """The registries a host logs in to; Docker Hub once, under docker.io, though its provider holds the
    credentials under each of Docker Hub's names (components/render/registry.py `auth_addresses`). A user name
    kept in berth:secrets is never shown (None)."""
    seen: list[dict[str, Any]] = []
    for login in logins:
        if isinstance(login, dict):
            entry = {"server": "docker.io" if login.get("address") in DOCKER_HUB else login.get("address"),
                     "username": None if secret_username else login.get("username")}
            if entry not in seen:
                seen.append(entry)
    return seen


def _num(value: Any) -> Any:
    """The wire format carries numbers as floats; 70.0 GB reads better as 70 GB."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _hcloud_firewall(i: dict) -> str:
    rules = i.get("rules", [])
    return (f"in: {_rules([r for r in rules if r['direction'] == 'in'], 'in')} | "
            f"out: {_rules([r for r in rules if r['direction'] == 'out'], 'out')}")


# The settings a reviewer checks, per resource type.
DESCRIBERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "digitalocean:index/droplet:Droplet":
        lambda i: f"{i.get('size')} in {i.get('region')}, {i.get('image')}, tags {', '.join(i.get('tags', []))}",
    "hcloud:index/server:Server": lambda i: f"{i.get('serverType')} in {i.get('location')}, {i.get('image')}",
    "digitalocean:index/volume:Volume": lambda i: f"{_num(i.get('size'))} GB",
    "hcloud:index/volume:Volume": lambda i: f"{_num(i.get('size'))} GB",
    "digitalocean:index/firewall:Firewall": lambda i: (f"in: {_rules(i.get('inboundRules', []), 'in')} | "
                                                       f"out: {_rules(i.get('outboundRules', []), 'out')}"),
    "hcloud:index/firewall:Firewall": _hcloud_firewall,
    "digitalocean:index/databaseCluster:DatabaseCluster":
        lambda i: f"{i.get('engine')} {i.get('version')}, {i.get('size')} x {_num(i.get('nodeCount'))}, {i.get('region')}",
    "digitalocean:index/databaseFirewall:DatabaseFirewall":
        lambda i: "trusted: " + ", ".join(f"{r['type']} {r['value']}" for r in i.get("rules", [])),
    "digitalocean:index/spacesBucket:SpacesBucket": lambda i: f"{i.get('name')} in {i.get('region')}, {i.get('acl')}",
    "hcloud:index/primaryIp:PrimaryIp": lambda i: f"{i.get('type')} in {i.get('location')}, kept when the server goes",
    "command:remote:Command": lambda i: f"over SSH: {i.get('create', '')}" + "".join(
        f", which runs {proxy_exec(call)}" for call in proxy_calls(str(i.get("stdin") or "")) if call[:1] == ["deploy"]),
    "pulumi:providers:docker": lambda i: f"docker at {i.get('host')}",
    "docker:index/container:Container": lambda i: f"{i.get('name')} from {i.get('image', '')}" + "".join(
        f", published {p.get('ip')}:{_num(p.get('external'))}" for p in i.get("ports") or [] if _num(p.get("external"))
        not in (80, 443)),
    "docker:index/remoteImage:RemoteImage": lambda i: f"pull {i.get('name')}",
    "cloudflare:index/dnsRecord:DnsRecord":
        lambda i: f"{i.get('name')} {i.get('type')} {i.get('content')}{' proxied' if i.get('proxied') else ''}",
    "cloudflare:index/zoneSetting:ZoneSetting": lambda i: f"{i.get('settingId')} = {i.get('value')}",
    "cloudflare:index/originCaCertificate:OriginCaCertificate":
        lambda i: (f"{i.get('requestType')} for {', '.join(i.get('hostnames', []))}, "
                   f"{_num(i.get('requestedValidity'))} days"),
}


def describe(resource: Registration) -> str:
    describer = DESCRIBERS.get(resource.type)
    return describer(resource.plain_inputs) if describer else ""


def _label(plan: Plan, resource: Registration) -> str:
    flags = " [yellow]protected[/]" if resource.protect else ""
    detail = escape(plan.describe(resource))  # user text (commands, hosts) is never markup
    name = escape(resource.name)
    if not resource.custom:
        return f"[bold magenta]{resource.type.split(':')[-1]}[/] {name}"
    return (f"{resource.type.split(':')[-1]} [bold]{name}[/]{flags}"
            + (f" [dim]{detail}[/]" if detail else ""))


def render(plan: Plan, console: Console) -> None:
    resources = plan.evaluation.resources
    tree = Tree(_headline(plan))
    nodes: dict[str, Tree] = {}
    # Registration order follows Output resolution, which varies; a sorted tree reads the same every run.
    ordered = sorted(resources, key=lambda r: (r.custom, r.type.split(":")[-1], r.name))
    children: dict[str, list[Registration]] = {}
    for resource in ordered:
        children.setdefault(resource.parent if any(p.urn == resource.parent for p in resources) else "", []
                            ).append(resource)
    queue = [("", tree)]
    while queue:
        parent_urn, parent = queue.pop(0)
        for resource in children.get(parent_urn, []):
            nodes[resource.urn] = parent.add(_label(plan, resource))
            queue.append((resource.urn, nodes[resource.urn]))
    for line in _release_lines(plan):
        tree.add(escape(line))
    console.print(tree)
    if plan.unset_secrets:
        console.print("\n[bold yellow]Secrets named but not set[/] (a real `pulumi up` refuses to run):")
        for name in plan.unset_secrets:
            console.print(f"  pulumi config set --stack {plan.evaluation.stack} --secret --path "
                          f"'secrets.{name}' <value>", markup=False, highlight=False, soft_wrap=True)
    _review_cost_policy(plan, console)


def _headline(plan: Plan) -> str:
    resources = len([r for r in plan.evaluation.resources if r.custom])
    return f"[bold]berth[/] stack [cyan]{escape(plan.evaluation.stack)}[/] ({plan.stack.provider}, {resources} resources)"


def _release_lines(plan: Plan) -> list[str]:
    s = plan.stack
    lines = [f"release {image_ref(s.image, s.version)}, TLS {s.tls_mode}, hosts {', '.join(s.proxy.hosts) or '-'}, "
             f"roles {', '.join(f'{r} x{s.role_count(r)}' for r in s.servers)}"]
    if s.provider == "existing":
        lines.append("SSH: existing hosts keep the keys already installed"
                     + (f" (and get the {len(s.ssh.authorized_keys)} listed in berth:ssh.authorizedKeys)"
                        if s.ssh.authorized_keys else "; Berth adds none"))
    return lines


def summary(plan: Plan, console: Console) -> None:
    """The plan without its resource tree: what it releases, review notes, cost and the policy verdict."""
    console.print(_headline(plan))
    for line in _release_lines(plan):
        console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    _review_cost_policy(plan, console)


def _review_cost_policy(plan: Plan, console: Console) -> None:
    if plan.warnings:
        console.print("\n[bold yellow]Review[/]:")
        for note in plan.warnings:
            console.print(f"  - {note}", markup=False, highlight=False, soft_wrap=True)
    lines = pricing.estimate(plan.stack, plan.evaluation.stack)
    note = catalog.PRICE_NOTES.get(plan.stack.provider, f"list prices as of {catalog.PRICES_CHECKED}")
    console.print(f"\n[bold]Estimated monthly cost[/] ({escape(note)}):", soft_wrap=True)
    for line in lines:
        console.print(f"  {line.amount:8.2f} {line.currency}  {line.item}", markup=False, highlight=False)
    if not lines:
        console.print("  nothing billed through Berth: existing hosts are paid for at their own provider", soft_wrap=True)
    for currency, total in pricing.totals(lines).items():
        console.print(f"  [bold]{total:8.2f} {currency}  total[/]")
    if plan.violations:
        console.print(f"\n[bold red]policy: {len(plan.violations)} violation(s) of {POLICY_RULES} rules[/] "
                      "(the policy pack fails `pulumi preview` on these):")
        for policy, message in plan.violations:
            console.print(f"  - {policy}: {message}", markup=False, highlight=False, soft_wrap=True)
    else:
        console.print(f"\n[bold green]policy: {POLICY_RULES} rules, all pass[/]")


_PROVIDER_HOST = re.compile(r"^ssh://(?P<user>[^@]+)@(?P<address>.+):(?P<port>\d+)$")


def hosts(plan: Plan) -> list[dict[str, Any]]:
    """What each host runs, read from what the program declared: its roles and SSH address; per role the app's
    image, command, env names (never values), `kamal-proxy deploy` arguments and what else reaches `docker run`
    (`app`: the role that has the host); its accessories and how each role reaches them. Values only a provider
    knows show as placeholders (`<ip of web-1>`)."""
    resources = plan.evaluation.resources
    names = {r.urn: r.name for r in resources}

    def image(name: str) -> str | None:
        pulled = next((r for r in resources if r.type == "docker:index/remoteImage:RemoteImage" and r.name == name), None)
        return pulled.plain_inputs.get("name") if pulled else None

    def env_names(container: Registration) -> list[str]:
        return sorted(e.split("=", 1)[0] for e in container.plain_inputs.get("envs") or [])

    def proxy_args(command: str) -> list[str] | None:
        """The `kamal-proxy deploy` arguments a command runs on the host: its command line (in a root shell for a
        user other than root), or a line of the script it feeds to the shell (a switch, after the `docker start`
        of its target)."""
        found = next((r for r in resources if r.name == command), None)
        if found is None:
            return None
        argv = shlex.split(str(found.plain_inputs.get("create", "")))
        if argv[:4] == ["sudo", "-n", "sh", "-c"]:
            argv = shlex.split(argv[4])
        calls = proxy_calls(f"{shlex.join(argv)}\n{found.plain_inputs.get('stdin', '')}")
        return [plan.shown(a) for a in calls[0]] if calls else None

    def docker(container: Registration) -> dict[str, Any]:
        """What else reaches `docker run`: mounts (Kamal's source:target[:ro]), user, groups, extra hosts, logging."""
        i = container.plain_inputs
        volumes = [f"{v.get('hostPath') or v.get('volumeName')}:{v.get('containerPath')}{':ro' if v.get('readOnly') else ''}"
                   for v in i.get("volumes") or []]
        return {"volumes": volumes, "user": i.get("user"), "groupAdd": list(i.get("groupAdds") or []),
                "addHost": [f"{h.get('host')}:{h.get('ip')}" for h in i.get("hosts") or []],
                "logging": {"driver": i.get("logDriver"), "options": dict(i.get("logOpts") or {})}}

    out = []
    specs = {spec.name: spec for spec in host_specs(plan.stack, plan.evaluation.stack)}
    providers = {r.name.removesuffix("-docker"): r for r in resources if r.type == "pulumi:providers:docker"}
    for name, spec in specs.items():
        provider = providers.get(name)
        ssh = _PROVIDER_HOST.match(plan.shown(str(provider.plain_inputs.get("host")))) if provider else None
        on_host = [r for r in resources if r.type == "docker:index/container:Container" and provider is not None
                   and names.get(r.provider.rsplit("::", 1)[0]) == provider.name]
        logins = provider.plain_inputs.get("registryAuth") or [] if provider else []
        logins = json.loads(logins) if isinstance(logins, str) else logins  # a provider's config arrives as JSON text
        entry: dict[str, Any] = {"name": name, "role": spec.role, "roles": list(spec.roles),
                                 "address": ssh["address"] if ssh else None, "user": ssh["user"] if ssh else None,
                                 "port": int(ssh["port"]) if ssh else None,
                                 "registries": _registries(logins, bool(plan.stack.registry and
                                                                             plan.stack.registry.username_secret)),
                                 "app": None, "apps": {}, "accessories": {}, "proxyPorts": None}
        units = {f"{name}-app" if role == spec.role else f"{name}-{role}-app": role for role in spec.roles}
        for container in on_host:
            inputs = container.plain_inputs
            if container.name in units:
                role = units[container.name]
                entry["apps"][role] = {
                    "container": plan.shown(str(inputs.get("name"))), "image": image(f"{name}-image"),
                    "command": inputs.get("command"), "env": env_names(container),
                    # the names whose values come from berth:secrets (never the values)
                    "envSecret": sorted(set(env_names(container)) - set(plan.stack.role_env(role).clear)),
                    "proxy": proxy_args(f"{container.name.removesuffix('-app')}-switch"), **docker(container)}
            elif container.name == f"{name}-proxy":
                entry["proxyPorts"] = _published(inputs)
            elif container.name.startswith(f"{name}-"):
                accessory = container.name.removeprefix(f"{name}-")
                published = [plan.shown(p) for p in _published(inputs)]
                entry["accessories"][accessory] = {
                    "container": inputs.get("name"), "image": image(f"{container.name}-image"),
                    "command": inputs.get("command"), "env": env_names(container), **docker(container),
                    "published": published, "proxy": proxy_args(f"{container.name}-route"),
                    "reach": reach(plan, spec.roles, accessory, inputs, published)}
        entry["app"] = entry["apps"].get(spec.role)  # the role that has the machine (`roles`: every one it runs)
        out.append(entry)
    return out


def _published(inputs: dict[str, Any]) -> list[str]:
    return [f"{p.get('ip')}:{_num(p.get('external'))}->{_num(p.get('internal'))}" for p in inputs.get("ports") or []]


_NO_HOST = ("127.0.0.1", "::1", "0.0.0.0", "::")  # published where no other host names it


def reach(plan: Plan, here: tuple[str, ...], accessory: str, inputs: dict[str, Any],
          published: list[str]) -> dict[str, str]:
    """How each role's app containers reach the accessory: by name on the host's Docker network where they run
    beside it, at the address it is published on where that is one the other hosts reach: the host's private
    address (`private:PORT`) or the address written (`10.0.0.3:6379`, as the import keeps Kamal's
    `10.0.0.3:6379:6379` on the same hosts); never loopback or every interface (`0.0.0.0`), which name no host."""
    config = plan.stack.accessories.get(accessory)
    if config is None:
        return {}
    port = config.port or next((_num(p.get("internal")) for p in inputs.get("ports") or []), None) or \
        {"postgres": 5432, "meilisearch": 7700}.get(config.kind)
    by_name = f"{inputs.get('name')}:{port}" if port else str(inputs.get("name"))
    ip = (config.publish or "").rpartition(":")[0]
    private = published[0].rsplit("->", 1)[0] if published and ip and ip not in _NO_HOST else None
    return {role: by_name if role in here else private for role in plan.stack.servers
            if role in here or private is not None}


def as_json(plan: Plan) -> dict[str, Any]:
    """The plan's content for CI and other tools; the same facts the tree, notes and cost show."""
    lines = pricing.estimate(plan.stack, plan.evaluation.stack)
    by_urn = {r.urn: r.name for r in plan.evaluation.resources}
    return {
        "stack": plan.evaluation.stack, "provider": plan.stack.provider,
        "release": {"image": plan.stack.image, "version": plan.stack.version, "tls": plan.stack.tls_mode,
                    "hosts": list(plan.stack.proxy.hosts)},
        "resources": [{"type": r.type, "name": r.name, "parent": by_urn.get(r.parent), "custom": r.custom,
                       "protected": r.protect, "description": plan.describe(r)}
                      for r in sorted(plan.evaluation.resources, key=lambda r: (r.type, r.name))],
        "primaryRole": plan.stack.primary_role, "hosts": hosts(plan),
        "unsetSecrets": plan.unset_secrets, "warnings": plan.warnings,
        "policy": {"rules": POLICY_RULES, "violations": [{"policy": p, "message": m} for p, m in plan.violations]},
        "cost": {"pricesChecked": catalog.PRICES_CHECKED,
                 "lines": [{"item": c.item, "amount": round(c.amount, 2), "currency": c.currency} for c in lines],
                 "totals": {k: round(v, 2) for k, v in pricing.totals(lines).items()}},
    }


def stack_file(stack: str, here: Path) -> Path | None:
    """Where `--stack NAME` is: ./Pulumi.NAME.yaml, else beside the nearest Pulumi.yaml upward, as the Pulumi CLI
    finds its project; never the Berth checkout's own stack files, which would plan another app with exit 0
    (new-user audit, finding 6). None when there is none."""
    here = here.resolve()
    if (here / f"Pulumi.{stack}.yaml").is_file():
        return here / f"Pulumi.{stack}.yaml"
    project = next((d for d in (here, *here.parents) if (d / "Pulumi.yaml").is_file()), None)
    if project is not None and (project / f"Pulumi.{stack}.yaml").is_file():
        return project / f"Pulumi.{stack}.yaml"
    return None


def main(stack: str = typer.Option("production", help="Stack name: reads Pulumi.<stack>.yaml here, or beside "
                                                        "the nearest Pulumi.yaml above"),
         file: Path | None = typer.Option(None, help="A stack file elsewhere (examples/...)"),
         as_json_: bool = typer.Option(False, "--json", help="The plan as JSON, for CI and other tools")) -> None:
    console = Console(emoji=False)  # "berth:cloud:" is a key path, not an emoji
    if file is None:
        found = stack_file(stack, Path.cwd())
        if found is None:
            message = (f"berth-plan: no Pulumi.{stack}.yaml in {Path.cwd()}, nor beside a Pulumi.yaml above it: run "
                       "berth-plan where the stack file is (your Berth project), or pass --file PATH")
            if as_json_:
                print(json.dumps({"stack": stack, "file": None, "error": message}, indent=2))
            else:
                console.print(message, style="red", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1)
        file = found
    path = file
    name = stackfile.stack_name(path)
    if not path.exists():
        if as_json_:
            print(json.dumps({"stack": name, "file": str(path), "error": "no stack file"}, indent=2))
        else:
            console.print(f"No stack file at {path}", style="red", markup=False)
        raise typer.Exit(2)
    try:
        plan = build(path)
    except (ConfigError, yamlv3.SyntaxProblem, pulumi.RunError) as error:  # RunError: the program's own refusal
        if as_json_:
            print(json.dumps({"stack": name, "file": str(path), "error": str(error)}, indent=2))
        else:
            console.print(str(error), markup=False, highlight=False, soft_wrap=True, style="red")
        raise typer.Exit(1) from None
    if as_json_:
        print(json.dumps({"file": str(path.resolve()), **as_json(plan)}, indent=2))
    else:
        console.print(f"read {path.resolve()}", markup=False, highlight=False, soft_wrap=True)
        render(plan, console)
    if plan.violations:
        raise typer.Exit(1)


def cli() -> None:
    """The `berth-plan` command."""
    typer.run(main)


if __name__ == "__main__":
    cli()
