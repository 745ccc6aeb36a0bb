"""Edge under mocks: records per host, zone settings by their API ids, the origin certificate, origin firewall."""

from __future__ import annotations

import pytest

from components.render.edge import ZoneSettings, manual_records, record_specs, zone_setting_values
from components.render.origin import CLOUDFLARE_IPV4, CLOUDFLARE_IPV6, cloudflare_ranges
from conftest import ready, variant
from tooling.evaluate import PROJECT_DIR, OfflineMocks, evaluate, secret_paths

ZEN = PROJECT_DIR / "examples" / "zen-miner.yaml"


# --- pure ------------------------------------------------------------------------------------------

def test_zone_settings_use_cloudflare_ids_and_values():
    assert zone_setting_values(ZoneSettings("strict", True, "1.2")) == [
        ("ssl", "strict"), ("always_use_https", "on"), ("min_tls_version", "1.2")]
    with_hsts = dict(zone_setting_values(ZoneSettings("full", False, "1.3", hsts_max_age=600, hsts_preload=True)))
    assert with_hsts["always_use_https"] == "off"
    assert with_hsts["security_header"] == {"strict_transport_security": {
        "enabled": True, "max_age": 600, "include_subdomains": False, "preload": True, "nosniff": True}}


def test_records_per_hostname_and_host_with_aaaa_only_where_ipv6():
    specs = record_specs(["a.example", "www.a.example"], [("app-web-1", True), ("app-web-2", False)])
    assert [(s.hostname, s.type, s.host) for s in specs] == [
        ("a.example", "A", "app-web-1"), ("a.example", "AAAA", "app-web-1"), ("a.example", "A", "app-web-2"),
        ("www.a.example", "A", "app-web-1"), ("www.a.example", "AAAA", "app-web-1"), ("www.a.example", "A", "app-web-2"),
    ]
    assert len({s.resource_name for s in specs}) == len(specs)


def test_manual_records_list_every_address():
    assert manual_records(["x.example"], {"h1": ("192.0.2.1", None), "h2": ("192.0.2.2", "2001:db8::2")}) == [
        "x.example A 192.0.2.1", "x.example A 192.0.2.2", "x.example AAAA 2001:db8::2"]


def test_cloudflare_ranges_prefer_the_api_and_fall_back_to_the_published_list():
    assert cloudflare_ranges([], []) == list(CLOUDFLARE_IPV4 + CLOUDFLARE_IPV6)
    assert cloudflare_ranges(["198.51.100.0/24", "192.0.2.0/24"], ["2001:db8::/32"]) == [
        "192.0.2.0/24", "198.51.100.0/24", "2001:db8::/32"]


# --- under mocks -----------------------------------------------------------------------------------

def _records(ev):
    return [r.plain_inputs for r in ev.of_type("cloudflare:index/dnsRecord:DnsRecord")]


def test_three_proxied_web_hosts_get_a_and_aaaa_per_hostname(evaluations):
    stack, ev = evaluations["zen-miner"]
    records = _records(ev)
    assert len(records) == 2 * 3 * 2
    for record in records:
        assert record["proxied"] is True and record["ttl"] == 1
        assert record["name"] in stack.proxy.hosts
    a = sorted(r["content"] for r in records if r["type"] == "A" and r["name"] == "zenminer.example")
    aaaa = sorted(r["content"] for r in records if r["type"] == "AAAA" and r["name"] == "zenminer.example")
    assert len(a) == len(set(a)) == 3 and len(aaaa) == 3
    web = ev.outputs["servers"]["web"]
    assert set(a) == {h["publicIpv4"] for h in web} and set(aaaa) == {h["publicIpv6"] for h in web}
    zone_ids = {r["zoneId"] for r in records}
    assert len(zone_ids) == 1


def test_dns_only_stack_points_one_record_at_the_reserved_ip_and_leaves_zone_settings(evaluations):
    _, ev = evaluations["production"]
    records = _records(ev)
    assert {(r["type"], r["proxied"]) for r in records} == {("A", False), ("AAAA", False)}
    assert ev.of_type("cloudflare:index/zoneSetting:ZoneSetting") == []  # zone shared with staging
    assert ev.of_type("cloudflare:index/originCaCertificate:OriginCaCertificate") == []


def test_zone_settings_each_one_resource_with_api_ids(evaluations):
    _, ev = evaluations["zen-miner"]
    settings = {r.plain_inputs["settingId"]: r.plain_inputs["value"]
                for r in ev.of_type("cloudflare:index/zoneSetting:ZoneSetting")}
    assert settings == {"ssl": "strict", "always_use_https": "on", "min_tls_version": "1.2"}


def test_hsts_is_a_security_header_setting():
    ev = evaluate(variant(ZEN, cloudflare={"hsts": {"maxAge": 63072000, "includeSubdomains": True}}))
    (header,) = [r for r in ev.of_type("cloudflare:index/zoneSetting:ZoneSetting")
                 if r.plain_inputs["settingId"] == "security_header"]
    hsts = header.plain_inputs["value"]["strict_transport_security"]
    assert hsts["max_age"] == 63072000 and hsts["include_subdomains"] is True and hsts["enabled"] is True


