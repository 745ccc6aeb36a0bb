"""components/cloudflare.py sends the engine what pulumi_cloudflare's own classes send, without loading them.

The same declarations run twice under the mocks, once through the SDK's classes and functions and once through
Berth's, and every field of every RegisterResource request and every invoke must agree (the stack traces
aside: they name the file that declared them).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pulumi
import pytest

from components import cloudflare
from components.stackfile import StackFile
from tooling.evaluate import OfflineMocks, evaluate

HSTS = {"strict_transport_security": {"enabled": True, "max_age": 600, "include_subdomains": False,
                                      "preload": True, "nosniff": True}}
DECLARATIONS = {
    "sdk": f"""
import pulumi
import pulumi_cloudflare as cf
zone = cf.get_zone_output(filter=cf.GetZoneFilterArgs(match="all", name="a.example"))
ranges = cf.get_ip_ranges_output()
cf.DnsRecord("a-example-a-web-1", zone_id=zone.id, name="a.example", type="A", content="192.0.2.1",
             proxied=True, ttl=1, comment="berth app/production web-1")
cf.ZoneSetting("zone-security-header", zone_id=zone.id, setting_id="security_header", value={HSTS!r})
certificate = cf.OriginCaCertificate("origin-certificate", csr="-----BEGIN CERTIFICATE REQUEST-----",
                                     hostnames=["a.example"], request_type="origin-ecc", requested_validity=5475,
                                     opts=pulumi.ResourceOptions(protect=True))
pulumi.export("zone", zone.id)
pulumi.export("ranges", ranges.apply(lambda r: [list(r.ipv4_cidrs), list(r.ipv6_cidrs)]))
pulumi.export("certificate", certificate.certificate)
""",
    "berth": f"""
import pulumi
from components import cloudflare as cf
zone_id = cf.zone_id("a.example")
ranges = cf.ip_ranges()
cf.DnsRecord("a-example-a-web-1", zone_id=zone_id, name="a.example", type="A", content="192.0.2.1",
             proxied=True, ttl=1, comment="berth app/production web-1")
cf.ZoneSetting("zone-security-header", zone_id=zone_id, setting_id="security_header", value={HSTS!r})
certificate = cf.OriginCaCertificate("origin-certificate", csr="-----BEGIN CERTIFICATE REQUEST-----",
                                     hostnames=["a.example"], request_type="origin-ecc", requested_validity=5475,
                                     opts=pulumi.ResourceOptions(protect=True))
pulumi.export("zone", zone_id)
pulumi.export("ranges", ranges.apply(list))
pulumi.export("certificate", certificate.certificate)
""",
}


class Answering(OfflineMocks):
    """Cloudflare answering both functions, and the calls it was asked."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, dict]] = []

    def call(self, args):
        self.calls.append((args.token, args.args))
        if args.token == cloudflare.GET_IP_RANGES:
            return {"ipv4Cidrs": ["198.51.100.0/24"], "ipv6Cidrs": ["2001:db8:cf::/48"], "etag": "x"}
        return super().call(args)


def _declare(program: Path) -> tuple:
    """One side's registrations (stack traces aside), outputs, invokes and their options."""
    invoked = []
    invoke_output = pulumi.runtime.invoke_output

    def recording(tok, props, opts=None, *rest, **kwargs):
        invoked.append((tok, opts.version, opts.plugin_download_url))
        return invoke_output(tok, props, opts, *rest, **kwargs)

    pulumi.runtime.invoke_output = recording
    mocks = Answering()
    try:
        evaluation = evaluate(StackFile(name="production", berth={}), program=program, preview=False, mocks=mocks)
    finally:
        pulumi.runtime.invoke_output = invoke_output
    registrations = sorted(({k: v for k, v in vars(r).items() if k not in ("stack_trace", "source_position")}
                            for r in evaluation.resources), key=lambda r: r["type"])  # registered as resolved
    return registrations, evaluation.outputs, mocks.calls, invoked


@pytest.fixture(scope="module")
def declared(tmp_path_factory) -> dict[str, tuple]:
    sides = {}
    for side, text in DECLARATIONS.items():
        program = tmp_path_factory.mktemp(side) / "__main__.py"
        program.write_text(text)
        sides[side] = _declare(program)
    return sides


def test_each_resource_reaches_the_engine_as_the_sdk_declares_it(declared):
    registrations, _, _, _ = declared["berth"]
    assert [r["type"] for r in registrations] == [cloudflare.DNS_RECORD, cloudflare.ORIGIN_CA_CERTIFICATE,
                                                  cloudflare.ZONE_SETTING]
    assert registrations == declared["sdk"][0]
    assert registrations[0]["alias_types"] == [cloudflare.DNS_RECORD_V5]  # records from provider v5 keep their state


def test_each_function_is_asked_as_the_sdk_asks_it_and_read_as_it_reads_it(declared):
    _, outputs, calls, invoked = declared["berth"]
    assert (outputs, sorted(calls, key=str), invoked) == (declared["sdk"][1], sorted(declared["sdk"][2], key=str),
                                                          declared["sdk"][3])
    assert (cloudflare.GET_ZONE, {"filter": {"match": "all", "name": "a.example"}}) in calls
    assert outputs["ranges"] == [["198.51.100.0/24"], ["2001:db8:cf::/48"]]
    assert outputs["certificate"].startswith("-----BEGIN CERTIFICATE-----")


def test_the_engine_is_asked_for_the_plugin_the_sdk_ships():
    plugin = json.loads((Path(importlib.util.find_spec("pulumi_cloudflare").origin).parent
                         / "pulumi-plugin.json").read_text())
    assert cloudflare.plugin_version() == plugin["version"]
