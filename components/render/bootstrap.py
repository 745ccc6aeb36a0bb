"""The host bootstrap: one idempotent shell script that turns a fresh Ubuntu host into a Kamal host.

It runs over SSH after first boot and again whenever its text changes, never through user data, so a
change here never replaces a running server. Every step checks before it acts: the volume is formatted
only when it holds no filesystem, lines are added to fstab only once, the network is created only when
missing. The text depends on nothing but the spec, so two renders are byte-identical.
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass

from .firewall import Rule, RuleSet

DOCKER_NETWORK = "kamal"


@dataclass(frozen=True)
class BootstrapSpec:
    user: str = "root"
    docker_source: str = "docker"  # docker: Docker's apt repository; distribution: its docker.io; preinstalled
    volume_device: str | None = None  # e.g. /dev/disk/by-id/scsi-0DO_Volume_app-web-1
    mount_path: str | None = None
    swap_mb: int = 0
    authorized_keys: tuple[str, ...] = ()  # appended for `user` (existing hosts; clouds inject them)
    host_firewall: RuleSet | None = None  # ufw rules, for hosts no cloud firewall covers
    storage: tuple[str, ...] = ()  # host paths the app mounts, given to `storage_owner`
    storage_owner: str = "1000:1000"  # the uid:gid the app's image runs as


_HEADER = """\
#!/usr/bin/env bash
# Berth host bootstrap. Idempotent: safe to run again on a configured host.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

apt_install() {{
  apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "$@"
}}

# Ubuntu and Debian only: this script speaks apt, and Docker's repository has a tree for each of them.
# shellcheck disable=SC1091
. {os_release}
case "${{ID:-}}" in
  ubuntu|debian) ;;
  *) echo "berth: ${{PRETTY_NAME:-this distribution}} is not supported; Berth sets up Ubuntu and Debian hosts" >&2
     exit 1 ;;
esac
"""

_DOCKER_REPO = """\
# Docker Engine from Docker's apt repository, the tree of this distribution ($ID) and release.
if ! command -v docker >/dev/null 2>&1; then
  apt-get -o DPkg::Lock::Timeout=300 update -q
  apt_install ca-certificates curl
  install -m 0755 -d /etc/apt/keyrings
  curl -fsSL "https://download.docker.com/linux/$ID/gpg" -o /etc/apt/keyrings/docker.asc
  chmod a+r /etc/apt/keyrings/docker.asc
  echo "deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/$ID ${VERSION_CODENAME} stable" \\
    > /etc/apt/sources.list.d/docker.list
  apt-get -o DPkg::Lock::Timeout=300 update -q
  apt_install docker-ce docker-ce-cli containerd.io
fi
"""

_DOCKER_DISTRO = """\
# Docker Engine from the distribution's own package.
if ! command -v docker >/dev/null 2>&1; then
  apt-get -o DPkg::Lock::Timeout=300 update -q
  apt_install docker.io
fi
"""

_DOCKER_PREINSTALLED = """\
# Docker Engine is already on this host (berth:bootstrap.docker: preinstalled): nothing is installed.
if ! command -v docker >/dev/null 2>&1; then
  echo "berth: berth:bootstrap.docker is preinstalled, but this host has no docker command" >&2
  exit 1
fi
"""

_DOCKER_RUNNING = """\
systemctl enable --now docker
docker network inspect {network} >/dev/null 2>&1 || docker network create {network} >/dev/null
"""

_DOCKER_GROUP = """\
# The Docker provider connects as {user} and talks to the daemon without sudo.
usermod -aG docker {user}
"""

_VOLUME = """\
# Block volume: format only when blank, mount by UUID with nofail so a missing volume never blocks boot.
device={device}
mount_path={mount_path}
for _ in $(seq 1 60); do
  [ -b "$device" ] && break
  sleep 2
done
if [ ! -b "$device" ]; then
  echo "berth: volume $device is not attached" >&2
  exit 1
fi
if ! blkid -p "$device" >/dev/null 2>&1; then
  mkfs.ext4 -q -F "$device"
fi
uuid=$(blkid -s UUID -o value "$device")
mkdir -p "$mount_path"
if ! grep -q "^UUID=$uuid " /etc/fstab; then
  echo "UUID=$uuid $mount_path ext4 defaults,nofail,discard 0 2" >> /etc/fstab
