"""Hosts, firewalls, managed Postgres and backups under mocks, per cloud."""

from __future__ import annotations

import hashlib
import json

import pytest

from components.render.bootstrap import command_digest, script_hash
from components.render.origin import CLOUDFLARE_IPV4, CLOUDFLARE_IPV6
from conftest import ready, variant
from tooling.evaluate import PROJECT_DIR, OfflineMocks, evaluate, secret_paths, unwrap

PRODUCTION = PROJECT_DIR / "Pulumi.production.yaml"


def test_digitalocean_production(evaluations):
    stack, ev = evaluations["production"]
    (droplet,) = ev.of_type("digitalocean:index/droplet:Droplet")
    i = droplet.plain_inputs
    assert (i["size"], i["region"], i["image"], i["monitoring"]) == ("s-1vcpu-2gb", "sfo2", "ubuntu-24-04-x64", True)
    assert set(i["tags"]) == {"berth", "covertext", "web", "berth-covertext-production"}
    assert i["vpcUuid"] == ev.named("covertext-vpc").id
    assert {"image", "sshKeys", "userData"} <= set(droplet.ignore_changes)
    (volume,) = ev.of_type("digitalocean:index/volume:Volume")
    assert volume.plain_inputs["size"] == 70 and volume.plain_inputs["region"] == "sfo2"
    (attachment,) = ev.of_type("digitalocean:index/volumeAttachment:VolumeAttachment")
    assert attachment.plain_inputs["dropletId"] == int(droplet.id)
    (assignment,) = ev.of_type("digitalocean:index/reservedIpAssignment:ReservedIpAssignment")
    assert assignment.plain_inputs["dropletId"] == int(droplet.id)
    (firewall,) = ev.of_type("digitalocean:index/firewall:Firewall")
    assert firewall.plain_inputs["tags"] == ["berth-covertext-production"]
    assert firewall.plain_inputs["inboundRules"] == [
        {"protocol": "tcp", "portRange": "22", "sourceAddresses": ["203.0.113.7/32"]},
        {"protocol": "tcp", "portRange": "80", "sourceAddresses": ["0.0.0.0/0", "::/0"]},
        {"protocol": "tcp", "portRange": "443", "sourceAddresses": ["0.0.0.0/0", "::/0"]},
    ]
    assert {r["protocol"] for r in firewall.plain_inputs["outboundRules"]} == {"tcp", "udp", "icmp"}
    (cluster,) = ev.of_type("digitalocean:index/databaseCluster:DatabaseCluster")
    c = cluster.plain_inputs
    assert (c["engine"], c["version"], c["size"], c["region"], c["nodeCount"]) == ("pg", "18", "db-s-1vcpu-1gb", "sfo2", 1)
    assert c["privateNetworkUuid"] == ev.named("covertext-vpc").id
    assert ev.named("database-db").plain_inputs["name"] == "covertext_production"


def test_database_url_is_a_secret_output_with_tls(evaluations):
    _, ev = evaluations["production"]
    assert ev.outputs["databaseUrl"]["value"].endswith("/covertext_production?sslmode=require")
    from tooling.evaluate import secret_paths

    assert secret_paths(ev.outputs["databaseUrl"]) == ["."]
    assert set(ev.outputs["database"]) == {"host", "port", "name", "user"}


def test_hetzner_staging(evaluations):
    _, ev = evaluations["staging"]
    (server,) = ev.of_type("hcloud:index/server:Server")
    s = server.plain_inputs
    assert (s["serverType"], s["location"], s["image"]) == ("cx23", "nbg1", "ubuntu-24.04")
    assert s["deleteProtection"] == s["rebuildProtection"]
    (ip,) = ev.of_type("hcloud:index/primaryIp:PrimaryIp")
    assert ip.plain_inputs["autoDelete"] is False and ip.plain_inputs["type"] == "ipv4"
    assert s["publicNets"] == [{"ipv4Enabled": True, "ipv4": int(ip.id), "ipv6Enabled": True}]
    (volume,) = ev.of_type("hcloud:index/volume:Volume")
    assert volume.plain_inputs["automount"] is False and volume.plain_inputs["size"] == 20
    assert "format" not in volume.plain_inputs  # formatted by the bootstrap, only when blank
    (attachment,) = ev.of_type("hcloud:index/firewallAttachment:FirewallAttachment")
    assert attachment.plain_inputs["serverIds"] == [int(server.id)]
    (firewall,) = ev.of_type("hcloud:index/firewall:Firewall")
    assert {r["direction"] for r in firewall.plain_inputs["rules"]} == {"in", "out"}
    assert ev.outputs["backups"]["bucket"] == "covertext-staging-backups"


