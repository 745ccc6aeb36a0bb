"""Release under mocks: proxy, app containers, the switch's exact flags, secrets, rollout, maintenance."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from shell import shellcheck

from components.render import proxy as proxy_text
from components.render.release import asset_bridge_script, container_base, docker_safe, env_file, memory_mb
from conftest import SHIPPED, SHIPPED_IDS, variant
from tooling.evaluate import PROJECT_DIR, evaluate, secret_paths

ZEN = PROJECT_DIR / "examples" / "zen-miner.yaml"
PRODUCTION = PROJECT_DIR / "Pulumi.production.yaml"
CONTAINER = "docker:index/container:Container"
COMMAND = "command:remote:Command"


def deploy_line(switch) -> str:
    """The `kamal-proxy deploy` line of a switch's script (it is fed to `bash -s`, never on a command line)."""
    assert switch.plain_inputs["create"] == "bash -s"
    (deploy,) = [call for call in proxy_text.proxy_calls(switch.plain_inputs["stdin"]) if call[:1] == ["deploy"]]
    return proxy_text.proxy_exec(deploy)


def app_containers(ev):
    return [c for c in ev.of_type(CONTAINER) if c.name.endswith("-app")]


# --- pure ------------------------------------------------------------------------------------------

def test_names_are_docker_safe():
    assert container_base("app", "web", "3f9c2e1") == "app-web-3f9c2e1"
    assert docker_safe("sha256:" + "ab" * 32) == "abababababab"
    assert docker_safe("v1.2+build/7") == "v1.2-build-7"


def test_env_file_is_sorted_and_refuses_multiline_values():
    assert env_file({"B": "2", "A": "x=y"}) == "A=x=y\nB=2\n"
    with pytest.raises(ValueError, match="PEM"):
        env_file({"PEM": "a\nb"})


def test_memory_in_megabytes():
    assert [memory_mb(m) for m in ("512m", "1g", "2048k")] == [512, 1024, 2]


def test_deploy_args_in_kamal_proxy_flag_syntax():
    options = proxy_text.DeployOptions(
        hosts=("a.example",), tls="letsencrypt", tls_files=None, health_check_path="/up",
        health_check_interval="1s", health_check_timeout="5s", deploy_timeout="30s", drain_timeout="30s",
        target_timeout="30s", buffer_requests=True, buffer_responses=False, buffer_memory=1000000,
        max_request_body=1024, max_response_body=2048, forward_headers=False)
    assert proxy_text.deploy_args("app-web", "app-web-v1-abc:3000", options) == [
        "deploy", "app-web", "--target=app-web-v1-abc:3000", "--host=a.example", "--tls",
        "--deploy-timeout=30s", "--drain-timeout=30s", "--health-check-path=/up", "--health-check-interval=1s",
        "--health-check-timeout=5s", "--target-timeout=30s", "--buffer-requests", "--buffer-responses=false",
        "--buffer-memory=1000000", "--max-request-body=1024", "--forward-headers=false"]
    assert "remove" not in proxy_text.deploy_args("app-web", "t:1", options)


def test_stop_and_resume():
    assert proxy_text.proxy_exec(proxy_text.stop_args("app-web", "Back at 10:00", "30s")) == (
        "docker exec kamal-proxy kamal-proxy stop app-web --drain-timeout=30s '--message=Back at 10:00'")
    assert proxy_text.proxy_exec(proxy_text.resume_args("app-web")) == "docker exec kamal-proxy kamal-proxy resume app-web"


def test_asset_bridge_script_passes_shellcheck(tmp_path):
    script = asset_bridge_script("app", "web", "v2", "r/app:v2", "/rails/public/assets", 5)
    assert shellcheck({"assets": script}, tmp_path) == ""


# --- kamal-proxy ---------------------------------------------------------------------------------

