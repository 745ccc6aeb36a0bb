"""The gRPC side of a lab plugin: the engine's ResourceProvider protocol, answered from a `Package`.

The engine starts `pulumi-resource-<package>` (found on PATH: "using pulumi-resource-docker from $PATH"),
reads the port it prints, and calls Check, Diff, Create, Read, Update, Delete and Invoke as it would call
the real provider. This servicer implements the protocol on the generated stubs of the Python SDK
(`pulumi.runtime.proto`) rather than on `pulumi.provider.experimental.Provider`, because two answers
the real providers give cannot be expressed there: unknown outputs in a preview (its PropertyValue
cannot marshal a computed value) and a create that failed after the resource came to exist, which the
bridged providers and pulumi-command report as ErrorResourceInitFailed so that the engine keeps the
resource and retries it with an update.

Blocking work (SSH, the Docker API) runs on the server's thread pool, so the engine's parallel steps
run in parallel here too.
"""

from __future__ import annotations

import importlib.util
import json
import re
import signal
import socket
import sys
import threading
import traceback
from abc import ABC, abstractmethod
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import any_pb2, empty_pb2
from google.rpc import status_pb2
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

from . import wire
from .schema import Diff, Schema
from .wire import Secret


class Failed(Exception):
    """A step's failure, worded as the real provider words it. `partial` is (id, state) when the resource
    exists anyway: the engine then keeps it with that state, marked with an initialization error, and its next
    `up` (finding no diff) sends it an empty update. A bridged provider's state there is the step's plan (its
    inputs, defaults, the id), never a read of the resource: pulumi-terraform-bridge v3.136.0 provider.go
    `Create`/`Update` wrap the SDK's `ResourceData.State()` after the failed apply in `initializationError`."""

    def __init__(self, message: str, partial: tuple[str, dict[str, Any]] | None = None):
        super().__init__(message)
        self.partial = partial


@dataclass
class Config:
    """A provider instance's configuration, as Configure received it (secrets revealed)."""

    values: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


