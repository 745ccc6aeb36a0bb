"""Everything a scenario stands on: the lab, its services, the images, the real Pulumi engine and the test
stacks. `World.start()` is what `make e2e` (through conftest) and `make bench-release` both call.

A `Deployment` is one stack as its operator has it: a project directory with the project's own Pulumi.yaml
and a stack file (the test stack with the scenario's settings, as the operator edits it), secrets set with
`pulumi config set --secret --path`, and a state backend. `up`, `preview` and `refresh` are the real
engine's, the program inline (berth/engine.py).
"""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import pickle
import secrets as pysecrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pulumi import automation as auto

from components import stackfile
from components.config import Proxy
from components.stackfile import StackFile

from . import cloudlab, engines, images, postgres
from .engine import Engine, Step, Steps, cli_path
from .kamal import KAMAL
from .machines import Cloud
from .testhost import ALLOWED, OPERATOR_IPV4, Lab, TestHost, sh

HERE = Path(__file__).resolve().parent
# Every run's own output (as `pulumi up` prints it), kept after the lab is gone: what CI's log points at.
LOGS = Path(os.environ.get("BERTH_E2E_LOGS", "/var/tmp/berth-e2e-logs"))
STACK = HERE / "stacks" / "shop.yaml"
REGISTRY_USER = "berth"
BUCKET = "shop-backups"
# The shop stack cut down to its web role: what a scenario on hosts of its own needs.
MINIMAL = {"jobs": None, "accessories": None, "backups": None, "assetPath": None}
POSTGRES_CLIENT = "postgres:18-alpine"  # the image Berth runs the managed database's grants in