def test_proxy_container_per_proxied_host(shipped):
    stack, ev = shipped
    proxies = [c for c in ev.of_type(CONTAINER) if c.plain_inputs["name"] == "kamal-proxy"]
    web_hosts = sum(stack.role_count(r) for r in stack.proxied_roles)
    assert len(proxies) == web_hosts
    images = {i.urn: i.plain_inputs["name"] for i in ev.of_type("docker:index/remoteImage:RemoteImage")}
    for container in proxies:
        i = container.plain_inputs
        assert i["restart"] == "unless-stopped" and i["command"] == ["kamal-proxy", "run"]
        assert sorted((p["internal"], p["external"], p["ip"]) for p in i["ports"]) == [
            (80, 80, "0.0.0.0"), (80, 80, "::"), (443, 443, "0.0.0.0"), (443, 443, "::")]
        assert {"volumeName": "kamal-proxy-config", "containerPath": "/home/kamal-proxy/.config/kamal-proxy"} in i["volumes"]
        assert i["networksAdvanced"] == [{"name": "kamal"}]
        assert i["logOpts"] == {"max-size": "10m"}
        assert container.delete_before_replace  # fixed name and ports: the old one must go first
        (image,) = [images[u] for u in container.dependencies if u in images]
        assert image == f"basecamp/kamal-proxy:{stack.proxy.version}"
        assert stack.version not in str(i)


def test_images_are_pulled_with_the_registry_password_as_a_secret(shipped):
    stack, ev = shipped
    for provider in ev.of_type("pulumi:providers:docker"):
        auths = json.loads(provider.plain_inputs["registryAuth"])  # provider config travels as JSON text
        assert stack.registry.server in [auth["address"] for auth in auths]  # and Docker Hub's other names
        assert {auth["username"] for auth in auths} == {stack.registry.username}
        assert secret_paths(provider.inputs) == ["registryAuth"]
    for image in ev.of_type("docker:index/remoteImage:RemoteImage"):
        assert image.plain_inputs["keepLocally"] is True  # rollbacks need no pull


def test_shared_proxy_is_not_declared_but_routed_into():
    ev = evaluate(variant(PRODUCTION, proxy={"shared": True}))
    assert [c for c in ev.of_type(CONTAINER) if c.plain_inputs["name"] == "kamal-proxy"] == []
    assert "basecamp/kamal-proxy" not in str([i.plain_inputs for i in ev.of_type("docker:index/remoteImage:RemoteImage")])
    (switch,) = [c for c in ev.of_type(COMMAND) if c.name.endswith("-switch")]
    assert deploy_line(switch).startswith("docker exec kamal-proxy kamal-proxy deploy covertext-web ")


def test_origin_certificate_reaches_the_proxy_as_a_secret(evaluations):
    _, ev = evaluations["zen-miner"]
    files = [c for c in ev.of_type(COMMAND) if c.name.endswith("-tls-files")]
    assert len(files) == 3
    for command in files:
        assert "stdin" in secret_paths(command.inputs)
        stdin = command.plain_inputs["stdin"]
        assert "BEGIN PRIVATE KEY" in stdin and "BEGIN CERTIFICATE-----" in stdin
        assert "/var/lib/berth/proxy/apps-config/zen-miner/tls/key.pem" in stdin
        assert "install -m 0600 /dev/null" in stdin
        assert command.plain_inputs["create"] == "bash -s"
    for switch in [c for c in ev.of_type(COMMAND) if c.name.endswith("-switch")]:
        create = deploy_line(switch)
        assert "--tls --tls-certificate-path=/home/kamal-proxy/.apps-config/zen-miner/tls/cert.pem" in create
        assert "--tls-private-key-path=/home/kamal-proxy/.apps-config/zen-miner/tls/key.pem" in create
        tls = next(c for c in files if c.name.startswith(switch.name.removesuffix("-switch")))
        assert tls.urn in switch.dependencies


# --- app containers ------------------------------------------------------------------------------

