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
    "accessory image that is no image": (dict(accessories={"cache": {"image": "redis:7:latest"}}),
                                         "berth:accessories.cache.image:"),
    "env var name": (dict(env__clear={"BAD NAME": "x"}), "berth:env.clear.BAD NAME:"),
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
    "kamal's simple env form": (dict(env={"RAILS_ENV": "production"}),
                                "berth:env.RAILS_ENV: is not a known key; a value goes under berth:env.clear "
                                "(RAILS_ENV: ...), a secret's name under berth:env.secret"),
    "kamal's ssl: true": (dict(proxy__ssl=True), "(got true); Kamal's ssl: true is letsencrypt here"),
    "nested unknown key": (dict(servers={"web": {"cout": 1}}), "did you mean 'count'?"),
    "letsencrypt on three hosts": (dict(servers={"web": {"count": 3}}), "berth:proxy.ssl:"),
    "postgres accessory with two hosts": (
        dict(servers={"web": {"count": 1}, "jobs": {"count": 1}}, database=None,
             accessories={"db": {"image": "postgres:18.1", "database": {"name": "app", "user": "app",
                                                                      "password": "RAILS_MASTER_KEY"}}}),
        "berth:accessories.db: the postgres preset serves the app over one host's Docker network"),
    "two proxied roles on one host": (dict(cloud={"provider": "existing"}, volume=None, volumes=["data:/rails/storage"],
                                           database=None, servers={"web": {"hosts": ["192.0.2.1"]},
                                                                   "api": {"hosts": ["192.0.2.1"], "proxy": True}}),
                                      "berth:servers.api.proxy: web and api both sit behind the proxy on 192.0.2.1"),
    "runsOn a role that is not there": (dict(servers={"jobs": {"runsOn": "worker", "cmd": "bin/jobs"}}),
                                        "berth:servers.jobs.runsOn: 'worker' is not another role"),
    "runsOn a role that runs on another": (dict(servers={"jobs": {"runsOn": "web", "cmd": "bin/jobs"},
                                                         "mail": {"runsOn": "jobs"}}),
                                           "berth:servers.mail.runsOn: jobs runs on web's machines itself"),
    "runsOn with a size": (dict(servers={"jobs": {"runsOn": "web", "size": "s-1vcpu-2gb"}}),
                           "berth:servers.jobs.size: does not go with runsOn"),
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
    "cpus the provider rounds": (dict(servers={"web": {"options": {"cpus": 0.05}}}),
                                 "berth:servers.web.options.cpus: 0.05 reads back from the Docker provider as '0.1' "
                                 "(it rounds this value), and a change of cpus replaces the container, so every "
                                 "`pulumi up` would replace it; use 0.1"),
    "cpus the provider rounds to zero": (dict(servers={"web": {"options": {"cpus": 0.005}}}),
                                         "as '0.0' (it rounds this value)"),
    "cpus too precise": (dict(servers={"web": {"options": {"cpus": 1e-10}}}),
                         "0.0000000001 has more than nine decimals; Docker counts CPUs in billionths"),
    "wildcard host with letsencrypt": (dict(proxy__hosts=["*.covertext.app"], proxy__ssl="letsencrypt", dns=None,
                                            cloudflare=None),
                                       "berth:proxy.hosts: *.covertext.app: Let's Encrypt cannot issue a wildcard"),
    "role env secret where the stack's is clear": (
        dict(env__clear={"RAILS_ENV": "production"}, servers__web__env={"secret": ["RAILS_ENV"]}),
        "berth:servers.web.env: RAILS_ENV would be both clear and secret once merged with berth:env"),
    "credential in a role's plain env": (dict(servers__web__env={"clear": {"JOBS_API_KEY": "x"}}),
                                         "berth:servers.web.env.clear: JOBS_API_KEY looks like a credential"),
    "extra host with IPv6": (dict(servers={"web": {"options": {"addHost": ["db:fd00::5"]}}}),
                             "berth:servers.web.options.addHost[0]"),
    "extra host without an address": (dict(servers={"web": {"options": {"addHost": ["db"]}}}),
                                      "'db' is not name:ip"),
    "user with a space": (dict(servers={"web": {"options": {"user": "rails app"}}}), "berth:servers.web.options.user"),
    "group named twice": (dict(servers={"web": {"options": {"groupAdd": ["docker", "docker"]}}}),
                          "berth:servers.web.options.groupAdd: names a group twice"),
    "credential in a log option": (dict(logging={"driver": "splunk", "options": {"splunk-token": "abc"}}),
                                   "berth:logging.options: splunk-token looks like a credential"),
    "plain HTTP at the origin unacknowledged": (dict(proxy__ssl="external", dns=None, cloudflare=None),
                                                "berth:proxy.acknowledgePlaintextOrigin: must be true with ssl: external"),
    "external TLS behind Cloudflare's proxy": (dict(proxy__ssl="external", proxy__acknowledgePlaintextOrigin=True,
                                                    dns__proxied=True),
                                               "berth:proxy.ssl: external behind Cloudflare's proxy is ssl: off"),
    "a route below a path with TLS of its own": (dict(proxy__pathPrefixes=["/api"]),
                                                 "berth:proxy.pathPrefixes: kamal-proxy serves TLS (letsencrypt) only"),
    "proxy ports on a proxy another stack owns": (dict(proxy__shared=True, proxy__run={"httpPort": 8080}),
                                                  "berth:proxy.run: belongs to the stack that owns kamal-proxy"),
    "proxy ports that collide": (dict(proxy__run={"httpPort": 8080, "httpsPort": 8080}),
                                 "berth:proxy.run: httpPort and httpsPort are both 8080"),
    "an accessory's route on the app's host name": (
        dict(accessories={"admin": {"image": "acme/admin:1", "proxy": {"hosts": ["covertext.app"]}}}),
        "berth:accessories.admin.proxy.hosts[0]: covertext.app is already routed by berth:proxy.hosts"),
    "an accessory's route named as a role's": (
        dict(accessories={"web": {"image": "acme/admin:1", "proxy": {"hosts": ["admin.covertext.app"]}}}),
        "berth:accessories.web.proxy: its route covertext-web would be the web role's"),
    "an accessory's route on hosts without the proxy": (
        dict(servers__jobs={"count": 1, "cmd": "bin/jobs"},
             accessories={"admin": {"image": "acme/admin:1", "roles": ["jobs"],
                                    "proxy": {"hosts": ["admin.covertext.app"]}}}),
        "berth:accessories.admin.proxy: the accessory runs on the jobs hosts, which run no kamal-proxy"),
    "role mount over a stack mount": (dict(servers={"web": {"volumes": ["other:/rails/storage"]}}),
                                      "berth:servers.web.volumes: mounts two volumes at the same container path"),
}


