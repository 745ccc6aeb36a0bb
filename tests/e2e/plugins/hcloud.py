"""The `hcloud` package (pulumi-hcloud 1.43.3, bundling terraform-provider-hcloud > v1.68.0; the code below
follows v1.68.0, the nearest stored tag: notes/research-27.md section 0 and B).

Without a lab cloud (BERTH_LAB_CLOUD, labcloud.py) everything is previewed only (clouds.py). With one, what
Berth declares is real: a PrimaryIp is an address of the lab's standalone pool that becomes the server's own;
a Server a machine booted from the lab's Debian image on that address, with the user data given to cloud-init
byte for byte and the project's keys for root; a Volume a disk file hot-plugged as
/dev/disk/by-id/scsi-0HC_Volume_<id>; a Firewall the router's rules for the servers its attachment names.
Hetzner's ids are numbers, which pulumi-hcloud turns into strings.
"""

from __future__ import annotations

import ipaddress

from . import labcloud
from .clouds import CloudKind, Lab, account_key, account_key_list, kind, ssh_keys_answer
from .labcloud import PROTECTED, hcloud_error, hcloud_framework_error, require
from .server import Failed, Package
from .wire import has_unknown

# primary_disk_size (GB) of the server types components/catalog.py sells (its HETZNER_SERVER_TYPES has their
# memory, which the lab uses): Hetzner's published plans. cpx52 and cpx62 are left out until read from
# `GET /v1/server_types` (a server of those types is refused here, saying so).
DISKS = {
    "cx22": 40, "cx32": 80, "cx42": 160, "cx52": 320, "cx23": 40, "cx33": 80, "cx43": 160, "cx53": 320,
    "cpx11": 40, "cpx21": 80, "cpx31": 160, "cpx41": 240, "cpx51": 360, "cpx12": 40, "cpx22": 80, "cpx32": 160,
    "cpx42": 320, "cax11": 40, "cax21": 80, "cax31": 160, "cax41": 320,
    "ccx13": 80, "ccx23": 160, "ccx33": 240, "ccx43": 360, "ccx53": 600, "ccx63": 960,
}
DEFAULT_LOCATION = "fsn1"  # the lab's answer when the program names none (Hetzner picks one)
USER_DATA_LIMIT = 32 * 1024  # docs/resources/server.md: "This field is limited to 32KiB."


def server_type(name: str) -> tuple[int, int]:
    """(memory MiB, disk GB) of a server type; resource.go Create: `"server type %s not found"`."""
    from components.catalog import HETZNER_SERVER_TYPES  # noqa: PLC0415 - the catalog's memory, with its sources

    known = HETZNER_SERVER_TYPES.get(name)
    if known is None:
        raise Failed(f"server type {name} not found")
    if name not in DISKS:
        raise Failed(f"the lab's hcloud plugin does not know server type {name}'s disk: add it to "
                     "tests/e2e/plugins/hcloud.py DISKS from Hetzner's `GET /v1/server_types`")
    return known.memory_mb, DISKS[name]


def lab_disk(disk: int) -> int:
    return min(disk, labcloud.LAB_DISK_CAP_GIB)


# --- SSH keys ------------------------------------------------------------------------------------------------


class SshKey(CloudKind):
    """internal/sshkey/resource.go (plugin framework): id = the API's number; `public_key` replaces, `name` and
    `labels` update in place; the fingerprint is the MD5 form (hcloud-go sshutil); a key whose fingerprint the
    project has is refused (uniqueness_error)."""

    provider = "hetzner"

    def make(self, lab, name, inputs):
        public_key = inputs["publicKey"].strip()
        try:
            fingerprint = labcloud.md5_fingerprint(public_key)
        except ValueError:
            raise Failed(hcloud_framework_error("invalid public key", "invalid_input", 400)) from None
        with lab.locked():
            if any(k["fingerprint"] == fingerprint for k in account_key_list(lab.records)):
                raise Failed(hcloud_framework_error("SSH key with the same fingerprint already exists",
                                                    "uniqueness_error", 409))
            key_id = lab.records.next_id("sshkey", start=4242001)
            record = {"id": key_id, "name": inputs.get("name", ""), "publicKey": public_key,
                      "fingerprint": fingerprint, "labels": inputs.get("labels") or {}}
            lab.records.put("sshkey", key_id, record)
        return key_id, self._state(record)

    @staticmethod
    def _state(record):
        return {"name": record["name"], "publicKey": record["publicKey"], "fingerprint": record["fingerprint"],
                "labels": record.get("labels") or {}}

    def look(self, lab, id_, state, inputs):
        record = account_key(lab.records, id_)
        return None if record is None else self._state(record)

    def change(self, lab, id_, olds, news):
        with lab.locked():
            record = lab.records.get("sshkey", id_)
            require(record is not None, hcloud_framework_error("SSH key not found", "not_found", 404))
            record.update(name=news.get("name", record["name"]), labels=news.get("labels") or {})
            lab.records.put("sshkey", id_, record)
        return self._state(record)

    def destroy(self, lab, id_, state):
        with lab.locked():
            lab.records.delete("sshkey", id_)


