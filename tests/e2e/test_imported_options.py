"""What `berth import` now carries from a Kamal role's `options` and `logging` (issue 25 item 3), run on a lab
host through the real engine: one deployment with a user, an extra group, extra hosts, a read-only bind mount and a
named volume of the role's own, and logging declared at the stack and merged per role. It proves each reaches the
container as Docker runs it, that the Docker provider reads each back as declared (an unchanged `up` and a
refreshed one change nothing), and that a change of the log options replaces the container with the new ones
although the provider's diff ignores `logOpts`."""

from __future__ import annotations

import json

from .http import get
from .test_release import HOSTNAMES
from .world import MINIMAL

UPLOADS = "/srv/shop/uploads"
OPTIONS = {"user": "1000:1000", "groupAdd": ["60000"],
           "addHost": ["host.docker.internal:host-gateway", "ledger-db:10.4.0.10"]}
LOGGING = {"driver": "json-file", "options": {"max-size": "1m"}}


def _inspect(host, container: str, field: str):
    return json.loads(host.docker("inspect", "--format", f"{{{{json {field}}}}}", container).stdout)


def _app(stack) -> str:
    return stack.outputs["release"]["containers"]["shop-web-1"]


def test_a_roles_user_groups_hosts_mounts_and_logging_run_as_declared_and_read_back_unchanged(world):
    host, jobs = world.add_host(), world.add_host()  # hosts of their own: the shop's are another stack's
    host.ssh(f"mkdir -p {UPLOADS} && echo kept > {UPLOADS}/note.txt")
    stack = world.deployment("e2e-options", logging=LOGGING, servers={"web": {
        "hosts": [host.address], "options": OPTIONS, "logging": {"options": {"max-file": 2}},
        "volumes": [f"{UPLOADS}:/rails/public/uploads:ro", "shop_cache:/rails/tmp/cache"]},
        "jobs": {"hosts": [jobs.address]}}, **MINIMAL)
    up = stack.up()
    assert up.ok, up.error
    app = _app(stack)
    assert _inspect(host, app, ".Config.User") == "1000:1000"
    assert _inspect(host, app, ".HostConfig.GroupAdd") == ["60000"]
    assert sorted(_inspect(host, app, ".HostConfig.ExtraHosts")) == sorted(OPTIONS["addHost"])
    assert _inspect(host, app, ".HostConfig.LogConfig") == {"Type": "json-file",
                                                           "Config": {"max-file": "2", "max-size": "1m"}}
    assert "60000" in host.docker("exec", app, "id", "-G").stdout.split()
    hosts_file = host.docker("exec", app, "cat", "/etc/hosts").stdout
    assert "10.4.0.10\tledger-db" in hosts_file and "host.docker.internal" in hosts_file
    assert host.docker("exec", app, "cat", "/rails/public/uploads/note.txt").stdout.strip() == "kept"
    assert host.docker("exec", app, "touch", "/rails/public/uploads/x", check=False).returncode != 0  # read-only
    assert host.docker("volume", "inspect", "shop_cache", check=False).returncode == 0
    proxy_logs = _inspect(host, "kamal-proxy", ".HostConfig.LogConfig")
    assert proxy_logs == {"Type": "json-file", "Config": {"max-size": "10m"}}  # Kamal's proxy logs its own way
    assert get(host.address, HOSTNAMES[0], ca=world.lab.ca_cert).body.strip() == "app v1"
    jobs_app = stack.outputs["release"]["containers"]["shop-jobs-1"]
    assert _inspect(jobs, jobs_app, ".HostConfig.LogConfig") == {"Type": "json-file", "Config": {"max-size": "1m"}}
    assert _inspect(jobs, jobs_app, ".HostConfig.ExtraHosts") in (None, [])  # the web role's options stay its own
    for again in (stack.up(), stack.up(refresh=True)):
        assert again.ok, again.error
        assert again.changed == [], [(s.op, s.name) for s in again.changed]


def test_new_log_options_replace_the_container_with_them(world):
    """The diff ignores `logOpts` (the daemon merges its defaults into the read-back); the `berth.log-opts` label
    forces the replacement, and the engine creates the new container from the program's new inputs."""
    stack = world.deployment("e2e-options")
    host = next(h for h in world.lab.hosts if h.address == stack.settings["servers"]["web"]["hosts"][0])
    before = _app(stack)
    up = stack.up(logging={"driver": "json-file", "options": {"max-size": "2m"}})
    assert up.ok, up.error
    after = _app(stack)
    assert after != before
    assert _inspect(host, after, ".HostConfig.LogConfig")["Config"] == {"max-file": "2", "max-size": "2m"}
    labels = _inspect(host, after, ".Config.Labels")
    assert labels["berth.log-opts"] == "log-driver=json-file,max-file=2,max-size=2m"
    assert get(host.address, HOSTNAMES[0], ca=world.lab.ca_cert).body.strip() == "app v1"


def test_tls_ending_before_the_proxy_serves_plain_http_to_every_name_with_forwarded_headers(world):
    """proxy.ssl: external, as Kamal's `ssl: false` without a host imports: kamal-proxy answers plain HTTP on 80 for
    any Host, and passes the X-Forwarded-For the TLS terminator in front of it sent (--forward-headers)."""
    stack = world.deployment("e2e-options")
    host = next(h for h in world.lab.hosts if h.address == stack.settings["servers"]["web"]["hosts"][0])
    up = stack.up(proxy={"ssl": "external", "acknowledgePlaintextOrigin": True, "hosts": []}, dns=None)
    assert up.ok, up.error
    for name in ("anything.example", HOSTNAMES[0]):
        answer = get(host.address, name, https=False)
        assert (answer.status, answer.body.strip()) == (200, "app v1"), answer
    forwarded = host.ssh("curl -s -H 'Host: any.example' -H 'X-Forwarded-For: 203.0.113.9' "
                         "http://127.0.0.1/cgi-bin/whoami").stdout
    assert "203.0.113.9" in forwarded, forwarded


def test_the_proxy_published_on_loopback_behind_a_web_server_of_the_users_own(world):
    """proxy.run, as Kamal's: kamal-proxy published on 127.0.0.1:8080 (a web server of the user's on 80/443 in front
    of it, which the lab leaves out), so it answers there and no longer on the host's own port 80."""
    stack = world.deployment("e2e-options")
    host = next(h for h in world.lab.hosts if h.address == stack.settings["servers"]["web"]["hosts"][0])
    up = stack.up(proxy={"ssl": "external", "acknowledgePlaintextOrigin": True, "hosts": [],
                         "run": {"httpPort": 8080, "httpsPort": 8443, "bindIps": ["127.0.0.1"]}}, dns=None)
    assert up.ok, up.error
    local = host.ssh("curl -s -H 'Host: any.example' http://127.0.0.1:8080/").stdout
    assert local.strip() == "app v1", local
    assert get(host.address, "any.example", https=False, timeout=3).status == 0  # nothing listens on 80 any more
    ports = _inspect(host, "kamal-proxy", ".HostConfig.PortBindings")
    assert ports == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
                     "443/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8443"}]}