def test_app_container_per_role_and_host(shipped):
    stack, ev = shipped
    containers = app_containers(ev)
    assert len(containers) == sum(stack.role_count(r) for r in stack.servers)
    for container in containers:
        i = container.plain_inputs
        role = next(label["value"] for label in i["labels"] if label["label"] == "role")
        base = container_base(stack.service, role, stack.version)
        assert i["name"].startswith(base + "-") and len(i["name"]) == len(base) + 7
        assert {(label["label"], label["value"]) for label in i["labels"]} == {
            ("service", stack.service), ("role", role), ("version", stack.version), ("berth.log-opts", "max-size=10m")}
        assert "logOpts" in container.ignore_changes
        assert i["networksAdvanced"] == [{"name": "kamal"}]
        assert i["restart"] == "unless-stopped" and i["logOpts"] == {"max-size": "10m"}
        assert container.retain_on_delete  # removed by the prune step after the switch, never by Pulumi
        for clear_name, value in stack.env.clear.items():
            assert f"{clear_name}={value}" in i["envs"]
        assert secret_paths(container.inputs) == (["envs"] if stack.env.secret or stack.database else [])
        mounts = {v["containerPath"]: v.get("hostPath") or v.get("volumeName") for v in i.get("volumes", [])}
        for mount in stack.mounts:
            assert mounts[mount.target] == mount.source
        if stack.is_proxied(role):
            assert i["healthcheck"]["tests"][0] == "CMD-SHELL"
            assert f"localhost:{stack.proxy.app_port}{stack.proxy.healthcheck.path}" in i["healthcheck"]["tests"][1]


def test_resource_limits_from_role_options(evaluations):
    _, ev = evaluations["zen-miner"]
    for container in app_containers(ev):
        assert (container.plain_inputs["memory"], container.plain_inputs["cpus"]) == (512, "1.0")


def test_database_url_reaches_the_app_as_a_secret(evaluations):
    _, ev = evaluations["production"]
    (container,) = app_containers(ev)
    assert any(e.startswith("DATABASE_URL=postgres://covertext:") for e in container.plain_inputs["envs"])
    assert secret_paths(container.inputs) == ["envs"]


def test_job_role_gets_a_container_but_no_switch():
    ev = evaluate(variant(PRODUCTION, servers={"web": {"count": 1, "size": "s-1vcpu-2gb"},
                                               "jobs": {"count": 1, "cmd": "bin/jobs"}}))
    jobs = [c for c in app_containers(ev) if c.name.startswith("covertext-jobs-")]
    assert len(jobs) == 1 and jobs[0].plain_inputs["command"] == ["bin/jobs"]
    assert "healthcheck" not in jobs[0].plain_inputs
    names = {c.name for c in ev.of_type(COMMAND)}
    assert "covertext-jobs-1-switch" not in names and "covertext-jobs-1-prune" in names



def test_a_roles_env_is_merged_over_the_stacks_as_kamal_merges_it():
    """Kamal's Env#merge: clear values merge with the role's winning, secrets are the union."""
    ev = evaluate(variant(PRODUCTION, servers={
        "web": {"count": 1, "size": "s-1vcpu-2gb"},
        "jobs": {"count": 1, "cmd": "bin/jobs", "env": {"clear": {"SOLID_QUEUE_IN_PUMA": "false", "JOB_THREADS": 3},
                                                        "secret": ["TWILIO_AUTH_TOKEN", "QUEUE_KEY:TWILIO_ACCOUNT_SID"]}}}))
    by_role = {c.name.split("-")[1]: c for c in app_containers(ev)}
    names = {role: {e.split("=", 1)[0]: e.split("=", 1)[1] for e in c.plain_inputs["envs"]}
             for role, c in by_role.items()}
    assert names["jobs"]["SOLID_QUEUE_IN_PUMA"] == "false" and names["jobs"]["JOB_THREADS"] == "3"
    assert names["web"]["SOLID_QUEUE_IN_PUMA"] == "true" and "JOB_THREADS" not in names["web"]
    assert {"RAILS_MASTER_KEY", "TWILIO_AUTH_TOKEN", "QUEUE_KEY", "DATABASE_URL"} <= set(names["jobs"])
    assert "QUEUE_KEY" not in names["web"]
    assert secret_paths(by_role["jobs"].inputs) == ["envs"]


