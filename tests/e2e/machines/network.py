"""The cloud's network inside the lab's router namespace: a bridge for the machines, a resolver, and a
narrow way out to Debian's mirror.

    lab machine (the operator) ── veth ── router namespace (the caller's: be2e-net in the suite)
                                            ├── bridge `cloud0`, gateway .1 of the cloud subnet, one tap per
                                            │     machine; ports isolated, the router answers ARP for the
                                            │     whole subnet (proxy_arp_pvlan), so every packet between
                                            │     machines is routed by the router and meets the firewalls
                                            ├── dnsmasq on the gateway: the lab's names, the rest forwarded
                                            │     to slirp's resolver
                                            └── `slirp0`: slirp4netns, the way out; used only by the cloud
                                                  subnet (a routing rule, no default route in the router's
                                                  main table), NAT for the cloud subnet only, and nft lets
                                                  machines reach only TCP 80/443 and DNS there

Outbound connections become ordinary sockets of the slirp4netns process on this machine, so the host's
forwarding and firewall are never touched. All of it lives in the router namespace except slirp4netns's
process and, when asked (`host_route_via`), one route on the lab machine to the cloud subnet.
"""

from __future__ import annotations

import contextlib
import ipaddress
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import nft
from .addresses import mac_for, plan
from .procs import alive, in_ns, kill, read_pid, sh

RULE_PRIORITY = 2330  # two policy rules at this priority and the next: the cloud subnet's way out


@dataclass(frozen=True)
class NetworkSettings:
    """netns: the router namespace (it must exist; it is the caller's and is never deleted).
    subnet: the cloud subnet; its first address is the gateway on the bridge.
    operator: the router's link towards the lab machine; machines never open connections through it.
    host_route_via: if set, a route on the lab machine to `subnet` via this router address.
    lab_names: name -> IPv4 address answered by the resolver (e.g. download.docker.com -> the router).
    outside_cidr: slirp4netns's network (gateway .2, DNS .3, the router's end .100).
    """

    netns: str
    subnet: str = "10.233.0.0/24"
    operator: str | None = None
    host_route_via: str | None = None
    lab_names: dict[str, str] = field(default_factory=dict)
    bridge: str = "cloud0"
    outside: str = "slirp0"
    outside_cidr: str = "10.0.2.0/24"
    route_table: int = 2330

    @property
    def gateway(self) -> str:
        return plan(self.subnet).gateway

    @property
    def outside_hosts(self) -> tuple[str, str, str]:
        """(slirp's gateway, slirp's DNS, the router's address on slirp0)."""
        net = ipaddress.IPv4Network(self.outside_cidr)
        return str(net[2]), str(net[3]), str(net[100])

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: dict) -> NetworkSettings:
        return cls(**value)


def links(settings: NetworkSettings, blocked: tuple[str, ...] = ()) -> nft.Links:
    return nft.Links(bridge=settings.bridge, outside=settings.outside, subnet=settings.subnet,
                     gateway=settings.gateway, outside_dns=settings.outside_hosts[1], operator=settings.operator,
                     blocked=blocked)


def host_addresses() -> tuple[str, ...]:
    """The lab machine's own global IPv4 addresses: never reachable from a machine through slirp."""
    out = sh("ip", "-4", "-o", "addr", "show", "scope", "global").stdout
    return tuple(sorted({line.split()[3].split("/")[0] for line in out.splitlines()}))


