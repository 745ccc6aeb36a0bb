"""components/sdk.py: the program loads only the SDK modules it declares from, and what it loads is the SDK itself.

Each check that needs a fresh interpreter (nothing imported yet) runs in a subprocess: this test session
imports whole packages elsewhere (tests/test_stacks.py walks the SDK's Args classes).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from components import sdk
from tooling.evaluate import PROJECT_DIR

PACKAGES = {name: value for name, value in vars(sdk).items() if isinstance(value, sdk.Sdk)}
# What the SDK's modules import from their own package besides each other (components/sdk.py's docstring).
SHARED = {"_utilities", "_inputs", "_enums", "outputs"}


def run(code: str) -> dict:
    """Run `code` in a fresh interpreter at the project's root; it prints one JSON document."""
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_planning_every_shipped_stack_loads_only_the_modules_berth_declares_from():
    loaded = run("""
import json, sys
sys.path[:0] = ["tests"]
from pulumi.runtime import rpc
references = []
deserialize_resource = rpc.deserialize_resource
rpc.deserialize_resource = lambda *a, **k: references.append(a) or deserialize_resource(*a, **k)
from conftest import SHIPPED
from tooling.plan import build
for path in SHIPPED:
    build(path)
print(json.dumps({"modules": sorted(m for m in sys.modules if m.startswith("pulumi_")),
                  "whole": sorted(m for m, module in sys.modules.items() if m.startswith("pulumi_")
                                  and hasattr(module, "__path__") and "__getattr__" not in vars(module)),
                  "references": len(references)}))
""")
    packages = {s.package for s in PACKAGES.values()} | {s.package.split(".")[0] for s in PACKAGES.values()}
    allowed = packages | {f"{p}.{m}" for p in packages for m in SHARED}
    allowed |= {f"{s.package}.{m}" for s in PACKAGES.values() for m in s.modules}
    allowed |= {"pulumi_cloudflare", "pulumi_cloudflare._utilities"}  # components/cloudflare.py: the version only
    assert sorted(set(loaded["modules"]) - allowed) == []
    assert loaded["whole"] == []  # no package's __init__ ran: each is still deferred
    assert [m for m in loaded["modules"] if m.startswith("pulumi_cloudflare.")] == ["pulumi_cloudflare._utilities"]
    assert loaded["references"] == 0  # the resource-module registry of a full import would have had nothing to do


def test_a_whole_import_after_the_partial_load_is_the_same_package():
    found = run("""
import json, sys
import pulumi.runtime
from components.sdk import docker, remote, tls
container, command, request = docker.Container, remote.Command, tls.CertRequest
before = pulumi.runtime.rpc.get_resource_module("docker", "index/container", "") is not None
import pulumi_docker, pulumi_command, pulumi_tls
same_class = pulumi_docker.Container is container and pulumi_command.remote.Command is command
print(json.dumps({
    "registered_before": before,
    "registered_after": pulumi.runtime.rpc.get_resource_module("docker", "index/container", "") is not None,
    "same_class": same_class and pulumi_tls.CertRequest is request,
    "same_module": sys.modules["pulumi_docker.container"] is pulumi_docker.container,
    "function_not_module": callable(pulumi_tls.get_certificate),
    "modules": sum(m.startswith("pulumi_docker.") for m in sys.modules),
    "local": pulumi_command.local.Command.__module__,
}))
""")
    assert found["same_class"] and found["same_module"]
    assert found["function_not_module"]  # get_certificate, the function its __init__ exports, not its module
    assert found["modules"] > 20  # the whole package, as `import pulumi_docker` has it
    assert not found["registered_before"] and found["registered_after"]  # registered once, by the package itself
    assert found["local"] == "pulumi_command.local.command"


