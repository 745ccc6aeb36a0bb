"""The `tls` package (pulumi-tls 5.6.2, hashicorp/terraform-provider-tls): real keys and certificate
requests, made with `cryptography`, kept in state only as the real provider keeps them."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from .schema import Attr, Schema
from .server import Failed, Kind, Package

SOURCE = ("hashicorp/terraform-provider-tls internal/provider/resource_private_key.go (Create: RSA PKCS#1, ECDSA SEC1, "
          "ED25519 PKCS#8 PEM; OpenSSH by ssh.MarshalPrivateKey), common_key.go, resource_cert_request.go")


def _hash_for_state(value: bytes) -> str:
    """The provider's resource ids: the SHA1 of the value, ASCII whitespace trimmed (internal/provider/common.go
    `hashForState`, `strings.TrimSpace`)."""
    return hashlib.sha1(value.strip(b"\t\n\v\f\r ")).hexdigest()  # noqa: S324 - the provider's own


def _fingerprints(public: Any) -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization

    openssh = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    blob = base64.b64decode(openssh.split()[1])
    md5 = hashlib.md5(blob).hexdigest()  # noqa: S324 - the fingerprint format, not a security measure
    return {"publicKeyOpenssh": openssh.decode() + "\n",
            "publicKeyFingerprintMd5": ":".join(md5[i:i + 2] for i in range(0, 32, 2)),
            "publicKeyFingerprintSha256": "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")}


class PrivateKey(Kind):
    schema = Schema("tls:index/privateKey:PrivateKey", {
        "algorithm": Attr(required=True, replace=True),
        "ecdsaCurve": Attr(replace=True, default="P224"),
        "rsaBits": Attr(replace=True, default=2048),
        "privateKeyPem": Attr(output=True, secret=True),
        "privateKeyPemPkcs8": Attr(output=True, secret=True),
        "privateKeyOpenssh": Attr(output=True, secret=True),
        "publicKeyPem": Attr(output=True),
        "publicKeyOpenssh": Attr(output=True),
        "publicKeyFingerprintMd5": Attr(output=True),
        "publicKeyFingerprintSha256": Attr(output=True),
    }, SOURCE)

    def create(self, config, name, inputs):
        # cryptography (requirements-e2e.txt) only where keys are made: a preview makes none.
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

        if inputs["algorithm"] == "ECDSA":
            curve = inputs.get("ecdsaCurve", "P224")
            key = ec.generate_private_key({"P224": ec.SECP224R1, "P256": ec.SECP256R1, "P384": ec.SECP384R1,
                                           "P521": ec.SECP521R1}[curve]())
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
        elif inputs["algorithm"] == "RSA":
            key = rsa.generate_private_key(65537, int(inputs.get("rsaBits", 2048)))
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
        elif inputs["algorithm"] == "ED25519":  # resource_private_key.go: the PEM is PKCS#8 ("PRIVATE KEY")
            key = ed25519.Ed25519PrivateKey.generate()
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        else:
            raise Failed(f"the lab's tls plugin makes RSA, ECDSA and ED25519 keys, not {inputs['algorithm']}")
        public = key.public_key()
        state = {
            **inputs, "privateKeyPem": pem.decode(),
            "privateKeyPemPkcs8": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()).decode(),
            "privateKeyOpenssh": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                                   serialization.NoEncryption()).decode(),
            "publicKeyPem": public.public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
            **_fingerprints(public),
        }
        der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return _hash_for_state(der), state


class CertRequest(Kind):
    schema = Schema("tls:index/certRequest:CertRequest", {
        "privateKeyPem": Attr(required=True, replace=True, secret=True),
        "dnsNames": Attr(replace=True),
        "ipAddresses": Attr(replace=True),
        "uris": Attr(replace=True),
        "subject": Attr(replace=True),
        "certRequestPem": Attr(output=True),
        "keyAlgorithm": Attr(output=True),
    }, SOURCE)

    def create(self, config, name, inputs):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519
        from cryptography.x509.oid import NameOID

        key = serialization.load_pem_private_key(inputs["privateKeyPem"].encode(), None)
        subject = inputs.get("subject") or {}
        names = []
        for field, oid in (("commonName", NameOID.COMMON_NAME), ("organization", NameOID.ORGANIZATION_NAME)):
            if subject.get(field):
                names.append(x509.NameAttribute(oid, subject[field]))
        unknown = set(subject) - {"commonName", "organization"}
        if unknown:
            raise Failed(f"the lab's tls plugin does not model subject fields {sorted(unknown)}")
        builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(names))
        if inputs.get("dnsNames"):
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName(n) for n in inputs["dnsNames"]]), critical=False)
        # The key's algorithm, as the provider names it (internal/provider/types.go `Algorithm`: RSA, ECDSA, ED25519); an
        # ED25519 key signs with PureEd25519, which takes no hash (Go's x509.CreateCertificateRequest).
        if isinstance(key, ed25519.Ed25519PrivateKey):
            csr, algorithm = builder.sign(key, None), "ED25519"
        else:
            csr = builder.sign(key, hashes.SHA256())
            algorithm = "ECDSA" if isinstance(key, ec.EllipticCurvePrivateKey) else "RSA"
        pem = csr.public_bytes(serialization.Encoding.PEM).decode()
        # resource_cert_request.go `Create`: the id is hashForState of the request's DER bytes
        return _hash_for_state(csr.public_bytes(serialization.Encoding.DER)), {
            **inputs, "certRequestPem": pem, "keyAlgorithm": algorithm}


PACKAGE = Package("tls", "pulumi_tls", [PrivateKey(), CertRequest()])