def test_existing_host_declares_no_cloud_resources(evaluations):
    _, ev = evaluations["dbcours"]
    packages = {r.type.split(":")[0] for r in ev.resources if r.custom}
    assert packages <= {"command", "pulumi", "docker", "random"}  # SSH, the host's Docker, release names
    bootstrap = ev.named("dbcours-web-1-bootstrap").plain_inputs
    assert "ufw allow proto tcp from 198.51.100.0/24 to any port 22" in bootstrap["stdin"]
    assert bootstrap["connection"]["host"] == "192.0.2.10"
    assert ev.outputs["ssh"] == {"dbcours-web-1": "ssh root@192.0.2.10"}


def test_three_web_hosts_each_with_volume_and_firewall_cover(evaluations):
    _, ev = evaluations["zen-miner"]
    droplets = ev.of_type("digitalocean:index/droplet:Droplet")
    assert sorted(d.name for d in droplets) == ["zen-miner-web-1", "zen-miner-web-2", "zen-miner-web-3"]
    assert len(ev.of_type("digitalocean:index/volume:Volume")) == 3
    attachments = ev.of_type("digitalocean:index/volumeAttachment:VolumeAttachment")
    assert sorted(a.plain_inputs["dropletId"] for a in attachments) == sorted(int(d.id) for d in droplets)
    (firewall,) = ev.of_type("digitalocean:index/firewall:Firewall")
    (tag,) = firewall.plain_inputs["tags"]
    assert all(tag in d.plain_inputs["tags"] for d in droplets)
    web = [r for r in firewall.plain_inputs["inboundRules"] if r["portRange"] in ("80", "443")]
    assert all(r["sourceAddresses"] == list(CLOUDFLARE_IPV4 + CLOUDFLARE_IPV6) for r in web)
    assert len(ev.outputs["servers"]["web"]) == 3


def test_bootstrap_then_readiness_then_everything_docker_keeps_on_the_machine(shipped):
    """The Docker provider itself waits for nothing the host runs (the engine starts its plugin early); what it
    makes on the machine (images, containers) waits for `ready`, as a first `up` installs Docker before."""
    _, ev = shipped
    for host in ev.of_type("berth:index:Host"):
        bootstrap = ev.named(f"{host.name}-bootstrap")
        ready = ev.named(f"{host.name}-ready")
        provider = ev.named(f"{host.name}-docker")
        generation = ev.named(f"{host.name}-machine")
        assert bootstrap.plain_inputs["triggers"] == [script_hash(bootstrap.plain_inputs["stdin"]), _hex(generation)]
        assert bootstrap.urn in ready.dependencies
        assert not {bootstrap.urn, ready.urn, generation.urn} & set(provider.dependencies)
        on_machine = [r for r in ev.resources if r.provider.startswith(provider.urn + "::")]
        assert {r.type for r in on_machine} >= {"docker:index/remoteImage:RemoteImage", "docker:index/container:Container"}
        assert all(ready.urn in r.dependencies for r in on_machine)
        assert "docker info" in ready.plain_inputs["create"]
        assert provider.plain_inputs["host"].startswith("ssh://root@")


@pytest.mark.parametrize("stack, server_type, size", [("production", "digitalocean:index/droplet:Droplet", "size"),
                                                       ("staging", "hcloud:index/server:Server", "serverType")])
def test_a_resized_server_proves_it_answers_before_anything_is_released_onto_it(evaluations, stack, server_type,
                                                                                size):
    """A size is changed in place (no `replace_on_changes`: the root disk stays), and Hetzner's provider leaves
    the server off afterwards: the size is the trigger of a `docker info` that `ready` waits for."""
    _, ev = evaluations[stack]
    servers = ev.of_type(server_type)
    assert servers
    for server in servers:
        host = server.name
        resized, ready = ev.named(f"{host}-resized"), ev.named(f"{host}-ready")
        assert server.plain_inputs[size] in resized.plain_inputs["triggers"]
        assert resized.plain_inputs["create"] == ready.plain_inputs["create"]
        assert resized.urn in ready.dependencies and ev.named(f"{host}-bootstrap").urn in resized.dependencies