def _keys(lab: Lab, wanted: list[str]) -> list[str]:
    """resource.go `getSSHkeys`: each element through hcloud-go `SSHKey.Get` (an id if it parses as an integer,
    else a name); `"SSH key not found: %s"` for one the project lacks."""
    keys = account_key_list(lab.records)
    found = []
    for value in wanted:
        value = str(value)
        key = next((k for k in keys if k["id"] == value), None) if value.isdigit() else None
        key = key or next((k for k in keys if k["name"] == value), None)
        require(key is not None, f"SSH key not found: {value}")
        found.append(key["publicKey"])
    return found


# --- primary IPs ---------------------------------------------------------------------------------------------


def _primary(lab: Lab, record: dict):
    return next((a for a in lab.cloud.addresses() if a.address == record["address"]), None)


class PrimaryIp(CloudKind):
    """internal/primaryip/resource.go (plugin framework): an address of the lab's standalone pool (kept when its
    server goes, unless auto_delete); id = a number; `type` and `location` replace; delete protection refuses
    the delete (`protected`, not retried since #1015)."""

    provider = "hetzner"

    def problems(self, inputs):
        if has_unknown(inputs):
            return []
        found = []
        if ("location" in inputs) == ("assigneeId" in inputs):
            found.append(("location", "Invalid Attribute Combination: Exactly one of these attributes must be "
                                      "configured: [location,assignee_id]"))
        if "assigneeId" in inputs and "assigneeType" not in inputs:
            found.append(("assigneeId", "Invalid Attribute Combination: These attributes must be configured "
                                        "together: [assignee_id,assignee_type]"))
        if "datacenter" in inputs:
            found.append(("datacenter", "Removed Attribute: the datacenter attribute was removed; use location "
                                        "(internal/primaryip/resource.go `validateutil.IsRemoved`)"))
        if inputs.get("type") not in (None, "ipv4"):
            found.append(("type", "the lab's machines have no IPv6: its hcloud plugin models type ipv4 only"))
        if "assigneeId" in inputs:
            found.append(("assigneeId", "the lab's hcloud plugin does not model assigning a primary IP at "
                                        "creation (internal/primaryip/resource.go); give it to the server's "
                                        "public_net instead"))
        return found

    def warnings(self, inputs):
        """ValidateConfig: assignee_type without assignee_id."""
        if "assigneeType" in inputs and "assigneeId" not in inputs and not has_unknown(inputs.get("assigneeType")):
            return ["Unused Attribute: This attribute is now optional and is only required together with the "
                    "assignee_id attribute. Please remove it from your configuration."]
        return []

    def make(self, lab, name, inputs):
        address = lab.cloud.allocate_address("primary")
        with lab.locked():
            ip_id = lab.records.next_id("primaryip", start=10001)
            record = {"id": ip_id, "address": address.address, "name": inputs.get("name", ""),
                      "type": inputs["type"], "location": inputs["location"], "labels": inputs.get("labels") or {},
                      "autoDelete": bool(inputs.get("autoDelete", False)),
                      "deleteProtection": bool(inputs.get("deleteProtection", False))}
            lab.records.put("primaryip", ip_id, record)
        return ip_id, self._state(lab, record, inputs)

    def _state(self, lab, record, base):
        address = _primary(lab, record)
        server = address.machine if address else None
        state = {**base, "name": record["name"], "type": record["type"], "location": record["location"],
                 "labels": record["labels"], "autoDelete": record["autoDelete"],
                 "deleteProtection": record["deleteProtection"], "ipAddress": record["address"],
                 "assigneeType": "server", "assigneeId": int(server) if server else 0}
        state.pop("ipNetwork", None)  # "Only set if type is ipv6"
        return state

    def look(self, lab, id_, state, inputs):
        record = lab.records.get("primaryip", id_)
        if record is None or _primary(lab, record) is None:
            return None
        return self._state(lab, record, state)

    def change(self, lab, id_, olds, news):
        require(news.get("assigneeId", olds.get("assigneeId")) == olds.get("assigneeId"),
                "the lab's hcloud plugin does not model moving a primary IP (PrimaryIP.Assign)")
        with lab.locked():
            record = lab.records.get("primaryip", id_)
            record.update(name=news.get("name", record["name"]), labels=news.get("labels") or {},
                          autoDelete=bool(news.get("autoDelete", False)),
                          deleteProtection=bool(news.get("deleteProtection", False)))
            lab.records.put("primaryip", id_, record)
        return self._state(lab, record, {**olds, **news})

    def destroy(self, lab, id_, state):
        record = lab.records.get("primaryip", id_)
        if record is None or _primary(lab, record) is None:
            return
        if record["deleteProtection"]:
            raise Failed(hcloud_framework_error(PROTECTED, "protected", 423))
        address = _primary(lab, record)
        require(not address.machine, f"the lab cannot take primary IP {id_} from server {address.machine}, which "
                                     "still runs on it (the provider powers the server off, unassigns, powers on): "
                                     "delete the server first")
        lab.cloud.release_address(record["address"])
        with lab.locked():
            lab.records.delete("primaryip", id_)