def test_a_single_label_host_is_accepted_with_a_review_warning():
    """Kamal reaches any name ssh resolves; Berth's remote commands (pulumi-command's Go SSH client) need it to
    resolve without ~/.ssh/config, so the plan says so."""
    from components import checks

    raw = mutated(cloud={"provider": "existing"}, database=None, backups=None, volume=None,
                  servers={"web": {"hosts": ["repository-production"]}})
    stack = load(raw)
    assert any("repository-production must resolve" in p.message for p in checks.warnings(stack))


def test_a_roles_clear_value_wins_over_the_stacks_secret_of_that_name_as_in_kamal():
    """Kamal passes the stack's secret in the env file and the role's clear value as --env, which Docker reads
    last (docker/cli opts.ReadKVEnvStrings): the container sees the role's value."""
    stack = load(mutated(servers__web__env={"clear": {"TWILIO_ACCOUNT_SID": "AC1"}}))
    env = stack.role_env("web")
    assert env.clear["TWILIO_ACCOUNT_SID"] == "AC1"
    assert "TWILIO_ACCOUNT_SID" not in dict(env.secret_pairs())


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
    notes = [n for n in warnings(stack) if "Litestream" in n.message]
    assert bool(notes) == warned
    if warned:
        assert notes[0].path == "berth:accessories.litestream.image"
        assert notes[0].message.startswith("pins Litestream") and "0.5.16" in notes[0].message


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (0.5, "500ms"), (1, "1s"), (1.5, "1.5s"), (60, "1m0s"),
                                               (90, "1m30s"), (3600, "1h0m0s"), (3661, "1h1m1s")])
def test_durations_are_declared_as_go_writes_them_back(seconds, text):
    """time.Duration.String(), which Docker's inspect and the Docker provider's read-back use."""
    from components.fields import go_duration

    assert go_duration(seconds) == text