def test_what_docker_keeps_on_a_machine_is_made_again_on_a_new_machine(shipped):
    """Images and containers live on the machine, not behind its address: a replaced server (or an existing host
    at another address) gets a new generation, and it is their replacement trigger, so `pulumi up --replace
    <server>` sets the new machine up in one `up`, not only its commands."""
    _, ev = shipped
    on_machines = [r for r in ev.resources if r.type in ("docker:index/container:Container",
                                                          "docker:index/remoteImage:RemoteImage")]
    assert on_machines
    generations = {_hex(ev.named(f"{h.name}-machine")) for h in ev.of_type("berth:index:Host")}
    for resource in on_machines:
        assert resource.replacement_trigger in generations, resource.name


def test_an_existing_host_has_no_size_to_watch(evaluations):
    _, ev = evaluations["dbcours"]
    assert not [c for c in ev.of_type("command:remote:Command") if c.name.endswith("-resized")]


def _hex(generation) -> str:
    """The `hex` the offline mocks give a RandomId (tooling/evaluate.py `OfflineMocks`)."""
    return hashlib.sha256(generation.name.encode()).hexdigest()[:2 * int(generation.plain_inputs["byteLength"])]


def test_every_command_on_a_host_runs_again_on_a_new_machine_behind_it(shipped):
    """The machine's generation (a cloud server's id, an existing host's address; `berth rebuilt` replaces
    it) is in every command's triggers but the maintenance route's, whose replacement would resume it."""
    _, ev = shipped
    for host in ev.of_type("berth:index:Host"):
        generation = ev.named(f"{host.name}-machine")
        keeper = generation.plain_inputs["keepers"]["machine"]
        assert keeper  # a droplet's or server's id, or the address
        for command in ev.of_type("command:remote:Command"):
            if command.name.startswith(f"{host.name}-") and not command.name.endswith("-maintenance"):
                assert _hex(generation) in command.plain_inputs["triggers"], command.name


def test_a_remote_command_runs_again_only_when_what_it_runs_changes(shipped):
    """pulumi-command updates a command on any input change, its connection's too (a rotated key), and with no
    `update` runs `create` again. Every command's update runs nothing, and what it runs is in its triggers,
    except where its own triggers say when (the bootstrap: its script; the release command: its version) and
    for the two that change in place (`ready`, a read, and the maintenance route)."""
    _, ev = shipped
    commands = ev.of_type("command:remote:Command")
    assert commands
    for command in commands:
        inputs = command.plain_inputs
        if command.name.endswith(("-ready", "-maintenance")):
            assert inputs["update"] == inputs["create"], command.name
            continue
        assert inputs["update"] in ("true", "sudo -n true"), command.name
        digest = command_digest(inputs["create"], inputs.get("stdin"))
        if command.name.endswith(("-bootstrap", "-release-command", "-resized")):
            assert digest not in inputs["triggers"], command.name
        else:
            assert digest in inputs["triggers"], command.name


def test_a_connection_change_alone_changes_no_trigger():
    """A rotated private key reaches every command's connection, never its triggers."""
    def commands(key: str) -> dict[str, dict]:
        ev = evaluate(variant(PRODUCTION, ssh={"privateKey": "DEPLOY_KEY"}, secrets={"DEPLOY_KEY": key}))
        return {c.name: c.plain_inputs for c in ev.of_type("command:remote:Command")}

    old, new = commands("-----BEGIN OPENSSH PRIVATE KEY----- 2026"), commands("-----BEGIN OPENSSH PRIVATE KEY----- 2027")
    assert all(old[name]["connection"] != new[name]["connection"] for name in old)
    assert {name: c["triggers"] for name, c in old.items()} == {name: c["triggers"] for name, c in new.items()}


@pytest.mark.parametrize(("changes", "private", "source_type"), [
    ({}, True, "droplet"),  # droplets in the cluster's region: its VPC
    ({"database": {"region": "nyc3"}}, False, "droplet"),  # another region: no shared VPC
    ({"cloud": {"provider": "hetzner", "region": "fsn1"}, "database": {"region": "fra1"},
      "servers": {"web": {"size": "cx23"}}, "volume": {"sizeGb": 70}}, False, "ip_addr"),
])
def test_database_url_uses_the_private_host_only_inside_the_clusters_vpc(changes, private, source_type):
    ev = evaluate(variant(PRODUCTION, **changes))
    (cluster,) = ev.of_type("digitalocean:index/databaseCluster:DatabaseCluster")
    url = unwrap(ev.outputs["databaseUrl"])
    host = unwrap(ev.outputs["database"])["host"]
    assert host.startswith("private-") == private
    assert f"@{host}:25060/covertext_production?sslmode=require" in url
    assert ("privateNetworkUuid" in cluster.plain_inputs) == private
    (firewall,) = ev.of_type("digitalocean:index/databaseFirewall:DatabaseFirewall")
    assert {r["type"] for r in firewall.plain_inputs["rules"]} == {source_type}