# --- servers -------------------------------------------------------------------------------------------------


def _public_ipv4(lab: Lab, public_nets: list[dict]) -> str | None:
    """The address of the primary IP `public_net[*].ipv4` names (ServerCreatePublicNet.IPv4); None when the
    server gets one of its own (ipv4_enabled, no id: Hetzner makes an auto-deleted one; the lab a pool
    address, gone with the server)."""
    for net in public_nets or []:
        require(net.get("ipv4Enabled", True) or net.get("ipv4"), "the lab's machines need an IPv4 address: its "
                "hcloud plugin does not model a server without one (public_net ipv4_enabled = false)")
        if net.get("ipv4"):
            record = lab.records.get("primaryip", str(net["ipv4"]))
            require(record is not None, hcloud_error(f"primary IP {net['ipv4']} not found", "not_found"))
            address = _primary(lab, record)
            require(address is not None and not address.machine, hcloud_error(
                "The specified Primary IP is already assigned to a server", "primary_ip_assigned"))
            return record["address"]
    return None


def server_state(lab: Lab, record: dict, base: dict) -> dict:
    """`getServerAttributes` (Read): name, location, status, server_type, protections, labels, firewall_ids,
    primary_disk_size, ipv4/ipv6; user_data as its StateFunc made it; public_net as configured."""
    machine = lab.cloud.machine(record["id"])
    firewalls = sorted(int(f["id"]) for f in lab.records.all("firewall") if record["id"] in _members(lab, f))
    state = {**base, "name": record["name"], "serverType": record["serverType"], "location": record["location"],
             "image": record["image"], "status": "running" if machine.status == "active" else "off",
             "ipv4Address": machine.address, "ipv6Address": "", "ipv6Network": "",
             "primaryDiskSize": DISKS[record["diskType"]], "labels": record["labels"],
             "deleteProtection": record["deleteProtection"], "rebuildProtection": record["rebuildProtection"],
             "firewallIds": firewalls, "backups": False, "backupWindow": ""}
    state.pop("userData", None)
    if record.get("userData") is not None:
        state["userData"] = record["userData"]
    return state