# --- the switch ----------------------------------------------------------------------------------

EXPECTED_FLAGS = {
    "production": "--host=covertext.app --tls --deploy-timeout=30s --drain-timeout=30s --health-check-path=/up "
                  "--health-check-interval=1s --health-check-timeout=5s --target-timeout=30s --buffer-requests "
                  "--buffer-responses --buffer-memory=1048576 --forward-headers=false",
    "staging": "--host=staging.covertext.app --tls --deploy-timeout=30s --drain-timeout=30s --health-check-path=/up "
               "--health-check-interval=1s --health-check-timeout=5s --target-timeout=30s --buffer-requests "
               "--buffer-responses --buffer-memory=1048576 --forward-headers=false",
    "dbcours": "--host=dbcours.example.com --tls --deploy-timeout=30s --drain-timeout=30s --health-check-path=/up "
               "--health-check-interval=10s --health-check-timeout=5s --target-timeout=30s --buffer-requests "
               "--buffer-responses --buffer-memory=1048576 --forward-headers=false",
    "wombat": "--host=wombatworkouts.com --tls --deploy-timeout=70s --drain-timeout=30s --health-check-path=/up "
              "--health-check-interval=10s --health-check-timeout=5s --target-timeout=30s --buffer-requests "
              "--buffer-responses --buffer-memory=1048576 --forward-headers=false",
    "bisan": "--host=185.185.82.142.nip.io --tls --deploy-timeout=30s --drain-timeout=30s --health-check-path=/up "
             "--health-check-interval=1s --health-check-timeout=5s --target-timeout=30s --buffer-requests "
             "--buffer-responses --buffer-memory=1048576 --forward-headers=false",
    "zen-miner": "--host=zenminer.example --host=www.zenminer.example --tls "
                 "--tls-certificate-path=/home/kamal-proxy/.apps-config/zen-miner/tls/cert.pem "
                 "--tls-private-key-path=/home/kamal-proxy/.apps-config/zen-miner/tls/key.pem "
                 "--deploy-timeout=30s --drain-timeout=30s --health-check-path=/up --health-check-interval=3s "
                 "--health-check-timeout=5s --target-timeout=30s --buffer-requests --buffer-responses "
                 "--buffer-memory=1048576 --forward-headers",
}


KAMAL_LOG_HEADERS = ("--log-request-header=Cache-Control --log-request-header=Last-Modified "
                     "--log-request-header=User-Agent")


@pytest.mark.parametrize("name", SHIPPED_IDS)
def test_switch_runs_kamal_proxy_deploy_with_exact_flags(name, evaluations):
    stack, ev = evaluations[name]
    containers = {c.name.removesuffix("-app"): c for c in app_containers(ev)}
    switches = [c for c in ev.of_type(COMMAND) if c.name.endswith("-switch")]
    assert len(switches) == sum(stack.role_count(r) for r in stack.proxied_roles)
    for switch in switches:
        host = switch.name.removesuffix("-switch")
        container = containers[host]
        target = f"{container.plain_inputs['name']}:{stack.proxy.app_port}"
        assert deploy_line(switch) == (
            f"docker exec kamal-proxy kamal-proxy deploy {stack.service}-web --target={target} {EXPECTED_FLAGS[name]} "
            f"{KAMAL_LOG_HEADERS}")
        # started first: a container the provider created but could not start is started here, or the `up` fails;
        # the old ones stop only once the proxy moved to it
        script = switch.plain_inputs["stdin"]
        assert script.index('docker start "$current"') < script.index(deploy_line(switch)) < script.index("docker stop")
        assert f"current={container.plain_inputs['name']}\n" in script
        assert "delete" not in switch.plain_inputs  # a delete would remove the route on every release
        assert switch.plain_inputs["triggers"][0] == container.id  # then the machine's generation (test_hosts.py)
        assert container.urn in switch.dependencies