@pytest.mark.parametrize("path", [PRODUCTION, PROJECT_DIR / "Pulumi.staging.yaml"])
def test_a_non_root_user_and_port_are_set_up_by_cloud_init(path):
    ev = evaluate(variant(path, ssh={"user": "deploy", "port": 2222}))
    (server,) = [r for r in ev.resources if r.type in ("digitalocean:index/droplet:Droplet", "hcloud:index/server:Server")]
    data = server.plain_inputs["userData"]
    assert data.startswith("#cloud-config\n") and "name: deploy" in data and "Port 2222" in data
    bootstrap = next(r for r in ev.resources if r.name.endswith("-bootstrap"))
    assert bootstrap.plain_inputs["connection"]["user"] == "deploy"
    assert bootstrap.plain_inputs["connection"]["port"] == 2222
    assert bootstrap.plain_inputs["create"] == "sudo -n bash -s"


SERVERS = ("digitalocean:index/droplet:Droplet", "hcloud:index/server:Server")


def server_state(server) -> str:
    """The provider's hash of the user data the server was created with."""
    from components.clouds.digitalocean import DigitalOcean
    from components.clouds.hetzner import Hetzner

    cloud = DigitalOcean if server.type.startswith("digitalocean") else Hetzner
    return cloud.user_data_state(server.plain_inputs["userData"])


@pytest.mark.parametrize("stack", ["production", "staging"])
def test_a_new_server_gets_the_host_key_berth_generated_and_every_client_checks_it(evaluations, stack):
    """Root on port 22 too: the user data carries the key (a secret), and the pin, the remote commands, the Docker
    provider's ssh and the stack output all name the same public key."""
    import yaml

    from components.render.hostkeys import pinned_options, provider_options

    _, ev = evaluations[stack]
    (server,) = [r for r in ev.resources if r.type in SERVERS]
    assert "userData" in secret_paths(server.inputs)
    document = yaml.safe_load(server.plain_inputs["userData"])
    key = ev.named(f"{server.name}-host-key")
    assert key.plain_inputs == {"algorithm": "ED25519"}
    public = document["ssh_keys"]["ed25519_public"]
    assert public.startswith("ssh-ed25519 ") and "BEGIN OPENSSH PRIVATE KEY" in document["ssh_keys"]["ed25519_private"]
    pin = ev.named(f"{server.name}-host-key-pin")
    assert pin.plain_inputs["keepers"]["hostKey"] == public
    assert pin.plain_inputs["keepers"]["server"] == server.id
    assert set(pin.ignore_changes) == {"keepers.userData", "keepers.kept", "keepers.hostKey"}
    assert pin.plain_inputs["keepers"]["kept"] == pin.plain_inputs["keepers"]["userData"] == server_state(server)
    bootstrap = ev.named(f"{server.name}-bootstrap")
    assert bootstrap.plain_inputs["connection"]["hostKey"] == public
    provider = ev.named(f"{server.name}-docker")
    assert json.loads(provider.plain_inputs["sshOpts"]) == provider_options(public) == [
        *pinned_options(public), "-o", "ConnectTimeout=15"]
    assert unwrap(ev.outputs["hosts"])[server.name]["hostKey"] == public
    assert not any("did not pin host keys" in message for _, message in ev.logs)


class EarlierServers(OfflineMocks):
    """A stack an earlier Berth created: its servers keep what their provider kept of their own user data (none
    for root on port 22, the hash of other text otherwise), whatever the program sends now (`ignore_changes`)."""

    def __init__(self, kept: str | None):
        super().__init__()
        self.kept = kept

    def _new_resource(self, args):
        id_, state = super()._new_resource(args)
        if args.typ in SERVERS:
            state["userData"] = self.kept  # null in the state of a server created without user data
        return id_, state


