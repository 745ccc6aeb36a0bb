"""What the cloud plugins share. Without a lab cloud, DigitalOcean and Hetzner resources can only be
previewed: a preview checks the inputs the provider requires and returns the outputs as unknown, as the real
providers do in a preview; an `up` that would create one is refused with that reason. With a lab cloud
(`BERTH_LAB_CLOUD`, labcloud.py), the resources Berth declares do the real work on the lab's machines
(`CloudKind` subclasses in digitalocean.py and hcloud.py); everything else stays preview-only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import labcloud
from .schema import Attr, Schema
from .server import Failed, Kind


class PreviewOnly(Kind):
    def __init__(self, schema: Schema, autonamed: bool):
        self.schema = schema
        self.autonamed = autonamed

    def replaces_delete_first(self, news):
        """pulumi-terraform-bridge pkg/tfbridge/schema.go `nameRequiresDeleteBeforeReplace`: an SDKv2
        resource whose autonamed `name` the program sets itself is replaced delete-first (the new one
        could not take the name while the old one holds it)."""
        return self.autonamed and "name" in news

    def create(self, config, name, inputs):
        raise Failed(f"the lab has no cloud account: {self.token} can be previewed here, not created")


@dataclass
class Lab:
    """The lab's cloud (tests/e2e/machines `Cloud`) and this provider's records beside it."""

    cloud: Any
    records: labcloud.Records

    def locked(self):
        return self.records.locked()


class CloudKind(PreviewOnly):
    """A resource the lab's cloud makes real. Each step opens the cloud afresh (a plugin process lives for one
    operation); without BERTH_LAB_CLOUD every step is what PreviewOnly does."""

    provider = ""  # the records' directory: "digitalocean" or "hetzner"

    def lab(self) -> Lab | None:
        cloud = labcloud.lab_cloud()
        return None if cloud is None else Lab(cloud, labcloud.Records(cloud, self.provider))

    def create(self, config, name, inputs):
        lab = self.lab()
        if lab is None:
            return super().create(config, name, inputs)
        return self.make(lab, name, inputs)

    def read(self, config, id_, state, inputs):
        lab = self.lab()
        return state if lab is None else self.look(lab, id_, state, inputs)

    def update(self, config, id_, olds, news):
        lab = self.lab()
        return {**olds, **news} if lab is None else self.change(lab, id_, olds, news)

    def delete(self, config, id_, state):
        lab = self.lab()
        if lab is not None:
            self.destroy(lab, id_, state)

    # What each resource does on the lab's cloud:
    def make(self, lab: Lab, name: str, inputs: dict) -> tuple[str, dict]:
        raise NotImplementedError

    def look(self, lab: Lab, id_: str, state: dict, inputs: dict) -> dict | None:
        return state

    def change(self, lab: Lab, id_: str, olds: dict, news: dict) -> dict:
        return {**olds, **news}

    def destroy(self, lab: Lab, id_: str, state: dict) -> None:
        return None


def kind(token: str, source: str, required: tuple[str, ...] = (), replace: tuple[str, ...] = (),
         optional: tuple[str, ...] = (), outputs: tuple[str, ...] = (), secrets: tuple[str, ...] = (),
         computed: tuple[str, ...] = (), framework: bool = False, cls: type[PreviewOnly] = PreviewOnly,
         unordered: tuple[str, ...] = (), same: dict[str, Any] | None = None,
         schema_class: type[Schema] = Schema) -> PreviewOnly:
    """`framework`: a plugin-framework resource, which the bridge never replaces delete-first by name.
    `cls`: a CloudKind that does the work when the lab has a cloud. `unordered`: TypeSet attributes. `same`:
    DiffSuppressFuncs by attribute."""
    same = same or {}
    attrs = {name: Attr(required=name in required, replace=name in replace, computed=name in computed,
                        unordered=name in unordered, same=same.get(name))
             for name in (*required, *optional)}
    attrs |= {name: Attr(output=True, secret=name in secrets) for name in outputs}
    return cls(schema_class(token, attrs, source), autonamed=not framework and "name" in attrs)


def ssh_keys_answer(provider: str):
    """getSshKeys: the account's keys, as a real account lists them: those a scenario put there
    (BERTH_LAB_ACCOUNT_SSH_KEYS, a JSON list of {id, name, publicKey, fingerprint}) and, with a lab cloud, those
    SshKey resources created (digitalocean/sshkey/datasource_ssh_keys.go, internal/sshkey/data_source_list.go:
    every key, `id` a number)."""
    def answer(config, args: dict, preview: bool) -> dict:
        keys = labcloud.account_keys()
        cloud = labcloud.lab_cloud()
        if cloud is not None:
            for record in labcloud.Records(cloud, provider).all("sshkey"):
                key = {"id": int(record["id"]), "name": record["name"], "publicKey": record["publicKey"],
                       "fingerprint": record["fingerprint"]}
                if provider == "hetzner":
                    key["labels"] = record.get("labels") or {}
                keys.append(key)
        return {"id": "ssh-keys", "sshKeys": keys}
    return answer


def account_key_list(records: labcloud.Records) -> list[dict]:
    """Every key in the account: the seeded ones and those SshKey resources created, as {id (str), name,
    publicKey, fingerprint}."""
    keys = [{**k, "id": str(k["id"])} for k in labcloud.account_keys()]
    keys += [{"id": r["id"], "name": r["name"], "publicKey": r["publicKey"], "fingerprint": r["fingerprint"]}
             for r in records.all("sshkey")]
    return keys


def account_key(records: labcloud.Records, id_: str) -> dict | None:
    """The key an SshKey resource reads back: its own record, else a key already in the account."""
    return records.get("sshkey", id_) or next((k for k in account_key_list(records) if k["id"] == id_), None)
