"""The applier: what Berth registers, applied to the lab's hosts the way `pulumi up` would.

It is an instrument, not an engine. The program runs under the SDK's mock monitor, exactly as for the
offline plan; this monitor answers each RegisterResource by performing the step for real (an SSH
command, a `docker` call through `ssh://`) and returning the real outputs, so the program's Outputs
(container ids, image ids) are the host's own. The SDK registers a resource only once the resources it
depends on have answered, so steps run in dependency order, concurrently where the program allows.

Reproduced engine semantics (see tests/e2e/README.md): create / update / replace / same from a diff of
the new inputs against the state the provider read back; create-before-delete replacement, with the
replaced resource deleted after the program finished, dependents first; `delete_before_replace`;
`retain_on_delete`; `ignore_changes` and `replace_on_changes` (top-level keys and `key[*]`); no new step
after a failed one, and replaced resources of a failed update deleted at the start of the next one.
Anything else a registration carries (an unknown type, input or option) stops the run with its name.
"""

from __future__ import annotations

import copy
import threading
import traceback
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from components.stackfile import StackFile
from tooling.evaluate import Evaluation, RecordingMonitor, evaluate, registration, unwrap

from .kinds import KINDS, Site, StepFailed

# Options the applier does not reproduce; a registration that sets one stops the run. (Aliases are
# accepted: provider SDKs declare their own type renames, and the applier's state never holds old names.)
_UNSUPPORTED_OPTIONS = ("customTimeouts", "importId", "deletedWith", "hooks", "replace_with",
                        "replacement_trigger", "hideDiffs", "envVarMappings")


@dataclass
class Resource:
    """One resource in the applier's state, as the engine's checkpoint would hold it."""

    type: str
    name: str
    urn: str
    id: str
    inputs: dict[str, Any]  # as declared (secrets unwrapped: the state stays in memory only)
    state: dict[str, Any]  # what the provider read back: the next diff's baseline
    outputs: dict[str, Any]
    provider: str
    dependencies: list[str]
    retain_on_delete: bool
    delete_before_replace: bool


@dataclass(frozen=True)
class Step:
    op: str  # create | update | replace | same | delete | forget (retain_on_delete)
    type: str
    name: str
    detail: str = ""
    urn: str = ""


@dataclass
class Up:
    """What one `up` did: its steps in order, its error if any, and the evaluation it applied."""

    steps: list[Step]
    error: str | None
    evaluation: Evaluation

    @property
    def ok(self) -> bool:
        return self.error is None

    def ops(self, *ops: str) -> list[Step]:
        return [s for s in self.steps if s.op in ops]

    def named(self, suffix: str) -> list[Step]:
        return [s for s in self.steps if s.name.endswith(suffix)]

    @property
    def changed(self) -> list[Step]:
        return [s for s in self.steps if s.op != "same"]


def _changed_keys(old: dict[str, Any], new: dict[str, Any], kind: Any) -> set[str]:
    """Keys whose values differ, as the provider's diff (with its suppressions, where a kind has them) sees it."""
    same = getattr(kind, "same", lambda key, a, b: a == b)
    return {key for key in set(old) | set(new) if not same(key, old.get(key), new.get(key))}


def _matches(path: str, key: str) -> bool:
    """`replace_on_changes`/`ignore_changes` paths, at the top level: `key`, `key[*]`, `key.sub`."""
    return path == key or path.startswith(f"{key}[") or path.startswith(f"{key}.")


class Applier:
    def __init__(self, site: Site):
        self.site = site
        self.state: dict[str, Resource] = {}
        self.pending_deletes: list[Resource] = []
        self._lock = threading.Lock()

    # --- one `pulumi up` ---------------------------------------------------------------------------

    def up(self, stack_file: StackFile, mocks: pulumi.runtime.Mocks | None = None) -> Up:
        steps: list[Step] = []
        run = _Run(self, steps)
        for resource in self._delete_order(self.pending_deletes):
            run.delete(resource)
        self.pending_deletes = []
        evaluation = Evaluation(stack_file.name)
        error = None
        try:
            evaluate(stack_file, preview=False, record=evaluation, mocks=mocks or SiteMocks(),
                     monitor=lambda m, e: _ApplyingMonitor(m, e, run))
        except Exception as exc:  # the program's failure is the up's failure, as with the CLI
            error = run.failure or "".join(traceback.format_exception(exc))
        run.wait_for_steps()  # the engine lets running steps finish before it reports
        if run.failure:
            error = run.failure
        if error is None:
            doomed = run.replaced + [r for urn, r in self.state.items() if urn not in run.registered]
            for resource in self._delete_order(doomed):
                run.delete(resource)
                if resource.urn not in run.registered:
                    self.state.pop(resource.urn, None)
        else:
            self.pending_deletes = run.replaced
        return Up(steps, error, evaluation)

    @staticmethod
    def _delete_order(resources: list[Resource]) -> list[Resource]:
        """Dependents before what they depend on (reverse of creation order)."""
        by_urn = {r.urn: r for r in resources}
        ordered: list[Resource] = []
        seen: set[str] = set()

        def visit(resource: Resource) -> None:
            if resource.urn in seen:
                return
            seen.add(resource.urn)
            for other in resources:  # whatever depends on this one goes first
                if resource.urn in other.dependencies and other.urn in by_urn:
                    visit(other)
            ordered.append(resource)

        for resource in resources:
            visit(resource)
        return ordered