@pytest.mark.parametrize("kept", [None, "5f1a2b7e9c0d4e3f8a6b1c2d3e4f5a6b7c8d9e0f"])
@pytest.mark.parametrize("path", [PRODUCTION, PROJECT_DIR / "Pulumi.staging.yaml"])
def test_a_server_from_before_pinning_keeps_how_berth_reached_it_and_is_said(path, kept):
    """Its commands' connections and its Docker provider's options are exactly what the earlier Berth declared
    (no diff, so nothing runs again and no container moves); `up` names the server and the fix."""
    ev = evaluate(ready(path), mocks=EarlierServers(kept))
    (server,) = [r for r in ev.resources if r.type in SERVERS]
    for command in ev.of_type("command:remote:Command"):
        assert "hostKey" not in command.plain_inputs["connection"], command.name
    provider = ev.named(f"{server.name}-docker")
    assert json.loads(provider.plain_inputs["sshOpts"]) == ["-o", "StrictHostKeyChecking=accept-new",
                                                            "-o", "ConnectTimeout=15"]
    host = unwrap(ev.outputs["hosts"])[server.name]
    assert host.get("hostKey") is None and host["serverUrn"] == server.urn
    (warning,) = [m for level, m in ev.logs if "did not pin host keys" in m]
    assert f"pulumi up --replace '{server.urn}', then berth rebuilt {server.name}" in warning


def test_an_existing_host_gets_no_key_and_keeps_trusting_the_first_one(evaluations):
    _, ev = evaluations["dbcours"]
    assert ev.of_type("tls:index/privateKey:PrivateKey") == []
    assert [r.name for r in ev.resources if r.name.endswith("-host-key-pin")] == []
    assert "hostKey" not in ev.named("dbcours-web-1-bootstrap").plain_inputs["connection"]
    assert json.loads(ev.named("dbcours-web-1-docker").plain_inputs["sshOpts"]) == [
        "-o", "StrictHostKeyChecking=accept-new", "-o", "ConnectTimeout=15"]
    assert unwrap(ev.outputs["hosts"])["dbcours-web-1"].get("hostKey") is None
    assert not any("did not pin host keys" in message for _, message in ev.logs)


@pytest.mark.parametrize(("cloud", "expected"), [
    ("digitalocean", "c0af657a8122db11fb8541f90feab7871c2c3d71"),
    ("hetzner", "wK9leoEi2xH7hUH5D+q3hxwsPXE="),
])
def test_the_user_data_hash_is_the_providers_own(cloud, expected):
    """DigitalOcean: util.HashStringStateFunc (sha1, hex); Hetzner: userDataHashSum (sha1, base64). Values from
    `printf '#cloud-config\\n' | sha1sum` and `| openssl sha1 -binary | base64`."""
    import importlib

    module = importlib.import_module(f"components.clouds.{cloud}")
    assert module.CLOUD.user_data_state("#cloud-config\n") == expected


def test_no_remote_command_passes_its_previous_output_on(shipped):
    """pulumi-command's default would put the last run's stdout into the next run's environment."""
    _, ev = shipped
    commands = ev.of_type("command:remote:Command")
    assert commands
    assert [c.name for c in commands if c.plain_inputs.get("addPreviousOutputInEnv") is not False] == []


def _pulls_authenticate(ev) -> list[str]:
    """Pulls from the stack's registry whose credentials the Docker provider would not find: it looks them
    up under the name its parseImageOptions takes from the image (v4.5.0), among its registry_auth addresses.
    (Public images from elsewhere, kamal-proxy's, are pulled anonymously, as they should be.)"""
    import json

    from components.render.registry import docker_registry, provider_registry, same_registry

    missing = []
    for image in ev.of_type("docker:index/remoteImage:RemoteImage"):
        provider = next(r for r in ev.resources if r.urn == image.provider.rsplit("::", 1)[0])
        addresses = {entry["address"] for entry in json.loads(provider.plain_inputs.get("registryAuth") or "[]")}
        name = image.plain_inputs["name"]
        from_the_registry = any(same_registry(docker_registry(name), address) for address in addresses)
        if from_the_registry and provider_registry(name) not in addresses:
            missing.append(image.plain_inputs["name"])
    return missing


def test_every_shipped_private_image_pull_finds_its_credentials(shipped):
    _, ev = shipped
    assert _pulls_authenticate(ev) == []


@pytest.mark.parametrize("image", ["zenminer/zen-miner", "docker.io/zenminer/zen-miner",
                                   "index.docker.io/zenminer/zen-miner", "registry-1.docker.io/zenminer/zen-miner",
                                   "zen-miner", "docker.io/library/zen-miner"])
