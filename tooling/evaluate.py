"""Run the Pulumi program under the SDK's mock monitor and record everything it declares.

This is how Pulumi documents unit tests (`pulumi.runtime.set_mocks`), extended to keep what the plain
mocks drop: resource options (protect, retain, dependencies, ignore_changes), which inputs are secret,
and the stack outputs. The offline plan and the test suite both call `evaluate`; many stacks are
evaluated in one process so the provider SDKs are imported once.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import ipaddress
import logging
import os
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import struct_pb2
from pulumi.output import Unknown
from pulumi.runtime import config as runtime_config
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.stack import run_in_stack

from components.settings import STACK_FILE_ENV
from components.stackfile import StackFile

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROGRAM = PROJECT_DIR / "__main__.py"
PROJECT = "berth"


def _fake_ipv4(seed: str) -> str:
    """A stable documentation address (TEST-NET-3) per resource, so two runs agree."""
    digest = hashlib.sha256(seed.encode()).digest()
    return f"203.0.113.{digest[0] % 250 + 2}"


def _fake_ipv6(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return str(ipaddress.IPv6Address(b"\x20\x01\x0d\xb8" + digest[:12]))


def _fake_id(typ: str, name: str) -> str:
    """Numeric, as DigitalOcean and Hetzner ids are, and stable across runs."""
    return str(int(hashlib.sha256(f"{typ}/{name}".encode()).hexdigest()[:8], 16))


def _fake_ed25519(seed: str) -> str:
    """A well-formed, stable `ssh-ed25519` public key (RFC 8709 blob: its name, then 32 bytes)."""
    blob = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + hashlib.sha256(seed.encode()).digest()
    return f"ssh-ed25519 {base64.b64encode(blob).decode()}\n"


def _plain(value: Any) -> Any:
    return value["value"] if rpc.is_rpc_secret(value) else value


def _user_data_states() -> dict[str, Any]:
    from components.clouds.digitalocean import DigitalOcean
    from components.clouds.hetzner import Hetzner

    return {"digitalocean:index/droplet:Droplet": DigitalOcean.user_data_state,
            "hcloud:index/server:Server": Hetzner.user_data_state}


# A server's `userData` output is what its provider keeps in state: a hash of the user data (clouds/*.py).
USER_DATA_STATE = _user_data_states()

SSH_KEY_LISTS = ("digitalocean:index/getSshKeys:getSshKeys", "hcloud:index/getSshKeys:getSshKeys")


class OfflineMocks(pulumi.runtime.Mocks):
    """Plausible provider answers: addresses, hosts, keys, so the program's applies all resolve. Each
    value only a real provider would know is remembered with a label (`invented`), so the plan shows
    `<ip of web-1>` where the mock said 203.0.113.84."""

    def __init__(self) -> None:
        self.invented: dict[str, str] = {}

    def _invent(self, value: str, label: str) -> str:
        self.invented[str(value)] = label
        return value

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        id_, state = self._new_resource(args)
        self._invent(id_, f"<id of {args.name}>")
        for key, label in (("ipv4Address", "ip"), ("ipv6Address", "ipv6"), ("ipv4AddressPrivate", "private ip"),
                           ("ipAddress", "ip"), ("host", "host"), ("privateHost", "private host"),
                           ("imageId", "image id"), ("repoDigest", "digest"), ("hex", "random suffix")):
            if isinstance(state.get(key), str) and key not in args.inputs:
                self._invent(state[key], f"<{label} of {args.name}>")
        return id_, state

    def _new_resource(self, args: pulumi.runtime.MockResourceArgs):
        state = dict(args.inputs)
        name, typ = args.name, args.typ
        if typ in USER_DATA_STATE and state.get("userData") is not None:
            state["userData"] = USER_DATA_STATE[typ](_plain(state["userData"]))  # what the provider keeps
        if typ == "digitalocean:index/droplet:Droplet":
            state.update(ipv4Address=_fake_ipv4(name), ipv6Address=_fake_ipv6(name),
                         ipv4AddressPrivate=f"10.10.0.{_fake_ipv4(name).rsplit('.', 1)[1]}")
        elif typ == "digitalocean:index/sshKey:SshKey":
            state.update(fingerprint=":".join(hashlib.md5(str(args.inputs.get("publicKey")).encode()).hexdigest()[i:i + 2]
                                              for i in range(0, 32, 2)))
        elif typ == "digitalocean:index/reservedIp:ReservedIp":
            state.update(ipAddress=_fake_ipv4(name))
        elif typ == "hcloud:index/server:Server":
            state.update(ipv4Address=_fake_ipv4(name), ipv6Address=_fake_ipv6(name))
        elif typ == "hcloud:index/primaryIp:PrimaryIp":
            state.update(ipAddress=_fake_ipv4(name))
        elif typ == "digitalocean:index/databaseCluster:DatabaseCluster":
            host = f"{name}-do-user-0.db.ondigitalocean.com"
            state.update(host=host, privateHost=f"private-{host}", port=25060, database="defaultdb",
                         user="doadmin", password=pulumi.Output.secret("offline-admin-password"),
                         uri=pulumi.Output.secret(f"postgresql://doadmin@{host}:25060"),
                         privateUri=pulumi.Output.secret(f"postgresql://doadmin@private-{host}:25060"))
        elif typ == "digitalocean:index/databaseUser:DatabaseUser":
            state.update(password=pulumi.Output.secret("offline-password"))
        elif typ == "digitalocean:index/spacesKey:SpacesKey":
            state.update(accessKey="OFFLINEACCESSKEY", secretKey=pulumi.Output.secret("offline-secret-key"))
        elif typ == "digitalocean:index/spacesBucket:SpacesBucket":
            state.update(bucketDomainName=f"{args.inputs.get('name')}.{args.inputs.get('region')}.digitaloceanspaces.com",
                         endpoint=f"{args.inputs.get('region')}.digitaloceanspaces.com")
        elif typ == "tls:index/privateKey:PrivateKey":
            state.update(privateKeyPem=pulumi.Output.secret("-----BEGIN PRIVATE KEY-----\noffline\n"),
                         publicKeyPem="-----BEGIN PUBLIC KEY-----\noffline\n",
                         privateKeyOpenssh=pulumi.Output.secret("-----BEGIN OPENSSH PRIVATE KEY-----\noffline\n"
                                                                "-----END OPENSSH PRIVATE KEY-----\n"),
                         publicKeyOpenssh=_fake_ed25519(name))
        elif typ == "tls:index/certRequest:CertRequest":
            state.update(certRequestPem="-----BEGIN CERTIFICATE REQUEST-----\noffline\n")
        elif typ == "cloudflare:index/originCaCertificate:OriginCaCertificate":
            state.update(certificate="-----BEGIN CERTIFICATE-----\noffline\n")
        elif typ == "docker:index/remoteImage:RemoteImage":
            state.update(repoDigest=f"{args.inputs.get('name', '').split(':')[0]}@sha256:" + "0" * 64,
                         imageId="sha256:" + hashlib.sha256(name.encode()).hexdigest())
        elif typ == "random:index/randomId:RandomId":
            state.update(hex=hashlib.sha256(name.encode()).hexdigest()[:2 * int(args.inputs.get("byteLength", 3))])
        elif typ.startswith("command:remote:Command"):
            state.update(stdout="", stderr="")
        return _fake_id(typ, name), state

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "cloudflare:index/getZone:getZone":
            name = (args.args.get("filter") or {}).get("name", "example.com")
            return {"id": hashlib.sha256(name.encode()).hexdigest()[:32], "name": name, "zoneId": "zone"}
        if args.token in SSH_KEY_LISTS:
            return {"id": "offline", "sshKeys": []}  # offline, the account holds none of the keys yet
        # getIpRanges stays unanswered: offline, the published list in components/render/origin.py stands in.
        return {}


@dataclass
class Registration:
    """One declared resource, as the engine would receive it."""

    type: str
    name: str
    urn: str
    id: str
    parent: str
    custom: bool
    inputs: dict[str, Any]  # secret values stay wrapped: see `secret_paths`
    protect: bool
    retain_on_delete: bool
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    ignore_changes: list[str]
    delete_before_replace: bool
    replace_on_changes: list[str]
    replacement_trigger: Any  # the `replacement_trigger` option, as the engine compares it (None: unset)
    provider: str
    import_id: str  # the `import_` option: adopt this cloud resource if the state does not have it
    alias_names: list[str]  # earlier names (the `aliases` option) the engine looks the state up under
    alias_types: list[str]  # earlier types, likewise (a provider's renamed resource)
    version: str  # the provider plugin version the engine is asked for
    stack_trace: list[str]  # the frames the engine keeps in the state, innermost first ("file:///…#line")
    source_position: str  # the first frame's position, as the engine shows where a resource was declared

    @property
    def plain_inputs(self) -> dict[str, Any]:
        return unwrap(self.inputs)


@dataclass
class Evaluation:
    stack: str
    resources: list[Registration] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    logs: list[tuple[int, str]] = field(default_factory=list)

    def of_type(self, typ: str) -> list[Registration]:
        return [r for r in self.resources if r.type == typ]

    def named(self, name: str) -> Registration:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def by_urn(self, urn: str) -> Registration | None:
        return next((r for r in self.resources if r.urn == urn), None)


COMPUTED = "<computed>"  # stands for a value only the provider knows, so two evaluations compare equal


def unwrap(value: Any) -> Any:
    if isinstance(value, Unknown):
        return COMPUTED
    if rpc.is_rpc_secret(value):
        return unwrap(value["value"])
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def secret_paths(value: Any, path: str = "") -> list[str]:
    """Where in a value the engine would see a secret."""
    if rpc.is_rpc_secret(value):
        return [path or "."]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in secret_paths(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in secret_paths(v, f"{path}[{i}]")]
    return []


def _replacement_trigger(request) -> Any:
    """The request carries it as one protobuf Value; the SDK's own deserializer reads Structs."""
    if not request.HasField("replacement_trigger"):
        return None
    holder = struct_pb2.Struct()
    holder.fields["value"].CopyFrom(request.replacement_trigger)
    return unwrap(rpc.deserialize_properties(holder, keep_unknowns=True)["value"])