def up(settings: NetworkSettings, run_dir: Path) -> tuple[str, ...]:
    """Bring the cloud network up in the router namespace; returns the outside addresses it blocks."""
    ns = settings.netns
    if not Path(f"/run/netns/{ns}").exists():
        raise RuntimeError(f"lab cloud: the router namespace {ns} does not exist (the caller makes it)")
    network = plan(settings.subnet)
    run_dir.mkdir(parents=True, exist_ok=True)
    # Inside the router namespace only: it routes, and sends no ICMP redirects (machines must keep sending
    # everything to the router, or machine-to-machine traffic would bypass the firewalls).
    in_ns(ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.send_redirects=0",
          "net.ipv4.conf.default.send_redirects=0")
    in_ns(ns, "ip", "link", "set", "lo", "up")
    # Where br_netfilter is loaded (Docker loads it on the lab machine), bridged frames go through the IP
    # hooks, and a packet DNAT-ed back to the bridge it came from (machine -> reserved address -> other
    # machine) is bridged instead of routed, into the isolated port, and lost. Off in this namespace: the
    # router routes, and bridges nothing that needs filtering (namespace-wide: the lab's br0 as well).
    if in_ns(ns, "test", "-e", "/proc/sys/net/bridge/bridge-nf-call-iptables", check=False).returncode == 0:
        in_ns(ns, "sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=0", "net.bridge.bridge-nf-call-ip6tables=0",
              "net.bridge.bridge-nf-call-arptables=0")
    add_bridge(settings)
    in_ns(ns, "ip", "addr", "add", f"{network.gateway}/{network.prefixlen}", "dev", settings.bridge)
    # IPv4 only: machines get no IPv6 address, and the router offers them no link-local way around the
    # IPv4 firewall to its own services.
    in_ns(ns, "sysctl", "-q", "-w", f"net.ipv6.conf.{settings.bridge}.disable_ipv6=1")
    in_ns(ns, "sysctl", "-q", "-w", f"net.ipv4.conf.{settings.bridge}.proxy_arp=1",
          f"net.ipv4.conf.{settings.bridge}.proxy_arp_pvlan=1", f"net.ipv4.conf.{settings.bridge}.send_redirects=0")
    in_ns(ns, "ip", "link", "set", settings.bridge, "up")

    blocked = host_addresses()
    nft.apply(ns, nft.render(links(settings, blocked), {}, {}, []))
    _start_slirp(settings, run_dir)
    _start_resolver(settings, run_dir)
    if settings.host_route_via:
        sh("ip", "route", "replace", settings.subnet, "via", settings.host_route_via)
    return blocked


