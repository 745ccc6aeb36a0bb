"""The cloud plugins on two real machines, each step timed: `python -m tests.e2e.plugins.cloudproof` (root).

Drives the `digitalocean` and `hcloud` lab plugins' resource kinds directly (create, read, update, delete with
the inputs the engine sends for Berth's declarations), not through Pulumi, on a lab cloud of its own in its own
router namespace (`bmplug-net`, never the suite's be2e-*): a droplet and a server boot at once with Berth's
rendered user data, then volumes, a reserved and a primary IP, both providers' firewalls, a resize, a type
change and the deletes. Everything is removed at the end, whatever happens (`--down` removes what a killed run
left).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from ..machines.cloud import Cloud, build_image, down
from ..machines.devnet import CLOUDPROOF
from ..machines.procs import sh
from ..machines.proof import Proof, tcp_open
from . import labcloud, package
from .server import Config, Failed

NET = CLOUDPROOF
STATE = Path("/var/tmp/bmplug/cloud")
WORK = Path("/var/tmp/bmplug/work")
TIMEOUT = 900.0
PROOF = Proof("cloudproof", WORK)
step, check, ssh, guest_open = PROOF.step, PROOF.check, PROOF.ssh, PROOF.guest_open


def listen(address: str, port: int) -> None:
    """A TCP listener in the guest (python3 is there: cloud-init needs it)."""
    ssh(address, f"nohup python3 -m http.server {port} >/dev/null 2>&1 & "
                 f"for i in $(seq 60); do ss -ltn | grep -q ':{port} ' && exit 0; sleep 1; done; exit 1")


def teardown() -> None:
    down(STATE)
    NET.down()
    sh("rm", "-rf", str(STATE.parent))


def kinds(name: str) -> dict:
    return {k.token.split(":")[-1]: k for k in package(name).kinds}


def run() -> None:
    from components.render.cloudinit import CloudInit, HostKey
    from components.render.cloudinit import user_data as berth_user_data

    config = Config()
    do, hc = kinds("digitalocean"), kinds("hcloud")
    with step("image and network: bmplug-net router, cloud bridge, dnsmasq, slirp4netns, nft"):
        image = build_image()
        WORK.mkdir(parents=True, exist_ok=True)
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bmplug", "-f", str(WORK / "id_ed25519"))
        key = (WORK / "id_ed25519.pub").read_text().strip()
        cloud = Cloud.up(STATE, NET.up(), image=image, ca_certificate=None, memory_cap_mib=1024)
        os.environ[labcloud.ENV] = str(STATE)
        print(f"   {image}; {labcloud.ENV}={STATE}")
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(WORK / "host_ed25519"))
    host_key = HostKey((WORK / "host_ed25519").read_text(), (WORK / "host_ed25519.pub").read_text().strip())
    # What Berth renders for `ssh.user: deploy` and the host key it generated for the server.
    user_data = berth_user_data(CloudInit("deploy", 22, (key,)), host_key)

    with step("account and network resources as Berth declares them (DigitalOcean and Hetzner)"):
        do_key_id, do_key = do["SshKey"].create(config, "k", {"name": "shop-production-key", "publicKey": key})
        do["Tag"].create(config, "tag", {"name": "shop-production"})
        vpc_id, _ = do["Vpc"].create(config, "vpc", {"name": "shop-production", "region": "nyc3"})
        hc_key_id, _ = hc["SshKey"].create(config, "k", {"name": "shop-staging-key", "publicKey": key})
        ip_id, ip = hc["PrimaryIp"].create(config, "ip", {
            "name": "shop-staging-web-1-ipv4", "type": "ipv4", "location": "fsn1", "assigneeType": "server",
            "autoDelete": False, "deleteProtection": True, "labels": {"berth": "shop-staging"}})
        print(f"   DO key {do_key_id} {do_key['fingerprint']}, VPC {vpc_id}; Hetzner key {hc_key_id}, "
              f"primary IP {ip_id} = {ip['ipAddress']}")

    with step("a droplet and a server, created at once (create returns once the machine started)"):
        droplet_inputs = {"name": "shop-web-1", "image": "debian-12-x64", "size": "s-1vcpu-512mb-10gb",
                          "region": "nyc3", "vpcUuid": vpc_id, "monitoring": True, "ipv6": True,
                          "sshKeys": [do_key["fingerprint"]], "userData": user_data,
                          "tags": ["web", "shop-production"]}
        server_inputs = {"name": "shop-staging-web-1", "serverType": "cx23", "image": "debian-12",
                         "location": "fsn1", "sshKeys": [hc_key_id], "userData": user_data,
                         "labels": {"berth": "shop-staging"}, "deleteProtection": False, "rebuildProtection": False,
                         "publicNets": [{"ipv4Enabled": True, "ipv4": int(ip_id), "ipv6Enabled": True}]}
        started = time.monotonic()
        droplet_id, droplet = do["Droplet"].create(config, "shop-web-1", droplet_inputs)
        took_do = time.monotonic() - started
        server_id, server = hc["Server"].create(config, "shop-staging-web-1", server_inputs)
        took_hc = time.monotonic() - started - took_do
        for label, state, took in (("droplet", droplet, took_do), ("server", server, took_hc)):
            shown = {k: state.get(k) for k in ("ipv4Address", "ipv4AddressPrivate", "ipv6Address", "status",
                                               "memory", "vcpus", "disk", "dropletUrn", "primaryDiskSize",
                                               "userData")
                     if k in state}
            print(f"   {label} created in {took:.1f} s: {shown}")
        check(droplet["userData"] == labcloud.do_user_data_state(user_data), "droplet userData in state = sha1 hex")
        check(server["userData"] == labcloud.hcloud_user_data_state(user_data),
              "server userData in state = base64(sha1)")
        check(server["ipv4Address"] == ip["ipAddress"], "the server's address is its primary IP")
        for m in (cloud.machine(droplet_id), cloud.machine(server_id)):
            print(f"   machine {m.id} {m.provider}: {m.address}, {m.memory_mib} MiB (asked {m.requested_memory_mib})"
                  f", disk {m.disk_gib} GiB")

    with step("both boot to SSH as root with the account key (two at once)"):
        waited = PROOF.wait_ssh_all(cloud, [droplet_id, server_id], TIMEOUT)
        print(f"   droplet {waited[droplet_id]:.1f} s, server {waited[server_id]:.1f} s from qemu start")
    web, stg = droplet["ipv4Address"], server["ipv4Address"]

    with step("Berth's user data ran (user deploy with the key, sudo) on both"):
        for address in (web, stg):
            ssh(address, "cloud-init status --wait >/dev/null || true")
            check(ssh(address, "sudo -n id -un", user="deploy").stdout.strip() == "root",
                  f"{address}: deploy logs in with the key and sudoes")
            check(key.split()[1] in ssh(address, "cat /root/.ssh/authorized_keys").stdout,
                  f"{address}: root has the account key")
            scanned = subprocess.run(["ssh-keyscan", "-t", "ed25519", address], capture_output=True, text=True,
                                     timeout=60).stdout.split()
            check(scanned[-1:] == [host_key.public_openssh.split()[1]], f"{address}: its host key is the pinned one")

    with step("volumes: DigitalOcean's by name, Hetzner's by id, hot-plugged"):
        do_volume_id, do_volume = do["Volume"].create(config, "data", {
            "name": "shop-production-web-1-data-5f2c", "region": "nyc3", "size": 1,
            "description": "Berth data for shop-web-1"})
        do["VolumeAttachment"].create(config, "a", {"dropletId": int(droplet_id), "volumeId": do_volume_id})
        hc_volume_id, hc_volume = hc["Volume"].create(config, "data", {
            "name": "shop-staging-web-1-data", "size": 1, "location": "fsn1", "automount": False,
            "deleteProtection": True})
        hc_attachment, _ = hc["VolumeAttachment"].create(config, "a", {
            "serverId": int(server_id), "volumeId": int(hc_volume_id), "automount": False})
        device = "/dev/disk/by-id/scsi-0DO_Volume_shop-production-web-1-data-5f2c"
        ssh(web, f"for i in $(seq 30); do test -b {device} && break; sleep 1; done; test -b {device}")
        check(True, f"droplet sees {device}")
        ssh(stg, f"for i in $(seq 30); do test -b {hc_volume['linuxDevice']} && break; sleep 1; done; "
                 f"test -b {hc_volume['linuxDevice']}")
        check(hc_attachment == hc_volume_id, f"server sees {hc_volume['linuxDevice']} (attachment id = volume id)")
        ssh(web, f"mkfs.ext4 -q {device} && mkdir -p /mnt/d && mount {device} /mnt/d && echo kept > /mnt/d/f "
                 "&& umount /mnt/d")

    with step("a reserved IP assigned to the droplet"):
        reserved, reserved_state = do["ReservedIp"].create(config, "ip", {"region": "nyc3"})
        assignment, _ = do["ReservedIpAssignment"].create(config, "ipa", {"ipAddress": reserved,
                                                                          "dropletId": int(droplet_id)})
        check(ssh(reserved, "hostname").stdout.strip() == "shop-web-1", f"{reserved} reaches the droplet")
        read = do["ReservedIp"].read(config, reserved, reserved_state, {"region": "nyc3"})
        check("dropletId" not in read, "ReservedIp Read leaves droplet_id out (the state had none): no diff against Berth")

    with step("firewalls: DigitalOcean by tag, Hetzner by attachment"):
        listen(web, 8080)
        listen(stg, 8080)
        check(tcp_open(web, 8080) and tcp_open(stg, 8080), "before: 8080 open on both from the lab machine")
        fw_id, _ = do["Firewall"].create(config, "fw", {
            "name": "shop-production", "tags": ["shop-production"],
            "inboundRules": [{"protocol": "tcp", "portRange": "22", "sourceAddresses": [f"{NET.host_address}/32"]},
                             {"protocol": "tcp", "portRange": "8080", "sourceTags": ["shop-production"]}],
            "outboundRules": [{"protocol": "udp", "portRange": "53", "destinationAddresses": ["0.0.0.0/0"]},
                              {"protocol": "tcp", "portRange": "443", "destinationAddresses": ["0.0.0.0/0"]}]})
        hfw_id, _ = hc["Firewall"].create(config, "fw", {"name": "shop-staging", "rules": [
            {"direction": "in", "protocol": "tcp", "port": "22", "sourceIps": [f"{NET.host_address}/32"]},
            {"direction": "in", "protocol": "tcp", "port": "8080", "sourceIps": [f"{web}/32"]}]})
        hc["FirewallAttachment"].create(config, "fa", {"firewallId": int(hfw_id), "serverIds": [int(server_id)]})
        check(tcp_open(web, 22) and tcp_open(stg, 22), "22 from the lab machine: open on both")
        check(not tcp_open(web, 8080) and not tcp_open(stg, 8080), "8080 from the lab machine: dropped on both")
        check(not guest_open(stg, web, 8080), "server -> droplet 8080: dropped (the server carries no tag)")
        check(not guest_open(web, stg, 8080), "droplet -> server 8080: dropped by the droplet's outbound rules "
                                              "(DigitalOcean: only what outbound rules allow)")
        check(guest_open(stg, web, 22) is False, "server -> droplet 22: dropped (22 only from the lab machine)")
        do["Firewall"].update(config, fw_id, {}, {
            "name": "shop-production", "tags": ["shop-production"],
            "inboundRules": [{"protocol": "tcp", "portRange": "22", "sourceAddresses": [f"{NET.host_address}/32"]},
                             {"protocol": "tcp", "portRange": "8080", "sourceTags": ["shop-production"],
                              "sourceAddresses": [f"{stg}/32"]}],
            "outboundRules": [{"protocol": "udp", "portRange": "53", "destinationAddresses": ["0.0.0.0/0"]},
                              {"protocol": "tcp", "portRange": "1-65535", "destinationAddresses": ["0.0.0.0/0"]}]})
        check(guest_open(web, stg, 8080), "after an outbound rule for all tcp: droplet -> server 8080 open "
                                          "(Hetzner's inbound rule names the droplet's address)")
        check(guest_open(stg, web, 8080), "server -> droplet 8080 once the droplet's rule names the server: open "
                                          "(the Hetzner firewall has no outbound rule: everything out is allowed)")

    with step("DigitalOcean resize: power off, resize, power on (s-1vcpu-512mb-10gb -> s-1vcpu-1gb)"):
        before = int(ssh(web, "free -m | awk '/Mem:/{print $2}'").stdout)
        resized = do["Droplet"].update(config, droplet_id, droplet, {**droplet_inputs, "size": "s-1vcpu-1gb"})
        check(resized["status"] == "active" and resized["memory"] == 1024, "status active, memory 1024 after")
        back = cloud.wait_ssh(droplet_id, WORK / "id_ed25519", timeout=TIMEOUT)
        after = int(ssh(web, "free -m | awk '/Mem:/{print $2}'").stdout)
        check(after > before, f"the guest had {before} MiB, now {after} MiB (SSH {back:.1f} s after power on)")
        check(int(ssh(reserved, "test -b /dev/disk/by-id/scsi-0DO_Volume_shop-production-web-1-data-5f2c && echo 1")
                  .stdout) == 1, "the volume and the reserved IP are still there")

    with step("Hetzner type change: hard power off, change type, left off (cx23 -> cx33)"):
        changed = hc["Server"].update(config, server_id, server, {**server_inputs, "serverType": "cx33"})
        check(changed["status"] == "off" and cloud.machine(server_id).status == "off",
              "status off: the provider does not power it on again")
        check(hc["Server"].read(config, server_id, changed, server_inputs)["status"] == "off", "Read: off")
        check(not tcp_open(stg, 22, timeout=3), "the server does not answer")

    with step("protection and deletes: what outlives what"):
        try:
            hc["Volume"].delete(config, hc_volume_id, hc_volume)
            check(False, "a protected volume was deleted")
        except Failed as error:
            check(str(error).endswith("(protected)"), f"protected volume: {error}")
        do["Droplet"].delete(config, droplet_id, resized)
        check(do["Droplet"].read(config, droplet_id, resized, droplet_inputs) is None, "droplet gone: Read -> None")
        check(do["Volume"].read(config, do_volume_id, do_volume, {})["dropletIds"] == [],
              "its volume stays, detached")
        check(do["ReservedIpAssignment"].read(config, assignment, {"ipAddress": reserved,
                                                                   "dropletId": int(droplet_id)}, {}) is None,
              "its reserved IP is unassigned (the assignment leaves the state)")
        hc["Server"].delete(config, server_id, changed)
        check(hc["PrimaryIp"].read(config, ip_id, ip, {})["assigneeId"] == 0, "the primary IP stays, unassigned")
        check(hc["VolumeAttachment"].read(config, hc_attachment, {}, {}) is None, "the volume attachment is gone")

    with step("the droplet's volume on a new droplet keeps its data (one more boot)"):
        new_id, new = do["Droplet"].create(config, "shop-web-2", {**droplet_inputs, "name": "shop-web-2",
                                                                   "size": "s-1vcpu-1gb"})
        do["VolumeAttachment"].create(config, "a2", {"dropletId": int(new_id), "volumeId": do_volume_id})
        cloud.wait_ssh(new_id, WORK / "id_ed25519", timeout=TIMEOUT)
        device = "/dev/disk/by-id/scsi-0DO_Volume_shop-production-web-1-data-5f2c"
        out = ssh(new["ipv4Address"], f"mkdir -p /mnt/d && mount {device} /mnt/d && cat /mnt/d/f").stdout.strip()
        check(out == "kept", "the file written on shop-web-1 is there")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--down", action="store_true", help="remove what a killed run left, and exit")
    args = parser.parse_args()
    if args.down:
        teardown()
        return
    started = time.monotonic()
    try:
        run()
    finally:
        with step("down(): every machine, disk, tap, rule, process and the namespace"):
            teardown()
            check(not Path(f"/run/netns/{NET.netns}").exists() and not STATE.exists(), "nothing left")
        PROOF.report(started)


if __name__ == "__main__":
    sys.exit(main())