class _Run:
    """The steps of one `up`, as the monitor's threads report them."""

    def __init__(self, applier: Applier, steps: list[Step]):
        self.applier = applier
        self.site = applier.site
        self.steps = steps
        self.registered: set[str] = set()
        self.replaced: list[Resource] = []
        self.failure: str | None = None
        self.lock = threading.Lock()
        self.running = 0
        self.idle = threading.Condition(self.lock)

    def wait_for_steps(self, timeout: float = 600) -> None:
        with self.idle:
            if not self.idle.wait_for(lambda: self.running == 0, timeout=timeout):
                raise RuntimeError(f"{self.running} step(s) still running after {timeout:.0f}s")

    def record(self, step: Step) -> None:
        with self.lock:
            self.steps.append(step)

    def delete(self, resource: Resource) -> None:
        if resource.retain_on_delete:
            self.record(Step("forget", resource.type, resource.name, "retain_on_delete: left on the host", resource.urn))
            return
        KINDS[resource.type].delete(self.site, resource)
        self.record(Step("delete", resource.type, resource.name, urn=resource.urn))

    def register(self, request, urn: str) -> tuple[str, dict[str, Any]]:
        """The step for one registration; returns the id and outputs the program sees."""
        reg = registration(request, urn, "")
        if self.failure:
            raise StepFailed(f"{reg.name}: not started, an earlier step failed")
        inputs = unwrap(reg.inputs)
        if not reg.custom:
            return "", inputs
        kind = KINDS.get(reg.type)
        if kind is None:
            raise self.fail(f"{reg.name}: the applier does not know resource type {reg.type}")
        unknown = sorted(set(inputs) - kind.inputs)
        if unknown:
            raise self.fail(f"{reg.name}: the applier does not know input(s) {', '.join(unknown)} of {reg.type}")
        for option in _UNSUPPORTED_OPTIONS:
            value = getattr(request, option, None)
            if value.ListFields() if hasattr(value, "ListFields") else value:
                raise self.fail(f"{reg.name}: the applier does not reproduce the option {option}")
        dependencies = sorted({*reg.dependencies, *(u for urns in reg.property_dependencies.values() for u in urns)})
        with self.lock:
            self.registered.add(urn)
            old = self.applier.state.get(urn)
            self.running += 1
        try:
            return self._step(kind, reg, inputs, old, dependencies)
        except StepFailed as error:
            raise self.fail(str(error)) from None
        finally:
            with self.idle:
                self.running -= 1
                self.idle.notify_all()

    def _step(self, kind, reg, inputs, old: Resource | None, dependencies: list[str]) -> tuple[str, dict]:
        def new(id_: str, outputs: dict, state: dict) -> Resource:
            return Resource(reg.type, reg.name, reg.urn, id_, inputs, state, outputs, reg.provider, dependencies,
                            reg.retain_on_delete, reg.delete_before_replace)

        if old is None:
            id_, outputs, state = kind.create(self.site, reg.name, inputs, reg.provider)
            self._keep(new(id_, outputs, state))
            self.record(Step("create", reg.type, reg.name, urn=reg.urn))
            return id_, outputs
        compared = kind.with_defaults(copy.deepcopy(inputs)) if hasattr(kind, "with_defaults") else copy.deepcopy(inputs)
        for path in reg.ignore_changes:
            key = path.split(".")[0].split("[")[0]
            if key in old.state:
                compared[key] = old.state[key]
            else:
                compared.pop(key, None)
        changed = _changed_keys(old.state, compared, kind)
        if not changed:
            self._keep(new(old.id, old.outputs, old.state))
            self.record(Step("same", reg.type, reg.name, urn=reg.urn))
            return old.id, old.outputs
        detail = ", ".join(sorted(changed))
        replace = kind.replaces(changed) or any(_matches(p, k) for p in reg.replace_on_changes for k in changed)
        if not replace:
            outputs, state = kind.update(self.site, old, compared)
            self._keep(new(old.id, outputs, state))
            self.record(Step("update", reg.type, reg.name, detail, reg.urn))
            return old.id, outputs
        if reg.delete_before_replace:
            self.delete(old)
        id_, outputs, state = kind.create(self.site, reg.name, inputs, reg.provider)
        self._keep(new(id_, outputs, state))
        self.record(Step("replace", reg.type, reg.name, detail, reg.urn))
        if not reg.delete_before_replace:
            with self.lock:
                self.replaced.append(old)
        return id_, outputs

    def _keep(self, resource: Resource) -> None:
        with self.lock:
            self.applier.state[resource.urn] = resource
            if resource.type.startswith("pulumi:providers:"):
                self.site.providers[f"{resource.urn}::{resource.id}"] = resource.inputs

    def fail(self, message: str) -> StepFailed:
        with self.lock:
            self.failure = self.failure or message
        return StepFailed(message)


class _ApplyingMonitor(RecordingMonitor):
    """The mock monitor, answering each registration with the step's real result."""

    def __init__(self, mocks: pulumi.runtime.Mocks, evaluation: Evaluation, run: _Run):
        super().__init__(mocks, evaluation)
        self.run = run

    def RegisterResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _ensure_event_loop()  # deserialising on this executor thread needs one
        id_, outputs = self.run.register(request, urn)
        obj_proto = _sync_await(rpc.serialize_properties(outputs, {}))
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, id_, outputs)
        self.evaluation.resources.append(registration(request, urn, id_))
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=obj_proto)


class SiteMocks(pulumi.runtime.Mocks):
    """Provider functions (invokes) the program calls; resources go through the applier, never here."""

    def __init__(self, calls: dict[str, dict] | None = None):
        self.calls = calls or {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        raise AssertionError("resources are applied by the monitor")

    def call(self, args: pulumi.runtime.MockCallArgs):
        return self.calls.get(args.token, {})