def test_release_command_runs_once_on_the_primary_before_any_switch(evaluations):
    stack, ev = evaluations["production"]
    (release,) = [c for c in ev.of_type(COMMAND) if c.name.endswith("-release-command")]
    assert release.name == "covertext-web-1-release-command"
    assert release.plain_inputs["create"] == "bash -s"
    assert "stdin" in secret_paths(release.inputs)
    stdin = release.plain_inputs["stdin"]
    assert "docker run --rm --name covertext-release-3f9c2e1 --network kamal --env-file " in stdin
    assert stdin.rstrip().endswith("ghcr.io/workhorse-solutions/covertext:3f9c2e1 bin/rails db:prepare")
    assert "--volume /mnt/storage:/rails/storage" in stdin
    assert "RAILS_MASTER_KEY=" in stdin and "install -m 0600" in stdin
    assert release.plain_inputs["triggers"][:2] == ["3f9c2e1", "bin/rails db:prepare"]
    for switch in [c for c in ev.of_type(COMMAND) if c.name.endswith("-switch")]:
        assert release.urn in switch.dependencies
    for container in app_containers(ev):  # no new version boots before its migrations ran
        assert release.urn in container.dependencies


@pytest.mark.parametrize("batch, chained", [(0, False), (1, True)])
def test_rollout_batches_chain_the_switches(batch, chained):
    ev = evaluate(variant(ZEN, rollout={"batchSize": batch}))
    switches = {c.name: c for c in ev.of_type(COMMAND) if c.name.endswith("-switch")}
    first, second, third = (switches[f"zen-miner-web-{n}-switch"] for n in (1, 2, 3))
    assert (first.urn in second.dependencies) is chained
    assert (second.urn in third.dependencies) is chained
    assert first.urn not in third.dependencies or not chained


def test_batches_of_two():
    ev = evaluate(variant(ZEN, rollout={"batchSize": 2}))
    switches = {c.name: c for c in ev.of_type(COMMAND) if c.name.endswith("-switch")}
    one, two, three = (switches[f"zen-miner-web-{n}-switch"] for n in (1, 2, 3))
    assert one.urn not in two.dependencies
    assert {one.urn, two.urn} <= set(three.dependencies)


def test_the_switch_prunes_in_the_same_session_keeping_retained_containers(evaluations):
    """One SSH session per role and host, as Kamal's `app boot` (deploy, then stop the old one): no prune of its
    own for a proxied role, which would dial the host again."""
    stack, ev = evaluations["production"]
    assert [c for c in ev.of_type(COMMAND) if c.name.endswith("-prune")] == []
    (switch,) = [c for c in ev.of_type(COMMAND) if c.name.endswith("-switch")]
    assert f"tail -n +{stack.retain_containers + 1}" in switch.plain_inputs["stdin"]


def test_maintenance_stops_the_route_and_resumes_on_delete():
    ev = evaluate(variant(PRODUCTION, maintenance=True, maintenanceMessage="Back soon"))
    (maintenance,) = [c for c in ev.of_type(COMMAND) if c.name.endswith("-maintenance")]
    i = maintenance.plain_inputs
    assert i["create"] == i["update"] == (
        "docker exec kamal-proxy kamal-proxy stop covertext-web --drain-timeout=30s '--message=Back soon'")
    assert i["delete"] == "docker exec kamal-proxy kamal-proxy resume covertext-web"


def test_no_maintenance_resource_when_live(evaluations):
    _, ev = evaluations["production"]
    assert not [c for c in ev.of_type(COMMAND) if c.name.endswith("-maintenance")]


