"""The stack-file contract: valid files load, each class of bad input names its key."""

from __future__ import annotations

import copy

import pytest

from components import stackfile
from components.errors import ConfigError
from components.validation import load
from conftest import SHIPPED, SHIPPED_IDS, variant, with_all_secrets
from tooling.evaluate import PROJECT_DIR

BASE = with_all_secrets(stackfile.read(PROJECT_DIR / "Pulumi.production.yaml")).berth


def mutated(**changes) -> dict:
    raw = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = raw
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return raw


def problems_of(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(raw)
    return [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize("path", SHIPPED, ids=SHIPPED_IDS)
def test_every_shipped_stack_loads(path):
    stack = load(with_all_secrets(stackfile.read(path)).berth)
    assert stack.servers and stack.service


BAD_INPUTS = {
    "service name": (dict(service="Cover_Text"), "berth:service:"),
    "role name": (dict(servers={"Web!": {"count": 1}}), "berth:servers.Web!:"),
    "digitalocean region": (dict(cloud={"provider": "digitalocean", "region": "sfo9"}), "berth:cloud.region:"),
    "digitalocean size": (dict(servers__web__size="s-9vcpu-1tb"), "berth:servers.web.size:"),
    "hetzner location": (dict(cloud={"provider": "hetzner", "region": "fra1"}), "berth:cloud.region:"),
    "hetzner server type": (dict(cloud={"provider": "hetzner", "region": "fsn1"}, database=None,
                                 servers={"web": {"size": "cx999"}}), "berth:servers.web.size:"),
    "hostname": (dict(proxy__hosts=["not a host"]), "berth:proxy.hosts[0]:"),
    "proxy host outside the zone": (dict(proxy__hosts=["covertext.example"]), "berth:proxy.hosts[0]:"),
    "cidr": (dict(ssh__allowFrom=["10.0.0.1/8"]), "berth:ssh.allowFrom[0]:"),
    "ssh open nowhere": (dict(ssh__allowFrom=[]), "berth:ssh.allowFrom:"),
    "port": (dict(proxy__appPort=70000), "berth:proxy.appPort:"),
    "outbound port range": (dict(firewall={"outbound": [{"protocol": "tcp", "ports": "443-80"}]}),
                            "berth:firewall.outbound[0]:"),
    "duration": (dict(proxy__healthcheck__interval="10"), "berth:proxy.healthcheck.interval:"),
    "image with tag": (dict(image="ghcr.io/workhorse-solutions/covertext:latest"), "berth:image:"),
    "accessory image unpinned": (dict(accessories={"cache": {"image": "redis:latest"}}),
                                 "berth:accessories.cache.image:"),
    "env var name": (dict(env__clear={"1BAD": "x"}), "berth:env.clear.1BAD:"),
    "unset secret": (dict(env__secret=["STRIPE_KEY"]), "berth:env.secret[0]:"),
    "plain registry password": (dict(registry__password="ghp_0123456789"), "berth:registry.password:"),
    "existing hosts with count": (dict(cloud={"provider": "existing"}, database=None,
                                       volume=None, volumes=["storage:/rails/storage"]), "berth:servers.web.hosts:"),
    "hosts on a cloud": (dict(servers={"web": {"hosts": ["192.0.2.1"]}}), "berth:servers.web.hosts:"),
    "volume mount path": (dict(volume__mountPath="/etc"), "berth:volume.mountPath:"),
    "container mount": (dict(volumes=["/mnt/storage:relative"]), "berth:volumes[0]:"),
    "host path off the volume": (dict(volumes=["/srv/data:/rails/storage"]), "berth:volumes[0]:"),
    "accessory name": (dict(accessories={"Search Index": {"image": "getmeili/meilisearch:v1.5",
                                                          "masterKey": "RAILS_MASTER_KEY"}}),
                       "berth:accessories.Search Index:"),
    "accessory public port": (dict(accessories={"search": {"image": "getmeili/meilisearch:v1.5",
                                                           "masterKey": "RAILS_MASTER_KEY",
                                                           "publish": "0.0.0.0:7700"}}),
                              "berth:accessories.search:"),
    "unknown key": (dict(proxyy={"hosts": []}), "berth:proxyy: is not a known key; did you mean 'proxy'?"),
    "nested unknown key": (dict(servers={"web": {"cout": 1}}), "did you mean 'count'?"),
    "letsencrypt on three hosts": (dict(servers={"web": {"count": 3}}), "berth:proxy.ssl:"),
    "postgres accessory with two hosts": (
        dict(servers={"web": {"count": 1}, "jobs": {"count": 1}}, database=None,
             accessories={"db": {"image": "postgres:18.1", "database": {"name": "app", "user": "app",
                                                                      "password": "RAILS_MASTER_KEY"}}}),
        "berth:accessories.db: the postgres preset serves the app over one host's Docker network"),
    "one existing host in two roles": (dict(cloud={"provider": "existing"}, volume=None, volumes=["data:/rails/storage"],
                                            database=None, servers={"web": {"hosts": ["192.0.2.1"]},
                                                                    "jobs": {"hosts": ["192.0.2.1"]}}),
                                       "berth:servers.jobs.hosts[0]: 192.0.2.1 is already a web host"),
    "database version": (dict(database__version="9"), "berth:database.version:"),
    "litestream without backups": (dict(accessories={"litestream": {"image": "litestream/litestream:0.5.16",
                                                                    "databases": ["/rails/storage/a.sqlite3"]}}),
                                   "berth:accessories.litestream:"),
    "litestream file off the volume": (dict(backups={"provider": "spaces", "bucket": "cov-bk", "region": "sfo3"},
                                            accessories={"litestream": {"image": "litestream/litestream:0.5.16",
                                                                        "databases": ["/tmp/a.sqlite3"]}}),
                                       "berth:accessories.litestream.databases[0]:"),
    "litestream's shell-less image": (dict(backups={"provider": "spaces", "bucket": "cov-bk", "region": "sfo3"},
                                           accessories={"litestream": {
                                               "image": "litestream/litestream:0.5.16-scratch",
                                               "databases": ["/rails/storage/production.sqlite3"]}}),
                                      "berth:accessories.litestream: litestream/litestream:0.5.16-scratch is "
                                      "Litestream's shell-less image"),
    "credential-named plain variable": (dict(env={"clear": {"RAILS_ENV": "production", "STRIPE_API_KEY": "x"}}),
                                        "berth:env.clear: STRIPE_API_KEY looks like a credential in plain text"),
    "token-shaped plain variable": (dict(env={"clear": {"DEPLOY_HOOK": "glpat-abcdefghij0123456789"}}),
                                    "berth:env.clear: DEPLOY_HOOK looks like a credential in plain text"),
    "cloudflare without dns": (dict(dns=None, cloudflare={"sslMode": "strict"}), "berth:cloudflare:"),
    "flexible ssl behind tls origin": (dict(dns={"zone": "covertext.app", "proxied": True},
                                            cloudflare={"sslMode": "flexible"}), "berth:cloudflare.sslMode:"),
    "ssl off without acknowledgement": (dict(proxy__ssl="off"), "berth:proxy.acknowledgePlaintextOrigin:"),
    "role env clear where the stack's is secret": (
        dict(servers__web__env={"clear": {"TWILIO_ACCOUNT_SID": "AC1"}}),
        "berth:servers.web.env: TWILIO_ACCOUNT_SID would be both clear and secret once merged with berth:env"),
    "credential in a role's plain env": (dict(servers__web__env={"clear": {"JOBS_API_KEY": "x"}}),
                                         "berth:servers.web.env.clear: JOBS_API_KEY looks like a credential"),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_names_its_key(name):
    changes, expected = BAD_INPUTS[name]
    problems = problems_of(mutated(**changes))
    assert any(expected in problem for problem in problems), problems


def test_all_problems_reported_at_once():
    problems = problems_of(mutated(service="Bad", image="x:1", proxy__appPort=0, ssh__allowFrom=["nope"]))
    paths = {problem.split(":", 2)[0] + ":" + problem.split(":", 2)[1] for problem in problems}
    assert {"berth:service", "berth:image", "berth:proxy.appPort", "berth:ssh.allowFrom[0]"} <= paths


def test_secret_values_never_echoed_in_errors():
    raw = mutated(secrets={"RAILS_MASTER_KEY": {"nested": "hunter2-super-secret"}})
    problems = problems_of(raw)
    assert any("berth:secrets.RAILS_MASTER_KEY" in p for p in problems)
    assert not any("hunter2" in p for p in problems)


def test_plain_text_secret_in_stack_file_is_refused():
    parsed = stackfile.parse("x", {"config": {"berth:secrets": {"TOKEN": "plain-value", "OK": {"secure": "v1:abc"}}}})
    assert [str(p) for p in parsed.problems] == [
        "berth:secrets.TOKEN: is plain text in the stack file; remove it and run pulumi config set --secret "
        "--path 'secrets.TOKEN' <value> (the value is not shown here)"]
    assert "plain-value" not in str(parsed.berth)


def test_derived_tls_mode_and_forward_headers():
    assert load(BASE).tls_mode == "letsencrypt"
    proxied = load(mutated(dns={"zone": "covertext.app", "proxied": True}))
    assert proxied.tls_mode == "cloudflare-origin"
    assert proxied.forward_headers is True
    assert proxied.restrict_origin is True


def test_engine_config_round_trip():
    """What Pulumi hands the program decodes back to what the stack file said."""
    from components.stackfile import decode

    sf = stackfile.read(PROJECT_DIR / "Pulumi.staging.yaml")
    engine = {key.removeprefix("berth:"): value for key, value in sf.engine_config().items()}
    raw = decode(engine)
    assert load(with_all_secrets(stackfile.StackFile("staging", raw)).berth) == load(with_all_secrets(sf).berth)


@pytest.mark.parametrize(("tag", "warned"), [("0.5.2", True), ("0.5.15", True), ("0.5.16", False),
                                             ("0.5.17", False), ("0.6.0", False)])
def test_an_old_litestream_pin_gets_a_review_warning(tag, warned):
    from components.checks import warnings

    image = f"litestream/litestream:{tag}"
    stack = load(variant(PROJECT_DIR / "Pulumi.staging.yaml", accessories={"litestream": {"image": image}}).berth)
    notes = [n for n in warnings(stack) if "Litestream" in n]
    assert bool(notes) == warned
    if warned:
        assert notes[0].startswith("berth:accessories.litestream.image pins Litestream") and "0.5.16" in notes[0]


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (0.5, "500ms"), (1, "1s"), (1.5, "1.5s"), (60, "1m0s"),
                                               (90, "1m30s"), (3600, "1h0m0s"), (3661, "1h1m1s")])
def test_durations_are_declared_as_go_writes_them_back(seconds, text):
    """time.Duration.String(), which Docker's inspect and the Docker provider's read-back use."""
    from components.fields import go_duration

    assert go_duration(seconds) == text


@pytest.mark.parametrize(("size", "region", "message"), [
    ("cx22", "nbg1", "'cx22' is retired (Hetzner answers \"server type not found\"); use cx23"),
    ("cx32", "fsn1", "'cx32' is retired (Hetzner answers \"server type not found\"); use cx33"),
    ("cpx11", "fsn1", "'cpx11' is not sold in fsn1; use cpx12"),
    ("cpx21", "sin", "'cpx21' is not sold in sin; use cpx22"),
    ("cx23", "ash", "'cx23' is not sold in ash; use cpx22"),
    ("cax11", "hil", "'cax11' is not sold in hil; use cpx22"),
    ("cpx21", "ash", None), ("cx23", "nbg1", None), ("cpx22", "sin", None), ("ccx13", "hil", None),
])
def test_hetzner_server_types_are_checked_per_location(size, region, message):
    raw = variant(PROJECT_DIR / "Pulumi.staging.yaml", cloud={"region": region}, servers={"web": {"size": size}},
                  backups={"region": region}).berth
    try:
        load(raw)
    except ConfigError as error:
        assert message is not None, str(error)
        (problem,) = [p for p in error.problems if p.path == "berth:servers.web.size"]
        assert problem.message == message
    else:
        assert message is None


@pytest.mark.parametrize(("region", "default"), [("fsn1", "cx23"), ("hel1", "cx23"), ("ash", "cpx22"), ("sin", "cpx22")])
def test_the_hetzner_default_is_sold_where_the_stack_is(region, default):
    from tooling.evaluate import evaluate

    ev = evaluate(variant(PROJECT_DIR / "Pulumi.staging.yaml", cloud={"region": region},
                          servers={"web": {"size": None}}, backups={"region": region}))
    (server,) = ev.of_type("hcloud:index/server:Server")
    assert server.plain_inputs["serverType"] == default


def test_an_unknown_location_is_the_regions_problem_alone():
    raw = variant(PROJECT_DIR / "Pulumi.staging.yaml", cloud={"region": "nbg2"}).berth
    with pytest.raises(ConfigError) as caught:
        load(raw)
    assert [p.path for p in caught.value.problems] == ["berth:cloud.region"]


def test_a_role_setting_beside_the_roles_is_called_one():
    raw = variant(PROJECT_DIR / "Pulumi.staging.yaml", servers={"size": "cx23"}).berth
    with pytest.raises(ConfigError) as caught:
        load(raw)
    assert any(p.path == "berth:servers" and p.message.startswith("size is a setting of a role, not a role")
               for p in caught.value.problems), caught.value.problems
