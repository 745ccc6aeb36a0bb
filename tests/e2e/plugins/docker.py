"""The `docker` package (pulumi-docker 5.2.0, which wraps kreuzwerker/terraform-provider-docker v4.5.0):
containers and images on a lab host, through the Docker Engine API over `ssh://`, as the provider does.

Each step makes the API calls the provider's Go code makes (internal/provider/resource_docker_container_funcs.go
and resource_docker_image_funcs.go at v4.5.0), and the state it returns is what the provider's Read keeps,
so the next preview diffs against what the real provider would hold: ports in the daemon's order
(`flattenContainerPorts`), health checks as Go durations, `memory_swap` as the daemon set it, `cpus`
through `nanoInt64ToDecimalString`, `log_opts` with the daemon's defaults merged in
(`containerLogOptsForState`), `image` as the container's image id. docs/compatibility.md has a row per fact.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from fractions import Fraction
from typing import Any

from .dockerapi import ApiError, DockerApi
from .schema import Attr, Schema, empty
from .server import Config, Failed, Kind, Package
from .wire import UNKNOWN

CONTAINER_SOURCE = "kreuzwerker/terraform-provider-docker v4.5.0 internal/provider/resource_docker_container.go"
IMAGE_SOURCE = "kreuzwerker/terraform-provider-docker v4.5.0 internal/provider/resource_docker_image.go"

_apis: dict[str, DockerApi] = {}
_apis_lock = threading.Lock()


def api(config: Config) -> DockerApi:
    """One client per provider configuration, its connections kept alive (the provider's clientCache)."""
    host, opts = config.get("host"), list(config.get("sshOpts") or [])
    if not host:
        raise Failed("Error initializing Docker client: the provider has no host")
    key = json.dumps([host, opts])
    with _apis_lock:
        if key not in _apis:
            _apis[key] = DockerApi(host, opts)
        return _apis[key]


def _daemon(error: ApiError) -> str:
    return f"Error response from daemon: {error}" if error.status else str(error)


# --- registry credentials (internal/provider/provider.go providerSetToRegistryAuth, config.go) --------------

def _hostname(address: str) -> str:
    """`convertToHostname(canonicalizeRegistryAddress(address))`: scheme and path dropped."""
    stripped = address.removeprefix("http://").removeprefix("https://")
    return stripped.split("/", 1)[0]


def image_registry(image: str) -> str:
    """`parseImageOptions(image).Registry`: the part before the first slash when it looks like a host or
    when the name has more than two parts; `registry-1.docker.io` otherwise."""
    first = image.find("/")
    if image.count("/") > 1 or (first != -1 and (any(c in image[:first] for c in ".:") or image[:first] == "localhost")):
        return image[:first]
    return "registry-1.docker.io"


def registry_auth(config: Config, image: str) -> str:
    """The X-Registry-Auth header of a pull: the credentials keyed by the image's registry, else none."""
    auths = {_hostname(a["address"]): a for a in config.get("registryAuth") or []}
    registry = image_registry(image)
    auth = auths.get(registry)
    body: dict[str, str] = {}
    if auth is not None:
        body = {"username": auth.get("username", ""), "password": auth.get("password", ""),
                "serveraddress": "https://" + _hostname(auth["address"])}
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode()


# --- docker:index/remoteImage:RemoteImage --------------------------------------------------------------

def local_image(docker: DockerApi, name: str) -> dict | None:
    """`searchLocalImages`: inspect by name, and only an image `docker images` lists counts."""
    inspected = docker.inspect_image(name)
    if inspected is None:
        return None
    return next((i for i in docker.list_images() if i["Id"] == inspected["Id"]), None)


def find_image(config: Config, name: str) -> dict:
    """`findImage`: the local image if there is one, else a pull with the registry's credentials. Its
    error text is the provider's; each caller puts its own prefix before it, as the provider does."""
    docker = api(config)
    try:
        found = local_image(docker, name)
        if found is None:
            try:
                docker.pull(name, registry_auth(config, name))
            except ApiError as error:
                raise Failed(f"unable to pull image {name}: error pulling image {name}: {_daemon(error)}") from None
            found = local_image(docker, name)
    except ApiError as error:
        raise Failed(_daemon(error)) from None
    if found is None:
        raise Failed(f"unable to find or pull image {name}")
    return found


class RemoteImage(Kind):
    schema = Schema("docker:index/remoteImage:RemoteImage", {
        "name": Attr(required=True, replace=True),
        "keepLocally": Attr(),
        "forceRemove": Attr(),
        "pullTriggers": Attr(replace=True, unordered=True),
        "triggers": Attr(replace=True),
        "platform": Attr(replace=True, default=""),
        "imageId": Attr(output=True),
        "repoDigest": Attr(output=True),
    }, IMAGE_SOURCE)

    @staticmethod
    def _find(config: Config, name: str) -> dict:
        try:
            return find_image(config, name)
        except Failed as failure:
            raise Failed(f"Unable to read Docker image into resource: {failure}") from None

    def _state(self, inputs: dict, image: dict) -> dict:
        return {**inputs, "imageId": image["Id"], "repoDigest": repo_digest(inputs["name"], image)}

    def create(self, config, name, inputs):
        image = self._find(config, inputs["name"])
        return image["Id"] + inputs["name"], self._state(inputs, image)

    def read(self, config, id_, state, inputs):
        try:
            image = local_image(api(config), state["name"])
        except ApiError as error:
            raise Failed(f"Error reading docker image list: {_daemon(error)}") from None
        return None if image is None else self._state(state, image)

    def update(self, config, id_, olds, news):
        return self._state(news, self._find(config, news["name"]))

    def delete(self, config, id_, state):
        if state.get("keepLocally"):
            return
        docker = api(config)
        try:
            if local_image(docker, state["name"]) is not None:
                docker.request("DELETE", f"/images/{state['name']}",
                               params={"force": "1" if state.get("forceRemove") else "0"})
        except ApiError as error:
            raise Failed(f"Unable to remove Docker image: {_daemon(error)}") from None


def repo_digest(name: str, image: dict) -> str:
    """data_source_docker_image.go `determineRepoDigest`."""
    digests = image.get("RepoDigests") or []
    if not digests:
        return ""
    if len(digests) == 1:
        return digests[0]
    without_tag = name.split(":", 1)[0]
    return next((d for d in digests if d.startswith(without_tag)), "")


# --- docker:index/container:Container ------------------------------------------------------------------

def nano_cpus_text(nano: int) -> str:
    """helpers.go `nanoInt64ToDecimalString`, as the provider reads `cpus` back: 1 -> "1.0", 10 -> "10.",
    0.05 -> "0.1" (nine zeros in the 9-decimal form means "one decimal"; otherwise trailing zeros go)."""
    if nano == 0:
        return "0"
    ratio = Fraction(nano, 10**9)
    nine = _float_string(ratio, 9)
    if nine.count("0") == 9:
        return _float_string(ratio, 1)
    return nine.rstrip("0")


def _float_string(ratio: Fraction, decimals: int) -> str:
    """Go's big.Rat.FloatString: rounded half away from zero to `decimals` places."""
    scaled = ratio * 10**decimals
    rounded = int(scaled) + (1 if scaled - int(scaled) >= Fraction(1, 2) else 0)
    whole, fraction = divmod(rounded, 10**decimals)
    return f"{whole}.{fraction:0{decimals}d}" if decimals else str(whole)


def parse_cpus(text: str) -> int:
    """docker/cli opts.ParseCPUs: a decimal number of CPUs to NanoCPUs."""
    try:
        nano = Fraction(text) * 10**9
    except (ValueError, ZeroDivisionError):
        raise Failed(f"Error setting cpus: failed to parse {text} as a rational number") from None
    if nano.denominator != 1:
        raise Failed("Error setting cpus: value is too precise")
    return int(nano)


def go_duration(nanoseconds: int) -> str:
    """Go's time.Duration.String for whole-second and sub-second values the lab uses."""
    if nanoseconds == 0:
        return "0s"
    seconds, rest = divmod(nanoseconds, 10**9)
    if seconds == 0:
        if rest % 10**6 == 0:
            return f"{rest // 10**6}ms"
        return f"{rest / 1e9:g}s"
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    text = f"{seconds}{('.' + f'{rest:09d}'.rstrip('0')) if rest else ''}s"
    if minutes or hours:
        text = f"{minutes}m{text}"
    if hours:
        text = f"{hours}h{text}"
    return text


def parse_duration(text: str) -> int:
    """Go's time.ParseDuration for the forms Berth writes (`10s`, `1m30s`, `500ms`, `0s`)."""
    units = {"h": 3600 * 10**9, "m": 60 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
    total, number = 0, ""
    i = 0
    while i < len(text):
        char = text[i]
        if char.isdigit() or char == ".":
            number += char
            i += 1
            continue
        unit = text[i:i + 2] if text[i:i + 2] in ("ms", "us", "ns") else char
        total += int(Fraction(number) * units[unit])
        number = ""
        i += len(unit)
    return total


def _user_same(old: Any, new: Any) -> bool:
    """`user` and `working_dir`: an empty declaration is Docker's default, so it never differs."""
    return empty(new) or old == new


def ports_diff_suppressed(old: list | None, new: list | None) -> bool:
    """resource_docker_container_migrators.go `suppressIfPortsDidNotChangeForMigrationV0ToV1`: the same
    length, and each old binding agrees with the first new binding of its internal port (a protocol
    mismatch passes when another new binding has that port and protocol). Two bindings of one port can
    therefore never both agree, whatever their order."""
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


PORT_DEFAULTS = {"ip": "0.0.0.0", "protocol": "tcp"}
HEALTHCHECK_DEFAULTS = {"interval": "0s", "timeout": "0s", "startPeriod": "0s", "startInterval": "0s", "retries": 0}
VOLUME_DEFAULTS = {"containerPath": "", "hostPath": "", "volumeName": "", "fromContainer": "", "readOnly": False}
# Attributes the provider's Update applies (`resourceDockerContainerUpdate`); other updatable ones, such as
# healthcheck or destroy_grace_seconds, only change the state.
UPDATED_IN_PLACE = ("restart", "maxRetryCount", "cpuShares", "memory", "memoryReservation", "cpuSet", "memorySwap")


class Container(Kind):
    delete_before_replace = True  # pulumi-docker provider/resources.go: the Container's DeleteBeforeReplace
    schema = Schema("docker:index/container:Container", {
        "name": Attr(required=True, replace=True),
        "image": Attr(required=True, replace=True),
        "command": Attr(replace=True, computed=True),
        "entrypoint": Attr(replace=True, computed=True),
        "envs": Attr(replace=True, computed=True, unordered=True),
        "labels": Attr(replace=True, computed=True, unordered=True),
        "volumes": Attr(replace=True, unordered=True),
        "networksAdvanced": Attr(replace=True, unordered=True),
        "networkMode": Attr(replace=True, default="bridge"),
        "ports": Attr(replace=True, same=ports_diff_suppressed),
        "user": Attr(replace=True, same=_user_same),
        "workingDir": Attr(replace=True, same=_user_same),
        "hostname": Attr(replace=True, computed=True),
        "restart": Attr(default="no"),
        "maxRetryCount": Attr(),
        "mustRun": Attr(default=True),
        "start": Attr(default=True),
        "rm": Attr(default=False),
        "readOnly": Attr(replace=True, default=False),
        "removeVolumes": Attr(default=True),
        "attach": Attr(default=False),
        "logs": Attr(default=False),
        "wait": Attr(default=False),
        "waitTimeout": Attr(default=60),
        "tty": Attr(replace=True, default=False),
        "stdinOpen": Attr(replace=True, default=False),
        "memory": Attr(),
        "memoryReservation": Attr(default=0),
        "memorySwap": Attr(),
        "cpus": Attr(replace=True),
        "cpuShares": Attr(),
        "cpuSet": Attr(),
        "logDriver": Attr(replace=True, computed=True),
        "logOpts": Attr(replace=True),
        "healthcheck": Attr(computed=True),
        "destroyGraceSeconds": Attr(),
        "containerReadRefreshTimeoutMilliseconds": Attr(default=15000),
        "exitCode": Attr(output=True),
        "bridge": Attr(output=True),
        "networkData": Attr(output=True),
        "containerLogs": Attr(output=True),
    }, CONTAINER_SOURCE)

    def defaults(self, inputs):
        out = dict(inputs)
        if isinstance(out.get("ports"), list):
            out["ports"] = [{**PORT_DEFAULTS, **port} if isinstance(port, dict) else port for port in out["ports"]]
        if isinstance(out.get("healthcheck"), dict):
            out["healthcheck"] = {**HEALTHCHECK_DEFAULTS, **out["healthcheck"]}
        return out

    def preview(self, config, inputs):
        return {**inputs, **self.schema.unknown_outputs(), "hostname": inputs.get("hostname") or UNKNOWN}

    # -- create ---------------------------------------------------------------------------------------

    @staticmethod
    def body(inputs: dict) -> dict:
        """The ContainerCreate request `resourceDockerContainerCreate` sends for these inputs."""
        exposed, bindings = {}, {}
        for port in inputs.get("ports") or []:
            port = {**PORT_DEFAULTS, **port}
            key = f"{int(port['internal'])}/{port['protocol']}"
            exposed[key] = {}
            bindings.setdefault(key, []).append({"HostIp": port["ip"], "HostPort": str(int(port["external"]))
                                                 if port.get("external") is not None else ""})
        binds, volumes = [], {}
        for volume in inputs.get("volumes") or []:
            volume = {**VOLUME_DEFAULTS, **volume}
            source = volume["hostPath"] or volume["volumeName"]
            volumes[volume["containerPath"]] = {}
            if source:
                binds.append(f"{source}:{volume['containerPath']}:{'ro' if volume['readOnly'] else 'rw'}")
        config: dict[str, Any] = {"Image": inputs["image"], "Hostname": inputs.get("hostname", ""),
                                  "Tty": inputs.get("tty", False), "OpenStdin": inputs.get("stdinOpen", False)}
        if inputs.get("envs"):
            config["Env"] = sorted(inputs["envs"])  # a TypeSet: Terraform hands it over in its own order
        if inputs.get("command"):
            config["Cmd"] = list(inputs["command"])
        if inputs.get("entrypoint"):
            config["Entrypoint"] = list(inputs["entrypoint"])
        if inputs.get("user"):
            config["User"] = inputs["user"]
        if exposed:
            config["ExposedPorts"] = exposed
        if inputs.get("workingDir"):
            config["WorkingDir"] = inputs["workingDir"]
        if volumes:
            config["Volumes"] = volumes
        if inputs.get("labels"):
            config["Labels"] = {label["label"]: label["value"] for label in inputs["labels"]}
        check = inputs.get("healthcheck")
        if check:
            check = {**HEALTHCHECK_DEFAULTS, **check}
            config["Healthcheck"] = {"Test": list(check.get("tests") or []),
                                     "Interval": parse_duration(check["interval"]),
                                     "Timeout": parse_duration(check["timeout"]),
                                     "StartPeriod": parse_duration(check["startPeriod"]),
                                     "StartInterval": parse_duration(check["startInterval"]),
                                     "Retries": int(check["retries"])}
        host: dict[str, Any] = {
            "RestartPolicy": {"Name": inputs.get("restart", "no"), "MaximumRetryCount": inputs.get("maxRetryCount", 0)},
            "AutoRemove": inputs.get("rm", False), "ReadonlyRootfs": inputs.get("readOnly", False),
            "LogConfig": {"Type": inputs.get("logDriver", "")}, "Init": False,
            "NetworkMode": inputs.get("networkMode", "bridge"),
        }
        if bindings:
            host["PortBindings"] = bindings
        if binds:
            host["Binds"] = binds
        if inputs.get("memory"):
            host["Memory"] = int(inputs["memory"]) * 1024 * 1024
        if inputs.get("memoryReservation"):
            host["MemoryReservation"] = int(inputs["memoryReservation"]) * 1024 * 1024
        if inputs.get("memorySwap"):
            swap = int(inputs["memorySwap"])
            host["MemorySwap"] = swap * 1024 * 1024 if swap > 0 else swap
        if inputs.get("cpus"):
            host["NanoCpus"] = parse_cpus(str(inputs["cpus"]))
        if inputs.get("cpuShares"):
            host["CpuShares"] = int(inputs["cpuShares"])
        if inputs.get("cpuSet"):
            host["CpusetCpus"] = inputs["cpuSet"]
        if inputs.get("logOpts"):
            host["LogConfig"]["Config"] = {k: str(v) for k, v in inputs["logOpts"].items()}
        return {**config, "HostConfig": host, "NetworkingConfig": {}}

    def create(self, config, name, inputs):
        docker = api(config)
        try:
            find_image(config, inputs["image"])
        except Failed as failure:
            raise Failed(f"Unable to create container with image {inputs['image']}: {failure}") from None
        try:
            created = docker.request("POST", "/containers/create", body=self.body(inputs),
                                     params={"name": inputs["name"]}).json()
        except ApiError as error:
            raise Failed(f"Unable to create container: {_daemon(error)}") from None
        id_ = created["Id"]
        try:
            self._networks(docker, id_, inputs)
            if inputs.get("start", True):
                try:
                    docker.request("POST", f"/containers/{id_}/start")
                except ApiError as error:
                    raise Failed(f"Unable to start container: {_daemon(error)}") from None
                if inputs.get("wait"):
                    self._wait_healthy(docker, id_, int(inputs.get("waitTimeout", 60)))
        except Failed as failure:  # the container exists: the engine keeps it, and updates it next time
            raise Failed(str(failure), partial=(id_, self._read(docker, id_, inputs) or inputs)) from None
        return id_, self._read(docker, id_, inputs)

    @staticmethod
    def _networks(docker: DockerApi, id_: str, inputs: dict) -> None:
        """networks_advanced: leave the default bridge, then join each network."""
        networks = inputs.get("networksAdvanced") or []
        if not networks:
            return
        try:
            docker.request("POST", "/networks/bridge/disconnect", body={"Container": id_, "Force": False})
        except ApiError as error:
            if "is not connected to the network bridge" not in str(error):
                raise Failed(f"Unable to disconnect the default network: {_daemon(error)}") from None
        for network in networks:
            endpoint = {"Aliases": network.get("aliases") or None, "IPAMConfig": {}}
            try:
                docker.request("POST", f"/networks/{network['name']}/connect",
                               body={"Container": id_, "EndpointConfig": endpoint})
            except ApiError as error:
                raise Failed(f"Unable to connect to network '{network['name']}': {_daemon(error)}") from None

    @staticmethod
    def _wait_healthy(docker: DockerApi, id_: str, timeout: int) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = ((docker.inspect_container(id_) or {}).get("State") or {}).get("Health")
            if health is None:
                raise Failed("you have supplied a 'wait' argument, but the container does not have a healthcheck "
                             "defined. Please remove the 'wait' argument or add a 'healthcheck' attribute")
            if health.get("Status") == "healthy":
                return
            time.sleep(1)
        raise Failed("container failed to be in healthy state")

    # -- read -----------------------------------------------------------------------------------------

    def _read(self, docker: DockerApi, id_: str, state: dict) -> dict | None:
        """`resourceDockerContainerRead`: None when `docker ps -a` no longer lists the container."""
        if not any(c["Id"] == id_ for c in docker.list_containers()):
            return None
        inspected = docker.inspect_container(id_)
        if inspected is None:
            return None
        return read_back(state, inspected)

    def read(self, config, id_, state, inputs):
        try:
            return self._read(api(config), id_, state)
        except ApiError as error:
            raise Failed(f"error fetching container information from Docker: {_daemon(error)}") from None

    # -- update and delete ----------------------------------------------------------------------------

    def update(self, config, id_, olds, news):
        docker = api(config)
        try:
            if news.get("mustRun") and not olds.get("mustRun") and news.get("start", True):
                try:
                    docker.request("POST", f"/containers/{id_}/start")
                except ApiError as error:
                    raise Failed(f"Unable to start container: {_daemon(error)}") from None
            if any(olds.get(k) != news.get(k) for k in UPDATED_IN_PLACE):
                resources: dict[str, Any] = {
                    "CpuShares": int(news.get("cpuShares") or 0),
                    "Memory": int(news.get("memory") or 0) * 1024 * 1024,
                    "MemoryReservation": int(news.get("memoryReservation") or 0) * 1024 * 1024,
                    "CpusetCpus": news.get("cpuSet") or "",
                }
                if news.get("memorySwap"):
                    swap = int(news["memorySwap"])
                    resources["MemorySwap"] = swap * 1024 * 1024 if swap > 0 else swap
                body = {"RestartPolicy": {"Name": news.get("restart", "no"),
                                          "MaximumRetryCount": int(news.get("maxRetryCount") or 0)}, **resources}
                try:
                    docker.request("POST", f"/containers/{id_}/update", body=body)
                except ApiError as error:
                    raise Failed(f"Unable to update a container: {_daemon(error)}") from None
        except ApiError as error:
            raise Failed(_daemon(error)) from None
        return {**olds, **news}  # no Read after an update: the state is what was planned

    def delete(self, config, id_, state):
        docker = api(config)
        try:
            if not state.get("attach"):
                grace = int(state.get("destroyGraceSeconds") or 0)  # unset stops with a zero timeout
                try:
                    docker.request("POST", f"/containers/{id_}/stop", params={"t": str(grace)})
                except ApiError as error:
                    if "No such container" not in str(error) and error.status not in (304, 404):
                        raise Failed(f"Error stopping container {id_}: {_daemon(error)}") from None
            try:
                docker.request("DELETE", f"/containers/{id_}",
                               params={"v": "1" if state.get("removeVolumes", True) else "0", "force": "1"})
            except ApiError as error:
                if "No such container" not in str(error) and "is already in progress" not in str(error):
                    raise Failed(f"Error deleting container {id_}: {_daemon(error)}") from None
        except ApiError as error:
            raise Failed(_daemon(error)) from None


def read_back(state: dict, inspected: dict) -> dict:
    """What `resourceDockerContainerRead` sets, over the state it had (env, labels, volumes and networks
    are not read back: "they are taken over from the Docker image")."""
    config, host = inspected.get("Config") or {}, inspected.get("HostConfig") or {}
    running = (inspected.get("State") or {}).get("Running", False)
    out = dict(state)
    if running or state.get("mustRun", True):
        if state.get("ports"):
            bindings = (inspected.get("NetworkSettings") or {}).get("Ports") or {}
            ports = []
            for key in sorted(bindings, key=lambda k: (int(k.split("/")[0]), k.split("/")[1])):
                internal, _, protocol = key.partition("/")
                ports += [{"internal": int(internal), "external": int(b["HostPort"]), "ip": b["HostIp"],
                           "protocol": protocol} for b in bindings[key] or []]
            out["ports"] = ports
    if not running:
        out["exitCode"] = (inspected.get("State") or {}).get("ExitCode", 0)
        if state.get("mustRun", True):
            out["mustRun"] = False  # "this creates a state drift that Terraform will detect and trigger an update"
    out["name"] = inspected.get("Name", "").lstrip("/")
    out["rm"] = host.get("AutoRemove", False)
    out["readOnly"] = host.get("ReadonlyRootfs", False)
    out["image"] = inspected.get("Image") if str(state.get("image", "")).startswith("sha256:") else config.get("Image")
    out["hostname"] = config.get("Hostname", "")
    out["command"] = config.get("Cmd")
    out["entrypoint"] = config.get("Entrypoint")
    out["user"] = config.get("User", "")
    out["workingDir"] = config.get("WorkingDir", "")
    out["restart"] = (host.get("RestartPolicy") or {}).get("Name", "")
    out["maxRetryCount"] = (host.get("RestartPolicy") or {}).get("MaximumRetryCount", 0)
    out["memory"] = (host.get("Memory") or 0) // (1024 * 1024)
    reservation = host.get("MemoryReservation") or 0
    out["memoryReservation"] = reservation // (1024 * 1024) if reservation > 0 else reservation
    swap = host.get("MemorySwap") or 0
    out["memorySwap"] = swap // (1024 * 1024) if swap > 0 else swap
    if (host.get("NanoCpus") or 0) > 0:
        out["cpus"] = nano_cpus_text(host["NanoCpus"])
    out["cpuShares"] = host.get("CpuShares") or 0
    out["cpuSet"] = host.get("CpusetCpus") or ""
    out["logDriver"] = (host.get("LogConfig") or {}).get("Type", "")
    out["logOpts"] = (host.get("LogConfig") or {}).get("Config") if state.get("logOpts") else None
    out["networkMode"] = host.get("NetworkMode", "")
    health = config.get("Healthcheck")
    if health:
        out["healthcheck"] = {"tests": health.get("Test"), "interval": go_duration(health.get("Interval", 0)),
                              "timeout": go_duration(health.get("Timeout", 0)),
                              "startPeriod": go_duration(health.get("StartPeriod", 0)),
                              "startInterval": go_duration(health.get("StartInterval", 0)),
                              "retries": health.get("Retries", 0)}
    out["tty"] = config.get("Tty", False)
    out["stdinOpen"] = config.get("OpenStdin", False)
    out["bridge"] = (inspected.get("NetworkSettings") or {}).get("Bridge", "")
    return {key: value for key, value in out.items() if value is not None}


PACKAGE = Package("docker", "pulumi_docker", [RemoteImage(), Container()])