def test_asset_bridging_mounts_the_merged_assets(evaluations):
    _, ev = evaluations["dbcours"]
    (container,) = app_containers(ev)
    assert {"hostPath": "/var/lib/berth/dbcours/assets/web-v1.4.0", "containerPath": "/rails/public/assets"} in \
        container.plain_inputs["volumes"]
    (assets,) = [c for c in ev.of_type(COMMAND) if c.name.endswith("-assets")]
    assert assets.urn in container.dependencies
    assert "--skip-old-files" in assets.plain_inputs["stdin"] and "cp -a -n" not in assets.plain_inputs["stdin"]


FAKE_DOCKER = """#!/usr/bin/env bash
# docker, as far as the asset bridge uses it: an image is a directory under $IMAGES.
case "$1" in
  rm) exit 0 ;;
  create) echo "$4" > "$IMAGES/.created-$3" ;;
  cp) name=${3%%:*}; path=${3#*:}; image=$(cat "$IMAGES/.created-$name"); cp -a "$IMAGES/$image$path" "$4/" ;;
esac
"""


def test_the_asset_bridge_merges_without_overwriting_and_exits_zero(tmp_path, monkeypatch):
    """Run for real (bash, tar) with a stand-in docker: the new version's files win, the previous
    version's are added, nothing already bridged is overwritten, and a re-run exits 0."""
    from components.render import release as text

    monkeypatch.setattr(text, "STATE_DIR", str(tmp_path / "state"))
    images = tmp_path / "images"
    for version, files in {"v1": {"app-v1.css": "one", "shared.css": "v1"},
                           "v2": {"app-v2.css": "two", "shared.css": "v2"}}.items():
        (images / f"app:{version}" / "rails/public/assets").mkdir(parents=True)
        for name, content in files.items():
            (images / f"app:{version}" / "rails/public/assets" / name).write_text(content)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "docker").write_text(FAKE_DOCKER)
    (tmp_path / "bin" / "docker").chmod(0o755)
    env = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "IMAGES": str(images)}
    for version in ("v1", "v2", "v2"):
        script = text.asset_bridge_script("shop", "web", version, f"app:{version}", "/rails/public/assets", 5)
        result = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
    merged = tmp_path / "state/shop/assets/web-v2"
    assert {p.name: p.read_text() for p in merged.iterdir()} == {
        "app-v1.css": "one", "app-v2.css": "two", "shared.css": "v2"}


def test_release_output(shipped):
    stack, ev = shipped
    release = ev.outputs["release"]
    assert release["version"] == stack.version
    assert release["image"] == f"{stack.image}:{stack.version}"
    assert release["digest"].startswith(stack.image.split(":")[0])
    assert set(release["containers"]) == {c.name.removesuffix("-app") for c in app_containers(ev)}


def test_every_remote_script_passes_shellcheck(evaluations, tmp_path):
    scripts = {}
    for name, (_, ev) in evaluations.items():
        for command in ev.of_type(COMMAND):
            for key in ("create", "update", "delete", "stdin"):
                if command.plain_inputs.get(key):
                    scripts[f"{name}-{command.name}-{key}"] = command.plain_inputs[key]
    assert len(scripts) > 20
    assert shellcheck(scripts, tmp_path) == ""


# --- the release invariant -----------------------------------------------------------------------

def _is_release(resource) -> bool:
    """Declared inside the Release component: image pulls, revisions, app containers, release command,
    switches and pruning. Proxies, accessories, hosts and the edge live elsewhere."""
    return "berth:index:Release$" in resource.urn


