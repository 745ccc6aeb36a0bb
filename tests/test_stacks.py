"""DESIGN.md's invariants, asserted over every shipped stack and example, evaluated whole."""

from __future__ import annotations

import collections.abc
import inspect
import re
import typing

import pytest

from components import stackfile
from components.stackfile import PLACEHOLDER
from conftest import SHIPPED, SHIPPED_IDS, ready
from tooling.evaluate import PROJECT_DIR, evaluate, secret_paths, unwrap

STATEFUL = {
    "digitalocean:index/volume:Volume", "digitalocean:index/reservedIp:ReservedIp",
    "digitalocean:index/databaseCluster:DatabaseCluster", "digitalocean:index/databaseDb:DatabaseDb",
    "digitalocean:index/databaseUser:DatabaseUser",
    "digitalocean:index/spacesBucket:SpacesBucket", "hcloud:index/volume:Volume", "hcloud:index/primaryIp:PrimaryIp",
}
SERVER_TYPES = {"digitalocean:index/droplet:Droplet", "hcloud:index/server:Server"}
# Every value the mocks or the plan hand out as a secret; none may surface outside a secret.
SECRET_VALUES = (PLACEHOLDER, "offline-password", "offline-secret-key", "BEGIN PRIVATE KEY")


def _plain_strings(value, inside_secret=False):
    """Strings in a value that the engine would store in plain text."""
    if isinstance(value, dict) and secret_paths(value) == ["."]:
        return
    if isinstance(value, dict):
        for v in value.values():
            yield from _plain_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _plain_strings(v)
    elif isinstance(value, str):
        yield value


def test_stateful_resources_are_protected_and_retained(shipped):
    _, evaluation = shipped
    for resource in evaluation.resources:
        if resource.type in STATEFUL:
            assert resource.protect and resource.retain_on_delete, resource.name


def test_no_secret_value_in_plain_inputs_or_outputs(shipped):
    _, evaluation = shipped
    for resource in evaluation.resources:
        for text in _plain_strings(resource.inputs):
            assert not any(secret in text for secret in SECRET_VALUES), (resource.name, text[:80])
    for name, value in evaluation.outputs.items():
        for text in _plain_strings(value):
            assert not any(secret in text for secret in SECRET_VALUES), name


def test_ssh_is_never_open_to_the_world(shipped):
    stack, evaluation = shipped
    for resource in evaluation.resources:
        rules = resource.plain_inputs.get("inboundRules") or [
            r for r in resource.plain_inputs.get("rules", []) if r.get("direction") == "in"]
        for rule in rules if resource.type.endswith("Firewall") else []:
            if (rule.get("portRange") or rule.get("port")) == str(stack.ssh.port):
                sources = rule.get("sourceAddresses") or rule.get("sourceIps")
                assert sources == list(stack.ssh.allow_from)
                assert not {"0.0.0.0/0", "::/0"} & set(sources)


def test_database_trusts_exactly_the_app_hosts_and_waits_on_no_server(shipped):
    stack, evaluation = shipped
    clusters = evaluation.of_type("digitalocean:index/databaseCluster:DatabaseCluster")
    if not stack.database:
        assert clusters == []
        return
    (cluster,) = clusters
    servers = [r for r in evaluation.resources if r.type in SERVER_TYPES]
    (rules,) = [r.plain_inputs["rules"] for r in evaluation.of_type(
        "digitalocean:index/databaseFirewall:DatabaseFirewall")]
    if stack.provider == "digitalocean":
        assert sorted(r["value"] for r in rules) == sorted(s.id for s in servers)
        assert {r["type"] for r in rules} == {"droplet"}
    server_urns = {s.urn for s in servers} | {r.urn for r in evaluation.resources if r.type == "berth:index:Host"}
    waits_on = set(cluster.dependencies) | {u for urns in cluster.property_dependencies.values() for u in urns}
    assert not waits_on & server_urns


def test_no_unresolved_output_text_in_inputs(shipped):
    _, evaluation = shipped
    for resource in evaluation.resources:
        for text in _plain_strings(unwrap(resource.inputs)):
            assert "Calling __str__ on an Output" not in text, resource.name


@pytest.mark.parametrize("path", SHIPPED, ids=SHIPPED_IDS)
def test_two_evaluations_declare_identical_inputs(path, evaluations):
    _, first = evaluations[path.stem.removeprefix("Pulumi.")]
    second = evaluate(ready(path))
    declared = {r.urn: r.plain_inputs for r in first.resources}
    assert len(declared) == len(first.resources)  # URNs are unique
    assert declared == {r.urn: r.plain_inputs for r in second.resources}


# --- inputs against the SDK's own Args classes (mocks accept anything; providers do not) ----------