class Server(CloudKind):
    """internal/server/resource.go. Create: `Server.Create` and wait for its actions (the machine started); id =
    the number. A server_type change powers a running server off (hard), changes the type (the disk grows
    unless keep_disk) and leaves it off: the provider never powers it on again. Delete: refused under delete
    protection; the primary IP stays (auto_delete false), the volumes stay detached."""

    provider = "hetzner"

    def problems(self, inputs):
        found = []
        user_data = inputs.get("userData")
        if isinstance(user_data, str) and len(user_data.encode()) > USER_DATA_LIMIT:
            found.append(("userData", f"user_data is {len(user_data.encode())} bytes: Hetzner takes at most 32 KiB "
                                      "(docs/resources/server.md)"))
        for unmodelled in ("networks", "placementGroupId", "iso", "rescue", "firewallIds"):
            if inputs.get(unmodelled):
                found.append((unmodelled, f"the lab's hcloud plugin does not model {unmodelled} "
                                          "(internal/server/resource.go)"))
        return found

    def make(self, lab, name, inputs):
        memory, disk = server_type(inputs["serverType"])
        require(bool(inputs.get("deleteProtection")) == bool(inputs.get("rebuildProtection")), hcloud_error(
            "delete and rebuild protection must have the same value", "invalid_input"))
        with lab.locked():
            keys = _keys(lab, inputs.get("sshKeys") or [])
            address = _public_ipv4(lab, inputs.get("publicNets") or [])
        user_data = inputs.get("userData")
        machine = lab.cloud.create_machine(inputs["name"], "hetzner", ssh_keys=keys, user_data=user_data,
                                           memory_mib=memory, disk_gib=lab_disk(disk), address=address)
        record = {"id": machine.id, "name": inputs["name"], "serverType": inputs["serverType"],
                  "diskType": inputs["serverType"], "location": inputs.get("location") or DEFAULT_LOCATION,
                  "image": inputs.get("image", ""), "labels": inputs.get("labels") or {},
                  "deleteProtection": bool(inputs.get("deleteProtection")),
                  "rebuildProtection": bool(inputs.get("rebuildProtection")),
                  "userData": None if user_data is None else labcloud.hcloud_user_data_state(user_data)}
        with lab.locked():
            lab.records.put("server", machine.id, record)
        return machine.id, server_state(lab, record, inputs)

    def look(self, lab, id_, state, inputs):
        record = lab.records.get("server", id_)
        if record is None or lab.cloud.store.get("machine", id_) is None:
            return None  # "[WARN] Server (%s) not found, removing from state"
        return server_state(lab, record, state)

    def change(self, lab, id_, olds, news):
        record = lab.records.get("server", id_)
        require(record is not None and lab.cloud.store.get("machine", id_) is not None,
                hcloud_error(f"server {id_} not found", "not_found"))
        require(_same_nets(olds.get("publicNets"), news.get("publicNets")), "the lab's hcloud plugin does not "
                "model changing public_net (updatePublicNet: power off, reassign primary IPs, power on)")
        new_type = news.get("serverType", record["serverType"])
        if new_type != record["serverType"]:
            memory, disk = server_type(new_type)
            machine = lab.cloud.machine(id_)
            grow = None if news.get("keepDisk") else lab_disk(disk)  # UpgradeDisk: !keep_disk
            if grow is not None and grow <= machine.disk_gib:
                grow = None
            # Poweroff (hard) when running, ChangeType; never powered on again by the provider.
            lab.cloud.resize(id_, memory, disk_gib=grow, power_on=False, graceful=False)
            record["serverType"] = new_type
            if not news.get("keepDisk"):
                record["diskType"] = new_type
        require(bool(news.get("deleteProtection")) == bool(news.get("rebuildProtection")), hcloud_error(
            "delete and rebuild protection must have the same value", "invalid_input"))
        record.update(name=news.get("name", record["name"]), labels=news.get("labels") or {},
                      deleteProtection=bool(news.get("deleteProtection")),
                      rebuildProtection=bool(news.get("rebuildProtection")))
        with lab.locked():
            lab.records.put("server", id_, record)
        return server_state(lab, record, {**olds, **news, "userData": olds.get("userData")})

    def destroy(self, lab, id_, state):
        record = lab.records.get("server", id_)
        if record is not None and record["deleteProtection"]:
            raise Failed(hcloud_error(PROTECTED, "protected"))
        if lab.cloud.store.get("machine", id_) is not None and state.get("shutdownBeforeDeletion"):
            lab.cloud.power_off(id_, graceful=True, timeout=60)
        with lab.locked():
            owned = [p for p in lab.records.all("primaryip")
                     if (a := _primary(lab, p)) is not None and a.machine == id_ and p["autoDelete"]]
        lab.cloud.delete_machine(id_)  # volumes stay detached, a primary address stays unassigned
        with lab.locked():
            for ip in owned:  # auto_delete: the primary IP goes with its server
                lab.cloud.release_address(ip["address"])
                lab.records.delete("primaryip", ip["id"])
            lab.records.delete("server", id_)
            for firewall in lab.records.all("firewall"):  # the API drops a deleted server from applied_to
                if id_ in firewall["attached"]:
                    lab.records.put("firewall", firewall["id"], {**firewall, "attached": [
                        s for s in firewall["attached"] if s != id_]})
            sync_firewalls(lab)