@pytest.mark.parametrize("path", SHIPPED, ids=SHIPPED_IDS)
def test_a_version_bump_changes_only_release_resources(path, evaluations):
    _, before = evaluations[path.stem.removeprefix("Pulumi.")]
    after = evaluate(variant(path, version="9e8d7c6"))
    old = {r.urn: r.plain_inputs for r in before.resources}
    new = {r.urn: r.plain_inputs for r in after.resources}
    assert set(old) == set(new)
    changed = [r for r in after.resources if old[r.urn] != new[r.urn]]
    assert changed, "a version bump must change something"
    assert [r.name for r in changed if not _is_release(r)] == []
    kept = {r.type for r in after.resources if not _is_release(r)}  # the classifier is not vacuous
    assert {"docker:index/container:Container", "docker:index/remoteImage:RemoteImage"} <= kept
    assert {r.type for r in changed} >= {CONTAINER, "docker:index/remoteImage:RemoteImage"}


# Pairs from running the Docker provider's own conversion (terraform-provider-docker v4.5.0
# nanoInt64ToDecimalString after docker/cli ParseCPUs) in Go: the read-back text is what is declared.
@pytest.mark.parametrize(("cpus", "declared"), [(1, "1.0"), (1.5, "1.5"), (0.5, "0.5"), (0.25, "0.25"), (10, "10."),
                                                (20, "20."), (40, "40."), (10.5, "10.5"), (0.055, "0.055")])
def test_cpus_are_declared_as_the_docker_provider_reads_them_back(cpus, declared):
    """`cpus` forces a new container: any other spelling of the value would replace it on every `up`."""
    ev = evaluate(variant(ZEN, servers={"web": {"options": {"cpus": cpus}}}))
    assert {c.plain_inputs["cpus"] for c in app_containers(ev)} == {declared}


def _host_with_five_releases(repository: str, tmp_path):
    """v1..v5 of acme/app, v2 and v4 released by digest; v4 and v5 running, v1-v3 stopped (oldest first);
    and an accessory image of another repository, which the prune never touches."""
    images, containers = {}, []
    for n in range(1, 6):
        image_id = "sha256:" + f"{n}" * 64
        digest = f"{repository}@sha256:" + f"{n}a" * 32
        by_digest = n in (2, 4)
        images[image_id] = {"tags": [] if by_digest else [f"{repository}:v{n}"], "digests": [digest],
                            "by_digest": by_digest}
        containers.append({"id": f"c{n}", "name": f"shop-web-v{n}", "image": image_id,
                           "status": "running" if n >= 4 else "exited", "labels": {"service": "shop", "role": "web"}})
    images["sha256:" + "f" * 64] = {"tags": ["litestream/litestream:0.5.16"], "digests": [], "by_digest": False}
    state = tmp_path / "docker.json"
    state.write_text(json.dumps({"images": images, "containers": containers}))
    return state


def _fake_docker_env(state, tmp_path, store: str = "overlay2") -> dict[str, str]:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "docker").write_text(
        f"#!/bin/sh\nexec {sys.executable} {PROJECT_DIR / 'tests' / 'fake_docker.py'} \"$@\"\n")
    (tmp_path / "bin" / "docker").chmod(0o755)
    return {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "DOCKER_STATE": str(state), "DOCKER_STORE": store}


@pytest.mark.parametrize("store", ["overlay2", "containerd"])
@pytest.mark.parametrize("repository", ["docker.io/acme/app", "acme/app"])
def test_the_prune_removes_every_unused_release_tagged_or_by_digest(store, repository, tmp_path):
    """Run for real (bash) against a docker that models both image stores (tests/fake_docker.py): with
    retainContainers 1, v4 is stopped and kept with its image, v1-v3 and their images go, v2's although it
    has no tag, and the current v5 and the accessory's image stay."""
    from components.render.release import boot_script

    state = _host_with_five_releases("acme/app", tmp_path)
    env = _fake_docker_env(state, tmp_path, store)
    script = boot_script("shop", "web", "shop-web-v5", repository, retain=1, stop_timeout=30, switch="true")
    result = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    after = json.loads(state.read_text())
    assert [(c["name"], c["status"]) for c in after["containers"]] == [("shop-web-v4", "exited"),
                                                                       ("shop-web-v5", "running")]
    assert sorted(r for image in after["images"].values() for r in image["tags"] + image["digests"]) == [
        "acme/app:v5", "acme/app@sha256:" + "4a" * 32, "acme/app@sha256:" + "5a" * 32, "litestream/litestream:0.5.16"]


