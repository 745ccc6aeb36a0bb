"""The lab cloud's pure parts (tests/e2e/machines): the NoCloud seed, the address plan, firewall rules and
the router's nft table, and its bridge in a throwaway namespace. The machines themselves are proven by
`python -m tests.e2e.machines.smoke`."""

from __future__ import annotations

import email
import json
import os
import shutil
import subprocess
import uuid

import pytest
from shell import shellcheck

from tests.e2e.machines import addresses, network, nft, seed, volumes
from tests.e2e.machines.firewall import Firewall, Rule, chain_lines, ipv4_set, port_range, statement
from tests.e2e.machines.state import Store


def test_meta_data_carries_the_keys_as_a_cloud_injects_them():
    meta = json.loads(seed.meta_data("101", "web-1", ["ssh-ed25519 AAAA a@b\n"]))
    assert meta == {"instance-id": "101", "local-hostname": "web-1", "public-keys": ["ssh-ed25519 AAAA a@b"]}


def test_vendor_data_is_digitaloceans_plus_the_lab_ca(tmp_path):
    pem = "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n"
    plain = seed.vendor_data("hetzner")
    assert plain.startswith("#cloud-config\n")
    assert json.loads(plain.split("\n", 1)[1]) == {"disable_root": False, "manage_etc_hosts": True}
    message = email.message_from_string(seed.vendor_data("digitalocean", pem))
    config, hook = (part for part in message.walk() if not part.is_multipart())
    assert config.get_content_type() == "text/cloud-config" and config.get_payload() == plain
    assert hook.get_content_type() == "text/cloud-boothook"
    # The boothook, run twice as two boots would, against paths of this test's own.
    bundle, local = tmp_path / "bundle.crt", tmp_path / "local" / "berth-lab.crt"
    bundle.write_text("EXISTING\n")
    script = hook.get_payload().replace(seed.CA_BUNDLE, str(bundle)).replace(seed.CA_FILE, str(local))
    for _ in range(2):
        subprocess.run(["sh", "-c", script.split("\n", 1)[1]], check=True)
    assert local.read_text() == pem and bundle.read_text() == "EXISTING\n" + pem
    assert shellcheck({"boothook": hook.get_payload().split("\n", 1)[1]}, tmp_path) == ""
    with pytest.raises(ValueError):
        seed.vendor_data("aws")


def test_network_config_is_static_by_mac():
    config = json.loads(seed.network_config("52:54:0a:f1:00:0a", "10.241.0.10", 24, "10.241.0.1", "10.241.0.1"))
    eth0 = config["ethernets"]["eth0"]
    assert config["version"] == 2 and eth0["match"] == {"macaddress": "52:54:0a:f1:00:0a"}
    assert eth0["addresses"] == ["10.241.0.10/24"] and eth0["routes"] == [{"to": "0.0.0.0/0", "via": "10.241.0.1"}]


def test_address_plan_keeps_standalone_addresses_apart():
    plan = addresses.plan("10.233.0.0/24")
    assert plan.gateway == "10.233.0.1"
    assert plan.machines[0] == "10.233.0.10" and plan.machines[-1] == "10.233.0.191"
    assert plan.standalone[0] == "10.233.0.192" and plan.standalone[-1] == "10.233.0.254"
    assert addresses.first_free(plan.machines, {"10.233.0.10", "10.233.0.12"}) == "10.233.0.11"
    assert addresses.mac_for("10.233.0.10") == "52:54:0a:e9:00:0a"
    with pytest.raises(RuntimeError, match="in use"):
        addresses.first_free(("10.0.0.1",), {"10.0.0.1"})
    with pytest.raises(ValueError):
        addresses.plan("10.0.0.0/28")


def _link_address(ns: str, link: str) -> str:
    return json.loads(subprocess.run(["ip", "-n", ns, "-j", "link", "show", link], capture_output=True, text=True,
                                     check=True).stdout)[0]["address"]


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None, reason="needs root and iproute2")
def test_the_gateways_mac_stays_as_machines_come_and_go():
    """A machine created or deleted must not change the gateway's MAC under the others (their ARP entries would
    point at a MAC nobody answers to): the bridge's address is set, so the kernel never swaps in a port's."""
    settings = network.NetworkSettings(netns=f"berth-test-{uuid.uuid4().hex[:8]}", bridge="cloud0")
    subprocess.run(["ip", "netns", "add", settings.netns], check=True)
    try:
        network.add_bridge(settings)
        gateway = addresses.mac_for(settings.gateway)
        assert _link_address(settings.netns, settings.bridge) == gateway
        for tap in ("vm101", "vm102"):
            network.add_tap(settings, tap)
        # The lowest MAC a port can have: an unset bridge address would now be this one.
        subprocess.run(["ip", "-n", settings.netns, "link", "set", "vm101", "address", "02:00:00:00:00:01"], check=True)
        network.add_tap(settings, "vm103")
        assert _link_address(settings.netns, settings.bridge) == gateway
        network.remove_tap(settings, "vm101")
        assert _link_address(settings.netns, settings.bridge) == gateway
    finally:
        subprocess.run(["ip", "netns", "del", settings.netns], check=False)


def test_ports_and_addresses():
    assert port_range("22") == (22, 22) and port_range("8000-9000") == (8000, 9000)
    assert port_range("any") is None and port_range("1-65535") is None and port_range(None) is None
    for bad in ("0-5", "9000-8000", "http", "70000"):
        with pytest.raises(ValueError):
            port_range(bad)
    assert ipv4_set(("10.0.0.0/8", "10.1.0.0/16", "203.0.113.7", "::/0")) == ["10.0.0.0/8", "203.0.113.7"]
    assert ipv4_set(("0.0.0.0/0",)) is None and ipv4_set(("::/0",)) == []
    with pytest.raises(ValueError):
        Rule("esp", ("0.0.0.0/0",))


