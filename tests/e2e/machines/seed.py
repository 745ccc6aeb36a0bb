"""The NoCloud seed: what a cloud's metadata service tells cloud-init, as an ISO labelled `cidata`.

DigitalOcean (ConfigDrive / its metadata JSON) and Hetzner (169.254.169.254/hetzner/v1) hand cloud-init
the same four things, which a NoCloud seed carries as files (cloud-init's nocloud.rst):
- meta-data: instance-id (first boot is decided by it), local-hostname, public-keys (the account's SSH
  keys; cloud-init's cc_ssh writes them for root);
- user-data: exactly the bytes the caller gives (Berth's rendered user data), or an empty file (NoCloud
  requires the file; empty means no user data);
- vendor-data: what the cloud adds. DigitalOcean's (cloud-init's test fixture DO_META_2, taken from a
  droplet) is `disable_root: false` and `manage_etc_hosts: true`; Hetzner's is not published, but its
  images let root in with the injected keys, so the lab gives it the same. The lab adds one thing: its
  CA, so the machine trusts the lab's HTTPS services (Docker's repository and registry stand-ins, S3);
- network-config: the static address (the clouds' metadata carries it too; a NoCloud seed without it
  would make cloud-init try DHCP, which the lab does not serve).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

PROVIDERS = ("digitalocean", "hetzner")


def meta_data(instance_id: str, hostname: str, public_keys: list[str]) -> str:
    """YAML, written as JSON (a YAML subset) so no key or hostname needs quoting rules."""
    return json.dumps({"instance-id": instance_id, "local-hostname": hostname,
                       "public-keys": [k.strip() for k in public_keys]}, indent=1) + "\n"


def vendor_data(provider: str, ca_certificate: str | None = None) -> str:
    if provider not in PROVIDERS:
        raise ValueError(f"provider must be one of {PROVIDERS}, not {provider!r}")
    config = "#cloud-config\n" + json.dumps({"disable_root": False, "manage_etc_hosts": True}, indent=1) + "\n"
    if not ca_certificate:
        return config
    # DigitalOcean's own vendor data is MIME multipart too (DO_META_2); a part of its own keeps the CA out of
    # the cloud-config that user data's keys override (a user data `write_files` replaces the vendor's).
    message = MIMEMultipart()
    message.attach(MIMEText(config, "cloud-config"))
    message.attach(MIMEText(trusted_ca(ca_certificate), "cloud-boothook"))
    return message.as_string()


CA_FILE = "/usr/local/share/ca-certificates/berth-lab.crt"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def trusted_ca(ca_certificate: str) -> str:
    """A boothook leaving the lab's CA as `update-ca-certificates` would, without running it: cloud-init's
    `ca_certs` does run it, in the init stage before sshd, and under TCG that shell script took 150-170 s of
    every boot (machines-note gotcha 1). The PEM goes where the script reads local CAs (a later run, an
    upgrade of ca-certificates, keeps it) and is appended to the bundle it writes, which OpenSSL, GnuTLS
    (apt), curl and Go (dockerd) read. Boothooks run in cloud-init's init stage, on every boot: once is
    enough, so it stops when the file is there."""
    pem = ca_certificate.strip() + "\n"
    return (f"#cloud-boothook\n#!/bin/sh\n[ -f {CA_FILE} ] && exit 0\nmkdir -p \"$(dirname {CA_FILE})\"\n"
            f"cat > {CA_FILE} <<'PEM'\n{pem}PEM\ncat {CA_FILE} >> {CA_BUNDLE}\n")


def network_config(mac: str, address: str, prefixlen: int, gateway: str, nameserver: str) -> str:
    """Network config v2: eth0 by MAC, the static address, the router as gateway and resolver."""
    config = {"version": 2, "ethernets": {"eth0": {
        "match": {"macaddress": mac}, "set-name": "eth0",
        "addresses": [f"{address}/{prefixlen}"],
        "routes": [{"to": "0.0.0.0/0", "via": gateway}],
        "nameservers": {"addresses": [nameserver]},
    }}}
    return json.dumps(config, indent=1) + "\n"


def write_iso(directory: Path, iso: Path, files: dict[str, str | bytes]) -> None:
    """The seed files into `directory`, then an ISO 9660 image labelled cidata (Joliet + Rock Ridge, so
    the names keep their dashes)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = directory / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    tool = shutil.which("genisoimage") or shutil.which("xorrisofs")
    if not tool:
        raise RuntimeError("lab cloud: genisoimage is missing (apt-get install genisoimage)")
    subprocess.run([tool, "-quiet", "-output", str(iso), "-volid", "cidata", "-joliet", "-rock",
                    *(str(directory / name) for name in files)], check=True, capture_output=True)
