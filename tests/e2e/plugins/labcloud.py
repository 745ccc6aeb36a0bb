"""What the `digitalocean` and `hcloud` lab plugins share when the lab has a cloud (tests/e2e/machines):
opening it, the plugins' own records beside the Cloud's, and the facts both copy from their providers
(fingerprints, user-data hashes, error texts, sizes).

The cloud is on only when the plugin's environment has `BERTH_LAB_CLOUD=<state dir>` (an up `Cloud`); the
engine starts a plugin process per operation, so nothing is kept in memory: every step opens the Cloud
and reads the records it needs. The plugins' records live under `<state dir>/providers/<provider>/<kind>/
<key>.json`, written atomically (state.py `write_json`) under the Cloud's own lock (`cloud.store.locked()`,
re-entrant in a process, so a record and the Cloud call it goes with are one step for every other plugin
process), and their ids come from the Cloud's counters (`store.next_id`).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
import os
import uuid
from pathlib import Path

from .server import Failed

ENV = "BERTH_LAB_CLOUD"
ACCOUNT_KEYS_ENV = "BERTH_LAB_ACCOUNT_SSH_KEYS"
# The lab gives a machine at most this much disk, whatever its size is sold with (the overlay is sparse, but
# cloud-init grows the root file system to it at boot, which costs TCG time); the plugins report the size's.
LAB_DISK_CAP_GIB = 20


def lab_cloud():
    """The lab's Cloud when BERTH_LAB_CLOUD names one, else None (preview only, as before the cloud)."""
    state_dir = os.environ.get(ENV)
    if not state_dir:
        return None
    from ..machines.cloud import Cloud  # noqa: PLC0415 - only plugins that act import the backend

    return Cloud(state_dir)


class Records:
    """One provider's records under the cloud's state dir (a `Shelf` of the Cloud's store). Use
    `with records.locked():` around every read-modify-write (it is the Cloud's lock: a record and the Cloud call
    it goes with change together)."""

    def __init__(self, cloud, provider: str):
        from ..machines.state import Shelf  # noqa: PLC0415 - only plugins that act import the backend

        self.cloud = cloud
        self.store = cloud.store
        self.provider = provider
        self.shelf = Shelf(self.store, Path(self.store.root) / "providers" / provider)

    def locked(self):
        return self.store.locked()

    def get(self, kind: str, key: str) -> dict | None:
        return self.shelf.get(kind, str(key))

    def put(self, kind: str, key: str, record: dict) -> None:
        self.shelf.put(kind, str(key), record)

    def delete(self, kind: str, key: str) -> None:
        self.shelf.delete(kind, str(key))

    def all(self, kind: str) -> list[dict]:
        return self.shelf.all(kind)

    def next_id(self, kind: str, start: int) -> str:
        """A numeric id never used before in this cloud (the Cloud's counters, one per provider and kind)."""
        return self.store.next_id(f"{self.provider}-{kind}", start=start)


# --- facts copied from the providers ------------------------------------------------------------------------


def key_blob(public_key: str) -> bytes:
    """The key's wire-format blob (the base64 field of an authorized_keys line); ValueError if it is none."""
    parts = public_key.split()
    if len(parts) < 2:
        raise ValueError("no key")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    name_length = int.from_bytes(blob[:4], "big")
    if len(blob) < 4 + name_length or blob[4:4 + name_length].decode(errors="replace") != parts[0]:
        raise ValueError("the blob does not name the key type")
    return blob


def md5_fingerprint(public_key: str) -> str:
    """golang.org/x/crypto/ssh `FingerprintLegacyMD5`: MD5 of the key blob, lowercase hex pairs joined by
    ':' (hcloud-go exp/kit/sshutil `GetPublicKeyFingerprint`; DigitalOcean's API shows the same form, e.g.
    "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa")."""
    digest = hashlib.md5(key_blob(public_key)).digest()  # noqa: S324 - the providers' fingerprint
    return ":".join(f"{byte:02x}" for byte in digest)


def do_user_data_state(user_data: str) -> str:
    """terraform-provider-digitalocean util/hash.go `HashStringStateFunc`: the droplet's `user_data` in state
    is `hex(sha1(text))`."""
    return hashlib.sha1(user_data.encode()).hexdigest()  # noqa: S324 - the provider's StateFunc


def hcloud_user_data_state(user_data: str) -> str:
    """terraform-provider-hcloud internal/server/resource.go `userDataHashSum`: the server's `user_data` in
    state is `base64(sha1(text))` (standard alphabet, padded)."""
    return base64.b64encode(hashlib.sha1(user_data.encode()).digest()).decode()  # noqa: S324


def prefixed_unique_id(prefix: str) -> str:
    """terraform-plugin-sdk helper/id `PrefixedUniqueId`: the prefix, the UTC time as 20060102150405 plus four
    digits of fractional seconds, and an 8-hex-digit counter (here random: the lab has no process to count in)."""
    now = datetime.datetime.now(datetime.UTC)
    stamp = now.strftime("%Y%m%d%H%M%S") + f"{now.microsecond // 100:04d}"
    return f"{prefix}{stamp}{uuid.uuid4().int % 2**32:08x}"


def timestamp() -> str:
    """RFC 3339 in UTC, as both APIs write `created_at` / `created`."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_id() -> str:
    return str(uuid.uuid4())


def godo_error(method: str, path: str, status: int, message: str) -> str:
    """godo `ErrorResponse.Error` (v1.201.0): `"%v %v: %d (request %q) %v"`, method, URL, status, request id,
    message."""
    return f'{method} https://api.digitalocean.com{path}: {status} (request "{request_id()}") {message}'


def hcloud_error(message: str, code: str) -> str:
    """hcloud-go hcloud/error.go `Error.Error`: `"%s (%s)"`, message then code; the SDKv2 resources pass it
    through `hcloudutil.ErrorToDiag` (`diag.FromErr`) unchanged."""
    return f"{message} ({code})"


def hcloud_framework_error(message: str, code: str, status: int) -> str:
    """internal/util/hcloudutil/error_framework.go `APIErrorDiagnostics` (plugin-framework resources: SshKey,
    PrimaryIp): summary "API request failed", detail as below."""
    return ("API request failed: An unexpected error was encountered during an API request.\n\n"
            f"{hcloud_error(message, code)}\n\nError code: {code}\nStatus code: {status}\n")


# The `protected` code's meaning in the Hetzner Cloud API documentation's error table; the API's own
# per-resource wording is not in the stored sources (notes/cloudplugins-note.md).
PROTECTED = "The action you are trying to start is protected for this resource"


def account_keys() -> list[dict]:
    """The keys a scenario put in the lab's account (BERTH_LAB_ACCOUNT_SSH_KEYS: a JSON list of
    {id, name, publicKey, fingerprint})."""
    return json.loads(os.environ.get(ACCOUNT_KEYS_ENV) or "[]")


def require(condition: bool, message: str) -> None:
    if not condition:
        raise Failed(message)