@pytest.mark.parametrize("version", ["2026.11.20", "sha256:" + "ab" * 32])
def test_every_docker_hub_spelling_authenticates_with_the_default_server(image, version):
    """pulumi/pulumi-docker#356: credentials under docker.io, a bare acme/app looked up as registry-1.docker.io."""
    ev = evaluate(variant(PROJECT_DIR / "examples" / "zen-miner.yaml", image=image, version=version))
    assert _pulls_authenticate(ev) == []
    names = {i.plain_inputs["name"] for i in ev.of_type("docker:index/remoteImage:RemoteImage")}
    assert f"{image}@{version}" in names or f"{image}:{version}" in names


@pytest.mark.parametrize(("changes", "path", "message"), [
    ({"image": "zenminer/team/zen-miner"}, "berth:image",
     "zenminer/team/zen-miner has no registry host in front, so Docker pulls it from Docker Hub but the Docker "
     "provider looks for its credentials under 'zenminer'"),
    ({"image": "ghcr.io/zenminer/zen-miner"}, "berth:registry.server",
     "is docker.io, but berth:image ghcr.io/zenminer/zen-miner is pulled from ghcr.io"),
])
def test_an_image_whose_pull_would_go_out_anonymous_is_refused(changes, path, message):
    from components.errors import ConfigError
    from components.validation import load

    with pytest.raises(ConfigError) as caught:
        load(variant(PROJECT_DIR / "examples" / "zen-miner.yaml", **changes).berth)
    assert any(p.path == path and p.message.startswith(message) for p in caught.value.problems), caught.value


def test_the_digitalocean_firewall_waits_for_its_tag(evaluations):
    """DigitalOcean answers "Tag names must exist" to a firewall whose tag no droplet carries yet, and the
    provider does not retry (poseidon/typhoon#709): the tag is a resource both the firewall and the droplets
    take their tag from, so the engine creates it first."""
    for name in ("production", "zen-miner"):
        _, ev = evaluations[name]
        (tag,) = ev.of_type("digitalocean:index/tag:Tag")
        (firewall,) = ev.of_type("digitalocean:index/firewall:Firewall")
        assert firewall.plain_inputs["tags"] == [tag.plain_inputs["name"]]
        assert tag.urn in firewall.property_dependencies["tags"]
        for droplet in ev.of_type("digitalocean:index/droplet:Droplet"):
            assert tag.plain_inputs["name"] in droplet.plain_inputs["tags"]
            assert tag.urn in droplet.property_dependencies["tags"]


# --- SSH keys already in the account, names unique per stack ------------------------------------------

OPS_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJVc7kLB2cyTcx5yxFdObcCbxldwxgOCh801EjDLSqGC"
STAGING = PROJECT_DIR / "Pulumi.staging.yaml"


class AccountWith(__import__("tooling.evaluate", fromlist=["OfflineMocks"]).OfflineMocks):
    """The cloud account already holds these keys (getSshKeys answers them), as the lab's stand-in must."""

    def __init__(self, *keys: dict):
        super().__init__()
        self.keys = list(keys)

    def call(self, args):
        if args.token.endswith("getSshKeys:getSshKeys"):
            assert not any(args.args.values())  # every key in the account: no filter
            return {"id": "account", "sshKeys": self.keys}
        return super().call(args)


def _account_key(name: str, comment: str = "laptop", key_id: int = 4242) -> dict:
    return {"id": key_id, "name": name, "publicKey": f"{OPS_KEY} {comment}", "fingerprint": "3b:16:bf:e4:8b:00:8b:b8"}


def _keys_and_server(ev):
    key_type, server_type = (("digitalocean:index/sshKey:SshKey", "digitalocean:index/droplet:Droplet")
                             if ev.of_type("digitalocean:index/droplet:Droplet") else
                             ("hcloud:index/sshKey:SshKey", "hcloud:index/server:Server"))
    (server,) = ev.of_type(server_type)
    return ev.of_type(key_type), server.plain_inputs["sshKeys"]