def test_a_partial_load_after_a_whole_import_uses_the_package_as_it_is():
    found = run("""
import json
import pulumi_docker
from components.sdk import docker
print(json.dumps({"same": docker.Container is pulumi_docker.Container
                  and docker.ContainerLabelArgs is pulumi_docker.ContainerLabelArgs}))
""")
    assert found["same"]


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_the_engine_is_asked_for_the_plugin_version_the_package_ships(name):
    package = PACKAGES[name].package
    root = package.split(".")[0]
    found = run(f"""
import json, sys
from components.sdk import {name}
{name}._load()
utilities = sys.modules["{root}._utilities"]
print(json.dumps({{"version": utilities.get_version(), "opts": utilities.get_resource_opts_defaults().version}}))
""")
    plugin = json.loads((Path(importlib.util.find_spec(root).origin).parent / "pulumi-plugin.json").read_text())
    assert found == {"version": plugin["version"], "opts": plugin["version"]}


def test_every_name_berth_uses_is_in_the_modules_it_loads():
    """Each `docker.Container` in components/ resolves: a module missing from the list fails here, not in a deploy
    of the one stack that needs it."""
    used = set()
    for path in (PROJECT_DIR / "components").rglob("*.py"):
        tree = ast.parse(path.read_text())
        aliases = {alias.asname or alias.name: alias.name for node in ast.walk(tree)
                   if isinstance(node, ast.ImportFrom) and node.module == "sdk" for alias in node.names}
        used |= {(aliases[node.value.id], node.attr) for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                 and isinstance(node.value, ast.Name) and node.value.id in aliases}
    assert {package for package, _ in used} == set(PACKAGES)
    assert sorted(f"{p}.{n}" for p, n in used if not hasattr(PACKAGES[p], n)) == []


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_the_sdk_layout_the_loader_relies_on(name):
    """The assumptions components/sdk.py's docstring lists, on the installed SDKs: a new SDK version that breaks
    one fails here."""
    package = PACKAGES[name]
    directory = Path(importlib.util.find_spec(package.package.split(".")[0]).origin).parent
    directory = directory.joinpath(*package.package.split(".")[1:])
    for module in package.modules:
        text = (directory / f"{module}.py").read_text()
        siblings = set(re.findall(r"^from \.+ import (\w+)", text, re.M)) | set(
            re.findall(r"^from \.(\w+) import \*", text, re.M))
        assert siblings <= SHARED, (module, siblings - SHARED)
        assert re.search(r"^__all__ = \[", text, re.M), module
    # The __init__ re-exports modules, makes config (or subpackages) lazy and registers the resource modules;
    # nothing else that a deferred package would miss.
    for init in {directory / "__init__.py", directory.parent / "__init__.py"} if "." in package.package else {
            directory / "__init__.py"}:
        for statement in ast.parse(init.read_text()).body:
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                continue
            if isinstance(statement, ast.If):  # if typing.TYPE_CHECKING: import ... else: x = lazy_import(...)
                assert ast.unparse(statement.test) == "typing.TYPE_CHECKING", ast.unparse(statement)
                assert all("lazy_import" in ast.unparse(s) for s in statement.orelse), ast.unparse(statement)
                continue
            assert ast.unparse(statement).startswith("_utilities.register("), (init, ast.unparse(statement)[:80])


def test_the_state_keeps_only_the_frames_of_the_program(shipped):
    """components/stack_traces.py: each resource's stack trace (which the engine keeps in the state) holds the
    frames of __main__.py and components/ alone, outermost __main__.py, and its first frame is still where the
    resource was declared (the SDK's source position)."""
    from components.stack_traces import PROGRAM, is_program_file

    _, evaluation = shipped
    assert evaluation.resources
    for resource in evaluation.resources:
        frames = [frame.rsplit("#", 1)[0] for frame in resource.stack_trace]
        assert frames and all(is_program_file(frame) for frame in frames), (resource.urn, resource.stack_trace)
        assert frames[-1] == PROGRAM.as_uri(), resource.urn
        assert resource.source_position == resource.stack_trace[0], resource.urn


def test_only_file_uris_inside_the_program_count_as_its_frames():
    from components.stack_traces import PROGRAM, ROOT, is_program_file

    assert is_program_file(PROGRAM.as_uri())
    assert is_program_file((ROOT / "components" / "render" / "release.py").as_uri())
    assert not is_program_file((ROOT / "berth" / "engine.py").as_uri())
    assert not is_program_file((ROOT / ".venv" / "lib" / "pulumi" / "resource.py").as_uri())
    assert not is_program_file("project:///components/hosts.py")
    assert not is_program_file("")