@pytest.mark.parametrize(("size", "region", "message"), [
    ("cpx11", "hil", None), ("cpx21", "ash", None), ("cx23", "nbg1", None), ("cpx22", "sin", None),
    ("ccx13", "hil", None),
    ("cx23", "ash", "'cx23' is not sold in ash; use cpx22"),
    ("cax11", "hil", "'cax11' is not sold in hil; use cpx22"),
    ("cx22", "ash", "'cx22' is not sold in ash; use cpx22"),
    ("cx99", "fsn1", "'cx99' is not a Hetzner server type this version knows; use cx23 (add new ones to "
                     "components/catalog.py)"),
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


@pytest.mark.parametrize(("size", "region", "successor"), [
    ("cx22", "nbg1", "cx23"), ("cx32", "fsn1", "cx33"), ("cx52", "hel1", "cx53"),
    ("cpx11", "fsn1", "cpx12"), ("cpx21", "sin", "cpx22"), ("cpx51", "nbg1", "cpx52"),
])
def test_a_retired_hetzner_type_warns_and_does_not_block_the_servers_that_run_on_it(size, region, successor):
    """Hetzner keeps servers of a retired type; only a new one is refused, by the API itself."""
    from components.checks import warnings
    from tooling.evaluate import evaluate

    changed = variant(PROJECT_DIR / "Pulumi.staging.yaml", cloud={"region": region}, servers={"web": {"size": size}},
                      backups={"region": region})
    (note,) = [n for n in warnings(load(changed.berth)) if n.path == "berth:servers.web.size"]
    assert note.message.startswith(f"{size} is retired in {region}: servers that run on it keep running")
    assert f"Its successor is {successor}" in note.message
    evaluation = evaluate(changed)
    (server,) = evaluation.of_type("hcloud:index/server:Server")
    assert server.plain_inputs["serverType"] == size
    assert any(str(note) in message for _, message in evaluation.logs)  # `pulumi up` says it too


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


def test_one_problem_does_not_hide_another():
    """An unknown location breaks berth:cloud, but not its provider: the volume below Hetzner's minimum is
    still reported, with the region."""
    raw = variant(PROJECT_DIR / "Pulumi.staging.yaml", cloud={"region": "nbg2"}, volume={"sizeGb": 5}).berth
    with pytest.raises(ConfigError) as caught:
        load(raw)
    assert [p.path for p in caught.value.problems] == ["berth:cloud.region", "berth:volume.sizeGb"]
    assert "Hetzner volumes start at 10 GB" in str(caught.value)


@pytest.mark.parametrize(("path", "stack_name", "refused"), [
    ("Pulumi.production.yaml", "prod-eu", False), ("Pulumi.production.yaml", "prod_eu", True),
    ("Pulumi.production.yaml", "prod.eu", True), ("Pulumi.production.yaml", "Prod", True),
    ("Pulumi.staging.yaml", "staging-2", False), ("Pulumi.staging.yaml", "staging_2", True),
    ("examples/dbcours.yaml", "contabo_prod", False),  # existing hosts: nothing in a cloud carries the name
])
def test_the_stack_name_is_checked_against_the_clouds_naming_rules(path, stack_name, refused):
    """DigitalOcean volume names take [a-z0-9-], tags refuse '.', firewall and VPC names '_'."""
    raw = variant(PROJECT_DIR / path).berth
    try:
        load(raw, stack_name=stack_name)
    except ConfigError as error:
        assert refused, str(error)
        (problem,) = error.problems
        assert str(problem).startswith(f"stack {stack_name!r}: must hold only lowercase letters, digits and single "
                                       "'-' between them")
    else:
        assert not refused


LONG_STACK = "a-long-stack-name-for-the-preview-of-the-new-feature"  # 52 characters


@pytest.mark.parametrize(("path", "messages"), [
    ("Pulumi.production.yaml", [f"the DigitalOcean volume name 'covertext-{LONG_STACK}-web-1-data-xxxx' has 78 "
                                "characters, over the 64 allowed"]),
    ("Pulumi.staging.yaml", [f"the Hetzner label value 'berth-covertext-{LONG_STACK}' has 68 characters, over the 64 "
                             "allowed",
                             f"the Hetzner server name (a hostname) 'covertext-{LONG_STACK}-web-1' has 68 characters, "
                             "over the 63 allowed"]),
])
def test_a_name_too_long_for_the_cloud_is_refused_before_anything_is_created(path, messages):
    raw = variant(PROJECT_DIR / path).berth
    with pytest.raises(ConfigError) as caught:
        load(raw, stack_name=LONG_STACK)
    assert [(p.path, p.message.split(", with stack")[0]) for p in caught.value.problems] == [
        ("berth:service", message) for message in messages]


def test_pulumi_up_refuses_a_stack_name_the_cloud_would_refuse():
    from pulumi import RunError

    from tooling.evaluate import Evaluation, evaluate

    record = Evaluation("prod_eu")
    with pytest.raises(RunError, match="stack 'prod_eu': must hold only lowercase letters"):
        evaluate(stackfile.StackFile("prod_eu", variant(PROJECT_DIR / "Pulumi.production.yaml").berth), record=record)
    assert record.resources == []


@pytest.mark.parametrize("image", ["redis", "redis:latest", "ghcr.io/acme/cache:latest"])
def test_an_unpinned_accessory_image_is_a_review_warning_naming_how_to_pin_it(image):
    """Not a refusal: Kamal runs it, and the Docker provider uses the image a host already has (findImage)."""
    from components.checks import warnings

    stack = load(mutated(accessories={"cache": {"image": image}}))
    (warning,) = [w for w in warnings(stack) if w.path == "berth:accessories.cache.image"]
    assert "is not pinned" in warning.message and "docker image inspect" in warning.message
    assert "@sha256:<digest>" in warning.message
    assert not [w for w in warnings(load(mutated(accessories={"cache": {"image": "redis:7.4"}})))
                if w.path.startswith("berth:accessories")]


def test_a_proxy_published_on_another_port_of_every_address_is_a_review_warning():
    from components.checks import warnings

    stack = load(mutated(proxy__run={"httpPort": 8080}))
    (warning,) = [w for w in warnings(stack) if w.path == "berth:proxy.run"]
    assert "port 8080 of 0.0.0.0, ::" in warning.message and "bindIps" in warning.message
    assert not [w for w in warnings(load(mutated(proxy__run={"httpPort": 8080, "bindIps": ["127.0.0.1"]})))
                if w.path == "berth:proxy.run"]
