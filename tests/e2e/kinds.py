"""The resource types the applier performs, each mapped input by input from its provider's behaviour.

A kind lists every input it maps (anything else in a registration stops the run), how a change is
applied (replace vs update, from the provider's schema), and the state the provider keeps after a
create (for the Docker provider: what its Read reads back from `docker inspect`), which is what the
next `up` diffs against. docs/compatibility.md cites the provider source for each fact used here.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import secrets as pysecrets
import shlex
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from components.fields import go_duration


class StepFailed(Exception):
    """A step's failure, worded as the provider words it."""


@dataclass
class Site:
    """Where the applier acts from: the lab's SSH client setup, its agent and its CA."""

    run: Path
    ssh_config: Path
    agent_socket: str
    ca_cert: Path  # the Cloudflare Origin CA stand-in signs with this
    ca_key: Path
    base_env: dict[str, str]
    step_timeout: int = 300
    commands: list[str] = field(default_factory=list)  # every remote command line run, for assertions
    providers: dict[str, dict] = field(default_factory=dict)  # provider reference "urn::id" -> its inputs

    def env(self, **extra: str) -> dict[str, str]:
        return {**self.base_env, "SSH_AUTH_SOCK": self.agent_socket, **extra}


def _run(argv: list[str], site: Site, what: str, stdin: str | None = None, env: dict | None = None,
         timeout: int | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, input=stdin, text=True, capture_output=True, env=env or site.env(),
                              timeout=timeout or site.step_timeout, stdin=None if stdin is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise StepFailed(f"{what}: timed out after {timeout or site.step_timeout}s") from None


# --- command:remote:Command (pulumi-command) --------------------------------------------------------

class RemoteCommand:
    """pulumi-command's remote Command: one SSH session per run, the command line handed to the
    login shell, `stdin` on the session's standard input. Its state is its inputs plus stdout/stderr;
    `triggers` replace it through the SDK's own replace_on_changes; other changes run `update` (or
    `create` when there is no `update`)."""

    inputs = frozenset({"connection", "create", "update", "delete", "stdin", "triggers", "environment",
                        "addPreviousOutputInEnv", "logging"})

    def replaces(self, changed: set[str]) -> bool:
        return False

    def _ssh(self, site: Site, name: str, inputs: dict, command: str, env: dict[str, str]) -> tuple[str, str]:
        conn = inputs["connection"]
        argv = ["ssh", "-F", str(site.ssh_config), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-p", str(int(conn.get("port", 22))),
                "-l", conn.get("user", "root")]
        key_file = None
        if conn.get("privateKey"):
            handle, key_file = tempfile.mkstemp(prefix="berth-e2e-key-", dir=site.run)
            os.write(handle, conn["privateKey"].encode() if conn["privateKey"].endswith("\n")
                     else (conn["privateKey"] + "\n").encode())
            os.close(handle)
            argv += ["-i", key_file, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none"]
        for key, value in env.items():
            argv += ["-o", f"SetEnv={key}={value}"]
        argv += [conn["host"], command]
        site.commands.append(command)
        try:
            result = _run(argv, site, name, stdin=inputs.get("stdin"))
        finally:
            if key_file:
                os.unlink(key_file)
        if result.returncode != 0:
            raise StepFailed(f"{name}: Process exited with status {result.returncode}: running {command!r}:\n"
                             f"{result.stdout}{result.stderr}")
        return result.stdout, result.stderr

    def _env(self, inputs: dict, previous: dict | None) -> dict[str, str]:
        env = dict(inputs.get("environment") or {})
        if previous is not None and inputs.get("addPreviousOutputInEnv", True):
            env.update(PULUMI_COMMAND_STDOUT=previous.get("stdout", ""),
                       PULUMI_COMMAND_STDERR=previous.get("stderr", ""))
        return env

    def create(self, site: Site, name: str, inputs: dict, provider: str):
        stdout, stderr = self._ssh(site, name, inputs, inputs["create"], self._env(inputs, None)) \
            if inputs.get("create") else ("", "")
        return str(uuid.uuid4()), {**inputs, "stdout": stdout, "stderr": stderr}, inputs

    def update(self, site: Site, old, inputs: dict):
        command = inputs.get("update") or inputs.get("create")
        stdout, stderr = self._ssh(site, old.name, inputs, command, self._env(inputs, old.outputs)) \
            if command else ("", "")
        return {**inputs, "stdout": stdout, "stderr": stderr}, inputs

    def delete(self, site: Site, old) -> None:
        if old.inputs.get("delete"):
            self._ssh(site, old.name, {**old.inputs, "stdin": None}, old.inputs["delete"],
                      self._env(old.inputs, old.outputs))


# --- pulumi:providers:docker and the docker CLI through ssh:// ---------------------------------------

class InState:
    """Kept in state only: there is nothing on a host to create, change or delete."""

    def __init__(self, inputs: set[str]):
        self.inputs = frozenset(inputs)

    def replaces(self, changed: set[str]) -> bool:
        return False

    def create(self, site: Site, name: str, inputs: dict, provider: str):
        return str(uuid.uuid4()), inputs, inputs

    def update(self, site: Site, old, inputs: dict):
        return inputs, inputs

    def delete(self, site: Site, old) -> None:
        return None


class DockerProvider(InState):
    """The provider's own inputs; resources that name it reach the host through `DockerCli`."""

    def __init__(self):
        super().__init__({"host", "sshOpts", "disableDockerDaemonCheck", "registryAuth", "version"})

    def replaces(self, changed: set[str]) -> bool:
        if changed & {"host", "sshOpts"}:
            raise StepFailed("the Docker provider's host changed: the engine would replace every container on it; "
                             "the applier does not reproduce that")
        return False


def _replace(path: Path, text: str, mode: int) -> None:
    """Concurrent steps share a provider's files while they run: rewriting in place would hand a running
    `docker` a half-written config, or fail with "Text file busy" on the ssh wrapper. A rename is atomic."""
    if path.exists() and path.read_text() == text:
        return
    staged = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    with os.fdopen(os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "w") as file:
        file.write(text)
    os.replace(staged, path)


class DockerCli:
    """`docker -H ssh://…` as the Docker provider connects: the system ssh with the provider's
    `ssh_opts`, the ssh-agent for keys, and the provider's `registry_auth` as the client's credentials."""

    def __init__(self, site: Site, provider_ref: str):
        inputs = site.providers.get(provider_ref)
        if inputs is None:
            raise StepFailed(f"no Docker provider {provider_ref.rsplit('::', 1)[0]} was applied before its resources")
        # The engine hands a provider its configuration as text, structured values as JSON.
        inputs = {k: json.loads(v) if k in ("sshOpts", "registryAuth") and isinstance(v, str) else v
                  for k, v in inputs.items()}
        self.site = site
        self.host = inputs["host"]
        home = site.run / "providers" / hashlib.sha256(provider_ref.encode()).hexdigest()[:12]
        (home / "bin").mkdir(parents=True, exist_ok=True)
        opts = " ".join(shlex.quote(o) for o in inputs.get("sshOpts") or [])
        _replace(home / "bin" / "ssh", f"#!/bin/sh\nexec /usr/bin/ssh -F {shlex.quote(str(site.ssh_config))} {opts} "
                                        "\"$@\"\n", 0o755)
        auths = {}
        for auth in inputs.get("registryAuth") or []:
            token = base64.b64encode(f"{auth['username']}:{auth['password']}".encode()).decode()
            auths[auth["address"]] = {"auth": token}
        _replace(home / "config.json", json.dumps({"auths": auths}), 0o600)
        self.env = site.env(PATH=f"{home / 'bin'}:{site.base_env['PATH']}", DOCKER_CONFIG=str(home))

    def __call__(self, *args: str, what: str, check: bool = True, stdin: str | None = None,
                 timeout: int | None = None) -> subprocess.CompletedProcess:
        result = _run(["docker", "-H", self.host, *args], self.site, what, stdin=stdin, env=self.env, timeout=timeout)
        if check and result.returncode != 0:
            raise StepFailed(f"{what}: docker {args[0]} failed: {result.stderr.strip() or result.stdout.strip()}")
        return result

    def inspect(self, kind: str, ref: str, what: str) -> dict | None:
        """None when the object does not exist; any other failure is the step's."""
        result = self(kind, "inspect", ref, what=what, check=False)
        if result.returncode == 0:
            return json.loads(result.stdout)[0]
        if "No such" in result.stderr:
            return None
        raise StepFailed(f"{what}: docker {kind} inspect failed: {result.stderr.strip()}")


# --- docker:index/remoteImage:RemoteImage -------------------------------------------------------------

class RemoteImage:
    """The provider looks for the image on the host first and pulls only when it is missing."""

    inputs = frozenset({"name", "keepLocally", "forceRemove", "pullTriggers", "triggers", "platform"})

    def replaces(self, changed: set[str]) -> bool:
        return bool(changed & {"name", "pullTriggers", "triggers", "platform"})

    def create(self, site: Site, name: str, inputs: dict, provider: str):
        docker = DockerCli(site, provider)
        image = docker.inspect("image", inputs["name"], name)
        if image is None:
            docker("pull", "-q", inputs["name"], what=name)
            image = docker.inspect("image", inputs["name"], name)
        repository = inputs["name"].rsplit("@", 1)[0].rsplit(":", 1)[0] if "/" in inputs["name"] else inputs["name"]
        digest = next((d for d in image.get("RepoDigests") or [] if d.startswith(repository + "@")), "")
        outputs = {**inputs, "imageId": image["Id"], "repoDigest": digest}
        return f"{image['Id']}{inputs['name']}", outputs, inputs

    def update(self, site: Site, old, inputs: dict):
        return {**old.outputs, **inputs}, inputs

    def delete(self, site: Site, old) -> None:
        if not old.inputs.get("keepLocally"):
            DockerCli(site, old.provider)("rmi", old.inputs["name"], what=old.name, check=False)


# --- docker:index/container:Container -----------------------------------------------------------------

# Attributes the provider updates in place (everything else it marks ForceNew: a new container).
CONTAINER_UPDATABLE = frozenset({"restart", "memory", "cpus", "cpuShares", "mustRun", "wait", "waitTimeout",
                                 "destroyGraceSeconds", "removeVolumes", "start"})


def _publish(port: dict) -> str:
    ip = port.get("ip", "0.0.0.0")
    ip = f"[{ip}]" if ":" in ip else ip
    return f"{ip}:{int(port['external'])}:{int(port['internal'])}/{port.get('protocol', 'tcp')}"


def container_create_args(inputs: dict, env_file: str) -> list[str]:
    """`docker create` arguments for the Docker provider's container inputs."""
    i = inputs
    argv = ["create", "--name", i["name"], "--env-file", env_file]
    networks = [n["name"] for n in i.get("networksAdvanced") or []]
    if networks:
        argv += ["--network", networks[0]]
    for volume in i.get("volumes") or []:
        source = volume.get("hostPath") or volume.get("volumeName")
        argv += ["--volume", f"{source}:{volume['containerPath']}{':ro' if volume.get('readOnly') else ''}"]
    for label in i.get("labels") or []:
        argv += ["--label", f"{label['label']}={label['value']}"]
    if i.get("memory"):
        argv += ["--memory", f"{int(i['memory'])}m"]
    if i.get("cpus"):
        argv += ["--cpus", str(i["cpus"])]
    if i.get("user"):
        argv += ["--user", i["user"]]
    check = i.get("healthcheck")
    if check:
        test = check["tests"]
        if test[0] != "CMD-SHELL" or len(test) != 2:
            raise StepFailed(f"{i['name']}: the applier maps CMD-SHELL health checks only, not {test[0]}")
        argv += ["--health-cmd", test[1]]
        for key, flag in (("interval", "--health-interval"), ("timeout", "--health-timeout"),
                          ("startPeriod", "--health-start-period"), ("startInterval", "--health-start-interval")):
            if check.get(key) and check[key] != "0s":  # zero is the API's unset, as the provider sends it
                argv += [flag, check[key]]
        if check.get("retries"):
            argv += ["--health-retries", str(int(check["retries"]))]
    if i.get("restart"):
        argv += ["--restart", i["restart"]]
    if i.get("logDriver"):
        argv += ["--log-driver", i["logDriver"]]
    for key, value in sorted((i.get("logOpts") or {}).items()):
        argv += ["--log-opt", f"{key}={value}"]
    for port in i.get("ports") or []:
        argv += ["--publish", _publish(port)]
    return [*argv, i["image"], *(i.get("command") or [])]


class Container:
    inputs = frozenset({"name", "image", "command", "envs", "volumes", "networksAdvanced", "labels", "memory",
                        "cpus", "user", "healthcheck", "restart", "mustRun", "logDriver", "logOpts",
                        "destroyGraceSeconds", "ports", "wait", "waitTimeout"})

    def replaces(self, changed: set[str]) -> bool:
        return bool(changed - CONTAINER_UPDATABLE)

    def with_defaults(self, inputs: dict) -> dict:
        return with_defaults(inputs)

    def same(self, key: str, old: Any, new: Any) -> bool:
        return old == new or (key == "ports" and ports_diff_suppressed(old, new))

    def create(self, site: Site, name: str, inputs: dict, provider: str):
        docker = DockerCli(site, provider)
        with tempfile.NamedTemporaryFile("w", dir=site.run, prefix="berth-e2e-env-", delete=True) as env:
            os.chmod(env.name, 0o600)
            env.write("".join(f"{line}\n" for line in inputs.get("envs") or []))
            env.flush()
            container_id = docker(*container_create_args(inputs, env.name), what=name).stdout.strip()
        for network in (inputs.get("networksAdvanced") or [])[1:]:
            docker("network", "connect", network["name"], container_id, what=name)
        if inputs.get("mustRun", True):
            docker("start", container_id, what=name)
        if inputs.get("wait"):
            self._wait_healthy(docker, name, container_id, int(inputs.get("waitTimeout") or 60))
        inspected = docker.inspect("container", container_id, name)
        outputs = {**inputs, "id": container_id}
        return container_id, outputs, read_back(inputs, inspected)

    @staticmethod
    def _wait_healthy(docker: DockerCli, name: str, container_id: str, timeout: int) -> None:
        deadline = time.monotonic() + timeout
        status = "starting"
        while time.monotonic() < deadline:
            status = docker("inspect", "--format", "{{.State.Health.Status}}", container_id, what=name).stdout.strip()
            if status == "healthy":
                return
            time.sleep(0.5)
        raise StepFailed(f"{name}: container {container_id[:12]} did not become healthy within {timeout}s "
                         f"(last status: {status})")

    def update(self, site: Site, old, inputs: dict):
        docker = DockerCli(site, old.provider)
        args = []
        if inputs.get("restart") != old.state.get("restart") and inputs.get("restart"):
            args += ["--restart", inputs["restart"]]
        if inputs.get("memory") != old.state.get("memory") and inputs.get("memory"):
            args += ["--memory", f"{int(inputs['memory'])}m"]
        if inputs.get("cpus") != old.state.get("cpus") and inputs.get("cpus"):
            args += ["--cpus", str(inputs["cpus"])]
        if args:
            docker("update", *args, old.id, what=old.name)
        return {**old.outputs, **inputs}, {**old.state, **inputs}

    def delete(self, site: Site, old) -> None:
        docker = DockerCli(site, old.provider)
        grace = old.inputs.get("destroyGraceSeconds")
        if grace:
            docker("stop", "-t", str(int(grace)), old.id, what=old.name, check=False)
        docker("rm", "-f", old.id, what=old.name, check=False)


# The provider's schema defaults, filled into a declaration before it is compared with the state.
PORT_DEFAULTS = {"ip": "0.0.0.0", "protocol": "tcp"}
HEALTHCHECK_DEFAULTS = {"interval": "0s", "timeout": "0s", "startPeriod": "0s", "startInterval": "0s", "retries": 0}


def with_defaults(inputs: dict) -> dict:
    out = dict(inputs)
    if out.get("ports"):
        out["ports"] = [{**PORT_DEFAULTS, **port} for port in out["ports"]]
    if out.get("healthcheck"):
        out["healthcheck"] = {**HEALTHCHECK_DEFAULTS, **out["healthcheck"]}
    return out


def ports_diff_suppressed(old: list | None, new: list | None) -> bool:
    """The provider's `suppressIfPortsDidNotChangeForMigrationV0ToV1`: the same length, and each old
    binding agrees with the first new binding of its internal port (a protocol mismatch passes when another
    new binding has that port and protocol). Two bindings of one port can therefore never both agree."""
    old, new = old or [], new or []
    if len(old) != len(new):
        return False
    for binding in old:
        first = next((b for b in new if b["internal"] == binding["internal"]), None)
        if first is None:
            return False
        if first["protocol"] != binding["protocol"]:
            if any(b["internal"] == binding["internal"] and b["protocol"] == binding["protocol"] for b in new):
                continue
            return False
        if first["external"] != binding["external"] or first["ip"] != binding["ip"]:
            return False
    return True


def read_back(declared: dict, inspected: dict) -> dict:
    """The state the Docker provider's Read keeps, for the attributes where it differs from the
    declaration; the rest is kept as declared. See docs/compatibility.md for the provider source."""
    state = with_defaults(declared)
    # flattenContainerPorts: port keys sorted by number, then each binding in the order the daemon lists it.
    bindings = (inspected.get("NetworkSettings") or {}).get("Ports") or {}
    ports = []
    for key in sorted(bindings, key=lambda k: int(k.split("/")[0])):
        internal, _, protocol = key.partition("/")
        ports += [{"internal": int(internal), "external": int(binding["HostPort"]), "ip": binding["HostIp"],
                   "protocol": protocol} for binding in bindings[key] or []]
    state["ports"] = ports or None
    health = (inspected.get("Config") or {}).get("Healthcheck")
    if health:
        state["healthcheck"] = {
            "tests": health.get("Test"),
            "interval": go_duration(health.get("Interval", 0) / 1e9),
            "timeout": go_duration(health.get("Timeout", 0) / 1e9),
            "startPeriod": go_duration(health.get("StartPeriod", 0) / 1e9),
            "startInterval": go_duration(health.get("StartInterval", 0) / 1e9),
            "retries": health.get("Retries", 0),
        }
    return state


# --- random:index/randomId:RandomId -------------------------------------------------------------------

class MadeOnce:
    """Resources that exist only in state (random ids, keys, certificates): any change makes a new one,
    and nothing on a host is deleted with them."""

    def replaces(self, changed: set[str]) -> bool:
        return True

    def update(self, site: Site, old, inputs: dict):
        return old.outputs, inputs

    def delete(self, site: Site, old) -> None:
        return None


class RandomId(MadeOnce):
    inputs = frozenset({"byteLength", "keepers", "prefix"})


    def create(self, site: Site, name: str, inputs: dict, provider: str):
        raw = pysecrets.token_bytes(int(inputs["byteLength"]))
        hex_ = (inputs.get("prefix") or "") + raw.hex()
        outputs = {**inputs, "hex": hex_, "b64Std": base64.b64encode(raw).decode(),
                   "b64Url": base64.urlsafe_b64encode(raw).decode().rstrip("="), "dec": str(int.from_bytes(raw, "big"))}
        return raw.hex(), outputs, inputs


# --- stand-ins for Cloudflare and tls (the lab has no Cloudflare; its CA signs instead) ----------------

class TlsPrivateKey(MadeOnce):
    inputs = frozenset({"algorithm", "ecdsaCurve", "rsaBits"})


    def create(self, site: Site, name: str, inputs: dict, provider: str):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        if inputs.get("algorithm") != "ECDSA" or inputs.get("ecdsaCurve") != "P256":
            raise StepFailed(f"{name}: the applier makes ECDSA P256 keys only")
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
        public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        return str(uuid.uuid4()), {**inputs, "privateKeyPem": pulumi.Output.secret(pem), "publicKeyPem": public}, inputs


class TlsCertRequest(MadeOnce):
    inputs = frozenset({"privateKeyPem", "dnsNames", "subject", "ipAddresses"})


    def create(self, site: Site, name: str, inputs: dict, provider: str):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.x509.oid import NameOID

        key = serialization.load_pem_private_key(inputs["privateKeyPem"].encode(), None)
        subject = inputs.get("subject") or {}
        names = [x509.NameAttribute(NameOID.COMMON_NAME, subject["commonName"])] if subject.get("commonName") else []
        if subject.get("organization"):
            names.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, subject["organization"]))
        csr = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name(names))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in inputs.get("dnsNames") or []]),
                              critical=False)
               .sign(key, hashes.SHA256()))
        pem = csr.public_bytes(serialization.Encoding.PEM).decode()
        return str(uuid.uuid4()), {**inputs, "certRequestPem": pem}, inputs


