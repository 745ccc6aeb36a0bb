"""The backend end to end on two machines, each step timed: `python -m tests.e2e.machines.smoke` (root).

Builds or reuses the image, brings up its own router namespace (devnet.py: bmdev-net, never the suite's),
boots a DigitalOcean-style and a Hetzner-style machine at once, and goes through user data, volumes under
both by-id names, a mount by UUID across a reboot and a power cycle, a reserved address moving, a firewall,
the way out to Debian's mirror and what stays closed. Everything is removed at the end, whatever happens
(`--down` removes what a killed run left). `--keep` leaves it up for a look.
"""

from __future__ import annotations

import argparse
import http.server
import subprocess
import sys
import threading
import time
from pathlib import Path

from . import devnet
from .cloud import Cloud, build_image, down
from .firewall import Rule
from .procs import sh
from .proof import Proof, tcp_open

STATE = Path("/var/tmp/bmdev-machines")
WORK = Path("/var/tmp/bmdev-smoke")
TIMEOUT = 900.0
USER_DATA = """#cloud-config
runcmd:
  - [sh, -c, 'echo "user data ran on $(hostname)" > /root/user-data-marker']
"""
PROOF = Proof("smoke", WORK)
step, check, ssh, guest_open = PROOF.step, PROOF.check, PROOF.ssh, PROOF.guest_open
NET = devnet.SMOKE


def wait_guest(address: str, command: str, what: str, timeout: float = 300, interval: float = 3) -> None:
    for _ in range(int(timeout / interval)):
        if ssh(address, command, check_rc=False).returncode == 0:
            return
        time.sleep(interval)
    raise SystemExit(f"smoke: FAILED: {what} not within {timeout:.0f}s")


def keys_and_ca() -> str:
    WORK.mkdir(parents=True, exist_ok=True)
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bmdev-smoke", "-f", str(WORK / "id_ed25519"))
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
       "-subj", "/CN=bmdev smoke CA", "-keyout", str(WORK / "ca.key"), "-out", str(WORK / "ca.pem"))
    sh("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-subj", "/CN=registry.lab.test", "-keyout", str(WORK / "leaf.key"), "-out", str(WORK / "leaf.csr"))
    sh("openssl", "x509", "-req", "-in", str(WORK / "leaf.csr"), "-CA", str(WORK / "ca.pem"), "-CAkey",
       str(WORK / "ca.key"), "-CAcreateserial", "-days", "1", "-out", str(WORK / "leaf.pem"))
    return (WORK / "ca.pem").read_text()


def teardown() -> None:
    down(STATE)
    NET.down()
    sh("rm", "-rf", str(WORK))


