"""The `docker` package (pulumi-docker 5.2.0, which wraps kreuzwerker/terraform-provider-docker v4.5.0):
containers and images on a lab host, through the Docker Engine API over `ssh://`, as the provider does.

Each step makes the API calls the provider's Go code makes (internal/provider/resource_docker_container_funcs.go
and resource_docker_image_funcs.go at v4.5.0), and the state it returns is what the provider's Read keeps,
so the next preview diffs against what the real provider would hold: ports in the daemon's order
(`flattenContainerPorts`), health checks as Go durations, `memory_swap` as the daemon set it, `cpus`
through `nanoInt64ToDecimalString`, `log_opts` with the daemon's defaults merged in
(`containerLogOptsForState`), `image` as the container's image id. docs/compatibility.md has a row per fact.
Images and registry credentials are in dockerimage.py, Go's text for read-back values in gotypes.py, and
the API client (one per provider configuration) in dockerapi.py.
"""

from __future__ import annotations

import time
from typing import Any

from .dockerapi import ApiError, DockerApi, api, daemon_error
from .dockerimage import RemoteImage, find_image
from .gotypes import go_duration, nano_cpus_text, parse_cpus, parse_duration
from .schema import Attr, Schema, empty
from .server import Failed, Kind, Package
from .wire import UNKNOWN

CONTAINER_SOURCE = "kreuzwerker/terraform-provider-docker v4.5.0 internal/provider/resource_docker_container.go"


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
        "groupAdds": Attr(replace=True, unordered=True),  # group_add: a TypeSet, ForceNew
        "hosts": Attr(replace=True, unordered=True),  # host: a TypeSet of {host, ip}, ForceNew
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
        if inputs.get("hosts"):  # extraHostsSetToContainerExtraHosts: "host:ip"
            host["ExtraHosts"] = sorted(f"{h['host']}:{h['ip']}" for h in inputs["hosts"])
        if inputs.get("groupAdds"):  # stringSetToStringSlice
            host["GroupAdd"] = sorted(inputs["groupAdds"])
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
            raise Failed(f"Unable to create container: {daemon_error(error)}") from None
        id_ = created["Id"]
        try:
            self._networks(docker, id_, inputs)
            if inputs.get("start", True):
                try:
                    docker.request("POST", f"/containers/{id_}/start")
                except ApiError as error:
                    raise Failed(f"Unable to start container: {daemon_error(error)}") from None
                if inputs.get("wait"):
                    self._wait_healthy(docker, id_, int(inputs.get("waitTimeout", 60)))
        except Failed as failure:  # the container exists: kept in state as planned (server.Failed says why)
            raise Failed(str(failure), partial=(id_, inputs)) from None
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
                raise Failed(f"Unable to disconnect the default network: {daemon_error(error)}") from None
        for network in networks:
            endpoint = {"Aliases": network.get("aliases") or None, "IPAMConfig": {}}
            try:
                docker.request("POST", f"/networks/{network['name']}/connect",
                               body={"Container": id_, "EndpointConfig": endpoint})
            except ApiError as error:
                raise Failed(f"Unable to connect to network '{network['name']}': {daemon_error(error)}") from None

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
            raise Failed(f"error fetching container information from Docker: {daemon_error(error)}") from None

    # -- update and delete ----------------------------------------------------------------------------

    def update(self, config, id_, olds, news):
        try:
            return self._update(config, id_, olds, news)
        except Failed as failure:  # the bridge keeps the planned state of a failed update too
            raise Failed(str(failure), partial=(id_, {**olds, **news})) from None

    def _update(self, config, id_, olds, news):
        docker = api(config)
        try:
            if news.get("mustRun") and not olds.get("mustRun") and news.get("start", True):
                try:
                    docker.request("POST", f"/containers/{id_}/start")
                except ApiError as error:
                    raise Failed(f"Unable to start container: {daemon_error(error)}") from None
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
                    raise Failed(f"Unable to update a container: {daemon_error(error)}") from None
        except ApiError as error:
            raise Failed(daemon_error(error)) from None
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
                        raise Failed(f"Error stopping container {id_}: {daemon_error(error)}") from None
            try:
                docker.request("DELETE", f"/containers/{id_}",
                               params={"v": "1" if state.get("removeVolumes", True) else "0", "force": "1"})
            except ApiError as error:
                if "No such container" not in str(error) and "is already in progress" not in str(error):
                    raise Failed(f"Error deleting container {id_}: {daemon_error(error)}") from None
        except ApiError as error:
            raise Failed(daemon_error(error)) from None


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
    # flattenExtraHosts splits each entry at every ':' and keeps the first two parts (an IPv6 address comes back cut)
    out["hosts"] = [{"host": e.split(":")[0], "ip": e.split(":")[1]} for e in host.get("ExtraHosts") or []] or None
    out["groupAdds"] = list(host.get("GroupAdd") or []) or None
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