class OriginCaCertificate(MadeOnce):
    """Cloudflare's Origin CA, played by the lab's CA: it signs the CSR for the requested validity."""

    inputs = frozenset({"csr", "hostnames", "requestType", "requestedValidity"})


    def create(self, site: Site, name: str, inputs: dict, provider: str):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization

        csr = x509.load_pem_x509_csr(inputs["csr"].encode())
        ca = x509.load_pem_x509_certificate(site.ca_cert.read_bytes())
        ca_key = serialization.load_pem_private_key(site.ca_key.read_bytes(), None)
        now = datetime.datetime.now(datetime.UTC)
        certificate = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca.subject)
                       .public_key(csr.public_key()).serial_number(x509.random_serial_number())
                       .not_valid_before(now - datetime.timedelta(minutes=5))
                       .not_valid_after(now + datetime.timedelta(days=int(inputs["requestedValidity"])))
                       .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in inputs["hostnames"]]),
                                      critical=False)
                       .sign(ca_key, hashes.SHA256()))
        pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
        return str(uuid.uuid4()), {**inputs, "certificate": pem}, inputs


class Recorded(InState):
    """Cloudflare records and zone settings: the lab's clients reach the hosts by address with the right
    Host header and SNI, which is what the records would have given them."""


KINDS: dict[str, Any] = {
    "command:remote:Command": RemoteCommand(),
    "pulumi:providers:docker": DockerProvider(),
    "docker:index/remoteImage:RemoteImage": RemoteImage(),
    "docker:index/container:Container": Container(),
    "random:index/randomId:RandomId": RandomId(),
    "tls:index/privateKey:PrivateKey": TlsPrivateKey(),
    "tls:index/certRequest:CertRequest": TlsCertRequest(),
    "cloudflare:index/originCaCertificate:OriginCaCertificate": OriginCaCertificate(),
    "cloudflare:index/dnsRecord:DnsRecord": Recorded({"zoneId", "name", "type", "content", "proxied", "ttl",
                                                      "comment"}),
    "cloudflare:index/zoneSetting:ZoneSetting": Recorded({"zoneId", "settingId", "value"}),
}