def _same_nets(old, new) -> bool:
    def canonical(nets):
        return sorted((bool(n.get("ipv4Enabled", True)), n.get("ipv4"), bool(n.get("ipv6Enabled", True)))
                      for n in nets or [])
    return new is None or canonical(old) == canonical(new)


def user_data_same(old, new) -> bool:
    """`userDataDiffSuppress` with the StateFunc: the state holds base64(sha1(text)) and the new text hashes to
    it; otherwise equal when equal but for surrounding whitespace."""
    if new is None:
        return old in (None, "")
    return old == labcloud.hcloud_user_data_state(new) or (old or "").strip() == new.strip()


# --- volumes -------------------------------------------------------------------------------------------------


class Volume(CloudKind):
    """internal/volume/resource.go: id = the number; a disk file the guest sees as
    /dev/disk/by-id/scsi-0HC_Volume_<id> (`linux_device`); grown in place; delete detaches first and is refused
    under delete protection."""

    provider = "hetzner"

    def problems(self, inputs):
        found = []
        if inputs.get("format"):
            found.append(("format", "the lab's hcloud plugin does not model format (Hetzner formats the volume; "
                                    "Berth's bootstrap does it)"))
        if inputs.get("automount") is True:
            found.append(("automount", "the lab's hcloud plugin does not model automount (Hetzner mounts the volume "
                                       "inside the server; Berth's bootstrap does it)"))
        return found

    def make(self, lab, name, inputs):
        with lab.locked():
            volume_id = lab.records.next_id("volume", start=100000001)
            disk = lab.cloud.create_volume(int(inputs["size"]), "HC", volume_id)
            record = {"id": volume_id, "cloud": disk.id, "name": inputs.get("name", ""), "size": int(inputs["size"]),
                      "location": inputs.get("location") or DEFAULT_LOCATION, "labels": inputs.get("labels") or {},
                      "deleteProtection": bool(inputs.get("deleteProtection"))}
            lab.records.put("volume", volume_id, record)
        if inputs.get("serverId"):
            lab.cloud.attach_volume(disk.id, str(inputs["serverId"]))
        return volume_id, self._state(lab, record, inputs)

    @staticmethod
    def _state(lab, record, base):
        disk = lab.cloud.volume(record["cloud"])
        state = {**base, "name": record["name"], "size": disk.size_gib, "location": record["location"],
                 "labels": record["labels"], "deleteProtection": record["deleteProtection"],
                 "linuxDevice": f"/dev/disk/by-id/scsi-0HC_Volume_{record['id']}"}
        state.pop("serverId", None)
        if disk.machine:
            state["serverId"] = int(disk.machine)
        return state

    def look(self, lab, id_, state, inputs):
        record = lab.records.get("volume", id_)
        if record is None or lab.cloud.store.get("volume", record["cloud"]) is None:
            return None
        return self._state(lab, record, state)

    def change(self, lab, id_, olds, news):
        record = lab.records.get("volume", id_)
        new_size = int(news.get("size", record["size"]))
        if new_size != record["size"]:
            require(new_size > record["size"], hcloud_error("volume size can only be increased", "invalid_input"))
            lab.cloud.resize_volume(record["cloud"], new_size)  # Volume.Resize
            record["size"] = new_size
        if "serverId" in news and str(news["serverId"]) != str(olds.get("serverId")):
            lab.cloud.detach_volume(record["cloud"])
            if news["serverId"]:
                lab.cloud.attach_volume(record["cloud"], str(news["serverId"]))
        record.update(name=news.get("name", record["name"]), labels=news.get("labels") or {},
                      deleteProtection=bool(news.get("deleteProtection")))
        with lab.locked():
            lab.records.put("volume", id_, record)
        return self._state(lab, record, {**olds, **news})

    def destroy(self, lab, id_, state):
        record = lab.records.get("volume", id_)
        if record is None or lab.cloud.store.get("volume", record["cloud"]) is None:
            return
        if record["deleteProtection"]:
            raise Failed(hcloud_error(PROTECTED, "protected"))
        lab.cloud.detach_volume(record["cloud"])  # "Volume.Detach" first when attached
        lab.cloud.delete_volume(record["cloud"])
        with lab.locked():
            lab.records.delete("volume", id_)