def _cli_child() -> int:
    """The `pulumi` process the Automation API started for this process (its only CLI child)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and argv[0].endswith(b"/pulumi"):
            return int(proc.name)
    raise AssertionError("no pulumi CLI is running for this process")


def _merged(base: Any, changes: Any) -> Any:
    """Mappings merge key by key; a None in `changes` removes the key; anything else replaces."""
    if isinstance(base, dict) and isinstance(changes, dict):
        merged = {**base, **{k: _merged(base.get(k), v) for k, v in changes.items()}}
        return {k: v for k, v in merged.items() if v is not None}
    return copy.deepcopy(changes)


def versions_under_test() -> dict[str, str]:
    """What this run puts under test, each as its own binary or pin says it."""
    def printed(*argv: str) -> str:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        return done.stdout.strip() or f"unknown ({done.stderr.strip()[-200:]})"

    engine = engines.selected()
    litestream = yaml.safe_load(STACK.read_text())["config"]["berth:accessories"]["litestream"]["image"]
    return {"Pulumi CLI": printed(str(cli_path()), "version"),
            "Docker daemon": engine.versions["daemon"], "Docker CLI": engine.versions["cli"],
            "kamal-proxy": Proxy().version, "Litestream": litestream.rsplit(":", 1)[1],
            "Kamal": printed(str(KAMAL), "version")}


@dataclass
class World:
    lab: Lab
    engine: Engine
    secrets: dict[str, str]
    app_repository: str
    litestream_image: str
    proxy_image: str
    origin_ranges: list[str] = field(default_factory=list)
    cloud: Cloud | None = None  # the machine tier's booted machines (cloudlab.py); None in `make e2e`
    deployments: dict[str, Deployment] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # for make bench-release, never asserted

    # --- setup ---------------------------------------------------------------------------------------

    @classmethod
    def start(cls, machines: bool = False) -> World:
        """The lab; with `machines`, the machine tier's: one namespace host (it builds the images), the cloud of
        booted machines and the stand-ins of Docker's repository and Docker Hub (cloudlab.py)."""
        base = yaml.safe_load(STACK.read_text())["config"]
        registry_password = pysecrets.token_urlsafe(18)
        secrets = {"REGISTRY_PASSWORD": registry_password, "SECRET_KEY_BASE": pysecrets.token_hex(32),
                   "S3_ACCESS_KEY_ID": "AKIA" + pysecrets.token_hex(8).upper(),
                   "S3_SECRET_ACCESS_KEY": pysecrets.token_urlsafe(30)}

        database_env: dict[str, str] = {}

        def services(lab: Lab) -> dict[str, list[str]]:
            cert, key = lab.certificate("router", lab.registry.split(":")[0])
            (lab.run / "htpasswd").write_text(sh("htpasswd", "-Bbn", REGISTRY_USER, registry_password).stdout)
            (lab.run / "registry").mkdir()
            (lab.run / "registry.yml").write_text(yaml.safe_dump({
                "version": 0.1, "storage": {"filesystem": {"rootdirectory": str(lab.run / "registry")}},
                "http": {"addr": lab.registry, "tls": {"certificate": str(cert), "key": str(key)}},
                "auth": {"htpasswd": {"realm": "berth-e2e", "path": str(lab.run / "htpasswd")}},
            }))
            moto = Path(sys.executable).parent / "moto_server"
            host, port = lab.s3_endpoint.removeprefix("https://").split(":")
            database, access = postgres.prepare(lab)
            database_env.update(access)
            return {"registry": ["docker-registry", "serve", str(lab.run / "registry.yml")],
                    "s3": [str(moto), "-H", host, "-p", port, "-c", str(cert), "-k", str(key)],
                    "postgres": database, **(cloudlab.services(lab) if machines else {})}

        shutil.rmtree(LOGS, ignore_errors=True)
        LOGS.mkdir(parents=True)
        cli = cli_path()  # before the lab: a first run builds it (minutes) without a lab standing idle
        lab = Lab().up(hosts=1 if machines else 2, services=services)
        cloud = cloudlab.up(lab) if machines else None
        secrets["E2E_SSH_KEY"] = lab.private_key
        agent = str(lab.run / "agent.sock")
        sh("ssh-agent", "-a", agent)
        sh("ssh-add", "-q", str(lab.key), env={**os.environ, "SSH_AUTH_SOCK": agent})
        # Networks as Cloudflare publishes them, host bits zero (Hetzner's firewall refuses any other CIDR).
        origin_ranges = [str(ipaddress.ip_network(f"{OPERATOR_IPV4}/30", strict=False)), ALLOWED.prefix4,
                         "fd00:be2e:ff::/64", ALLOWED.prefix6]
        engine = Engine(lab.run / "pulumi", cli, extra_env={
            **lab.client_env, "SSH_AUTH_SOCK": agent,
            "BERTH_LAB_CA_CERT": str(lab.ca_cert), "BERTH_LAB_CA_KEY": str(lab.ca_key),
            "BERTH_LAB_ORIGIN_RANGES": json.dumps({"ipv4": [r for r in origin_ranges if ":" not in r],
                                                   "ipv6": [r for r in origin_ranges if ":" in r]}),
            **database_env, **({"BERTH_LAB_CLOUD": str(cloudlab.state_dir(lab))} if machines else {}),
        }).prepared()
        accessory = base["berth:accessories"]["litestream"]["image"]
        world = cls(lab=lab, engine=engine, secrets=secrets, app_repository=base["berth:image"],
                    litestream_image=accessory, proxy_image=f"basecamp/kamal-proxy:{Proxy().version}",
                    origin_ranges=origin_ranges, cloud=cloud)
        world._images()
        world._bucket()
        return world

    def _images(self) -> None:
        for host in self.lab.hosts:
            self._base_images(host)
        builder = self.lab.hosts[0]
        for build in (images.AppBuild("v1"), images.AppBuild("v2"), images.AppBuild("v3", healthy=False)):
            tag = f"{self.app_repository}:{build.version}"
            images.app_image(builder, tag, build)
            images.push(builder, tag, REGISTRY_USER, self.secrets["REGISTRY_PASSWORD"])
        if self.cloud is not None:  # what a machine pulls from Docker Hub
            images.postgres_client_image(builder, POSTGRES_CLIENT)
            for image in (self.proxy_image, self.litestream_image, POSTGRES_CLIENT):
                cloudlab.publish_to_hub(builder, image)

    def _base_images(self, host: TestHost) -> None:
        """The images a host would pull from Docker Hub, which the lab cannot reach."""
        images.kamal_proxy_image(host, self.proxy_image, self.proxy_image.rsplit(":", 1)[1])
        images.litestream_image(host, self.litestream_image, self.litestream_image.rsplit(":", 1)[1],
                                self.lab.ca_cert.read_text())

    def add_host(self, **options: Any) -> TestHost:
        """A fresh server, as a rebuilt or new cloud host would be."""
        host = self.lab.add_host(**options)
        self._base_images(host)
        return host

    def _bucket(self) -> None:
        import boto3

        client = boto3.client("s3", endpoint_url=self.lab.s3_endpoint, region_name="us-east-1",
                              aws_access_key_id=self.secrets["S3_ACCESS_KEY_ID"],
                              aws_secret_access_key=self.secrets["S3_SECRET_ACCESS_KEY"],
                              verify=str(self.lab.ca_cert))
        client.create_bucket(Bucket=BUCKET)

    def stop(self) -> None:
        from .testhost import down

        subprocess.run(["pkill", "-f", f"ssh-agent -a {self.lab.run}/agent.sock"], check=False)
        down(self.lab.run)

    # --- deployments ----------------------------------------------------------------------------------

    def deployment(self, key: str = "e2e", stack_name: str | None = None, stack_file: Path = STACK,
                   secrets: dict[str, str] | None = None, backend: tuple[str, dict[str, str]] | None = None,
                   **settings: Any) -> Deployment:
        """A stack (its directory, settings and state), made on first use. `key` tells two states of one
        stack name apart: each deployment has its own backend, as a rebuilt host starts from no state.
        `secrets`: the stack's berth:secrets (default: the run's own). `backend`: a backend URL and the
        environment it needs (default: a `file://` folder of its own)."""
        if key not in self.deployments:
            self.deployments[key] = Deployment(self, key, stack_name or key, stack_file, dict(settings),
                                               dict(secrets if secrets is not None else self.secrets),
                                               backend_url=backend[0] if backend else None,
                                               backend_env=dict(backend[1]) if backend else {})
        return self.deployments[key]

    @property
    def web(self) -> TestHost:
        return self.lab.hosts[0]

    @property
    def jobs(self) -> TestHost:
        return self.lab.hosts[1]