def registration(request, urn: str, id_: str) -> Registration:
    """A RegisterResource request as the engine would read it."""
    return Registration(
        type=request.type,
        name=request.name,
        urn=urn,
        id=id_,
        parent=request.parent,
        custom=request.custom,
        inputs=rpc.deserialize_properties(request.object, keep_unknowns=True),
        protect=request.protect,
        retain_on_delete=request.retainOnDelete,
        dependencies=list(request.dependencies),
        property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
        ignore_changes=list(request.ignoreChanges),
        delete_before_replace=request.deleteBeforeReplace,
        replace_on_changes=list(request.replaceOnChanges),
        replacement_trigger=_replacement_trigger(request),
        provider=request.provider,
        import_id=request.importId,
        alias_names=[alias.spec.name for alias in request.aliases if alias.spec.name],
        alias_types=[alias.spec.type for alias in request.aliases if alias.spec.type],
        version=request.version,
        stack_trace=[_position(frame.pc) for frame in request.stackTrace.frames],
        source_position=_position(request.sourcePosition),
    )


def _position(position) -> str:
    """A SourcePosition as `file:///…#line`, or "" when the SDK sent none."""
    return f"{position.uri}#{position.line}" if position.uri else ""


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks, evaluation: Evaluation):
        super().__init__(mocks)
        self.evaluation = evaluation

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.evaluation.resources.append(registration(request, response.urn, response.id))
        return response

    def RegisterResourceOutputs(self, request):
        if "::pulumi:pulumi:Stack::" in request.urn:
            self.evaluation.outputs = rpc.deserialize_properties(request.outputs, keep_unknowns=True)
        return super().RegisterResourceOutputs(request)