class VolumeAttachment(CloudKind):
    """internal/volume/resource_attachment.go: `Volume.AttachWithOpts`; id = the volume id ("a volume can only be
    attached to one server"); Read drops it when the volume or its server is gone or it is not attached."""

    provider = "hetzner"

    def problems(self, inputs):
        if inputs.get("automount") is True:
            return [("automount", "the lab's hcloud plugin does not model automount (Hetzner mounts the volume "
                                  "inside the server; Berth's bootstrap mounts it)")]
        return []

    def make(self, lab, name, inputs):
        volume_id, server = str(inputs["volumeId"]), str(inputs["serverId"])
        record = lab.records.get("volume", volume_id)
        require(record is not None, hcloud_error(f"volume {volume_id} not found", "not_found"))
        require(lab.cloud.store.get("machine", server) is not None, hcloud_error(f"server {server} not found",
                                                                                 "not_found"))
        disk = lab.cloud.volume(record["cloud"])
        require(disk.machine in (None, server), hcloud_error("Volume is already attached to a server, detach first",
                                                              "volume_already_attached"))
        lab.cloud.attach_volume(record["cloud"], server)
        return volume_id, {**inputs, "automount": bool(inputs.get("automount", False))}

    def look(self, lab, id_, state, inputs):
        record = lab.records.get("volume", id_)
        disk = record and lab.cloud.store.get("volume", record["cloud"])
        if not disk or not disk["machine"]:
            return None  # the volume gone, or attached to no server
        server = str(state.get("serverId") or disk["machine"])  # an import knows only the volume
        if lab.cloud.store.get("machine", server) is None:
            return None  # "Server ID (%v) not found, removing volume attachment from state"
        return {**state, "serverId": int(disk["machine"]), "volumeId": int(id_)}

    def change(self, lab, id_, olds, news):
        return {**olds, **news}  # no UpdateContext: automount is only recorded

    def destroy(self, lab, id_, state):
        record = lab.records.get("volume", id_)
        disk = record and lab.cloud.store.get("volume", record["cloud"])
        if disk and disk["machine"]:
            lab.cloud.detach_volume(record["cloud"])


# --- firewalls -----------------------------------------------------------------------------------------------


def normalize_ip(value: str) -> str:
    """internal/firewall/validation.go `normalizeIP`: a bare address becomes /32 (/128), an IPv6 network is
    written in its short lowercase form; `validateIPDiag` refuses host bits: "%s is not the start of the cidr
    block %s"."""
    if "/" not in value:
        address = ipaddress.ip_address(value)
        return f"{address}/{address.max_prefixlen}"
    network = ipaddress.ip_network(value, strict=False)
    if str(network.network_address) != str(ipaddress.ip_address(value.split("/")[0])):
        raise Failed(f"{value} is not the start of the cidr block {network}")
    return f"{network.network_address}/{network.prefixlen}"


def normalized_rules(rules: list[dict]) -> list[dict]:
    out = []
    for rule in rules or []:
        require(rule.get("direction") in ("in", "out"), f"firewall rule direction {rule.get('direction')!r}")
        require(rule["protocol"] not in ("tcp", "udp") or bool(rule.get("port")),
                "port is required when protocol is tcp or udp (docs/resources/firewall.md)")
        out.append({**rule, **{field: [normalize_ip(a) for a in rule[field]]
                               for field in ("sourceIps", "destinationIps") if rule.get(field) is not None}})
    return out