class Kind(ABC):
    """One resource type a plugin serves: its schema, and what the real provider does for each step."""

    schema: Schema
    delete_before_replace = False

    def replaces_delete_first(self, news: dict[str, Any]) -> bool:
        """Whether a replacement deletes the old resource first (the provider's DiffResponse)."""
        return self.delete_before_replace

    @property
    def token(self) -> str:
        return self.schema.token

    def defaults(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Defaults of nested attributes, which Check fills in as the provider's schema has them."""
        return inputs

    def problems(self, inputs: dict[str, Any]) -> list[tuple[str, str]]:
        """Failures the provider's own validation adds to the schema's (property, reason), at Check."""
        return []

    def warnings(self, inputs: dict[str, Any]) -> list[str]:
        """Warnings the provider's validation gives for these inputs (the engine shows them at Check)."""
        return []

    def preview(self, config: Config, inputs: dict[str, Any]) -> dict[str, Any]:
        """A planned create: the inputs, and the outputs only the provider will know."""
        return {**inputs, **self.schema.unknown_outputs()}

    @abstractmethod
    def create(self, config: Config, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]: ...

    def read(self, config: Config, id_: str, state: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any] | None:
        """The state as the provider reads it now; None when the resource is gone. Default: kept in state."""
        return state

    def update(self, config: Config, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        return {**olds, **news}

    def delete(self, config: Config, id_: str, state: dict[str, Any]) -> None:
        return None


@dataclass
class Package:
    """One plugin: the package name and the version the SDK asks for, its resource types and functions."""

    name: str
    sdk: str  # the Python SDK whose pulumi-plugin.json names the version
    kinds: list[Kind]
    invokes: dict[str, Any] = field(default_factory=dict)  # token -> fn(config, args, preview) -> dict
    replace_on_config: frozenset[str] = frozenset()  # provider settings whose change replaces the provider

    @property
    def version(self) -> str:
        """The SDK's pulumi-plugin.json, read from where the package is installed without importing it:
        `import pulumi_cloudflare` alone took this plugin's process a second and more of a preview's two cores."""
        spec = importlib.util.find_spec(self.sdk)
        return json.loads(Path(spec.origin).with_name("pulumi-plugin.json").read_text())["version"]


class _RichStatus(grpc.Status):
    def __init__(self, code: grpc.StatusCode, details: str, trailing_metadata: tuple):
        self.code, self.details, self.trailing_metadata = code, details, trailing_metadata


def _init_failed(context: grpc.ServicerContext, message: str, id_: str, state: dict) -> None:
    """ErrorResourceInitFailed as the bridge sends it (`initializationError`: id, properties and reasons; no
    inputs)."""
    detail = provider_pb2.ErrorResourceInitFailed(id=id_, properties=wire.encode(state), reasons=[message])
    packed = any_pb2.Any()
    packed.Pack(detail)
    status = status_pb2.Status(code=grpc.StatusCode.UNKNOWN.value[0], message=message, details=[packed])
    context.abort_with_status(_RichStatus(grpc.StatusCode.UNKNOWN, message,
                                          (("grpc-status-details-bin", status.SerializeToString()),)))


def _secret_like(inputs: dict[str, Any], outputs: dict[str, Any]) -> dict[str, Any]:
    """An output named like a secret input is secret too, as the bridged providers return it."""
    return {key: Secret(value) if value is not None and not isinstance(value, Secret)
            and wire.has_secret(inputs.get(key)) else value for key, value in outputs.items()}


class LabProvider(provider_pb2_grpc.ResourceProviderServicer):
    def __init__(self, package: Package, engine: str | None = None):
        self.package = package
        self.kinds = {kind.token: kind for kind in package.kinds}
        self.config = Config()
        self.engine = engine  # the engine's address, for warnings (its Log service)

    # --- the provider itself ------------------------------------------------------------------------

    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version=self.package.version)

    def GetSchema(self, request, context):
        return provider_pb2.GetSchemaResponse(schema="{}")

    def CheckConfig(self, request, context):
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request, context):
        olds, news = wire.decode(request.olds), wire.decode(request.news)
        changed = sorted(k for k in set(olds) | set(news) if wire.reveal(olds.get(k)) != wire.reveal(news.get(k))
                         and not k.startswith("__"))
        replaces = [k for k in changed if k in self.package.replace_on_config]
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME if changed else provider_pb2.DiffResponse.DIFF_NONE,
            diffs=changed, replaces=replaces)

    def Configure(self, request, context):
        values = {k: v for k, v in wire.reveal(wire.decode(request.args)).items() if not k.startswith("__")}
        for key, text in request.variables.items():  # older engines: "docker:config:host" -> text
            values.setdefault(key.rsplit(":", 1)[-1], text)
        self.config = Config({k: _json_or_text(v) for k, v in values.items()})
        return provider_pb2.ConfigureResponse(acceptSecrets=True, supportsPreview=True, acceptResources=True,
                                              acceptOutputs=False)

    def Invoke(self, request, context):
        function = self.package.invokes.get(request.tok)
        if function is None:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"the lab's {self.package.name} plugin does not answer "
                                                         f"{request.tok}")
        args = wire.reveal(wire.decode(request.args))
        try:
            result = function(self.config, args, request.preview)
        except Failed as failure:
            return provider_pb2.InvokeResponse(failures=[provider_pb2.CheckFailure(reason=str(failure))])
        response = provider_pb2.InvokeResponse()
        getattr(response, "return").CopyFrom(wire.encode(result))
        return response

    def Cancel(self, request, context):
        return empty_pb2.Empty()

    # --- resources ------------------------------------------------------------------------------------

    def _kind(self, type_: str, context) -> Kind:
        kind = self.kinds.get(type_)
        if kind is None:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"the lab's {self.package.name} plugin does not serve {type_}; add it to tests/e2e/plugins")
        return kind

    def Check(self, request, context):
        kind = self._kind(request.type, context)
        inputs, failures = kind.schema.check(wire.decode(request.news))
        inputs = kind.defaults(inputs)
        failures += kind.problems(inputs)
        for warning in kind.warnings(inputs):
            self._warn(request.urn, warning)
        return provider_pb2.CheckResponse(
            inputs=wire.encode(inputs),
            failures=[provider_pb2.CheckFailure(property=p, reason=r) for p, r in failures])

    def Diff(self, request, context):
        kind = self._kind(request.type, context)
        diff: Diff = kind.schema.diff(wire.decode(request.olds), wire.decode(request.news), list(request.ignoreChanges))
        detailed = {}
        for key in diff.changed:
            replace = key in diff.replaces
            base = "ADD" if key in diff.added else "DELETE" if key in diff.removed else "UPDATE"
            detailed[key] = provider_pb2.PropertyDiff(
                kind=getattr(provider_pb2.PropertyDiff, f"{base}_REPLACE" if replace else base), inputDiff=True)
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME if diff.changed else provider_pb2.DiffResponse.DIFF_NONE,
            replaces=diff.replaces, diffs=diff.changed, detailedDiff=detailed, hasDetailedDiff=True,
            deleteBeforeReplace=bool(diff.replaces) and kind.replaces_delete_first(wire.decode(request.news)))

    def Create(self, request, context):
        kind = self._kind(request.type, context)
        inputs = wire.decode(request.properties)
        if request.preview:
            return provider_pb2.CreateResponse(properties=wire.encode(kind.preview(self.config, inputs)))
        try:
            id_, state = self._step(context, lambda: kind.create(self.config, request.name, wire.reveal(inputs)),
                                    inputs)
        except Failed as failure:
            self._fail(context, failure, kind, inputs, f"creating {request.urn}")
        return provider_pb2.CreateResponse(id=id_, properties=self._outputs(kind, inputs, state))

    def Read(self, request, context):
        kind = self._kind(request.type, context)
        state, inputs = wire.decode(request.properties), wire.decode(request.inputs)
        try:
            now = self._step(context, lambda: kind.read(self.config, request.id, wire.reveal(state),
                                                          wire.reveal(inputs)), inputs)
        except Failed as failure:
            context.abort(grpc.StatusCode.UNKNOWN, str(failure))
        if now is None:
            return provider_pb2.ReadResponse(id="")
        return provider_pb2.ReadResponse(id=request.id, properties=self._outputs(kind, inputs, now),
                                         inputs=request.inputs)

    def Update(self, request, context):
        kind = self._kind(request.type, context)
        olds, news = wire.decode(request.olds), wire.decode(request.news)
        if request.preview:
            return provider_pb2.UpdateResponse(properties=wire.encode({**olds, **news}))
        try:
            state = self._step(context, lambda: kind.update(self.config, request.id, wire.reveal(olds),
                                                              wire.reveal(news)), news)
        except Failed as failure:
            self._fail(context, failure, kind, news, f"updating {request.urn}")
        return provider_pb2.UpdateResponse(properties=self._outputs(kind, news, state))

    def Delete(self, request, context):
        kind = self._kind(request.type, context)
        try:
            self._step(context, lambda: kind.delete(self.config, request.id, wire.reveal(wire.decode(request.properties))),
                       {})
        except Failed as failure:
            context.abort(grpc.StatusCode.UNKNOWN, str(failure))
        return empty_pb2.Empty()

    # --- pieces ---------------------------------------------------------------------------------------

    def _warn(self, urn: str, message: str) -> None:
        """A warning on the resource, through the engine's Log service, as a provider's diagnostics of severity
        warning reach the CLI (pulumi-terraform-bridge logs them with the resource's URN)."""
        if not self.engine:
            return
        from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc  # noqa: PLC0415

        try:
            with grpc.insecure_channel(self.engine) as channel:
                engine_pb2_grpc.EngineStub(channel).Log(
                    engine_pb2.LogRequest(severity=engine_pb2.WARNING, message=message, urn=urn), timeout=10)
        except grpc.RpcError as error:  # a warning that does not reach the CLI must not fail the step
            print(f"warning not delivered ({error.code()}): {message}", file=sys.stderr)

    def _outputs(self, kind: Kind, inputs: dict[str, Any], state: dict[str, Any]):
        return wire.encode(kind.schema.secret_outputs(_secret_like(inputs, state)))

    def _step(self, context, work, inputs):
        """Run one step; an unexpected error is the plugin's own, reported with its traceback."""
        try:
            return work()
        except Failed:
            raise
        except Exception as error:  # noqa: BLE001 - the engine must hear of it, not a dead plugin
            traceback.print_exc(file=sys.stderr)
            raise Failed(f"the lab's {self.package.name} plugin failed: {error!r}") from error

    def _fail(self, context, failure: Failed, kind: Kind, inputs: dict[str, Any], step: str) -> None:
        """A failed step; one that left the resource is an initialization error, worded as the bridge words it:
        `creating <urn>: ` (or `updating`) before go-multierror's text of the diagnostics."""
        if failure.partial is None:
            context.abort(grpc.StatusCode.UNKNOWN, str(failure))
        id_, state = failure.partial
        reason = f"{step}: 1 error occurred:\n\t* {failure}\n\n"
        _init_failed(context, reason, id_, wire.decode(self._outputs(kind, inputs, state)))