@pytest.mark.parametrize("path", [PRODUCTION, STAGING], ids=["digitalocean", "hetzner"])
def test_a_key_already_in_the_account_is_referred_to_not_created(path):
    """DigitalOcean answers 422 "SSH Key is already in use on your account", Hetzner refuses a duplicate
    fingerprint: a key added in the console (another comment, another name) is used as it is."""
    ev = evaluate(variant(path), mocks=AccountWith(_account_key("laptop")))
    keys, server_keys = _keys_and_server(ev)
    assert keys == []
    assert server_keys == (["3b:16:bf:e4:8b:00:8b:b8"] if path == PRODUCTION else ["4242"])


@pytest.mark.parametrize("path", [PRODUCTION, STAGING], ids=["digitalocean", "hetzner"])
def test_a_key_another_stack_created_is_referred_to_and_left_to_it(path):
    """Staging beside production: production's key is in the account; staging must neither create it again
    nor take it over (it would delete it from the account on its own destroy)."""
    other = "staging" if path == PRODUCTION else "production"
    ev = evaluate(variant(path), mocks=AccountWith(_account_key(f"covertext-{other}-81f35775a264")))
    keys, server_keys = _keys_and_server(ev)
    assert keys == [] and len(server_keys) == 1


@pytest.mark.parametrize("name", ["covertext-production-1", "covertext-production-81f35775a264"])
def test_a_key_this_stack_created_stays_its_own(name):
    """Found by its name (as earlier versions named it, by position, or as this one does, by the key), the key
    is declared again with the name it has, under an alias of its old resource name, and adopted (`import`)
    should the state not have it; the engine does nothing for a key the state already holds by that id."""
    ev = evaluate(variant(PRODUCTION), mocks=AccountWith(_account_key(name, comment="ops@covertext.app")))
    (key,), server_keys = _keys_and_server(ev)
    assert key.plain_inputs["name"] == name
    assert key.import_id == "4242" and key.alias_names == ["covertext-key-1"]
    assert "publicKey" in key.ignore_changes  # a new comment on the same key must not replace it
    (droplet,) = ev.of_type("digitalocean:index/droplet:Droplet")
    assert len(server_keys) == 1 and droplet.property_dependencies["sshKeys"] == [key.urn]


@pytest.mark.parametrize("path", [PRODUCTION, STAGING], ids=["digitalocean", "hetzner"])
def test_a_key_missing_from_the_account_is_created_under_a_name_carrying_the_stack(path):
    stack_name = path.stem.removeprefix("Pulumi.")
    ev = evaluate(variant(path))
    (key,), _ = _keys_and_server(ev)
    assert key.plain_inputs["name"] == f"covertext-{stack_name}-81f35775a264"
    assert key.name == "covertext-key-81f35775a264" and key.import_id == ""


def _physical_names(ev) -> set[str]:
    named = ("hcloud:index/server:Server", "hcloud:index/volume:Volume", "hcloud:index/primaryIp:PrimaryIp",
             "hcloud:index/sshKey:SshKey", "hcloud:index/firewall:Firewall", "digitalocean:index/volume:Volume",
             "digitalocean:index/vpc:Vpc", "digitalocean:index/firewall:Firewall", "digitalocean:index/tag:Tag",
             "digitalocean:index/sshKey:SshKey")
    return {r.plain_inputs["name"] for r in ev.resources if r.type in named}


@pytest.mark.parametrize("path", [PRODUCTION, STAGING], ids=["digitalocean", "hetzner"])
def test_two_stacks_of_one_service_in_one_account_name_nothing_alike(path):
    from components import stackfile

    base = variant(path)
    ours = _physical_names(evaluate(base))
    theirs = _physical_names(evaluate(stackfile.StackFile("preview-7", base.berth)))
    assert ours and theirs and not ours & theirs


@pytest.mark.parametrize("path", [PRODUCTION, STAGING], ids=["digitalocean", "hetzner"])
def test_what_outlives_a_stack_carries_its_generation_and_keeps_the_name_it_was_created_with(path):
    """Volumes and primary IPs survive `pulumi destroy`: a re-created stack draws a new generation and does not
    collide with them. A stack created by an earlier version keeps its names (ignore_changes: the state's
    value), so nothing it already has is renamed or, for a DigitalOcean volume, replaced."""
    stack_name = path.stem.removeprefix("Pulumi.")
    ev = evaluate(variant(path))
    generation = ev.named("covertext-generation")
    assert "keepers" not in generation.plain_inputs  # drawn once for the stack's life
    kept = [r for r in ev.resources if r.type in ("digitalocean:index/volume:Volume", "hcloud:index/volume:Volume",
                                                  "hcloud:index/primaryIp:PrimaryIp")]
    assert kept
    for resource in kept:
        assert resource.plain_inputs["name"].startswith(f"covertext-{stack_name}-web-1-")
        assert generation.urn in resource.property_dependencies["name"]
        assert "name" in resource.ignore_changes
    for server in ev.of_type("hcloud:index/server:Server"):
        assert server.plain_inputs["name"] == f"covertext-{stack_name}-web-1" and "name" in server.ignore_changes