def test_a_switch_that_fails_stops_nothing_and_prunes_nothing(tmp_path):
    """kamal-proxy refusing the new container (a failed health check) ends the script at the switch: the old
    container keeps serving, nothing stopped, nothing removed, and the command fails with the proxy's exit status."""
    from components.render.release import boot_script

    state = _host_with_five_releases("acme/app", tmp_path)
    before = state.read_text()
    script = boot_script("shop", "web", "shop-web-v5", "acme/app", retain=1, stop_timeout=30, switch="exit 3")
    result = subprocess.run(["bash", "-c", script], env=_fake_docker_env(state, tmp_path), capture_output=True,
                            text=True)
    assert result.returncode == 3, result.stderr
    assert state.read_text() == before


def test_tls_ending_before_the_proxy_deploys_plain_http_to_every_name_with_forwarded_headers():
    """proxy.ssl: external (Kamal's ssl: false): no --tls, no --host when hosts is empty (kamal-proxy then routes
    every name), and --forward-headers, kamal-proxy's own default without TLS (deploy.go), which Kamal keeps."""
    stack_file = variant(PROJECT_DIR / "examples" / "dbcours.yaml",
                         proxy={"ssl": "external", "acknowledgePlaintextOrigin": True, "hosts": []})
    (switch,) = [c for c in evaluate(stack_file).of_type(COMMAND) if c.name.endswith("-switch")]
    argv = deploy_line(switch).split()
    assert "--tls" not in argv and not any(a.startswith(("--host=", "--tls-")) for a in argv)
    assert "--forward-headers" in argv


def test_a_route_below_a_path_on_a_shared_proxy_takes_its_tls_from_the_route_at_the_root():
    """kamal-proxy refuses TLS settings below the root path (deploy.go) and gives such a route the TLS of the route
    at / of its first host (service_map.go syncTLSOptionsFromRootDomain): no --tls, the paths, the strip flag."""
    stack_file = variant(PRODUCTION, proxy={"shared": True, "pathPrefixes": ["/api"], "stripPathPrefix": False})
    (switch,) = [c for c in evaluate(stack_file).of_type(COMMAND) if c.name.endswith("-switch")]
    argv = deploy_line(switch).split()
    assert "--tls" not in argv and "--path-prefix=/api" in argv and "--strip-path-prefix=false" in argv
    assert "--host=covertext.app" in argv


def test_the_proxy_publishes_the_ports_and_addresses_proxy_run_names():
    """Kamal's proxy.run: `--publish IP:HTTP_PORT:80 --publish IP:HTTPS_PORT:443`; the label carries the change."""
    stack_file = variant(PRODUCTION, proxy={"run": {"httpPort": 8080, "httpsPort": 8443, "bindIps": ["127.0.0.1"]}})
    (proxy,) = [c for c in evaluate(stack_file).of_type(CONTAINER) if c.plain_inputs["name"] == "kamal-proxy"]
    ports = [(p["external"], p["internal"], p["ip"]) for p in proxy.plain_inputs["ports"]]
    assert ports == [(8080, 80, "127.0.0.1"), (8443, 443, "127.0.0.1")]
    labels = {label["label"]: label["value"] for label in proxy.plain_inputs["labels"]}
    assert labels["berth.ports"] == "8080:80@127.0.0.1,8443:443@127.0.0.1"
    assert proxy_text.ports_label(proxy_text.bindings()) == "80@0.0.0.0,80@::,443@0.0.0.0,443@::"  # as before
