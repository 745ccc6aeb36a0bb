"""Edge: the Cloudflare zone in front of the web hosts — records, zone settings, origin certificate.

Zone settings are zone-wide, so they are declared only by a stack that sits behind Cloudflare's proxy
or carries `berth:cloudflare` explicitly; two DNS-only stacks sharing a zone never fight over them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from . import cloudflare
from .config import Stack
from .hosts import WebHost
from .render.edge import AUTO_TTL, ORIGIN_CERTIFICATE_DAYS, ZoneSettings, record_specs, zone_setting_values
from .sdk import tls


@dataclass
class OriginCertificate:
    """What kamal-proxy serves to Cloudflare: the certificate in the clear, the key only as a secret."""

    certificate_pem: pulumi.Output[str]
    private_key_pem: pulumi.Output[str]  # secret


@dataclass
class EdgeArgs:
    service: str
    stack_name: str
    zone: str
    proxied: bool
    hostnames: list[str]
    web_hosts: list[WebHost]
    settings: ZoneSettings | None  # None: leave the zone's settings alone
    origin_certificate: bool
    routes: list[tuple[str, list[WebHost]]] = field(default_factory=list)  # accessories' own host names, their hosts

    @classmethod
    def from_stack(cls, stack: Stack, stack_name: str, web_hosts: list[WebHost],
                   routes: list[tuple[str, list[WebHost]]] | None = None) -> "EdgeArgs":
        assert stack.dns is not None
        cf = stack.cloudflare_settings
        manage = stack.cloudflare is not None or stack.behind_cloudflare
        settings = ZoneSettings(
            ssl_mode=cf.ssl_mode, always_use_https=cf.always_use_https, min_tls_version=cf.min_tls_version,
            hsts_max_age=cf.hsts.max_age if cf.hsts else None,
            hsts_include_subdomains=bool(cf.hsts and cf.hsts.include_subdomains),
            hsts_preload=bool(cf.hsts and cf.hsts.preload),
        ) if manage else None
        return cls(service=stack.service, stack_name=stack_name, zone=stack.dns.zone, proxied=stack.dns.proxied,
                   hostnames=list(stack.proxy.hosts), web_hosts=web_hosts, settings=settings,
                   origin_certificate=stack.tls_mode == "cloudflare-origin", routes=list(routes or []))


class Edge(pulumi.ComponentResource):
    origin: OriginCertificate | None

    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:index:Edge", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.zone_id = cloudflare.zone_id(args.zone, opts=pulumi.InvokeOutputOptions(parent=self))

        hosts = {host.name: host for host in args.web_hosts}
        self.records = []
        specs = record_specs(args.hostnames, [(h.name, h.ipv6 is not None) for h in args.web_hosts])
        for hostname, route_hosts in args.routes:  # an accessory's route points at the hosts it runs on
            specs += record_specs([hostname], [(h.name, h.ipv6 is not None) for h in route_hosts])
        for spec in specs:
            host = hosts[spec.host]
            self.records.append(cloudflare.DnsRecord(
                spec.resource_name, zone_id=self.zone_id, name=spec.hostname, type=spec.type,
                content=host.ipv4 if spec.type == "A" else host.ipv6, proxied=args.proxied, ttl=AUTO_TTL,
                comment=f"berth {args.service}/{args.stack_name} {spec.host}", opts=child,
            ))

        for setting_id, value in zone_setting_values(args.settings) if args.settings else []:
            cloudflare.ZoneSetting(f"zone-{setting_id.replace('_', '-')}", zone_id=self.zone_id,
                                   setting_id=setting_id, value=value, opts=child)

        self.origin = self._origin_certificate(args, child) if args.origin_certificate else None
        self.register_outputs({"zoneId": self.zone_id})

    def _origin_certificate(self, args: EdgeArgs, child: pulumi.ResourceOptions) -> OriginCertificate:
        """Key made here (never leaves state but as a secret), signed by Cloudflare's Origin CA."""
        key = tls.PrivateKey("origin-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
        names = [*args.hostnames, *[hostname for hostname, _ in args.routes]]  # the app's first: unchanged without
        csr = tls.CertRequest(
            "origin-csr", private_key_pem=key.private_key_pem, dns_names=names,
            subject=tls.CertRequestSubjectArgs(common_name=names[0], organization=args.service),
            opts=child,
        )
        certificate = cloudflare.OriginCaCertificate(
            "origin-certificate", csr=csr.cert_request_pem, hostnames=names, request_type="origin-ecc",
            requested_validity=ORIGIN_CERTIFICATE_DAYS, opts=child,
        )
        return OriginCertificate(certificate_pem=certificate.certificate,
                                 private_key_pem=pulumi.Output.secret(key.private_key_pem))

