"""The throwaway lab: test hosts, a router with the registry and S3, and two internet clients.

Every piece lives in a network namespace the suite makes (`be2e-*`), and nothing routes beyond them:

    machine (the operator, the suite, Kamal)  10.230.0.1 / fd00:be2e:ff::1
        │ veth
    be2e-net: router; registry :5000 and S3 :9000 on 10.231.0.1 (TLS from the run's CA)
        ├── bridge 10.231.0.0/24, fd00:be2e::/64 ── be2e-host1 (.2), be2e-host2 (.3)
        ├── be2e-allowed 10.232.1.2, fd00:be2e:1::2   (inside the ranges an origin scenario allows)
        └── be2e-denied  10.232.2.2, fd00:be2e:2::2   (outside them)

A test host is reached exactly as an existing server is: over SSH at its address. It runs its own
dockerd and sshd in its own mount namespace, where /etc, /root, /home, /mnt, /var/lib/berth,
/var/lib/docker, /run and /tmp are private copies under RUN_DIR, so what the bootstrap writes never
lands on the machine. `python -m tests.e2e.testhost down` removes what an earlier run left behind.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import engines, machines
from .engines import DockerEngine

RUN_DIR = Path(os.environ.get("BERTH_E2E_RUN_DIR", "/var/tmp/berth-e2e"))
PREFIX = "be2e"
CLOUD_DIR = "cloud"  # the machine tier's lab cloud (tests/e2e/cloudlab.py), under RUN_DIR
NET_NS = f"{PREFIX}-net"
OPERATOR_IPV4, OPERATOR_IPV6 = "10.230.0.1", "fd00:be2e:ff::1"
ROUTER_IPV4, ROUTER_IPV6 = "10.231.0.1", "fd00:be2e::1"
REGISTRY = f"{ROUTER_IPV4}:5000"
S3_ENDPOINT = f"https://{ROUTER_IPV4}:9000"


@dataclass(frozen=True)
class Client:
    """A machine on the internet, in its own namespace behind the router."""

    netns: str
    ipv4: str
    ipv6: str
    gateway4: str
    gateway6: str

    @property
    def prefix4(self) -> str:
        return self.ipv4.rsplit(".", 1)[0] + ".0/24"

    @property
    def prefix6(self) -> str:
        return self.ipv6.rsplit(":", 1)[0] + ":/64"


ALLOWED = Client(f"{PREFIX}-allowed", "10.232.1.2", "fd00:be2e:1::2", "10.232.1.1", "fd00:be2e:1::1")
DENIED = Client(f"{PREFIX}-denied", "10.232.2.2", "fd00:be2e:2::2", "10.232.2.1", "fd00:be2e:2::1")
CLIENTS = (ALLOWED, DENIED)

# The hosts have no systemd; the bootstrap's `systemctl` calls reach these services instead.
SYSTEMCTL = """#!/bin/sh
# Test host stand-in for systemctl: it knows docker and ssh, and refuses anything else.
case "$*" in
  "enable --now docker"|"start docker"|"restart docker"|"is-active --quiet docker") exec docker info >/dev/null ;;
  "reload ssh"|"reload sshd"|"restart ssh"|"restart sshd") exec kill -HUP "$(cat /run/sshd.pid)" ;;
  "daemon-reload") exit 0 ;;
  *) echo "test host: systemctl $* is not available here" >&2; exit 1 ;;