fi
mountpoint -q "$mount_path" || mount "$mount_path"
"""

_STORAGE = """\
# The app's storage: Docker would create a missing host path as root, and the app ({owner}) could
# not write its SQLite files there.
"""

_SSH = """\
# SSH: keys only.
cat > /etc/ssh/sshd_config.d/10-berth.conf <<'CONF'
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
CONF
sshd -t
systemctl reload ssh 2>/dev/null || systemctl reload sshd
"""

_UPGRADES = """\
# Security updates install themselves.
if ! dpkg -s unattended-upgrades >/dev/null 2>&1; then
  apt-get -o DPkg::Lock::Timeout=300 update -q
  apt_install unattended-upgrades
fi
cat > /etc/apt/apt.conf.d/20auto-upgrades <<'CONF'
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
CONF
"""

_SWAP = """\
# Swap on small hosts, so a deploy's second container does not meet the OOM killer.
if [ ! -f /swapfile ]; then
  fallocate -l {swap_mb}M /swapfile
  chmod 600 /swapfile
  mkswap /swapfile >/dev/null
fi
swapon --show=NAME --noheadings | grep -qx /swapfile || swapon /swapfile
grep -q '^/swapfile ' /etc/fstab || echo '/swapfile none swap sw 0 0' >> /etc/fstab
"""

_KEYS = """\
# Operators' keys.
home=$(getent passwd {user} | cut -d: -f6)
install -d -m 0700 -o {user} "$home/.ssh"
touch "$home/.ssh/authorized_keys"
chmod 0600 "$home/.ssh/authorized_keys"
chown {user} "$home/.ssh/authorized_keys"
while IFS= read -r key; do
  grep -qxF "$key" "$home/.ssh/authorized_keys" || echo "$key" >> "$home/.ssh/authorized_keys"
done <<'KEYS'
{keys}
KEYS
"""

_UFW_HEAD = """\
# Host firewall (no cloud firewall covers this host). Docker publishes only 80/443, through kamal-proxy.
if ! command -v ufw >/dev/null 2>&1; then
  apt-get -o DPkg::Lock::Timeout=300 update -q
  apt_install ufw
fi
ufw --force reset >/dev/null
ufw default deny incoming
ufw default allow outgoing
"""


_DOCKER_USER = """\
# Docker forwards its published ports (kamal-proxy's 80 and 443) before ufw's INPUT rules see them, so
# the same restriction goes into DOCKER-USER, which Docker consults first and never rewrites. It lives
# in ufw's after.rules / after6.rules, so ufw restores it on every boot and reload. --ctstate DNAT
# matches only traffic to published ports, never the containers' own outbound connections. The chain is
# declared even when nothing is restricted: iptables-restore -n empties a declared chain, and ufw's stop
# leaves DOCKER-USER alone, so a lifted restriction would otherwise linger until the next boot.
cat >> /etc/ufw/{file} <<'RULES'
{rules}
RULES
"""


def _restricted(rule: Rule) -> bool:
    """A port open to some sources only (one open to the world restricts nothing)."""
    return rule.ports is not None and not any(a in ("0.0.0.0/0", "::/0") for a in rule.addresses)


def docker_user_rules(rules: RuleSet, ipv6: bool) -> str:
    """DOCKER-USER (iptables-restore syntax) allowing each restricted port only from its sources; an empty
    chain when nothing is restricted, so that loading it clears an earlier restriction."""
    lines = []
    for rule in rules.inbound:
        if not _restricted(rule):
            continue  # open to the world: nothing to restrict
        match = f"-p {rule.protocol} -m conntrack --ctstate DNAT --ctorigdstport {rule.ports} --ctdir ORIGINAL"
        lines += [f"-A DOCKER-USER {match} -s {a} -j RETURN" for a in rule.addresses if (":" in a) == ipv6]
        lines.append(f"-A DOCKER-USER {match} -j DROP")
    return "\n".join(["*filter", ":DOCKER-USER - [0:0]", *lines, "COMMIT"])


_IPV6_NEEDS_DOCKER_USER = """\
# An IPv6 {network} network (Berth and Kamal make it IPv4-only; an operator may have made it otherwise) is
# reached through ip6tables' DNAT, which only DOCKER-USER restricts. Docker 20.10 (Debian 12's docker.io)
# never jumps to DOCKER-USER for IPv6 (moby/moby#42477), so there the restriction would not hold for IPv6
# clients: stop before kamal-proxy publishes its ports. An IPv4-only network takes IPv6 clients through
# docker-proxy, where ufw's own rules apply.
if [ "$(docker network inspect {network} --format '{{{{.EnableIPv6}}}}')" = true ] \\
  && ip6tables -t nat -n -L DOCKER >/dev/null 2>&1 \\
  && ! ip6tables -C FORWARD -j DOCKER-USER 2>/dev/null; then
  echo "berth: the {network} network has IPv6, and this Docker forwards IPv6 without its DOCKER-USER chain" \\
    "(Docker 20.10), so the origin restriction would not hold for IPv6 clients. Upgrade Docker, or make the" \\
    "network IPv4-only: remove the containers on it, then docker network rm {network}; the next pulumi up" \\
    "creates it as Kamal does" >&2
  exit 1
