"""The `digitalocean` package (pulumi-digitalocean 4.84.1, bundling terraform-provider-digitalocean > v2.99.1;
the code below follows v2.99.1, the nearest stored tag: notes/research-27.md section 0 and A).

Without a lab cloud (BERTH_LAB_CLOUD, labcloud.py) everything is previewed only (clouds.py). With one, what
Berth declares is real: a Droplet is a machine booted from the lab's Debian image with the user data given to
cloud-init byte for byte and the account's keys for root; a Volume is a disk file hot-plugged as
/dev/disk/by-id/scsi-0DO_Volume_<name>; a ReservedIp an address mapped to the droplet it is assigned to; a
Firewall the router's rules for the droplets its tags and ids select. Tags, VPCs, SSH keys and the DO-shaped
ids live in the plugin's records (labcloud.Records). The managed database is a real PostgreSQL server
(tests/e2e/postgres.py) when the lab provides one (BERTH_LAB_POSTGRES): DigitalOcean's ownership model, as its
docs describe it ("manage users and databases"): the admin `doadmin` owns the databases made through the API
and is no superuser; a user made through the API gets no privileges. Spaces stays preview-only.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import uuid
from dataclasses import dataclass

from . import labcloud
from .clouds import CloudKind, Lab, PreviewOnly, account_key, account_key_list, kind, ssh_keys_answer
from .labcloud import godo_error, require
from .schema import Diff, Schema
from .server import Failed, Package

ADMIN = "doadmin"
API = "https://api.digitalocean.com"


# --- sizes -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Size:
    memory: int  # MiB, as the API's `memory`
    vcpus: int
    disk: int  # GB


# The sizes components/catalog.py sells (its DIGITALOCEAN_SIZES has the prices). s-1vcpu-1gb: memory 1024,
# vcpus 1, disk 25 in godo sizes_test.go (the API's example); the others are DigitalOcean's published plans
# (Basic, Premium AMD/Intel, CPU-, general purpose and memory-optimized), which tests/test_lab_plugins.py
# holds against the catalog's memory hints and slugs. The lab gives a machine min(memory, the Cloud's cap)
# and min(disk, LAB_DISK_CAP_GIB) and reports these.
SIZES = {
    "s-1vcpu-512mb-10gb": Size(512, 1, 10),
    "s-1vcpu-1gb": Size(1024, 1, 25), "s-1vcpu-1gb-amd": Size(1024, 1, 25), "s-1vcpu-1gb-intel": Size(1024, 1, 25),
    "s-1vcpu-2gb": Size(2048, 1, 50), "s-1vcpu-2gb-amd": Size(2048, 1, 50), "s-1vcpu-2gb-intel": Size(2048, 1, 50),
    "s-2vcpu-2gb": Size(2048, 2, 60), "s-2vcpu-2gb-amd": Size(2048, 2, 60), "s-2vcpu-2gb-intel": Size(2048, 2, 60),
    "s-2vcpu-4gb": Size(4096, 2, 80), "s-2vcpu-4gb-amd": Size(4096, 2, 80), "s-2vcpu-4gb-intel": Size(4096, 2, 80),
    "s-2vcpu-8gb-amd": Size(8192, 2, 100),
    "s-4vcpu-8gb": Size(8192, 4, 160), "s-4vcpu-8gb-amd": Size(8192, 4, 160), "s-4vcpu-8gb-intel": Size(8192, 4, 160),
    "s-4vcpu-16gb-amd": Size(16384, 4, 200),
    "s-8vcpu-16gb": Size(16384, 8, 320), "s-8vcpu-16gb-amd": Size(16384, 8, 320),
    "c-2": Size(4096, 2, 25), "c-4": Size(8192, 4, 50), "c-8": Size(16384, 8, 100),
    "g-2vcpu-8gb": Size(8192, 2, 25), "g-4vcpu-16gb": Size(16384, 4, 50),
    "m-2vcpu-16gb": Size(16384, 2, 50), "m-4vcpu-32gb": Size(32768, 4, 100),
}
HOURS_A_MONTH = 672  # DigitalOcean bills hourly up to 672 hours a month (its pricing docs): price_hourly


def size(slug: str) -> Size:
    known = SIZES.get(slug.lower())
    if known is None:
        raise Failed(f"the lab's digitalocean plugin knows no size {slug!r}: add it to tests/e2e/plugins/digitalocean.py "
                     "SIZES from DigitalOcean's `GET /v2/sizes`")
    return known


def monthly_price(slug: str) -> float:
    from components.catalog import DIGITALOCEAN_SIZES  # noqa: PLC0415 - the catalog's prices, with its sources

    return DIGITALOCEAN_SIZES.get(slug.lower(), 0.0)


# --- the managed database (a real PostgreSQL server) -----------------------------------------------------------


def _server() -> dict | None:
    text = os.environ.get("BERTH_LAB_POSTGRES")
    return json.loads(text) if text else None


def _sql(statement: str, database: str = "postgres") -> str:
    """One statement as the lab server's superuser (the role DigitalOcean's API acts as)."""
    from ..postgres import server_bin

    server = _server()
    if server is None:
        raise Failed("the lab has no managed database here: it can be previewed, not created")
    conninfo = f"host={server['host']} port={server['port']} user={server['user']} dbname={database} sslmode=require"
    result = subprocess.run([str(server_bin() / "psql"), conninfo, "-v", "ON_ERROR_STOP=1", "-tAc", statement],
                            env={**os.environ, "PGPASSWORD": server["password"]}, capture_output=True, text=True,
                            timeout=60)
    if result.returncode != 0:
        raise Failed(f"the lab's database refused {statement!r}: {result.stderr.strip()}")
    return result.stdout.strip()


class Cluster(PreviewOnly):
    def create(self, config, name, inputs):
        server = _server()
        password = secrets.token_urlsafe(18)
        exists = _sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{ADMIN}'")
        verb = "ALTER" if exists else "CREATE"
        _sql(f"{verb} ROLE {ADMIN} LOGIN CREATEDB CREATEROLE PASSWORD '{password}'")
        if not _sql("SELECT 1 FROM pg_database WHERE datname = 'defaultdb'"):
            _sql(f"CREATE DATABASE defaultdb OWNER {ADMIN}")
        host, port = server["host"], server["port"]
        uri = f"postgresql://{ADMIN}:{password}@{host}:{port}/defaultdb?sslmode=require"
        id_ = str(uuid.uuid4())
        return id_, {**inputs, "host": host, "privateHost": host, "port": port, "user": ADMIN, "password": password,
                     "database": "defaultdb", "uri": uri, "privateUri": uri, "clusterUrn": f"do:dbaas:{id_}"}

    def update(self, config, id_, olds, news):
        """`region` is not ForceNew: resource_database_cluster.go Update calls `Databases.Migrate`; the lab's one
        server stays where it is."""
        return {**olds, **news}


class Database(PreviewOnly):
    def create(self, config, name, inputs):
        _sql(f'CREATE DATABASE "{inputs["name"]}" OWNER {ADMIN}')
        return f"{inputs['clusterId']}/database/{inputs['name']}", dict(inputs)

    def delete(self, config, id_, state):
        _sql(f'DROP DATABASE IF EXISTS "{state["name"]}"')


class User(PreviewOnly):
    def create(self, config, name, inputs):
        password = secrets.token_urlsafe(18)
        _sql(f'CREATE ROLE "{inputs["name"]}" LOGIN PASSWORD \'{password}\'')
        return f"{inputs['clusterId']}/user/{inputs['name']}", {**inputs, "password": password, "role": "normal"}

    def delete(self, config, id_, state):
        _sql(f'DROP ROLE IF EXISTS "{state["name"]}"')


class TrustedSources(PreviewOnly):
    def create(self, config, name, inputs):
        """resource_database_firewall.go: `id.PrefixedUniqueId(clusterID + "-")`."""
        return labcloud.prefixed_unique_id(f"{inputs['clusterId']}-"), dict(inputs)


# --- the account: SSH keys, tags, VPCs --------------------------------------------------------------------------


class SshKey(CloudKind):
    """sshkey/resource_ssh_key.go: id = the API's numeric key id; `name` updated in place; `fingerprint` from the
    API (the MD5 form); a key already in the account refused by the API."""

    provider = "digitalocean"

    def make(self, lab, name, inputs):
        public_key = inputs["publicKey"].strip()
        try:
            fingerprint = labcloud.md5_fingerprint(public_key)
        except ValueError:
            raise Failed("Error creating SSH Key: " + godo_error(
                "POST", "/v2/account/keys", 422, "Fingerprint could not be generated, please make sure your key is "
                "valid")) from None
        with lab.locked():
            if any(k["fingerprint"] == fingerprint for k in account_key_list(lab.records)):
                raise Failed("Error creating SSH Key: " + godo_error(
                    "POST", "/v2/account/keys", 422, "SSH Key is already in use on your account"))
            key_id = lab.records.next_id("sshkey", start=512189)
            record = {"id": key_id, "name": inputs.get("name", ""), "publicKey": public_key,
                      "fingerprint": fingerprint}
            lab.records.put("sshkey", key_id, record)
        return key_id, self._state(record)

    @staticmethod
    def _state(record):
        return {"name": record["name"], "publicKey": record["publicKey"], "fingerprint": record["fingerprint"]}

    def look(self, lab, id_, state, inputs):
        record = account_key(lab.records, id_)
        return None if record is None else self._state(record)

    def change(self, lab, id_, olds, news):
        with lab.locked():
            record = lab.records.get("sshkey", id_)
            require(record is not None, "Failed to update SSH key: " + godo_error(
                "PUT", f"/v2/account/keys/{id_}", 404, "The resource you were accessing could not be found."))
            record["name"] = news.get("name", record["name"])
            lab.records.put("sshkey", id_, record)
        return {**olds, **news, **self._state(record)}

    def destroy(self, lab, id_, state):
        with lab.locked():
            lab.records.delete("sshkey", id_)


class Tag(CloudKind):
    """tag/resource_tag.go: id = the name; `Tags.Create` of a tag that exists returns it; counts from the API."""

    provider = "digitalocean"

    def make(self, lab, name, inputs):
        with lab.locked():
            lab.records.put("tag", inputs["name"], {"name": inputs["name"]})
        return inputs["name"], {"name": inputs["name"], **counts(lab, inputs["name"])}

    def look(self, lab, id_, state, inputs):
        if lab.records.get("tag", id_) is None:
            return None
        return {"name": id_, **counts(lab, id_)}

    def destroy(self, lab, id_, state):
        """Deleting a tag untags what carries it (the API's `DELETE /v2/tags/<name>`)."""
        with lab.locked():
            lab.records.delete("tag", id_)
            for droplet in lab.records.all("droplet"):
                if id_ in droplet["tags"]:
                    lab.records.put("droplet", droplet["id"], {**droplet, "tags": [t for t in droplet["tags"]
                                                                                   if t != id_]})
            sync_firewalls(lab)


def counts(lab: Lab, tag: str) -> dict:
    droplets = sum(tag in d["tags"] for d in lab.records.all("droplet"))
    volumes = sum(tag in (v.get("tags") or []) for v in lab.records.all("volume"))
    return {"dropletsCount": droplets, "volumesCount": volumes, "imagesCount": 0, "volumeSnapshotsCount": 0,
            "databasesCount": 0, "totalResourceCount": droplets + volumes}


class Vpc(CloudKind):
    """vpc/resource_vpc.go: id = the API's UUID, `urn` (Pulumi `vpcUrn`), `default` false for a VPC one makes.
    The lab has one network: `ipRange` is the lab's subnet unless given (and then only recorded)."""

    provider = "digitalocean"

    def make(self, lab, name, inputs):
        vpc_id = str(uuid.uuid4())
        record = {"id": vpc_id, "name": inputs.get("name", ""), "region": inputs["region"].lower(),
                  "ipRange": inputs.get("ipRange") or str(lab.cloud.plan.subnet),
                  "description": inputs.get("description", ""), "createdAt": labcloud.timestamp()}
        with lab.locked():
            lab.records.put("vpc", vpc_id, record)
        return vpc_id, self._state(inputs, record)

    @staticmethod
    def _state(inputs, record):
        return {**inputs, "name": record["name"], "region": record["region"], "ipRange": record["ipRange"],
                "description": record["description"], "vpcUrn": f"do:vpc:{record['id']}", "default": False,
                "createdAt": record["createdAt"]}

    def look(self, lab, id_, state, inputs):
        record = lab.records.get("vpc", id_)
        return None if record is None else self._state(state, record)

    def change(self, lab, id_, olds, news):
        with lab.locked():
            record = lab.records.get("vpc", id_)
            record.update(name=news.get("name", record["name"]), description=news.get("description", ""))
            lab.records.put("vpc", id_, record)
        return self._state({**olds, **news}, record)

    def destroy(self, lab, id_, state):
        with lab.locked():
            lab.records.delete("vpc", id_)


# --- droplets ------------------------------------------------------------------------------------------------


def _key_ids(lab: Lab, wanted: list[str]) -> list[str]:
    """droplet/resource_droplet.go `expandSshKeys`: an element that parses as an int is a key id, anything else
    a fingerprint; the API refuses the droplet when one names no key of the account."""
    keys = account_key_list(lab.records)
    found, unknown = [], []
    for value in wanted:
        value = str(value)
        by_id = value.lstrip("-").isdigit()
        key = next((k for k in keys if (k["id"] == str(int(value)) if by_id else k["fingerprint"] == value)), None)
        (found if key else unknown).append(key["publicKey"] if key else value)
    if unknown:
        raise Failed("Error creating droplet: " + godo_error(
            "POST", "/v2/droplets", 422, f"{', '.join(unknown)} are invalid key identifiers for Droplet creation."))
    return found


def droplet_state(lab: Lab, record: dict, machine, base: dict) -> dict:
    """`setDropletAttributes`: what Read and Create leave in state (the image is "intentionally allowed to
    drift", user_data stays as its StateFunc made it)."""
    spec = size(record["size"])
    volumes = [v["id"] for v in lab.records.all("volume") if v["cloud"] in machine.volumes]
    price = monthly_price(record["size"])
    state = {**base, "name": record["name"], "region": record["region"], "size": record["size"],
             "disk": spec.disk, "vcpus": spec.vcpus, "memory": spec.memory, "status": machine.status,
             "locked": False, "createdAt": record["createdAt"], "vpcUuid": record["vpcUuid"],
             "ipv4Address": machine.address, "ipv4AddressPrivate": machine.address, "ipv6Address": "",
             "publicNetworking": True, "backups": record["backups"], "ipv6": record["ipv6"],
             "privateNetworking": True, "monitoring": record["monitoring"], "volumeIds": volumes,
             "tags": record["tags"], "dropletUrn": f"do:droplet:{record['id']}", "priceMonthly": price,
             "priceHourly": round(price / HOURS_A_MONTH, 5)}
    if record.get("userData") is not None:
        state["userData"] = record["userData"]
    return state


class Droplet(CloudKind):
    """droplet/resource_droplet.go. Create: `Droplets.Create`, id = the numeric droplet id, then wait for status
    `active` (the machine started; SSH comes later, as on DigitalOcean). Resize: power off (hard), resize, power
    on. Delete: detach volumes, delete (the reserved IP is unassigned, the volumes stay)."""

    provider = "digitalocean"

    def make(self, lab, name, inputs):
        spec = size(inputs["size"])
        vpc = inputs.get("vpcUuid")
        if vpc and lab.records.get("vpc", vpc) is None:
            raise Failed("Error creating droplet: " + godo_error("POST", "/v2/droplets", 422,
                                                                 f"vpc_uuid {vpc} is not a VPC of this account"))
        user_data = inputs.get("userData")
        with lab.locked():
            keys = _key_ids(lab, inputs.get("sshKeys") or [])
            for tag in inputs.get("tags") or []:  # droplet_create.yml: "Tag names can either be existing or new"
                lab.records.put("tag", tag, {"name": tag})
        machine = lab.cloud.create_machine(
            inputs["name"], "digitalocean", ssh_keys=keys, user_data=user_data, memory_mib=spec.memory,
            disk_gib=min(spec.disk, labcloud.LAB_DISK_CAP_GIB))
        require(machine.status == "active", f"Error waiting for droplet ({machine.id}) to become ready: "
                                            f"unexpected state 'off', wanted target 'active'")
        record = {"id": machine.id, "name": inputs["name"], "size": inputs["size"].lower(),
                  "region": (inputs.get("region") or "").lower(), "image": inputs["image"],
                  "tags": list(inputs.get("tags") or []), "vpcUuid": vpc or "", "createdAt": labcloud.timestamp(),
                  "ipv6": bool(inputs.get("ipv6")), "backups": bool(inputs.get("backups")),
                  "monitoring": bool(inputs.get("monitoring")),
                  "userData": None if user_data is None else labcloud.do_user_data_state(user_data)}
        with lab.locked():
            lab.records.put("droplet", machine.id, record)
            sync_firewalls(lab)
        return machine.id, droplet_state(lab, record, machine, inputs)

    def look(self, lab, id_, state, inputs):
        record = lab.records.get("droplet", id_)
        if record is None or lab.cloud.store.get("machine", id_) is None:
            return None  # "[WARN] DigitalOcean Droplet (%s) not found": removed from state
        return droplet_state(lab, record, lab.cloud.machine(id_), state)

    def change(self, lab, id_, olds, news):
        record = lab.records.get("droplet", id_)
        if record is None or lab.cloud.store.get("machine", id_) is None:
            raise Failed(f"droplet ({id_}) not found during update")
        if news.get("size") and news["size"].lower() != record["size"]:
            new = size(news["size"])
            grow = news.get("resizeDisk", True)
            machine = lab.cloud.machine(id_)
            disk = min(new.disk, labcloud.LAB_DISK_CAP_GIB) if grow else None
            if disk is not None and disk < machine.disk_gib:
                disk = None  # the lab's cap: a bigger plan's disk may already be all the lab gives
            try:
                lab.cloud.resize(id_, new.memory, disk_gib=disk, power_on=True, graceful=False)
            except ValueError as error:
                raise Failed(f"Error resizing droplet ({id_}): {error}") from None
            record["size"] = news["size"].lower()
        record["name"] = news.get("name", record["name"])  # DropletActions.Rename
        record["backups"] = bool(news.get("backups"))
        if news.get("ipv6"):
            record["ipv6"] = True  # enable only (turning it off replaces the droplet)
        with lab.locked():
            if "tags" in news or record["tags"]:
                record["tags"] = list(news.get("tags") or [])
                for tag in record["tags"]:  # tag.SetTags creates missing tags, then tags/untags
                    lab.records.put("tag", tag, {"name": tag})
            lab.records.put("droplet", id_, record)
            sync_firewalls(lab)
        return droplet_state(lab, record, lab.cloud.machine(id_), {**olds, **news, "userData": olds.get("userData")})

    def destroy(self, lab, id_, state):
        if lab.cloud.store.get("machine", id_) is not None and state.get("gracefulShutdown"):
            lab.cloud.power_off(id_, graceful=True, timeout=60)
        lab.cloud.delete_machine(id_)  # volumes stay (detached), a reserved address is unassigned
        with lab.locked():
            lab.records.delete("droplet", id_)
            sync_firewalls(lab)


class DropletSchema(Schema):
    """The droplet's CustomizeDiff: `customdiff.ForceNewIfChange("ipv6", old && !new)`: turning IPv6 off
    replaces the droplet."""

    def diff(self, olds, news, ignore):
        result = super().diff(olds, news, ignore)
        if "ipv6" in result.changed and olds.get("ipv6") and not news.get("ipv6") and "ipv6" not in result.replaces:
            return Diff(result.changed, [*result.replaces, "ipv6"], result.added, result.removed)
        return result


def user_data_same(old, new) -> bool:
    """`user_data`'s StateFunc (sha1 hex) compared with the state, and the DiffSuppressFunc kept "to support
    older statefiles with fully saved user data"."""
    if new is None:
        return old in (None, "")
    return old == labcloud.do_user_data_state(new) or old == new


# --- volumes -------------------------------------------------------------------------------------------------


class Volume(CloudKind):
    """volume/resource_volume.go: id = the API's UUID; a disk file in the lab, named in the guest by the volume's
    name (/dev/disk/by-id/scsi-0DO_Volume_<name>: DigitalOcean's naming-conventions doc); grown in place,
    never shrunk."""

    provider = "digitalocean"

    def make(self, lab, name, inputs):
        volume_id = str(uuid.uuid4())
        try:
            disk = lab.cloud.create_volume(int(inputs["size"]), "DO", inputs["name"])
        except (RuntimeError, ValueError) as error:
            raise Failed("Error creating Volume: " + godo_error("POST", "/v2/volumes", 409, str(error))) from None
        record = {"id": volume_id, "cloud": disk.id, "name": inputs["name"], "region": inputs["region"].lower(),
                  "size": int(inputs["size"]), "description": inputs.get("description", ""),
                  "tags": list(inputs.get("tags") or []), "createdAt": labcloud.timestamp()}
        with lab.locked():
            lab.records.put("volume", volume_id, record)
        return volume_id, self._state(lab, record, inputs)

    @staticmethod
    def _state(lab, record, base):
        disk = lab.cloud.volume(record["cloud"])
        return {**base, "name": record["name"], "region": record["region"], "size": disk.size_gib,
                "description": record["description"], "tags": record["tags"],
                "dropletIds": [int(disk.machine)] if disk.machine else [], "filesystemType": "",
                "filesystemLabel": "", "volumeUrn": f"do:volume:{record['id']}"}

    def look(self, lab, id_, state, inputs):
        record = lab.records.get("volume", id_)
        if record is None or lab.cloud.store.get("volume", record["cloud"]) is None:
            return None
        return self._state(lab, record, state)

    def change(self, lab, id_, olds, news):
        record = lab.records.get("volume", id_)
        require(record is not None, f"Error resizing volume ({id_}): not found")
        new_size = int(news.get("size", record["size"]))
        if new_size != record["size"]:
            require(new_size > record["size"], "volumes `size` can only be expanded and not shrunk")
            lab.cloud.resize_volume(record["cloud"], new_size)  # StorageActions.Resize
            record["size"] = new_size
        with lab.locked():
            record["tags"] = list(news.get("tags") or [])
            lab.records.put("volume", id_, record)
        return self._state(lab, record, {**olds, **news})

    def destroy(self, lab, id_, state):
        """`Storage.DeleteVolume`; the API refuses an attached volume (the lab's words: DigitalOcean's are not in
        the stored sources)."""
        record = lab.records.get("volume", id_)
        if record is None:
            return
        disk = lab.cloud.store.get("volume", record["cloud"])
        if disk and disk["machine"]:
            raise Failed("Error deleting volume: " + godo_error(
                "DELETE", f"/v2/volumes/{id_}", 409, f"the lab refuses to delete a volume attached to droplet "
                                                    f"{disk['machine']}: detach it first"))
        lab.cloud.delete_volume(record["cloud"])
        with lab.locked():
            lab.records.delete("volume", id_)


class VolumeAttachment(CloudKind):
    """volume/resource_volume_attachment.go: attach unless the volume is on this droplet already; id =
    `PrefixedUniqueId("<droplet>-<volume>-")`; gone from state once the volume is not on this droplet."""

    provider = "digitalocean"

    def make(self, lab, name, inputs):
        droplet, volume_id = str(inputs["dropletId"]), inputs["volumeId"]
        record = lab.records.get("volume", volume_id)
        require(record is not None, "Error retrieving volume: " + godo_error(
            "GET", f"/v2/volumes/{volume_id}", 404, "The resource you were accessing could not be found."))
        require(lab.cloud.store.get("machine", droplet) is not None, "Error attaching volume to droplet after retry "
                f"timeout: droplet {droplet} not found")
        try:
            lab.cloud.attach_volume(record["cloud"], droplet)
        except RuntimeError as error:
            raise Failed(f"Error attaching volume to droplet after retry timeout: {error}") from None
        return labcloud.prefixed_unique_id(f"{droplet}-{volume_id}-"), dict(inputs)

    def look(self, lab, id_, state, inputs):
        record = lab.records.get("volume", state.get("volumeId", ""))
        disk = record and lab.cloud.store.get("volume", record["cloud"])
        if not disk or disk["machine"] != str(state.get("dropletId")):
            return None  # "Volume Attachment (%s) not found, removing from state"
        return state

    def destroy(self, lab, id_, state):
        record = lab.records.get("volume", state.get("volumeId", ""))
        disk = record and lab.cloud.store.get("volume", record["cloud"])
        if disk and disk["machine"] == str(state.get("dropletId")):
            lab.cloud.detach_volume(record["cloud"])  # StorageActions.DetachByDropletID


# --- reserved IPs --------------------------------------------------------------------------------------------


def _address(lab: Lab, ip: str):
    return next((a for a in lab.cloud.addresses() if a.address == ip and a.kind == "reserved"), None)


class ReservedIp(CloudKind):
    """reservedip/resource_reserved_ip.go: id = the address; an address from the lab's standalone pool; Read
    sets `droplet_id` to the droplet it is assigned to only when the state already has one
    (`if _, ok := d.GetOk("droplet_id"); ok && reservedIP.Droplet != nil`), so an address a
    ReservedIpAssignment assigned reads back without it."""

    provider = "digitalocean"

    def make(self, lab, name, inputs):
        address = lab.cloud.allocate_address("reserved")
        with lab.locked():
            lab.records.put("reservedip", address.address, {"ip": address.address, "region": inputs["region"]})
        if inputs.get("dropletId"):
            lab.cloud.assign_address(address.address, str(inputs["dropletId"]))
        return address.address, self._state(lab, address.address, inputs)

    def _state(self, lab, ip, base):
        record = lab.records.get("reservedip", ip) or {}
        address = _address(lab, ip)
        state = {**base, "ipAddress": ip, "reservedIpUrn": f"do:reservedip:{ip}",
                 "region": record.get("region", base.get("region"))}
        if base.get("dropletId") and address and address.machine:
            state["dropletId"] = int(address.machine)
        return state

    def look(self, lab, id_, state, inputs):
        if _address(lab, id_) is None:
            return None  # "[WARN] Reserved IP (%s) not found"
        return self._state(lab, id_, state)

    def change(self, lab, id_, olds, news):
        if news.get("dropletId") != olds.get("dropletId"):
            if news.get("dropletId"):
                lab.cloud.assign_address(id_, str(news["dropletId"]))
            else:
                lab.cloud.unassign_address(id_)  # ReservedIPActions.Unassign
        return self._state(lab, id_, {**olds, **news})

    def destroy(self, lab, id_, state):
        lab.cloud.release_address(id_)  # unassigned first, then released
        with lab.locked():
            lab.records.delete("reservedip", id_)


class ReservedIpAssignment(CloudKind):
    """reservedip/resource_reserved_ip_assignment.go: assign; id = `PrefixedUniqueId("<droplet>-<ip>-")`; gone
    from state once the address is not on this droplet; delete unassigns only if it still is."""

    provider = "digitalocean"

    def make(self, lab, name, inputs):
        ip, droplet = inputs["ipAddress"], str(inputs["dropletId"])
        require(_address(lab, ip) is not None, f"Error Assigning reserved IP ({ip}) to the droplet: " + godo_error(
            "POST", f"/v2/reserved_ips/{ip}/actions", 404, "The resource you were accessing could not be found."))
        require(lab.cloud.store.get("machine", droplet) is not None,
                f"Error waiting for droplet ({droplet}) to be ready for reserved IP assign: not found")
        lab.cloud.assign_address(ip, droplet)
        return labcloud.prefixed_unique_id(f"{droplet}-{ip}-"), dict(inputs)

    def look(self, lab, id_, state, inputs):
        address = _address(lab, state.get("ipAddress", ""))
        if address is None or address.machine != str(state.get("dropletId")):
            return None
        return state

    def destroy(self, lab, id_, state):
        address = _address(lab, state.get("ipAddress", ""))
        if address is not None and address.machine == str(state.get("dropletId")):
            lab.cloud.unassign_address(address.address)


# --- firewalls -----------------------------------------------------------------------------------------------


def _droplets_tagged(lab: Lab, tags: list[str]) -> list[str]:
    return sorted((d["id"] for d in lab.records.all("droplet") if set(d["tags"]) & set(tags)), key=int)


def _addresses_of(lab: Lab, droplet_ids: list[str]) -> list[str]:
    addresses = []
    for droplet in droplet_ids:
        record = lab.cloud.store.get("machine", str(droplet))
        if record is not None:
            addresses.append(record["address"])
    return addresses


def firewall_rules(lab: Lab, record: dict):
    """A DigitalOcean firewall as the lab's rules: inbound `sourceAddresses` plus the addresses of the droplets
    `sourceDropletIds` and `sourceTags` name (resolved now: a droplet created, deleted or retagged later is
    re-synced), outbound likewise with `destination*`; the machines are the droplets of `tags` and `dropletIds`."""
    from ..machines.firewall import Rule  # noqa: PLC0415

    def rules(entries, prefix):
        out = []
        for entry in entries or []:
            for unmodelled in ("LoadBalancerUids", "KubernetesIds"):
                require(not entry.get(f"{prefix}{unmodelled}"), f"the lab's digitalocean plugin does not model "
                        f"{prefix}{unmodelled} in firewall rules (digitalocean/firewall/firewalls.go)")
            droplets = [str(d) for d in entry.get(f"{prefix}DropletIds") or []]
            droplets += _droplets_tagged(lab, entry.get(f"{prefix}Tags") or [])
            addresses = [*(entry.get(f"{prefix}Addresses") or []), *_addresses_of(lab, droplets)]
            protocol = entry["protocol"]
            out.append(Rule(protocol, tuple(addresses), None if protocol == "icmp" else entry.get("portRange")))
        return out

    machines = sorted({*(str(d) for d in record["dropletIds"]), *_droplets_tagged(lab, record["tags"])}, key=int)
    machines = [m for m in machines if lab.cloud.store.get("machine", m) is not None]
    return rules(record["inboundRules"], "source"), rules(record["outboundRules"], "destination"), machines


def sync_firewalls(lab: Lab) -> None:
    """Every DigitalOcean firewall again (lock held): its droplets and tag sources follow the droplets."""
    for record in lab.records.all("firewall"):
        inbound, outbound, machines = firewall_rules(lab, record)
        lab.cloud.update_firewall(record["cloud"], inbound=inbound, outbound=outbound, machines=machines)


def check_firewall(inputs: dict) -> None:
    """firewall/resource_firewall.go CustomizeDiff."""
    inbound, outbound = inputs.get("inboundRules") or [], inputs.get("outboundRules") or []
    require(bool(inbound or outbound), "At least one rule must be specified")
    for rules, direction in ((inbound, "inbound"), (outbound, "outbound")):
        for rule in rules:
            require(rule["protocol"] == "icmp" or bool(rule.get("portRange")),
                    f"`port_range` of {direction} rules is required if protocol is `tcp` or `udp`")


class Firewall(CloudKind):
    """firewall/resource_firewall.go: id = the API's UUID; applied to the droplets its `tags` and `droplet_ids`
    select; stateful, inbound and outbound allow-lists, no outbound rule = no outbound traffic (DigitalOcean's
    firewall docs; tests/e2e/machines/firewall.py). Update sends the whole firewall again."""

    provider = "digitalocean"

    def problems(self, inputs):
        found = []
        for field, prefix in (("inboundRules", "source"), ("outboundRules", "destination")):
            rules = inputs.get(field)
            for rule in rules if isinstance(rules, list) else []:
                for unmodelled in ("LoadBalancerUids", "KubernetesIds"):
                    if isinstance(rule, dict) and rule.get(f"{prefix}{unmodelled}"):
                        found.append((field, f"the lab's digitalocean plugin does not model {prefix}{unmodelled}: "
                                             "add it from digitalocean/firewall/firewalls.go"))
        return found

    def _record(self, lab, firewall_id, cloud_id, inputs, created):
        tags = list(inputs.get("tags") or [])
        missing = [t for t in tags if lab.records.get("tag", t) is None]
        require(not missing, "Error creating firewall: " + godo_error(
            "POST", "/v2/firewalls", 422, f"tag names must exist ({', '.join(missing)}): firewall.yml `tags` is "
                                          "existing_tags_array.yml"))
        return {"id": firewall_id, "cloud": cloud_id, "name": inputs.get("name", ""), "tags": tags,
                "dropletIds": [int(d) for d in inputs.get("dropletIds") or []],
                "inboundRules": inputs.get("inboundRules") or [], "outboundRules": inputs.get("outboundRules") or [],
                "createdAt": created}

    def make(self, lab, name, inputs):
        check_firewall(inputs)
        firewall_id = str(uuid.uuid4())
        with lab.locked():
            record = self._record(lab, firewall_id, None, inputs, labcloud.timestamp())
            inbound, outbound, machines = firewall_rules(lab, record)
            record["cloud"] = lab.cloud.create_firewall("digitalocean", inbound, outbound, machines).id
            lab.records.put("firewall", firewall_id, record)
        return firewall_id, self._state(record, inputs)

    @staticmethod
    def _state(record, base):
        return {**base, "name": record["name"], "tags": record["tags"], "dropletIds": record["dropletIds"],
                "inboundRules": record["inboundRules"], "outboundRules": record["outboundRules"],
                "status": "succeeded", "createdAt": record["createdAt"], "pendingChanges": []}

    def look(self, lab, id_, state, inputs):
        record = lab.records.get("firewall", id_)
        return None if record is None else self._state(record, state)

    def change(self, lab, id_, olds, news):
        check_firewall(news)
        with lab.locked():
            old = lab.records.get("firewall", id_)
            require(old is not None, f"Error updating firewall: firewall {id_} not found")
            record = self._record(lab, id_, old["cloud"], news, old["createdAt"])
            lab.records.put("firewall", id_, record)
            sync_firewalls(lab)
        return self._state(record, {**olds, **news})

    def destroy(self, lab, id_, state):
        with lab.locked():
            record = lab.records.get("firewall", id_)
            if record is not None:
                lab.cloud.delete_firewall(record["cloud"])
                lab.records.delete("firewall", id_)


SOURCE = "digitalocean/terraform-provider-digitalocean digitalocean/<service>/resource_*.go"

PACKAGE = Package("digitalocean", "pulumi_digitalocean", [
    kind("digitalocean:index/sshKey:SshKey", SOURCE, required=("name", "publicKey"), replace=("publicKey",),
         outputs=("fingerprint",), cls=SshKey,
         same={"publicKey": lambda old, new: (old or "").strip() == (new or "").strip()}),
    kind("digitalocean:index/tag:Tag", SOURCE, required=("name",), replace=("name",),
         outputs=("totalResourceCount", "dropletsCount", "imagesCount", "volumesCount", "volumeSnapshotsCount",
                  "databasesCount"), cls=Tag),
    kind("digitalocean:index/vpc:Vpc", SOURCE, required=("name", "region"), optional=("ipRange", "description"),
         replace=("region", "ipRange"), computed=("ipRange",), outputs=("vpcUrn", "default", "createdAt"), cls=Vpc),
    kind("digitalocean:index/droplet:Droplet", SOURCE, required=("image", "name", "size"),
         optional=("region", "vpcUuid", "monitoring", "ipv6", "sshKeys", "userData", "tags", "backups",
                   "resizeDisk", "gracefulShutdown", "volumeIds"),
         replace=("image", "region", "vpcUuid", "monitoring", "sshKeys", "userData"),
         computed=("vpcUuid", "region", "volumeIds"), unordered=("sshKeys", "tags", "volumeIds"),
         same={"userData": user_data_same}, cls=Droplet, schema_class=DropletSchema,
         outputs=("ipv4Address", "ipv4AddressPrivate", "ipv6Address", "dropletUrn", "status", "memory", "vcpus",
                  "disk", "locked", "priceHourly", "priceMonthly", "createdAt", "publicNetworking",
                  "privateNetworking")),
    kind("digitalocean:index/volume:Volume", SOURCE, required=("name", "region", "size"),
         optional=("description", "tags"), replace=("name", "region", "description"), unordered=("tags",),
         outputs=("volumeUrn", "dropletIds", "filesystemLabel", "filesystemType"), cls=Volume),
    kind("digitalocean:index/volumeAttachment:VolumeAttachment", SOURCE, required=("dropletId", "volumeId"),
         replace=("dropletId", "volumeId"), cls=VolumeAttachment),
    kind("digitalocean:index/reservedIp:ReservedIp", SOURCE, required=("region",), optional=("dropletId",),
         replace=("region",), outputs=("ipAddress", "reservedIpUrn"), cls=ReservedIp),
    kind("digitalocean:index/reservedIpAssignment:ReservedIpAssignment", SOURCE, required=("ipAddress", "dropletId"),
         replace=("ipAddress", "dropletId"), cls=ReservedIpAssignment),
    kind("digitalocean:index/firewall:Firewall", SOURCE, required=("name",),
         optional=("tags", "dropletIds", "inboundRules", "outboundRules"),
         unordered=("tags", "dropletIds", "inboundRules", "outboundRules"),
         outputs=("status", "createdAt", "pendingChanges"), cls=Firewall),
    kind("digitalocean:index/databaseCluster:DatabaseCluster", SOURCE,
         required=("name", "engine", "size", "region", "nodeCount"),
         optional=("version", "privateNetworkUuid", "tags"),
         replace=("name", "engine", "privateNetworkUuid"),
         outputs=("host", "privateHost", "port", "uri", "privateUri", "database", "user", "password",
                  "clusterUrn"), secrets=("uri", "privateUri", "password"), cls=Cluster),
    kind("digitalocean:index/databaseDb:DatabaseDb", SOURCE, required=("clusterId", "name"),
         replace=("clusterId", "name"), cls=Database),
    kind("digitalocean:index/databaseUser:DatabaseUser", SOURCE, required=("clusterId", "name"),
         replace=("clusterId", "name"), outputs=("password", "role"), secrets=("password",), cls=User),
    kind("digitalocean:index/databaseFirewall:DatabaseFirewall", SOURCE, required=("clusterId", "rules"),
         replace=("clusterId",), cls=TrustedSources),
    kind("digitalocean:index/spacesBucket:SpacesBucket", SOURCE, required=("name",),
         optional=("region", "acl", "versioning", "forceDestroy"), replace=("name", "region"),
         outputs=("bucketDomainName", "endpoint", "bucketUrn")),
    kind("digitalocean:index/spacesKey:SpacesKey", SOURCE, required=("name",), optional=("grants",),
         outputs=("accessKey", "secretKey", "createdAt"), secrets=("secretKey",)),
], invokes={"digitalocean:index/getSshKeys:getSshKeys": ssh_keys_answer("digitalocean")})