def _members(lab: Lab, record: dict) -> list[str]:
    servers = {*record["attached"], *(str(a["server"]) for a in record["applyTos"] if a.get("server"))}
    return sorted((s for s in servers if lab.cloud.store.get("machine", s) is not None), key=int)


def firewall_rules(record: dict):
    """A Hetzner firewall as the lab's rules: `in` rules by `source_ips`, `out` rules by `destination_ips`; the
    lab's firewall.py gives "no out rule = all out" and the resolver's DNS to Hetzner firewalls."""
    from ..machines.firewall import Rule  # noqa: PLC0415

    def rules(direction, field):
        return [Rule(r["protocol"], tuple(r.get(field) or ()), None if r["protocol"] == "icmp" else r.get("port"))
                for r in record["rules"] if r["direction"] == direction]
    try:
        return rules("in", "sourceIps"), rules("out", "destinationIps")
    except ValueError as error:
        raise Failed(f"the lab's hcloud plugin cannot model this rule: {error}") from None


def sync_firewalls(lab: Lab) -> None:
    """Every Hetzner firewall again (lock held): its rules and the servers it applies to."""
    for record in lab.records.all("firewall"):
        inbound, outbound = firewall_rules(record)
        lab.cloud.update_firewall(record["cloud"], inbound=inbound, outbound=outbound,
                                  machines=_members(lab, record))


class Firewall(CloudKind):
    """internal/firewall/resource.go: id = the number; rules with `source_ips`/`destination_ips` (normalized);
    `apply_to` servers (label selectors not modelled); delete removes it from its servers first."""

    provider = "hetzner"

    def problems(self, inputs):
        return [("applyTos", "the lab's hcloud plugin does not model label selectors in apply_to")
                for a in inputs.get("applyTos") or [] if isinstance(a, dict) and a.get("labelSelector")]

    def make(self, lab, name, inputs):
        rules = normalized_rules(inputs.get("rules") or [])
        with lab.locked():
            firewall_id = lab.records.next_id("firewall", start=1000001)
            record = {"id": firewall_id, "cloud": None, "name": inputs.get("name", ""), "rules": rules,
                      "labels": inputs.get("labels") or {}, "applyTos": inputs.get("applyTos") or [], "attached": []}
            inbound, outbound = firewall_rules(record)
            record["cloud"] = lab.cloud.create_firewall("hetzner", inbound, outbound, _members(lab, record)).id
            lab.records.put("firewall", firewall_id, record)
        return firewall_id, self._state(lab, record, inputs)

    @staticmethod
    def _state(lab, record, base):
        return {**base, "name": record["name"], "rules": record["rules"], "labels": record["labels"],
                "applyTos": [{"server": int(s), "labelSelector": ""} for s in _members(lab, record)]}

    def look(self, lab, id_, state, inputs):
        record = lab.records.get("firewall", id_)
        return None if record is None else self._state(lab, record, state)

    def change(self, lab, id_, olds, news):
        rules = normalized_rules(news.get("rules") or [])
        with lab.locked():
            record = lab.records.get("firewall", id_)
            record.update(name=news.get("name", record["name"]), rules=rules, labels=news.get("labels") or {},
                          applyTos=news.get("applyTos") or [])
            lab.records.put("firewall", id_, record)
            sync_firewalls(lab)
        return self._state(lab, record, {**olds, **news})

    def destroy(self, lab, id_, state):
        with lab.locked():
            record = lab.records.get("firewall", id_)
            if record is not None:
                lab.cloud.delete_firewall(record["cloud"])  # removeFromResources, then Firewall.Delete
                lab.records.delete("firewall", id_)


