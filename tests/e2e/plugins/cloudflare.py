"""The `cloudflare` package (pulumi-cloudflare 6.23.1): the zone the lab plays.

There is no Cloudflare here. Records and zone settings are kept in state (the lab's clients reach the
hosts by address with the right Host header and SNI, which is what the records would give them); the
Origin CA is the lab's own CA (BERTH_LAB_CA_CERT, BERTH_LAB_CA_KEY), so kamal-proxy serves a certificate
the lab's clients verify; `getIpRanges` answers with the lab's allowed client ranges
(BERTH_LAB_ORIGIN_RANGES, JSON) or, for a preview outside the lab, Cloudflare's published list; `getZone`
answers any zone with a stable id.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import uuid

from .schema import Attr, Schema
from .server import Config, Failed, Kind, Package

SOURCE = ("cloudflare/terraform-provider-cloudflare v5.22.0 "
          "internal/services/{dns_record,zone_setting,origin_ca_certificate}/schema.go")


class DnsRecord(Kind):
    schema = Schema("cloudflare:index/dnsRecord:DnsRecord", {
        "zoneId": Attr(required=True, replace=True),
        "name": Attr(required=True),
        "type": Attr(required=True),
        "ttl": Attr(required=True),
        "content": Attr(),
        "proxied": Attr(default=False),
        "comment": Attr(),
        "proxiable": Attr(output=True),
        "createdOn": Attr(output=True),
        "modifiedOn": Attr(output=True),
    }, SOURCE)

    def create(self, config, name, inputs):
        now = datetime.datetime.now(datetime.UTC).isoformat()
        return uuid.uuid4().hex, {**inputs, "proxiable": True, "createdOn": now, "modifiedOn": now}


class ZoneSetting(Kind):
    schema = Schema("cloudflare:index/zoneSetting:ZoneSetting", {
        "zoneId": Attr(required=True, replace=True),
        "settingId": Attr(required=True, replace=True),
        "value": Attr(required=True),
        "editable": Attr(output=True),
        "modifiedOn": Attr(output=True),
    }, SOURCE)

    def create(self, config, name, inputs):
        return inputs["settingId"], {**inputs, "editable": True,
                                     "modifiedOn": datetime.datetime.now(datetime.UTC).isoformat()}


class OriginCaCertificate(Kind):
    """Cloudflare's Origin CA, played by the lab's CA: it signs the CSR for the requested validity."""

    schema = Schema("cloudflare:index/originCaCertificate:OriginCaCertificate", {
        "csr": Attr(required=True, replace=True),
        "hostnames": Attr(required=True, replace=True),
        "requestType": Attr(required=True, replace=True),
        "requestedValidity": Attr(replace=True, default=5475),
        "certificate": Attr(output=True),
        "expiresOn": Attr(output=True),
    }, SOURCE)

    def create(self, config, name, inputs):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization

        cert_path, key_path = os.environ.get("BERTH_LAB_CA_CERT"), os.environ.get("BERTH_LAB_CA_KEY")
        if not cert_path or not key_path:
            raise Failed("the lab has no Origin CA here (BERTH_LAB_CA_CERT, BERTH_LAB_CA_KEY): a preview only")
        csr = x509.load_pem_x509_csr(inputs["csr"].encode())
        ca = x509.load_pem_x509_certificate(open(cert_path, "rb").read())
        ca_key = serialization.load_pem_private_key(open(key_path, "rb").read(), None)
        now = datetime.datetime.now(datetime.UTC)
        expires = now + datetime.timedelta(days=int(inputs.get("requestedValidity", 5475)))
        certificate = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca.subject)
                       .public_key(csr.public_key()).serial_number(x509.random_serial_number())
                       .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(expires)
                       .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in inputs["hostnames"]]),
                                      critical=False)
                       .sign(ca_key, hashes.SHA256()))
        pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
        return str(x509.random_serial_number()), {**inputs, "certificate": pem, "expiresOn": expires.isoformat()}


def get_zone(config: Config, args: dict, preview: bool) -> dict:
    name = (args.get("filter") or {}).get("name")
    if not name:
        raise Failed("the lab's cloudflare plugin answers getZone by filter.name only")
    zone_id = hashlib.sha256(name.encode()).hexdigest()[:32]
    return {"id": zone_id, "zoneId": zone_id, "name": name, "status": "active", "filter": args.get("filter")}


def get_ip_ranges(config: Config, args: dict, preview: bool) -> dict:
    lab = os.environ.get("BERTH_LAB_ORIGIN_RANGES")
    if lab:
        ranges = json.loads(lab)
        v4, v6 = ranges["ipv4"], ranges["ipv6"]
    else:  # Cloudflare's published list, which Berth also carries as its offline fallback
        from components.render.origin import CLOUDFLARE_IPV4, CLOUDFLARE_IPV6

        v4, v6 = list(CLOUDFLARE_IPV4), list(CLOUDFLARE_IPV6)
    # v5 has no `cidrs` output (ip_ranges/data_source_schema.go): ipv4Cidrs, ipv6Cidrs, jdcloudCidrs, etag.
    etag = hashlib.sha256(json.dumps(v4 + v6).encode()).hexdigest()
    return {"ipv4Cidrs": v4, "ipv6Cidrs": v6, "jdcloudCidrs": [], "etag": etag}


PACKAGE = Package("cloudflare", "pulumi_cloudflare", [DnsRecord(), ZoneSetting(), OriginCaCertificate()],
                  invokes={"cloudflare:index/getZone:getZone": get_zone,
                           "cloudflare:index/getIpRanges:getIpRanges": get_ip_ranges})