@dataclass
class Run:
    """What one `pulumi up`, `preview` or `refresh` did, from the engine's own events."""

    steps: Steps
    error: str | None
    seconds: float
    output: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def resources(self) -> list[Step]:
        """One step per resource (a replacement's steps folded), the stack and providers left out."""
        taken = self.steps.taken or self.steps.planned
        return [Step(op, urn) for urn, op in Steps.per_resource(taken).items()]

    @property
    def changed(self) -> list[Step]:
        return [s for s in self.resources if s.op != "same"]

    def named(self, suffix: str) -> list[Step]:
        return [s for s in self.resources if s.name.endswith(suffix)]


@dataclass
class Deployment:
    """One stack as its operator sees it: the stack file, `pulumi config set`, and the engine."""

    world: World
    key: str
    stack_name: str
    template: Path
    settings: dict[str, Any]
    secrets: dict[str, str]
    backend_url: str | None = None  # s3://…; default: a file:// folder of the deployment's own
    backend_env: dict[str, str] = field(default_factory=dict)  # what the backend needs (credentials, a CA)
    runs: list[Run] = field(default_factory=list)
    _stack: auto.Stack | None = None
    _converged_from: str | None = None  # the stack file of the last `up` without changes of its own

    @property
    def work(self) -> Path:
        return self.world.lab.run / "stacks" / self.key

    @property
    def backend(self) -> str:
        return self.backend_url or f"state-{self.key}"

    @property
    def file(self) -> Path:
        return self.work / f"Pulumi.{self.stack_name}.yaml"

    def set(self, **settings: Any) -> Deployment:
        self.settings.update(settings)
        return self

    def set_secret(self, name: str, value: str) -> Deployment:
        """`pulumi config set --secret --path 'secrets.NAME'`, as an operator rotates a secret."""
        self.secrets[name] = value
        self.stack.set_config(f"berth:secrets.{name}", auto.ConfigValue(value, secret=True), path=True)
        return self

    def _document(self, **changes: Any) -> dict[str, Any]:
        """The test stack with the settings and `changes` merged in (keys without berth:)."""
        document = yaml.safe_load(self.template.read_text())
        config = document["config"]
        for key, value in {**self.settings, **changes}.items():
            config[f"berth:{key}"] = _merged(config.get(f"berth:{key}"), value)
            if config[f"berth:{key}"] is None:
                del config[f"berth:{key}"]
        return document

    def adopt(self) -> None:
        """Settings the operator changed with the CLI (`pulumi config set`, `berth rollback`) become the
        deployment's, so the next `up` keeps them."""
        if not self.file.exists():
            return
        written = self._document()["config"]
        current = (yaml.safe_load(self.file.read_text()) or {}).get("config") or {}
        for key in set(written) | set(current):
            if key.startswith("berth:") and key != "berth:secrets" and written.get(key) != current.get(key):
                self.settings[key.removeprefix("berth:")] = current.get(key)

    def write(self, **changes: Any) -> Path:
        """The stack file: the test stack with the settings and `changes` merged in, keeping what the CLI
        wrote into it (the encryption salt, the encrypted secrets)."""
        document = self._document(**changes)
        config = document["config"]
        if self.file.exists():
            current = yaml.safe_load(self.file.read_text()) or {}
            for key in ("encryptionsalt", "secretsprovider", "encryptedkey"):
                if key in current:
                    document[key] = current[key]
            if "berth:secrets" in (current.get("config") or {}):
                config["berth:secrets"] = current["config"]["berth:secrets"]
        self.work.mkdir(parents=True, exist_ok=True)
        self.file.write_text(yaml.safe_dump(document, sort_keys=False))
        return self.file

    @property
    def stack(self) -> auto.Stack:
        """The Pulumi stack, made on first use with the run's secrets set through the CLI."""
        if self._stack is None:
            self.write()
            self._stack = self.world.engine.stack(self.stack_name, self.work, create=True, backend=self.backend,
                                                  extra=self.backend_env)
            self._stack.set_all_config({f"berth:secrets.{name}": auto.ConfigValue(value, secret=True)
                                        for name, value in self.secrets.items()}, path=True)
        return self._stack

    def _run(self, action: str, **options: Any) -> Run:
        steps, lines = Steps(), []
        started = time.monotonic()
        error = None
        try:
            getattr(self.stack, action)(on_event=steps.record, on_output=lines.append, color="never", **options)
        except auto.CommandError as failure:
            error = "\n".join(steps.diagnostics) or str(failure)
        return self._record(Run(steps, error, time.monotonic() - started, "\n".join(lines)), action)

    def _record(self, run: Run, action: str) -> Run:
        self.runs.append(run)
        log = LOGS / f"{len(list(LOGS.iterdir())):03d}-{self.key}-{action}.log"
        log.write_text(run.output + (f"\n\nERROR:\n{run.error}\n" if run.error else "")
                       + f"\n(the Automation API's {action}, start to end: {run.seconds:.1f} s)\n")
        return run

    def up(self, refresh: bool = False, **changes: Any) -> Run:
        """`pulumi up` (`--refresh`: read every resource back from its provider first)."""
        text = self.write(**changes).read_text()
        self.stack  # noqa: B018 - made before the file is read
        run = self._run("up", refresh=refresh)
        self._converged_from = text if run.ok and not changes else None
        return run

    def up_in_child(self, refresh: bool = False, replace: tuple[str, ...] = (), **changes: Any) -> Callable[[], Run]:
        """`pulumi up` started in a process of its own (tests/e2e/child_up.py), for stacks whose `up`s run at
        once; the function returned waits for it and gives its Run. `replace`: URNs, as `--replace` takes them."""
        text = self.write(**changes).read_text()
        self.stack  # noqa: B018 - made (and its secrets set) here, before the child selects it
        spec, out = self.work / "child-up.json", self.work / "child-up.pickle"
        out.unlink(missing_ok=True)
        engine = self.world.engine
        spec.write_text(json.dumps({"root": str(engine.root), "cli": str(engine.cli), "extra_env": engine.extra_env,
                                    "stack": self.stack_name, "work": str(self.work), "backend": self.backend,
                                    "backend_env": self.backend_env, "refresh": refresh, "replace": list(replace)}))
        child = subprocess.Popen([sys.executable, "-m", "tests.e2e.child_up", str(spec), str(out)],
                                 cwd=HERE.parents[1], env={**os.environ, "PYTHONPATH": str(HERE.parents[1])})

        def wait() -> Run:
            child.wait()
            if not out.exists():
                raise AssertionError(f"the child up of {self.key} ended ({child.returncode}) without a result")
            steps, error, seconds, output = pickle.loads(out.read_bytes())
            run = self._record(Run(steps, error, seconds, output), "up")
            self._converged_from = text if run.ok and not changes and not replace else None
            return run

        return wait

    def up_interrupted(self, when: Callable[[Step], bool], grace: float, **changes: Any) -> Run:
        """`pulumi up`, with the CLI interrupted as an operator's Ctrl-C would (SIGINT) once the engine
        starts a step `when` accepts, then killed (SIGKILL) `grace` seconds later if it has not ended."""
        self.write(**changes)
        stack = self.stack
        steps, lines = Steps(), []
        fired = threading.Event()

        def watch(event: auto.EngineEvent) -> None:
            steps.record(event)
            if not fired.is_set() and event.resource_pre_event and when(steps.planned[-1]):
                fired.set()

        outcome: list[BaseException | None] = []

        def run() -> None:
            try:
                stack.up(on_event=watch, on_output=lines.append, color="never")
                outcome.append(None)
            except BaseException as error:  # noqa: BLE001 - reported below
                outcome.append(error)

        started = time.monotonic()
        worker = threading.Thread(target=run)
        worker.start()
        if not fired.wait(600):
            raise AssertionError("the step to interrupt at never started")
        cli = _cli_child()
        os.kill(cli, signal.SIGINT)
        worker.join(grace)
        if worker.is_alive():
            os.kill(cli, signal.SIGKILL)
            worker.join(60)
        error = None if outcome == [None] else ("\n".join(steps.diagnostics) or str(outcome[0]))
        run = Run(steps, error, time.monotonic() - started, "\n".join(lines))
        self.runs.append(run)
        (LOGS / f"{len(list(LOGS.iterdir())):03d}-{self.key}-up-interrupted.log").write_text(run.output)
        return run

    def converged(self) -> bool:
        """The stack as its settings say, as a scenario starts: an `up`, unless the last one succeeded from
        this very stack file (a scenario run on its own still starts from a deployed stack; in the suite,
        the one before it has usually left it so, and an unchanged `up` costs seconds)."""
        text = self.write().read_text()
        if self.runs and self.runs[-1].ok and self._converged_from == text:
            return True
        return self.up().ok

    def preview(self, **changes: Any) -> Run:
        self.write(**changes)
        self.stack  # noqa: B018
        return self._run("preview", diff=True)

    def refresh(self) -> Run:
        return self._run("refresh")

    def destroy(self, exclude_protected: bool = False) -> Run:
        """`pulumi destroy` (`--exclude-protected`: everything but the protected resources)."""
        self.write()
        return self._run("destroy", exclude_protected=exclude_protected)

    @property
    def last_up(self) -> Run:
        return self.runs[-1]

    @property
    def outputs(self) -> dict[str, Any]:
        return {key: value.value for key, value in self.stack.outputs().items()}

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """The Pulumi CLI in the stack's directory, as its operator runs it."""
        return self.world.engine.run(*args, "--stack", self.stack_name, cwd=self.work, backend=self.backend,
                                     check=check, extra=self.backend_env)

    def state(self, show_secrets: bool = False) -> list[dict[str, Any]]:
        """The resources in the stack's state (`pulumi stack export`)."""
        exported = self.cli("stack", "export", *(["--show-secrets"] if show_secrets else []))
        return json.loads(exported.stdout)["deployment"].get("resources") or []

    def resource(self, name: str, type_: str | None = None, show_secrets: bool = False) -> dict[str, Any]:
        """One custom resource of the state, by name (and type, where a component shares its name)."""
        (found,) = [r for r in self.state(show_secrets) if r["urn"].endswith(f"::{name}") and r.get("custom")
                    and (type_ is None or r["type"] == type_)]
        return found

    def stack_file(self) -> StackFile:
        """The stack file as the CLI reads it (secrets set, as placeholders)."""
        self.stack  # noqa: B018 - made, with its secrets, on first use
        return stackfile.read(self.write())

    def env(self) -> dict[str, str]:
        """The operator's environment: the CLI and plugins on PATH, the backend, the passphrase."""
        return self.world.engine.env(self.backend, self.backend_env)
