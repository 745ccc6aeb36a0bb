"""The policy pack's rules as plain functions, the pack itself over gRPC, and every shipped stack clean."""

from __future__ import annotations

import subprocess
import sys

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from conftest import SHIPPED, variant
from policy import berth_rules as rules
from policy.berth_rules import Resource
from tooling.evaluate import PROJECT_DIR, evaluate
from tooling.plan import policy_violations

DO_FIREWALL = "digitalocean:index/firewall:Firewall"


def do_firewall(ssh_from):
    return Resource(DO_FIREWALL, "fw", {"inboundRules": [
        {"protocol": "tcp", "portRange": "22", "sourceAddresses": ssh_from},
        {"protocol": "tcp", "portRange": "443", "sourceAddresses": ["0.0.0.0/0", "::/0"]}]})


CASES = {
    "ssh-not-open-to-world": (
        [do_firewall(["203.0.113.7/32"]),
         Resource("hcloud:index/firewall:Firewall", "fw", {"rules": [
             {"direction": "in", "port": "22", "sourceIps": ["198.51.100.0/24"]},
             {"direction": "out", "port": "22", "destinationIps": ["0.0.0.0/0"]}]})],
        [do_firewall(["0.0.0.0/0"]),
         Resource("hcloud:index/firewall:Firewall", "fw", {"rules": [
             {"direction": "in", "port": "2222", "sourceIps": ["::/0"]}]})],
    ),
    "no-public-accessory-ports": (
        [Resource("docker:index/container:Container", "search", {
            "labels": [{"label": "accessory", "value": "search"}],
            "ports": [{"ip": "127.0.0.1", "external": 7700, "internal": 7700}]}),
         Resource("docker:index/container:Container", "proxy", {  # the proxy is no accessory: 80/443 are its job
             "labels": [{"label": "berth.role", "value": "proxy"}], "ports": [{"ip": "0.0.0.0", "external": 443}]})],
        [Resource("docker:index/container:Container", "search", {
            "labels": [{"label": "accessory", "value": "search"}], "ports": [{"external": 7700, "internal": 7700}]})],
    ),
    "stateful-resources-protected": (
        [Resource("hcloud:index/volume:Volume", "data", {}, protect=True),
         Resource("hcloud:index/server:Server", "web", {}, protect=False)],
        [Resource("digitalocean:index/databaseCluster:DatabaseCluster", "db", {}, protect=False)],
    ),
    "tls-not-off-behind-cloudflare": (
        [Resource("cloudflare:index/zoneSetting:ZoneSetting", "zone-ssl", {"settingId": "ssl", "value": "strict"})],
        [Resource("cloudflare:index/zoneSetting:ZoneSetting", "zone-ssl", {"settingId": "ssl", "value": "flexible"})],
    ),
    "no-secret-on-a-command-line": (
        [Resource("command:remote:Command", "switch", {"create": "docker exec kamal-proxy kamal-proxy deploy a"}),
         Resource("command:remote:Command", "x", {"create": "bash -s", "stdin": "PASSWORD=hunter2"}),
         Resource("command:remote:Command", "y", {"create": 'TOKEN="$TOKEN" run'})],
        [Resource("command:remote:Command", "x", {"create": "RAILS_MASTER_KEY=abc123 bin/rails db:prepare"}),
         Resource("command:remote:Command", "y", {"create": "docker login --password hunter2 ghcr.io"}),
         Resource("docker:index/container:Container", "c", {"command": ["app", "--api_key=s3cr3t"]})],
    ),
}


@pytest.mark.parametrize("policy", list(CASES))
def test_each_rule_passes_good_and_fails_bad_resources(policy):
    rule = rules.RESOURCE_RULES[policy]
    good, bad = CASES[policy]
    assert [message for r in good for message in rule(r)] == []
    for resource in bad:
        assert rule(resource), resource


def test_database_needs_trusted_sources():
    cluster = Resource("digitalocean:index/databaseCluster:DatabaseCluster", "db", {}, protect=True)
    firewall = Resource("digitalocean:index/databaseFirewall:DatabaseFirewall", "fw", {"rules": [{"type": "droplet"}]})
    empty = Resource("digitalocean:index/databaseFirewall:DatabaseFirewall", "fw", {"rules": []})
    assert rules.database_trusted_sources_set([cluster, firewall]) == []
    assert rules.database_trusted_sources_set([cluster]) and rules.database_trusted_sources_set([cluster, empty])
    assert rules.database_trusted_sources_set([]) == []


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_stacks_break_no_policy(path, evaluations):
    _, ev = evaluations[path.stem.removeprefix("Pulumi.")]
    assert policy_violations(ev) == []


def test_the_plan_reports_a_world_open_ssh_port():
    violations = policy_violations(evaluate(variant(PROJECT_DIR / "Pulumi.production.yaml",
                                                    ssh={"allowFrom": ["0.0.0.0/0"]})))
    assert ("ssh-not-open-to-world", "covertext-firewall opens port 22 to the whole internet") in violations


# --- the pack as the Pulumi engine runs it ---------------------------------------------------------

@pytest.fixture(scope="module")
def analyzer():
    process = subprocess.Popen([sys.executable, "__main__.py"], cwd=PROJECT_DIR / "policy",
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(process.stdout.readline().strip())
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.kill()
        process.wait()


def _struct(value: dict) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


def test_the_pack_lists_every_rule(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "berth"
    assert {p.name for p in info.policies} == set(rules.RESOURCE_RULES) | set(rules.STACK_RULES)


def test_the_pack_rejects_a_world_open_firewall(analyzer):
    bad = do_firewall(["0.0.0.0/0"])
    response = analyzer.Analyze(analyzer_pb2.AnalyzeRequest(
        type=bad.type, name=bad.name, urn=f"urn:pulumi:s::berth::{bad.type}::{bad.name}", properties=_struct(bad.props)))
    (diagnostic,) = response.diagnostics
    assert diagnostic.policyName == "ssh-not-open-to-world"
    assert diagnostic.message.endswith("fw opens port 22 to the whole internet")
    good = do_firewall(["203.0.113.7/32"])
    response = analyzer.Analyze(analyzer_pb2.AnalyzeRequest(
        type=good.type, name=good.name, urn=f"urn:pulumi:s::berth::{good.type}::fw", properties=_struct(good.props)))
    assert list(response.diagnostics) == []