def _start_slirp(settings: NetworkSettings, run_dir: Path) -> None:
    ns, dev = settings.netns, settings.outside
    gateway, _dns, local = settings.outside_hosts
    log = (run_dir / "slirp4netns.log").open("a")
    process = subprocess.Popen(
        ["slirp4netns", "--mtu=1500", "--disable-host-loopback", f"--cidr={settings.outside_cidr}",
         "--netns-type=path", f"/run/netns/{ns}", dev],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    (run_dir / "slirp4netns.pid").write_text(f"{process.pid}\n")
    for _ in range(100):
        if in_ns(ns, "ip", "link", "show", dev, check=False).returncode == 0:
            break
        if process.poll() is not None:
            raise RuntimeError(f"lab cloud: slirp4netns exited; see {run_dir}/slirp4netns.log")
        time.sleep(0.1)
    else:
        raise RuntimeError(f"lab cloud: slirp4netns made no {dev} in 10 s; see {run_dir}/slirp4netns.log")
    prefix = ipaddress.IPv4Network(settings.outside_cidr).prefixlen
    in_ns(ns, "ip", "addr", "add", f"{local}/{prefix}", "dev", dev)
    in_ns(ns, "ip", "link", "set", dev, "up")
    # The cloud subnet's way out, without a default route in the router's main table: the main table first
    # (except a default route it might have), then a table whose only route is slirp's gateway.
    table = str(settings.route_table)
    in_ns(ns, "ip", "route", "replace", "default", "via", gateway, "dev", dev, "table", table)
    in_ns(ns, "ip", "rule", "add", "priority", str(RULE_PRIORITY), "from", settings.subnet, "lookup", "main",
          "suppress_prefixlength", "0")
    in_ns(ns, "ip", "rule", "add", "priority", str(RULE_PRIORITY + 1), "from", settings.subnet, "lookup", table)


def _start_resolver(settings: NetworkSettings, run_dir: Path) -> None:
    """dnsmasq on the gateway: the lab's names (exact names, IPv4) and everything else from slirp's DNS."""
    _gateway, dns, _local = settings.outside_hosts
    pid_file = run_dir / "dnsmasq.pid"
    argv = ["dnsmasq", "--conf-file=/dev/null", f"--pid-file={pid_file}", "--no-resolv", "--no-hosts",
            f"--server={dns}", f"--listen-address={settings.gateway}", "--bind-interfaces",
            f"--log-facility={run_dir / 'dnsmasq.log'}", "--cache-size=1000", "--user=root", "--group=root"]
    argv += [f"--host-record={name},{address}" for name, address in sorted(settings.lab_names.items())]
    in_ns(settings.netns, *argv)
    for _ in range(50):
        if alive(read_pid(pid_file), str(pid_file)):
            return
        time.sleep(0.1)
    raise RuntimeError(f"lab cloud: dnsmasq did not start; see {run_dir}/dnsmasq.log")


def down(settings: NetworkSettings, run_dir: Path) -> None:
    """Remove what `up` made; each step is quiet when its piece is already gone."""
    ns = settings.netns
    pid_file = run_dir / "dnsmasq.pid"
    kill(read_pid(pid_file), str(pid_file))
    kill(read_pid(run_dir / "slirp4netns.pid"), f"/run/netns/{ns} {settings.outside}")
    if settings.host_route_via:
        sh("ip", "route", "del", settings.subnet, "via", settings.host_route_via, check=False)
    if not Path(f"/run/netns/{ns}").exists():
        return
    with contextlib.suppress(RuntimeError):
        nft.remove(ns)
    for priority in (RULE_PRIORITY, RULE_PRIORITY + 1):
        in_ns(ns, "ip", "rule", "del", "priority", str(priority), check=False)
    in_ns(ns, "ip", "route", "flush", "table", str(settings.route_table), check=False)
    in_ns(ns, "ip", "link", "del", settings.outside, check=False)
    for tap in taps(settings):
        in_ns(ns, "ip", "link", "del", tap, check=False)
    in_ns(ns, "ip", "link", "del", settings.bridge, check=False)


def taps(settings: NetworkSettings) -> list[str]:
    """The machines' taps on the bridge (whatever the records say: down() must find strays too)."""
    out = in_ns(settings.netns, "ip", "-o", "link", "show", "master", settings.bridge, check=False).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line]


def add_bridge(settings: NetworkSettings) -> None:
    """The machines' bridge, with a MAC address of its own that never changes, as a cloud's gateway keeps its MAC.

    A bridge given no address takes the lowest MAC among its ports, and takes another when that port leaves
    or a lower one joins (the kernel's br_stp_recalculate_bridge_id; only an address set by hand stays). A
    machine deleted or created then changed the gateway's MAC under every other machine: their ARP entries
    for the gateway pointed at the old one until they went stale, and for that half minute or so nothing
    reached them (a destroy's `docker stop` over SSH timed out, CI of 2026-12-07)."""
    in_ns(settings.netns, "ip", "link", "add", settings.bridge, "address", mac_for(settings.gateway), "type", "bridge")


def add_tap(settings: NetworkSettings, tap: str) -> None:
    """A machine's tap on the bridge, isolated from the other machines' ports (the router routes)."""
    ns = settings.netns
    in_ns(ns, "ip", "link", "del", tap, check=False)
    in_ns(ns, "ip", "tuntap", "add", "dev", tap, "mode", "tap")
    in_ns(ns, "ip", "link", "set", tap, "master", settings.bridge)
    in_ns(ns, "bridge", "link", "set", "dev", tap, "isolated", "on")
    in_ns(ns, "sysctl", "-q", "-w", f"net.ipv6.conf.{tap}.disable_ipv6=1")
    in_ns(ns, "ip", "link", "set", tap, "up")


def remove_tap(settings: NetworkSettings, tap: str) -> None:
    in_ns(settings.netns, "ip", "link", "del", tap, check=False)