class _LogCapture(logging.Handler):
    def __init__(self, evaluation: Evaluation):
        super().__init__()
        self.evaluation = evaluation

    def emit(self, record: logging.LogRecord) -> None:
        self.evaluation.logs.append((record.levelno, record.getMessage()))


_LEFTOVERS = ("Future exception was never retrieved", "Task exception was never retrieved",
              "Task was destroyed but it is pending")


def _quiet_leftovers(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """A failed run leaves the SDK's resource futures unawaited; asyncio would report each one when it is
    collected. The failure itself reaches the caller, so only those reports are dropped."""
    if not context.get("message", "").startswith(_LEFTOVERS):
        loop.default_exception_handler(context)


def evaluate(stack_file: StackFile, program: Path = PROGRAM, preview: bool = True,
             record: Evaluation | None = None, mocks: pulumi.runtime.Mocks | None = None) -> Evaluation:
    """Evaluate the program for one stack file. Raises what the program raises (ConfigError included);
    pass `record` to inspect what was declared before the failure, `mocks` to answer differently."""
    evaluation = record if record is not None else Evaluation(stack_file.name)
    logger = logging.getLogger(f"berth.evaluate.{stack_file.name}")
    logger.propagate = False
    logger.handlers = [_LogCapture(evaluation)]
    mocks = mocks or OfflineMocks()
    recorder = RecordingMonitor(mocks, evaluation)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack_file.name, preview=preview,
                                 logger=logger, monitor=recorder)
        settings.ROOT.set(None)  # run_in_stack makes the root stack, so its outputs are recorded
        # A failed earlier run leaves RPCs and Output tasks bound to its closed loop; drop them.
        settings._get_rpc_manager().clear()
        with settings.SETTINGS.lock:
            settings.SETTINGS.outputs.clear()
        runtime_config.set_all_config(stack_file.engine_config(), stack_file.secret_keys)
        os.environ[STACK_FILE_ENV] = stack_file.path or ""  # the program reads this file, not Pulumi.<stack>.yaml
        loop.run_until_complete(run_in_stack(lambda: runpy.run_path(str(program), run_name="__main__")))
    except BaseException:
        loop.set_exception_handler(_quiet_leftovers)
        raise
    finally:
        runtime_config.set_all_config({}, [])
        os.environ.pop(STACK_FILE_ENV, None)
        loop.close()
        asyncio.set_event_loop(None)
    return evaluation