def run() -> None:
    with step("image (tools/machine-image.sh; cached after the first build)"):
        image = build_image()
        print(f"   {image}")
    ca = keys_and_ca()
    public_key = (WORK / "id_ed25519.pub").read_text().strip()
    with step("network: bmdev-net router, cloud bridge, dnsmasq, slirp4netns, nft"):
        settings = NET.up({"download.docker.com": "10.241.0.1"})
        cloud = Cloud.up(STATE, settings, image=image, ca_certificate=ca, memory_cap_mib=1024)

    with step("create two machines at once (db-1 by a separate process that exits: machines outlive it)"):
        web = cloud.create_machine("web-1", "digitalocean", [public_key], USER_DATA, memory_mib=2048, disk_gib=10)
        primary = cloud.allocate_address("primary").address
        child = (f"from tests.e2e.machines import Cloud; m = Cloud({str(STATE)!r}).create_machine('db-1', 'hetzner', "
                 f"[{public_key!r}], {USER_DATA!r}, memory_mib=4096, disk_gib=12, address={primary!r}); print(m.id)")
        db_id = sh(sys.executable, "-c", child, cwd=str(Path(__file__).resolve().parents[3])).stdout.strip()
        db = cloud.machine(db_id)
        check(db.status == "active" and db.address == primary, f"db-1 runs after its creator exited, on {primary}")
        for m in (web, db):
            print(f"   {m.provider} {m.name}: id {m.id}, {m.address}, memory {m.memory_mib} MiB "
                  f"(asked {m.requested_memory_mib}), disk {m.disk_gib} GiB")

    with step("both machines: qemu start to SSH as root with the injected key (two booting at once)"):
        results = PROOF.wait_ssh_all(cloud, [web.id, db.id], TIMEOUT)
        for m in (web, db):
            print(f"   {m.name}: SSH after {results[m.id]:.1f} s from qemu start")
            PROOF.timings.append((f"{m.name} boot to SSH (two at once)", results[m.id]))
    with step("cloud-init done on both"):
        for m in (web, db):
            ssh(m.address, "cloud-init status --wait >/dev/null", timeout=TIMEOUT)
            print(f"   {m.name}: cloud-init done {time.time() - cloud.store.require('machine', m.id)['started_at']:.1f} s "
                  "after qemu start")
    with step("user data, hostname, root key, vendor data, lab CA, lab names"):
        for m in (web, db):
            check(ssh(m.address, "cat /root/user-data-marker").stdout.strip() == f"user data ran on {m.name}",
                  f"{m.name}: the user data's runcmd ran")
            check(ssh(m.address, "hostname").stdout.strip() == m.name, f"{m.name}: hostname from meta-data")
            check(m.address in ssh(m.address, "ip -4 -o addr show eth0").stdout, f"{m.name}: {m.address} on eth0")
            check(ssh(m.address, "grep -c 'bmdev-smoke' /root/.ssh/authorized_keys").stdout.strip() == "1",
                  f"{m.name}: root's authorized_keys has the key, no refusal prefix")
        subprocess.run(["scp", "-q", "-i", str(WORK / "id_ed25519"), "-o", "StrictHostKeyChecking=no", "-o",
                        "UserKnownHostsFile=/dev/null", str(WORK / "leaf.pem"), f"root@{web.address}:/root/leaf.pem"],
                       check=True)
        check("OK" in ssh(web.address, "openssl verify -CAfile /etc/ssl/certs/ca-certificates.crt /root/leaf.pem "
                          "2>&1 || true").stdout, "web-1 trusts a certificate signed by the lab CA (boothook)")
        check(ssh(web.address, "getent hosts download.docker.com").stdout.split()[0] == "10.241.0.1",
              "download.docker.com resolves to the lab router (dnsmasq's lab names)")
        check("127.0.1.1 web-1" in ssh(web.address, "grep web-1 /etc/hosts || true").stdout.replace("\t", " ")
              or "web-1" in ssh(web.address, "cat /etc/hosts").stdout, "manage_etc_hosts wrote the name to /etc/hosts")
        check("DigitalOcean" in ssh(web.address, "cat /sys/class/dmi/id/sys_vendor").stdout,
              "web-1 says DigitalOcean in SMBIOS")

    with step("volumes: a DO one on web-1 and an HC one on db-1, hot-plugged"):
        do_volume = cloud.create_volume(2, "DO", "web-1-data-volume-with-a-name-longer-than-36")
        hc_volume = cloud.create_volume(1, "HC", "100123456")
        cloud.attach_volume(do_volume.id, web.id)
        cloud.attach_volume(hc_volume.id, db.id)
    with step("by-id paths appear in the guests"):
        wait_guest(web.address, f"test -b {do_volume.by_id}", do_volume.by_id)
        wait_guest(db.address, f"test -b {hc_volume.by_id}", hc_volume.by_id)
        print(f"   web-1: {ssh(web.address, f'readlink -f {do_volume.by_id}').stdout.strip()} = {do_volume.by_id}")
        print(f"   db-1: {ssh(db.address, f'readlink -f {hc_volume.by_id}').stdout.strip()} = {hc_volume.by_id}")
    with step("format web-1's volume, mount it by UUID from fstab, write a file"):
        ssh(web.address, f"mkfs.ext4 -q {do_volume.by_id} && mkdir -p /mnt/data && "
            f"echo \"UUID=$(blkid -s UUID -o value {do_volume.by_id}) /mnt/data ext4 defaults,nofail,discard 0 2\""
            " >> /etc/fstab && mount /mnt/data && echo kept > /mnt/data/file && sync")
    with step("reboot web-1 (ctrl-alt-del: a guest reboot) until SSH answers again"):
        boot_id = ssh(web.address, "cat /proc/sys/kernel/random/boot_id").stdout
        kernel = cloud.reboot(web.id, timeout=TIMEOUT)
        print(f"   the kernel started again after {kernel:.1f} s")
        wait_guest(web.address, "true", "SSH after the reboot", timeout=TIMEOUT)
        check(ssh(web.address, "cat /proc/sys/kernel/random/boot_id").stdout != boot_id, "a new boot")
    with step("after the reboot: the volume is mounted again with its file"):
        wait_guest(web.address, "mountpoint -q /mnt/data", "/mnt/data mounted", timeout=300)
        check(ssh(web.address, "cat /mnt/data/file").stdout.strip() == "kept", "/mnt/data/file is there")

    with step("power db-1 off (ACPI) and on again"):
        graceful = cloud.power_off(db.id, graceful=True, timeout=300)
        check(graceful and cloud.machine(db.id).status == "off", "db-1 shut down by itself and is off")
        cloud.power_on(db.id)
        print(f"   SSH again {cloud.wait_ssh(db.id, WORK / 'id_ed25519', timeout=TIMEOUT):.1f} s after qemu start")
    with step("after the power cycle: db-1 has its volume again"):
        wait_guest(db.address, f"test -b {hc_volume.by_id}", "the HC volume after power on")
        check(cloud.machine(db.id).volumes == (hc_volume.id,), "the record still attaches it")

    with step("detach the HC volume from db-1 and attach it to web-1 (a volume outlives its machine's hold)"):
        cloud.detach_volume(hc_volume.id)
        wait_guest(db.address, f"! test -e {hc_volume.by_id}", "the volume gone from db-1", timeout=60)
        cloud.attach_volume(hc_volume.id, web.id)
        wait_guest(web.address, f"test -b {hc_volume.by_id}", "the HC volume on web-1")

    with step("a reserved address on web-1, then moved to db-1"):
        reserved = cloud.allocate_address("reserved").address
        cloud.assign_address(reserved, web.id)
        check(ssh(reserved, "hostname").stdout.strip() == "web-1", f"{reserved} reaches web-1")
        cloud.assign_address(reserved, db.id)
        check(ssh(reserved, "hostname").stdout.strip() == "db-1", f"{reserved} now reaches db-1")
        check(ssh(web.address, f"timeout 10 ssh -o StrictHostKeyChecking=no -o BatchMode=yes {reserved} true 2>&1; "
                  "true").stdout.find("Permission denied") >= 0, "web-1 reaches db-1 through it too (sshd answers)")

    with step("a firewall on web-1: 22 from the lab machine only; outbound 80/443/53"):
        ssh(web.address, "systemd-run --unit smoke-http python3 -m http.server 8080 >/dev/null")
        wait_guest(web.address, "python3 -c \"import socket; socket.create_connection(('127.0.0.1', 8080), 2)\"",
                   "the test web server on web-1")
        check(tcp_open(web.address, 8080), "before: port 8080 open from the lab machine")
        check(tcp_open(web.address, 22, netns=NET.netns), "before: port 22 open from the router (10.241.0.1)")
        firewall = cloud.create_firewall(
            "digitalocean", [Rule("tcp", (f"{NET.host_address}/32", "::/0"), "22")],
            [Rule("tcp", ("0.0.0.0/0",), "80"), Rule("tcp", ("0.0.0.0/0",), "443"),
             Rule("udp", ("0.0.0.0/0",), "53"), Rule("tcp", ("0.0.0.0/0",), "53")], [web.id])
        check(tcp_open(web.address, 22), "after: 22 from the lab machine works")
        check(not tcp_open(web.address, 8080), "after: 8080 from the lab machine is dropped (no answer in 5 s)")
        check(not tcp_open(web.address, 22, netns=NET.netns), "after: 22 from another source is dropped")
        check(not guest_open(db.address, web.address, 22), "after: 22 from db-1 (machine to machine) is dropped")
        cloud.update_firewall(firewall.id, inbound=[*firewall.inbound, Rule("tcp", ("0.0.0.0/0",), "8000-8100")])
        check(tcp_open(web.address, 8080), "updated in place: 8000-8100 from anywhere, 8080 open again")
        check(guest_open(web.address, "10.241.0.1", 53), "web-1's outbound tcp 53 to the resolver is allowed")
        cloud.delete_firewall(firewall.id)
        check(tcp_open(web.address, 22, netns=NET.netns), "removed: 22 open from the router again")

    with step("apt-get update on web-1 through the lab's way out"):
        ssh(web.address, "apt-get update -q -o DPkg::Lock::Timeout=600", timeout=TIMEOUT)
    with step("what stays closed outside the lab"):
        mirror = ssh(web.address, "getent ahostsv4 deb.debian.org | awk 'NR==1{print $1}'").stdout.strip()
        check(guest_open(web.address, mirror, 80), f"{mirror}:80 (deb.debian.org) is reachable")
        check(not guest_open(web.address, mirror, 8080), f"{mirror}:8080 (not 80/443) is unreachable")
        check(not guest_open(web.address, mirror, 22), f"{mirror}:22 (not 80/443) is unreachable")
        server = http.server.ThreadingHTTPServer(("0.0.0.0", 8089), http.server.SimpleHTTPRequestHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            host = next((a for a in cloud.blocked if not a.startswith("10.")), cloud.blocked[-1])
            check(tcp_open(host, 8089), f"a service on the lab machine ({host}:8089) answers the lab machine")
            for target in (host, NET.host_address, "10.0.2.2"):
                check(not guest_open(web.address, target, 8089), f"web-1 cannot reach it at {target}:8089")
        finally:
            server.shutdown()

    with step("hard reset of db-1 until SSH answers again"):
        boot_id = ssh(db.address, "cat /proc/sys/kernel/random/boot_id").stdout
        cloud.reset(db.id)
        wait_guest(db.address, "true", "SSH after the reset", timeout=TIMEOUT)
        check(ssh(db.address, "cat /proc/sys/kernel/random/boot_id").stdout != boot_id, "a new boot")
    with step("resize db-1 to 512 MiB (hard power off, start with the new memory)"):
        cloud.resize(db.id, 512)
        cloud.wait_ssh(db.id, WORK / "id_ed25519", timeout=TIMEOUT)
        total = int(ssh(db.address, "awk '/MemTotal/{print $2}' /proc/meminfo").stdout) // 1024
        check(400 < total <= 512, f"db-1 has {total} MiB now")

    with step("delete web-1: its volumes stay, detached"):
        cloud.delete_machine(web.id)
        check(cloud.volume(do_volume.id).machine is None and cloud.volume(hc_volume.id).machine is None,
              "both volumes detached, still there")
    with step("replace db-1: delete it, create db-2 on its primary address (one machine booting alone)"):
        cloud.delete_machine(db.id)
        check([(a.kind, a.machine) for a in cloud.addresses() if a.address == primary] == [("primary", None)],
              f"{primary} is kept, unassigned")
        db2 = cloud.create_machine("db-2", "hetzner", [public_key], USER_DATA, memory_mib=1024, address=primary)
        seconds = cloud.wait_ssh(db2.id, WORK / "id_ed25519", timeout=TIMEOUT)
        print(f"   db-2: SSH after {seconds:.1f} s from qemu start (alone)")
        PROOF.timings.append(("db-2 boot to SSH (alone)", seconds))
        check(ssh(primary, "hostname").stdout.strip() == "db-2", f"{primary} is db-2's own address now")
    with step("web-1's volume moves to db-2 with its data"):
        start = time.monotonic()
        cloud.attach_volume(do_volume.id, db2.id)
        wait_guest(primary, f"test -b {do_volume.by_id}", "web-1's volume on db-2")
        print(f"   attach to by-id path in the guest: {time.monotonic() - start:.1f} s")
        check(ssh(primary, f"mount {do_volume.by_id} /mnt && cat /mnt/file").stdout.strip() == "kept",
              "web-1's file on db-2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--down", action="store_true", help="remove what a killed run left, and exit")
    parser.add_argument("--keep", action="store_true", help="leave the machines and network up")
    options = parser.parse_args()
    if options.down:
        teardown()
        return
    started = time.monotonic()
    teardown()
    try:
        run()
    finally:
        if not options.keep:
            with step("down(): every machine, disk, tap, rule, process and the namespace"):
                teardown()
                check(not Path(f"/run/netns/{NET.netns}").exists() and not STATE.exists(), "nothing left")
    PROOF.report(started)


if __name__ == "__main__":
    main()