class FirewallAttachment(CloudKind):
    """internal/firewall/attachment_resource.go: applies the firewall to `server_ids` (label selectors not
    modelled); id = the firewall id; Update removes the servers dropped, then applies the new ones."""

    provider = "hetzner"

    def problems(self, inputs):
        if inputs.get("labelSelectors"):
            return [("labelSelectors", "the lab's hcloud plugin does not model label selectors")]
        return []

    def _apply(self, lab, firewall_id, servers):
        with lab.locked():
            record = lab.records.get("firewall", firewall_id)
            require(record is not None, hcloud_error(f"firewall {firewall_id} not found", "not_found"))
            missing = [s for s in servers if lab.cloud.store.get("machine", s) is None]
            require(not missing, hcloud_error(f"server {', '.join(missing)} not found", "firewall_resource_not_found"))
            lab.records.put("firewall", firewall_id, {**record, "attached": servers})
            sync_firewalls(lab)

    def make(self, lab, name, inputs):
        firewall_id = str(inputs["firewallId"])
        self._apply(lab, firewall_id, [str(s) for s in inputs.get("serverIds") or []])
        return firewall_id, dict(inputs)

    def look(self, lab, id_, state, inputs):
        """`readAttachment`: the state's `server_ids` (FromResourceData) plus every server the firewall is applied
        to (FromFirewall), so a server deleted elsewhere stays listed until the next update."""
        record = lab.records.get("firewall", id_)
        if record is None:
            return None
        servers = {int(s) for s in state.get("serverIds") or []} | {int(s) for s in _members(lab, record)}
        return {**state, "serverIds": sorted(servers)}

    def change(self, lab, id_, olds, news):
        self._apply(lab, id_, [str(s) for s in news.get("serverIds") or []])
        return {**olds, **news}

    def destroy(self, lab, id_, state):
        if lab.records.get("firewall", id_) is not None:
            self._apply(lab, id_, [])


SOURCE = "hetznercloud/terraform-provider-hcloud internal/<service>/resource.go"

PACKAGE = Package("hcloud", "pulumi_hcloud", [
    kind("hcloud:index/sshKey:SshKey", SOURCE, required=("name", "publicKey"), optional=("labels",),
         replace=("publicKey",), outputs=("fingerprint",), framework=True, cls=SshKey),
    kind("hcloud:index/primaryIp:PrimaryIp", SOURCE, required=("type",),
         optional=("name", "location", "datacenter", "labels", "deleteProtection", "assigneeId", "assigneeType",
                   "autoDelete"),
         replace=("type", "location", "datacenter"), computed=("assigneeId", "assigneeType", "autoDelete",
                                                               "deleteProtection", "location"),
         outputs=("ipAddress", "ipNetwork"), framework=True, cls=PrimaryIp),
    kind("hcloud:index/server:Server", SOURCE, required=("name", "serverType"),
         optional=("image", "location", "sshKeys", "labels", "userData", "publicNets", "deleteProtection",
                   "rebuildProtection", "backups", "keepDisk", "shutdownBeforeDeletion", "firewallIds",
                   "networks", "placementGroupId", "iso", "rescue"),
         replace=("image", "location", "sshKeys", "userData"), computed=("image", "location", "firewallIds"),
         unordered=("publicNets", "firewallIds"), same={"userData": user_data_same}, cls=Server,
         outputs=("ipv4Address", "ipv6Address", "ipv6Network", "status", "primaryDiskSize", "backupWindow")),
    kind("hcloud:index/volume:Volume", SOURCE, required=("name", "size"),
         optional=("location", "serverId", "automount", "format", "deleteProtection", "labels"),
         replace=("location",), computed=("location", "serverId"), outputs=("linuxDevice",), cls=Volume),
    kind("hcloud:index/volumeAttachment:VolumeAttachment", SOURCE, required=("serverId", "volumeId"),
         optional=("automount",), replace=("serverId", "volumeId"), computed=("automount",), cls=VolumeAttachment),
    kind("hcloud:index/firewall:Firewall", SOURCE, required=("name",), optional=("rules", "labels", "applyTos"),
         computed=("labels", "applyTos"), unordered=("rules", "applyTos"), cls=Firewall),
    kind("hcloud:index/firewallAttachment:FirewallAttachment", SOURCE, required=("firewallId",),
         optional=("serverIds", "labelSelectors"), replace=("firewallId",), unordered=("serverIds", "labelSelectors"),
         cls=FirewallAttachment),
], invokes={"hcloud:index/getSshKeys:getSshKeys": ssh_keys_answer("hetzner")})