class AccountUnreachable(AccountWith):
    """The provider refuses getSshKeys, as it does without a token (the engine hands the program the error)."""

    def call(self, args):
        if args.token.endswith("getSshKeys:getSshKeys"):
            return {}, [("", "GET https://api.digitalocean.com/v2/account/keys: 401 Unable to authenticate you")]
        return super().call(args)


def test_a_preview_without_credentials_assumes_an_empty_account_and_says_so():
    from pulumi import RunError

    ev = evaluate(variant(PRODUCTION), mocks=AccountUnreachable())
    (key,), _ = _keys_and_server(ev)
    assert key.plain_inputs["name"] == "covertext-production-81f35775a264"
    assert any("could not list the SSH keys in the digitalocean account" in message and "assumes none" in message
               for _, message in ev.logs)
    with pytest.raises(RunError, match="could not list the SSH keys in the digitalocean account"):
        evaluate(variant(PRODUCTION), mocks=AccountUnreachable(), preview=False)


def test_remote_commands_wait_for_a_host_whose_sshd_starts_late(shipped):
    """pulumi-command's default of 10 dials gives up after about 8 s of refused connections."""
    from components.hosts import DIAL_ATTEMPTS, DIAL_SECONDS

    _, ev = shipped
    for command in ev.of_type("command:remote:Command"):
        connection = command.plain_inputs["connection"]
        assert (connection["dialErrorLimit"], connection["perDialTimeout"]) == (DIAL_ATTEMPTS, DIAL_SECONDS)
    waits, delay = 0.0, 0.1
    for _ in range(DIAL_ATTEMPTS - 1):  # sdk/go/common/util/retry Retryer: 100 ms, 1.5x, at most 5 s
        delay = min(delay * 1.5, 5.0)
        waits += delay
    assert 180 < waits < 300


def test_the_apps_database_user_is_granted_what_it_needs_before_the_release(evaluations):
    """DigitalOcean's databases belong to doadmin and PostgreSQL 15+ keeps `public` to the owner: the grants
    run as doadmin on the primary host (a trusted source), before the release command and the app."""
    _, ev = evaluations["production"]
    grants = ev.named("database-grants")
    script = grants.plain_inputs["stdin"]
    assert 'GRANT CONNECT, CREATE, TEMPORARY ON DATABASE "covertext_production" TO "covertext"' in script
    assert 'GRANT USAGE, CREATE ON SCHEMA public TO "covertext"' in script
    assert "postgres:18-alpine" in script and "DATABASE_ADMIN_URL=" in script
    assert secret_paths(grants.inputs["stdin"]) == ["."]  # the admin's password never reaches a plain input
    for needed in ("database-db", "database-user", "database-trusted-sources"):
        assert ev.named(needed).urn in grants.dependencies
    assert grants.urn in ev.named("covertext-web-1-release-command").dependencies
    assert grants.urn in ev.named("covertext-web-1-app").dependencies
    web = ev.named("covertext-web-1-ready")
    assert grants.plain_inputs["connection"]["host"] == web.plain_inputs["connection"]["host"]


@pytest.mark.parametrize("stack", ["production", "wombat"])
def test_a_replaced_server_goes_first_and_its_attachments_with_it(evaluations, stack):
    """`pulumi up --replace <server>`: the volume and the kept IP attach to one server at a time, so the old one
    is deleted first, and what attaches them to it (by its id) is replaced with it."""
    _, ev = evaluations[stack]
    servers = ev.of_type("digitalocean:index/droplet:Droplet") + ev.of_type("hcloud:index/server:Server")
    assert servers
    attachments = [r for r in ev.resources if r.type.endswith(("VolumeAttachment", "ReservedIpAssignment"))]
    for server in servers:
        assert server.delete_before_replace, server.name
        mine = [a for a in attachments if a.name.startswith(server.name)]
        assert mine and all(server.urn in a.property_dependencies.get("dropletId", a.property_dependencies.get(
            "serverId", [])) for a in mine), [a.name for a in mine]