def test_rule_statements():
    assert statement(Rule("tcp", ("203.0.113.7/32",), "22"), "in") == "ip saddr { 203.0.113.7 } tcp dport 22 accept"
    assert statement(Rule("udp", ("0.0.0.0/0",), "1-65535"), "out", "return") == "meta l4proto udp return"
    assert statement(Rule("icmp", ("10.0.0.0/8",)), "in") == "ip saddr { 10.0.0.0/8 } ip protocol icmp accept"
    assert statement(Rule("tcp", ("0.0.0.0/0",), "8000-9000"), "out") == "tcp dport 8000-9000 accept"
    assert statement(Rule("tcp", ("::/0",), "22"), "in") is None  # IPv6 only: nothing reaches a machine


def test_outbound_defaults_differ_by_provider():
    digitalocean = Firewall("1", "digitalocean", (Rule("tcp", ("0.0.0.0/0",), "22"),), ())
    hetzner = Firewall("2", "hetzner", (Rule("tcp", ("0.0.0.0/0",), "22"),), ())
    assert chain_lines(digitalocean, "out", "10.0.0.1") == []  # no outbound rule: nothing out
    assert chain_lines(hetzner, "out", "10.0.0.1") == ["return"]  # no outbound rule: everything out
    limited = Firewall("3", "hetzner", (), (Rule("tcp", ("0.0.0.0/0",), "443"),))
    assert chain_lines(limited, "out", "10.0.0.1") == [
        "ip daddr 10.0.0.1 meta l4proto { tcp, udp } th dport 53 return", "tcp dport 443 return"]
    assert Firewall.from_dict(limited.to_dict()) == limited


LINKS = nft.Links("cloud0", "slirp0", "10.241.0.0/24", "10.241.0.1", "10.0.2.3", "op", ("192.0.2.2",))


def test_table_without_firewalls_limits_only_the_way_out():
    table = nft.render(LINKS, {"101": "10.241.0.10"}, {}, [])
    assert "vmap" not in table and "machine_" not in table
    assert 'oifname "slirp0" ip saddr 10.241.0.0/24 masquerade' in table
    assert "tcp dport { 80, 443 } return" in table and "192.0.2.2 } drop" in table
    assert 'oifname "op" drop' in table


def test_table_maps_reserved_addresses_and_guards_members():
    firewall = Firewall("501", "digitalocean", (Rule("tcp", ("10.240.0.1",), "22"),), (), ("101", "999"))
    table = nft.render(LINKS, {"101": "10.241.0.10", "102": "10.241.0.11"}, {"10.241.0.200": "10.241.0.11"},
                       [firewall])
    assert table.count("ip daddr 10.241.0.200 dnat to 10.241.0.11") == 2  # forwarded and the router's own
    assert "ip daddr vmap { 10.241.0.10 : jump machine_101_in }" in table
    assert "machine_102" not in table and "999" not in table  # unknown members are ignored
    body = table.split("chain machine_101_in {")[1].split("\n  }")[0]
    assert body.split() == "ip saddr { 10.240.0.1 } tcp dport 22 return drop".split()
    out = table.split("chain machine_101_out {")[1].split("\n  }")[0]
    assert out.split() == ["drop"]


def test_volume_devices_name_the_disk_as_the_clouds_do():
    device = volumes.device("1001", "DO", "web-1-data", 1)
    assert (device["vendor"], device["product"], device["serial"]) == ("DO", "Volume", "web-1-data")
    assert volumes.free_scsi_id({1, 2, 4}) == 3
    long_name = "production-app-web-1-data-volume-0001-with-a-long-name"  # DigitalOcean allows 64
    device = volumes.device("1002", "DO", long_name, 2)
    assert device["device_id"] == long_name and device["serial"] == long_name[:36]  # qemu's 36-character serial
    with pytest.raises(ValueError):
        volumes.check("DO", "a" * 65)
    with pytest.raises(ValueError):
        volumes.check("AWS", "x")


def test_store_needs_the_lock_and_keeps_ids(tmp_path):
    store = Store(tmp_path)
    with pytest.raises(RuntimeError):
        store.put("machine", "1", {})
    with store.locked():
        assert store.next_id("machine", start=101) == "101"
        assert store.next_id("machine", start=101) == "102"
        store.put("machine", "101", {"id": "101"})
    assert Store(tmp_path).all("machine") == [{"id": "101"}]
    with pytest.raises(ValueError):
        store.get("machine", "../x")


def test_qemu_command_line_restores_volumes_and_carries_its_marker(tmp_path):
    from pathlib import Path

    from tests.e2e.machines import vm

    paths = vm.Paths(tmp_path / "machines" / "101")
    volume = (volumes.blockdev("1001", Path("/v/1001.raw")), volumes.device("1001", "HC", "1001", 1))
    argv = vm.qemu_argv(machine_id="101", provider="hetzner", paths=paths, image=Path("/img"), memory_mib=512,
                        mac="52:54:0a:f1:00:0a", tap="vm101", volumes=[volume])
    assert argv[argv.index("-m") + 1] == "512" and "-daemonize" in argv
    assert argv[argv.index("-pidfile") + 1] == vm.marker(paths)  # what procs.alive looks for
    assert "type=1,manufacturer=Hetzner,serial=101" in argv
    blockdev = json.loads(argv[argv.index("-blockdev") + 1])
    device = json.loads(argv[argv.index("-blockdev") + 3])
    assert blockdev["file"]["filename"] == "/v/1001.raw" and device["drive"] == blockdev["node-name"]
    assert (device["vendor"], device["device_id"], device["scsi-id"]) == ("HC", "1001", 1)