fi
"""


def restricts(rules: RuleSet) -> bool:
    """Whether any port is open to some sources only, and so closed to the rest over IPv4 and IPv6 alike."""
    return any(_restricted(rule) for rule in rules.inbound)


def _ufw(rules: RuleSet) -> str:
    lines = [_UFW_HEAD]
    for rule in rules.inbound:
        for address in rule.addresses:
            source = "any" if address in ("0.0.0.0/0", "::/0") else address
            lines.append(f"ufw allow proto {rule.protocol} from {source} to any port {rule.ports} >/dev/null\n")
    for file, ipv6 in (("after.rules", False), ("after6.rules", True)):
        lines.append(_DOCKER_USER.format(file=file, rules=docker_user_rules(rules, ipv6)))
    lines.append("ufw --force enable >/dev/null\n")
    if restricts(rules):
        lines.append(_IPV6_NEEDS_DOCKER_USER.format(network=DOCKER_NETWORK))
    return "".join(lines)


def header(os_release: str = "/etc/os-release") -> str:
    """Strict mode, the apt helper, and the refusal of distributions the script does not speak."""
    return _HEADER.format(os_release=shlex.quote(os_release))


def bootstrap_script(spec: BootstrapSpec) -> str:
    parts = [header()]
    if spec.authorized_keys:
        parts.append(_KEYS.format(user=shlex.quote(spec.user), keys="\n".join(spec.authorized_keys)))
    parts.append(_SSH)
    parts.append({"docker": _DOCKER_REPO, "distribution": _DOCKER_DISTRO,
                  "preinstalled": _DOCKER_PREINSTALLED}[spec.docker_source])
    parts.append(_DOCKER_RUNNING.format(network=DOCKER_NETWORK))
    if spec.user != "root":
        parts.append(_DOCKER_GROUP.format(user=shlex.quote(spec.user)))
    if spec.volume_device and spec.mount_path:
        parts.append(_VOLUME.format(device=shlex.quote(spec.volume_device),
                                    mount_path=shlex.quote(spec.mount_path)))
    if spec.storage:
        owner = shlex.quote(spec.storage_owner)
        parts.append(_STORAGE.format(owner=spec.storage_owner) + "".join(
            f"install -d -m 0755 {shlex.quote(d)}\nchown {owner} {shlex.quote(d)}\n" for d in spec.storage))
    if spec.swap_mb:
        parts.append(_SWAP.format(swap_mb=int(spec.swap_mb)))
    parts.append(_UPGRADES)
    if spec.host_firewall is not None:
        parts.append(_ufw(spec.host_firewall))
    parts.append('echo "berth: host ready"\n')
    return "\n".join(parts)


def script_hash(script: str) -> str:
    return hashlib.sha256(script.encode()).hexdigest()


def command_digest(command: str, stdin: str | None) -> str:
    """What a remote command runs, as one digest: its line and its input (secrets only ever hashed)."""
    return hashlib.sha256(f"{command}\0{stdin or ''}".encode()).hexdigest()


def privileged(command: str, user: str) -> str:
    """Run as root: directly for root, through passwordless sudo for anyone else; a command line of several
    commands (`a && b`, a redirection) runs whole in a root shell, not only its first command."""
    if user == "root":
        return command
    tokens = shlex.shlex(command, posix=True, punctuation_chars=True)
    if any(token and set(token) <= set("&|;<>()") for token in tokens):
        return f"sudo -n sh -c {shlex.quote(command)}"
    return f"sudo -n {command}"