def _json_or_text(value: Any) -> Any:
    """Provider settings arrive as text when the engine passes them as variables: JSON for structures."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def serve(package: Package) -> None:
    """Print the port (the engine reads it from stdout), serve until the engine stops the plugin."""
    stopped = threading.Event()  # set up before the port is printed: the engine may close it at once
    # The engine closes a plugin with SIGINT to the plugin's own process group, then SIGKILL 5 s later
    # (sdk/go/common/resource/plugin/plugin.go `kill`); a Go provider exits on it at once. Its own process
    # group also keeps an operator's Ctrl-C away from the plugins: that reaches the CLI, which cancels.
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, lambda *_: stopped.set())
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32),
                         options=[("grpc.max_receive_message_length", 400 * 1024 * 1024),
                                  ("grpc.max_send_message_length", 400 * 1024 * 1024)])
    engine = next((arg for arg in sys.argv[2:] if re.fullmatch(r"[\w.-]+:\d+", arg)), None)
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(LabProvider(package, engine), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    if engine:  # the engine's address, which the engine passes every plugin it starts
        threading.Thread(target=_watch_engine, args=(engine, stopped), daemon=True).start()
    stopped.wait()
    server.stop(grace=1)


def _watch_engine(address: str, stopped: threading.Event) -> None:
    """Exit once the engine is gone, as the Go plugins' health check does (sdk/go/common/util/rpcutil
    `Healthcheck`): a CLI killed outright leaves no plugin behind."""
    host, _, port = address.rpartition(":")
    while not stopped.wait(2):
        try:
            socket.create_connection((host, int(port)), timeout=2).close()
        except OSError:
            stopped.set()