def test_origin_certificate_from_a_local_key_and_csr(evaluations):
    stack, ev = evaluations["zen-miner"]
    assert stack.tls_mode == "cloudflare-origin"
    (key,) = [k for k in ev.of_type("tls:index/privateKey:PrivateKey") if not k.name.endswith("-host-key")]
    assert key.plain_inputs["algorithm"] == "ECDSA"
    (csr,) = ev.of_type("tls:index/certRequest:CertRequest")
    assert csr.plain_inputs["dnsNames"] == stack.proxy.hosts
    assert secret_paths(csr.inputs) == ["privateKeyPem"]
    (cert,) = ev.of_type("cloudflare:index/originCaCertificate:OriginCaCertificate")
    assert cert.plain_inputs["hostnames"] == stack.proxy.hosts
    assert cert.plain_inputs["requestType"] == "origin-ecc"
    assert cert.plain_inputs["csr"].startswith("-----BEGIN CERTIFICATE REQUEST-----")


class LiveRanges(OfflineMocks):
    """Cloudflare's API answering with a list that differs from the published one."""

    def call(self, args):
        if args.token == "cloudflare:index/getIpRanges:getIpRanges":
            return {"ipv4Cidrs": ["198.51.100.0/24"], "ipv6Cidrs": ["2001:db8:cf::/48"], "etag": "x"}
        return super().call(args)


def _web_sources(ev) -> list[list[str]]:
    (firewall,) = ev.of_type("digitalocean:index/firewall:Firewall")
    return [r["sourceAddresses"] for r in firewall.plain_inputs["inboundRules"] if r["portRange"] in ("80", "443")]


def test_restricted_origin_follows_the_live_ranges():
    ev = evaluate(ready(ZEN), mocks=LiveRanges())
    assert _web_sources(ev) == [["198.51.100.0/24", "2001:db8:cf::/48"]] * 2


def test_restricted_origin_falls_back_to_the_published_ranges_offline(evaluations):
    _, ev = evaluations["zen-miner"]
    assert _web_sources(ev) == [list(CLOUDFLARE_IPV4 + CLOUDFLARE_IPV6)] * 2


@pytest.mark.parametrize("cloudflare", [{"restrictOrigin": False}])
def test_unrestricted_origin_is_open_to_the_world(cloudflare):
    ev = evaluate(variant(ZEN, cloudflare=cloudflare))
    assert _web_sources(ev) == [["0.0.0.0/0", "::/0"]] * 2


def test_existing_host_behind_cloudflare_restricts_with_ufw():
    path = PROJECT_DIR / "examples" / "dbcours.yaml"
    ev = evaluate(variant(path, dns={"zone": "example.com", "proxied": True}))
    script = ev.named("dbcours-web-1-bootstrap").plain_inputs["stdin"]
    assert "ufw allow proto tcp from 173.245.48.0/20 to any port 443" in script
    assert "to any port 443" in script and "from any to any port 443" not in script


def test_without_dns_the_records_to_create_are_an_output(evaluations):
    stack, ev = evaluations["dbcours"]
    assert stack.dns is None
    assert ev.outputs["dnsRecordsToCreate"] == ["dbcours.example.com A 192.0.2.10"]


def test_urls_and_healthcheck_url(shipped):
    stack, ev = shipped
    assert ev.outputs["urls"] == [f"https://{h}" for h in stack.proxy.hosts]
    assert ev.outputs["healthcheckUrl"] == f"https://{stack.proxy.hosts[0]}{stack.proxy.healthcheck.path}"


def test_an_accessorys_route_gets_records_at_its_host_and_a_name_in_the_origin_certificate():
    """Kamal's accessory proxy: its host names point at the host it runs on (the primary host here, not every web
    host) and join the Origin CA certificate after the app's, so kamal-proxy serves them with TLS."""
    ev = evaluate(variant(ZEN, accessories={"admin": {"image": "acme/admin:1.0", "port": 3000,
                                                      "proxy": {"hosts": ["admin.zenminer.example"], "appPort": 3000}}}))
    records = [r for r in _records(ev) if r["name"] == "admin.zenminer.example"]
    assert sorted(r["type"] for r in records) == ["A", "AAAA"]
    assert {r["content"] for r in records if r["type"] == "A"} == {ev.outputs["servers"]["web"][0]["publicIpv4"]}
    (csr,) = ev.of_type("tls:index/certRequest:CertRequest")
    assert csr.plain_inputs["dnsNames"] == ["zenminer.example", "www.zenminer.example", "admin.zenminer.example"]
    (route,) = [c for c in ev.of_type("command:remote:Command") if c.name.endswith("-admin-route")]
    argv = route.plain_inputs["create"].split()
    assert argv[:6] == ["docker", "exec", "kamal-proxy", "kamal-proxy", "deploy", "zen-miner-admin"]
    assert "--target=zen-miner-admin:3000" in argv and "--host=admin.zenminer.example" in argv
    assert "--tls-certificate-path=/home/kamal-proxy/.apps-config/zen-miner/tls/cert.pem" in argv