esac
"""

SSHD_CONFIG = """# The test host's sshd: Debian's defaults, plus what the run needs.
Include /etc/ssh/sshd_config.d/*.conf
ListenAddress {ipv4}
ListenAddress {ipv6}
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
KbdInteractiveAuthentication no
UsePAM no
AcceptEnv LANG LC_*
Subsystem sftp internal-sftp
"""

INIT = """#!/usr/bin/env bash
# Runs inside the host's network namespace and a fresh mount namespace; its children are the host.
set -euo pipefail
rootfs={rootfs}
hostname {hostname}
for d in etc root home mnt; do mount --bind "$rootfs/$d" "/$d"; done
mount --bind "$rootfs/var-lib-berth" /var/lib/berth
mount --bind "$rootfs/docker" /var/lib/docker
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /usr/local/sbin
install -m 0755 "$rootfs/systemctl" /usr/local/sbin/systemctl
mount -t tmpfs -o mode=0755 tmpfs /usr/local/bin
{engine_links}
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
install -d -m 0755 /run/sshd
{dockerd} >>{log}/dockerd.log 2>&1 &
echo $$ > "$rootfs/init.pid"
sleep {sshd_delay}
/usr/sbin/sshd -D -e >{log}/sshd.log 2>&1 &
wait
"""

# The host's dockerd, as its init starts it and as a restart starts it again (the engine's, found on the
# host's PATH); `flags` are a host's own daemon options (default log options, IPv6), as
# /etc/docker/daemon.json would give them.
HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DOCKERD = (f"env PATH={HOST_PATH} dockerd --data-root /var/lib/docker --exec-root /run/docker "
           "--pidfile /run/docker.pid -H unix:///run/docker.sock")


def sh(*argv: str, check: bool = True, capture: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(list(argv), **{"text": True, "capture_output": capture, "check": False, **kwargs})
    if check and result.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} failed ({result.returncode}): {result.stderr or result.stdout}")
    return result


def in_ns(netns: str, *argv: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """A command in a namespace the suite made (nsenter keeps /sys, unlike `ip netns exec`)."""
    return sh("nsenter", f"--net=/var/run/netns/{netns}", *argv, check=check, **kwargs)


def wait_for(what: str, probe, attempts: int = 60, delay: float = 0.5) -> None:
    """A bounded wait: `attempts` probes `delay` apart, then a clear failure."""
    for _ in range(attempts):
        if probe():
            return
        time.sleep(delay)
    raise RuntimeError(f"test lab: {what} did not come up within {attempts * delay:.0f}s; see {RUN_DIR}/log")


def veth(near_ns: str | None, near: str, far_ns: str, far: str) -> None:
    """A veth pair made directly inside its namespaces (names like eth0 exist on the machine too)."""
    sh("ip", "link", "add", near, *(["netns", near_ns] if near_ns else []), "type", "veth",
       "peer", "name", far, "netns", far_ns)


def addresses(netns: str | None, dev: str, *cidrs: str) -> None:
    run = (lambda *a: in_ns(netns, *a)) if netns else (lambda *a: sh(*a))
    for cidr in cidrs:
        run("ip", *(["-6"] if ":" in cidr else []), "addr", "add", cidr, "dev", dev,
            *(["nodad"] if ":" in cidr else []))
    run("ip", "link", "set", dev, "up")


class TestHost:
    """One server of the lab: `be2e-host<n>` at 10.231.0.<n+1>. `dockerd_flags` are its daemon's own
    options; `sshd_delay` seconds pass after boot before its sshd listens, as on a cloud server whose
    custom SSH port opens late in cloud-init."""

    def __init__(self, lab: "Lab", number: int, dockerd_flags: tuple[str, ...] = (), sshd_delay: int = 0):
        self.dockerd_flags = dockerd_flags
        self.sshd_delay = sshd_delay
        self.lab = lab
        self.number = number
        self.name = f"host{number}"
        self.netns = f"{PREFIX}-host{number}"
        self.address = f"10.231.0.{number + 1}"
        self.ipv6 = f"fd00:be2e::{number + 1}"
        self.rootfs = lab.run / self.name

    def start(self) -> None:
        root = self.rootfs
        for sub in ("root/.ssh", "home", "mnt", "var-lib-berth", "docker"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        sh("cp", "-a", "/etc", str(root / "etc"))
        etc = root / "etc"
        for stale in [*(etc / "ssh").glob("ssh_host_*"), *(etc / "ssh" / "sshd_config.d").glob("*")]:
            stale.unlink()
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(etc / "ssh" / "ssh_host_ed25519_key"))
        (etc / "ssh" / "sshd_config").write_text(SSHD_CONFIG.format(ipv4=self.address, ipv6=self.ipv6))
        (etc / "hostname").write_text(f"berth-e2e-{self.name}\n")
        # The host's own name resolves, as Debian's installer and cloud-init (manage_etc_hosts) write it: sudo
        # looks it up, and the lab has no DNS to ask (each `sudo` waited out the resolver's 10 s).
        with (etc / "hosts").open("a") as hosts:
            hosts.write(f"127.0.1.1 berth-e2e-{self.name}\n")
        # The registry's certificate is signed by the run's CA: trusted the way a private registry is.
        trust = etc / "docker" / "certs.d" / REGISTRY
        trust.mkdir(parents=True)
        shutil.copy(self.lab.ca_cert, trust / "ca.crt")
        (root / "root").chmod(0o700)
        authorized = root / "root" / ".ssh" / "authorized_keys"
        authorized.write_text(self.lab.public_key + "\n")
        authorized.chmod(0o600)
        (root / "systemctl").write_text(SYSTEMCTL)

        sh("ip", "netns", "add", self.netns)
        veth(self.netns, "eth0", NET_NS, f"{PREFIX}-{self.name}")
        in_ns(NET_NS, "ip", "link", "set", f"{PREFIX}-{self.name}", "master", "br0", "up")
        addresses(self.netns, "eth0", f"{self.address}/24", f"{self.ipv6}/64")
        addresses(self.netns, "lo")
        in_ns(self.netns, "ip", "route", "add", "default", "via", ROUTER_IPV4)
        in_ns(self.netns, "ip", "-6", "route", "add", "default", "via", ROUTER_IPV6)

        init = root / "init.sh"
        init.write_text(INIT.format(rootfs=shlex.quote(str(root)), hostname=f"berth-e2e-{self.name}",
                                    log=shlex.quote(str(self.lab.log / self.name)), dockerd=self.dockerd,
                                    sshd_delay=int(self.sshd_delay), engine_links=self._engine_links()))
        init.chmod(0o755)
        (self.lab.log / self.name).mkdir(parents=True)
        for mount_point in ("/var/lib/berth", "/var/lib/docker"):  # empty on the machine; private in the host
            Path(mount_point).mkdir(parents=True, exist_ok=True)
        with (self.lab.log / self.name / "init.log").open("w") as log:
            subprocess.Popen(["nsenter", f"--net=/var/run/netns/{self.netns}", "unshare", "--mount", "--uts",
                              "--propagation", "private", str(init)], stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)

    @property
    def dockerd(self) -> str:
        return " ".join([DOCKERD, *map(shlex.quote, self.dockerd_flags)])

    def _engine_links(self) -> str:
        """The lab's Docker Engine on the host's PATH, ahead of Debian's docker.io (engines.py)."""
        return "\n".join(f"ln -s {shlex.quote(target)} /usr/local/bin/{name}"
                         for name, target in self.lab.engine.host_links().items())

    def wait(self, sshd: bool = True) -> None:
        wait_for(f"{self.name} init", lambda: (self.rootfs / "init.pid").exists())
        wait_for(f"{self.name} dockerd", lambda: self.docker("info", check=False).returncode == 0)
        running = self.docker("version", "--format", "{{.Server.Version}}").stdout.strip()
        expected = self.lab.engine.versions["daemon"]
        if not running.startswith(expected.split("+")[0]):
            raise RuntimeError(f"test lab: {self.name} runs Docker {running}, not the lab's {expected}")
        if sshd:  # whatever the operator's known_hosts says of this address (a rebuilt host has a new key)
            probe = ["ssh", "-F", "/dev/null", "-i", str(self.lab.key), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                     "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                     "-o", "ConnectTimeout=3", f"root@{self.address}", "true"]
            wait_for(f"{self.name} sshd", lambda: sh(*probe, check=False).returncode == 0,
                     attempts=60 + 2 * int(self.sshd_delay))

    def rebuild(self) -> None:
        """The server reinstalled behind the same address: its processes stopped, its disks and host keys gone,
        a fresh one started (new host key, empty Docker, nothing Berth set up)."""
        _stop_docker(self.rootfs / "init.pid")
        for pid in _pids(self.netns):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_for(f"{self.name} to stop", lambda: not _pids(self.netns), attempts=40)
        sh("ip", "netns", "del", self.netns)
        shutil.rmtree(self.rootfs)
        shutil.rmtree(self.lab.log / self.name, ignore_errors=True)
        self.start()
        self.wait()

    def restart_docker(self) -> None:
        """The host's reboot, as far as its containers can tell: dockerd stops (stopping every container),
        then starts again with the same options; nothing else is done for them."""
        pid_file = self.path("/run/docker.pid")
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGTERM)
        wait_for(f"{self.name} dockerd to stop", lambda: not Path(f"/proc/{pid}").exists(), attempts=120)
        log = shlex.quote(str(self.lab.log / self.name / "dockerd.log"))
        subprocess.Popen(["nsenter", f"--target={self.init_pid}", "--net", "--mount", "--uts", "sh", "-c",
                          f"exec {self.dockerd} >>{log} 2>&1"], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(f"{self.name} dockerd", lambda: self.docker("info", check=False).returncode == 0)

    @property
    def init_pid(self) -> int:
        return int((self.rootfs / "init.pid").read_text())

    @property
    def docker_socket(self) -> str:
        """The host's dockerd, seen from the machine through the host's mount namespace."""
        return f"unix:///proc/{self.init_pid}/root/run/docker.sock"

    def docker(self, *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        """The host's docker, for the suite's own setup and assertions (Berth goes over SSH)."""
        return sh(self.lab.engine.cli, "-H", self.docker_socket, *args, check=check, **kwargs)

    def ssh(self, command: str, check: bool = True, user: str = "root", **kwargs) -> subprocess.CompletedProcess:
        """A root shell on the host, for assertions."""
        return sh(*self.lab.ssh_argv(user, self.address), command, check=check, **kwargs)

    def in_host(self, *argv: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        """A command in the host's namespaces, as on its console."""
        return sh("nsenter", f"--target={self.init_pid}", "--net", "--mount", "--uts", *argv, check=check, **kwargs)

    def path(self, host_path: str) -> Path:
        """A host path, as the machine sees it through the host's mount namespace."""
        return Path(f"/proc/{self.init_pid}/root{host_path}")


class Lab:
    """Start with `up(hosts=N)`, stop with `down()`; everything it made is named be2e-* or lives in RUN_DIR."""

    operator_ipv4 = OPERATOR_IPV4
    registry = REGISTRY
    s3_endpoint = S3_ENDPOINT

    def __init__(self, run_dir: Path = RUN_DIR, engine: DockerEngine | None = None):
        self.engine = engine or engines.selected()
        self.run = run_dir
        self.log = run_dir / "log"
        self.key = run_dir / "id_ed25519"
        self.ca_cert = run_dir / "ca.pem"
        self.ca_key = run_dir / "ca.key"
        self.hosts: list[TestHost] = []
        self.services: dict[str, list[str]] = {}
        self._processes: dict[str, subprocess.Popen] = {}

    def up(self, hosts: int, services=None) -> "Lab":
        """`services(lab)`: name -> argv, each run in the router's namespace (the registry, S3)."""
        down(self.run)
        self.run.mkdir(parents=True)
        self.log.mkdir()
        self._keys()
        self._network()
        self.services = services(self) if services else {}
        for name in self.services:
            self.start_service(name)
        for _ in range(hosts):
            self.add_host(wait=False)
        for host in self.hosts:
            host.wait()
        return self

    def add_host(self, wait: bool = True, **options) -> TestHost:
        """A fresh server (empty disks, nothing installed but what a cloud image has); `options` as TestHost's."""
        host = TestHost(self, len(self.hosts) + 1, **options)
        self.hosts.append(host)
        host.start()
        if wait:
            host.wait(sshd=not host.sshd_delay)
        return host

    def start_service(self, name: str) -> None:
        log = (self.log / f"{name}.log").open("a")
        process = subprocess.Popen(["nsenter", f"--net=/var/run/netns/{NET_NS}", *self.services[name]], stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True, cwd=self.run)
        self._processes[name] = process

    def stop_service(self, name: str) -> None:
        process = self._processes.pop(name)
        process.terminate()
        process.wait(timeout=10)

    def _keys(self) -> None:
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "berth-e2e", "-f", str(self.key))
        sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-days", "2", "-subj", "/CN=berth-e2e CA", "-keyout", str(self.ca_key), "-out", str(self.ca_cert))
        (self.run / "known_hosts").touch()
        ssh_config = self.run / "ssh_config"
        ssh_config.write_text(f"Host *\n  UserKnownHostsFile {self.run}/known_hosts\n  LogLevel ERROR\n"
                              "  ServerAliveInterval 5\n  ConnectTimeout 10\n")
        # OpenSSH finds ~/.ssh through the password database, not $HOME: the run's SSH clients (the
        # docker CLI's ssh:// helper, Kamal) get the run's client configuration through this wrapper.
        (self.run / "bin").mkdir()
        wrapper = self.run / "bin" / "ssh"
        wrapper.write_text(f"#!/bin/sh\nexec /usr/bin/ssh -F {shlex.quote(str(ssh_config))} \"$@\"\n")
        wrapper.chmod(0o755)

    def certificate(self, name: str, *sans: str) -> tuple[Path, Path]:
        """A server certificate signed by the run's CA (registry, S3, a custom-certificate proxy)."""
        key, csr, cert = (self.run / f"{name}{suffix}" for suffix in (".key", ".csr", ".pem"))
        sh("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-subj", f"/CN={sans[0]}", "-keyout", str(key), "-out", str(csr))
        extensions = self.run / f"{name}.ext"
        extensions.write_text("subjectAltName=" + ",".join(
            f"IP:{s}" if s.replace(".", "").isdigit() or ":" in s else f"DNS:{s}" for s in sans) + "\n")
        sh("openssl", "x509", "-req", "-in", str(csr), "-CA", str(self.ca_cert), "-CAkey", str(self.ca_key),
           "-CAcreateserial", "-days", "2", "-extfile", str(extensions), "-out", str(cert))
        return cert, key

    def _network(self) -> None:
        sh("ip", "netns", "add", NET_NS)
        in_ns(NET_NS, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
        addresses(NET_NS, "lo")
        in_ns(NET_NS, "ip", "link", "add", "br0", "type", "bridge")
        addresses(NET_NS, "br0", f"{ROUTER_IPV4}/24", f"{ROUTER_IPV6}/64")
        veth(None, f"{PREFIX}-op", NET_NS, "op")
        addresses(None, f"{PREFIX}-op", f"{OPERATOR_IPV4}/30", f"{OPERATOR_IPV6}/64")
        addresses(NET_NS, "op", "10.230.0.2/30", "fd00:be2e:ff::2/64")
        for prefix in ("10.231.0.0/24", "10.232.0.0/16"):
            sh("ip", "route", "add", prefix, "via", "10.230.0.2")
        for prefix in ("fd00:be2e::/64", "fd00:be2e:1::/64", "fd00:be2e:2::/64"):
            sh("ip", "-6", "route", "add", prefix, "via", "fd00:be2e:ff::2")
        for client in CLIENTS:
            tag = client.netns.rsplit("-", 1)[1]
            sh("ip", "netns", "add", client.netns)
            veth(client.netns, "eth0", NET_NS, tag)
            addresses(client.netns, "eth0", f"{client.ipv4}/24", f"{client.ipv6}/64")
            addresses(client.netns, "lo")
            addresses(NET_NS, tag, f"{client.gateway4}/24", f"{client.gateway6}/64")
            in_ns(client.netns, "ip", "route", "add", "default", "via", client.gateway4)
            in_ns(client.netns, "ip", "-6", "route", "add", "default", "via", client.gateway6)

    # --- access ----------------------------------------------------------------------------------

    @property
    def public_key(self) -> str:
        return Path(f"{self.key}.pub").read_text().strip()

    @property
    def private_key(self) -> str:
        return self.key.read_text()

    def ssh_argv(self, user: str, address: str) -> list[str]:
        return ["ssh", "-F", str(self.run / "ssh_config"), "-i", str(self.key), "-o", "IdentitiesOnly=yes",
                "-o", "StrictHostKeyChecking=accept-new", f"{user}@{address}"]

    @property
    def client_env(self) -> dict[str, str]:
        """Environment for the run's SSH clients (the docker CLI's ssh:// helper, Kamal)."""
        return {**os.environ, "PATH": f"{self.run}/bin:{os.environ['PATH']}"}


def _pids(netns: str) -> list[int]:
    result = sh("ip", "netns", "pids", netns, check=False)
    return [int(p) for p in result.stdout.split()] if result.returncode == 0 else []


def _namespaces() -> list[str]:
    listing = sh("ip", "netns", "list", check=False).stdout
    return [line.split()[0] for line in listing.splitlines() if line.startswith(f"{PREFIX}-")]


def _stop_docker(*inits: Path) -> None:
    """A clean stop of hosts' dockerd, which unmounts the containers' layers; quiet where it is gone. All
    at once: each daemon gives its containers their stop timeouts, which would otherwise add up."""
    pid_files = []
    for init in inits:
        try:
            docker_pid = Path(f"/proc/{int(init.read_text())}/root/run/docker.pid")
            os.kill(int(docker_pid.read_text()), signal.SIGTERM)
            pid_files.append(docker_pid)
        except (OSError, ValueError):
            pass
    for _ in range(60):
        if not any(f.exists() for f in pid_files):
            break
        time.sleep(0.25)


def down(run_dir: Path = RUN_DIR) -> None:
    """Stop and remove everything a run made; safe to call when nothing is there. The machine tier's cloud
    goes first: its slirp4netns lives in the host's namespace and would outlive the lab's."""
    if (run_dir / CLOUD_DIR).exists():
        machines.down(run_dir / CLOUD_DIR)
    _stop_docker(*run_dir.glob("host*/init.pid"))
    namespaces = _namespaces()
    for netns in namespaces:
        for pid in _pids(netns):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for _ in range(40):
        if not any(_pids(netns) for netns in namespaces):
            break
        time.sleep(0.25)
    for netns in namespaces:
        sh("ip", "netns", "del", netns, check=False)
    for line in sh("ip", "-o", "link", "show", check=False).stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name.startswith(f"{PREFIX}-"):
            sh("ip", "link", "del", name, check=False)
    if run_dir.exists():
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["down"]:
        down()
    else:
        sys.exit("usage: python -m tests.e2e.testhost down")