def _camel_to_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _args_class(token: str):
    package, module_path, class_name = token.split(":")
    if package == "pulumi":
        return None
    import importlib

    sdk = importlib.import_module(f"pulumi_{package}")
    if module_path != "index" and "/" not in module_path:
        sdk = importlib.import_module(f"pulumi_{package}.{module_path}")
    return getattr(sdk, f"{class_name}Args", None)


def _candidates(annotation) -> list:
    """The concrete shapes an SDK annotation allows, without None, Awaitable and Output."""
    if typing.get_origin(annotation) is typing.Union:
        return [c for a in typing.get_args(annotation) for c in _candidates(a)]
    if annotation is type(None) or typing.get_origin(annotation) is collections.abc.Awaitable:
        return []
    if isinstance(annotation, typing.ForwardRef) and annotation.__forward_arg__.startswith("Output"):
        return []
    return [annotation]


def _check_one(value, shape, where: str, sdk) -> list[str]:
    origin = typing.get_origin(shape)
    if origin is collections.abc.Sequence:
        if not isinstance(value, list):
            return [f"{where}: expected list, got {type(value).__name__}"]
        return [p for i, v in enumerate(value) for p in _check(v, typing.get_args(shape)[0], f"{where}[{i}]", sdk)]
    if origin is collections.abc.Mapping:
        if not isinstance(value, dict):
            return [f"{where}: expected mapping, got {type(value).__name__}"]
        return [p for k, v in value.items() for p in _check(v, typing.get_args(shape)[1], f"{where}.{k}", sdk)]
    if shape is bool:
        return [] if isinstance(value, bool) else [f"{where}: expected bool, got {type(value).__name__} {value!r}"]
    if shape in (int, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected {shape.__name__}, got {type(value).__name__} {value!r}"]
    if shape is str:
        return [] if isinstance(value, str) else [f"{where}: expected str, got {type(value).__name__} {value!r}"]
    if isinstance(shape, typing.ForwardRef) and shape.__forward_arg__.endswith("Args"):
        if not isinstance(value, dict):
            return [f"{where}: expected {shape.__forward_arg__}, got {type(value).__name__}"]
        return _check_fields(value, getattr(sdk, shape.__forward_arg__), where, sdk)
    return []  # Any and friends


def _check(value, annotation, where: str, sdk) -> list[str]:
    if value is None:
        return []
    outcomes = [_check_one(value, shape, where, sdk) for shape in _candidates(annotation)]
    if not outcomes or any(not problems for problems in outcomes):
        return []
    return outcomes[0]


def _check_fields(inputs: dict, args_class, where: str, sdk) -> list[str]:
    signature = inspect.signature(args_class.__init__)
    problems = []
    for key, value in inputs.items():
        parameter = signature.parameters.get(_camel_to_snake(key))
        if parameter is None:
            problems.append(f"{where}.{key}: no such field on {args_class.__name__}")
            continue
        problems += _check(value, parameter.annotation, f"{where}.{key}", sdk)
    return problems


def test_inputs_have_the_types_the_sdk_annotates(shipped):
    _, evaluation = shipped
    import importlib
    import importlib.util

    problems = []
    for resource in evaluation.resources:
        if not resource.custom or resource.type.startswith("pulumi:providers:"):
            continue
        args_class = _args_class(resource.type)
        assert args_class is not None, resource.type
        sdk = importlib.import_module(args_class.__module__.rsplit(".", 1)[0])
        inputs_module = (importlib.import_module(f"{sdk.__name__}._inputs")
                         if importlib.util.find_spec(f"{sdk.__name__}._inputs") else sdk)  # random has none
        problems += _check_fields(resource.plain_inputs, args_class, resource.name, inputs_module)
    assert problems == []


def test_the_type_walk_catches_what_mocks_let_through():
    import pulumi_digitalocean as do
    import pulumi_digitalocean._inputs as inputs

    problems = _check_fields({"size": 2, "dropletIds": ["12"], "bogus": 1,
                              "inboundRules": [{"protocol": "tcp", "portRange": 22}]}, do.FirewallArgs, "fw", inputs)
    assert "fw.size: no such field on FirewallArgs" in problems
    assert "fw.dropletIds[0]: expected int, got str '12'" in problems
    assert "fw.bogus: no such field on FirewallArgs" in problems
    assert "fw.inboundRules[0].portRange: expected str, got int 22" in problems


@pytest.mark.parametrize("example", sorted((PROJECT_DIR / "examples").glob("*.yaml")), ids=lambda p: p.stem)
def test_each_example_says_how_to_use_it_under_the_stack_name_the_plan_prints(example):
    """`cp examples/x.yaml Pulumi.x.yaml`: the stack then has the name the plan's hints use for the example."""
    assert f"Use: cp examples/{example.name} Pulumi.{stackfile.stack_name(example)}.yaml" in example.read_text()
