"""Field types of the stack file: each one says, in the error, what it expected.

These are `Annotated` pydantic types so that every section model reuses the same rule and the same
wording, and so that the JSON Schema carries the patterns editors can check as the user types.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from .gounits import SizeError, ram_in_bytes

_DURATION = re.compile(r"^(\d+(\.\d+)?(ms|s|m|h))+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_REPOSITORY = re.compile(
    r"^(?:(?P<registry>[a-z0-9]+(?:[.-][a-z0-9]+)*(?::\d+)?)/)?"
    r"(?P<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)$"
)
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
# Docker takes any variable name but an empty one (docker/cli opts.ValidateEnv), and an env file, which Berth
# writes for the release command, refuses whitespace in a name and reads `#` first as a comment and `=` as the
# end of the name (opts/file.go parseKeyValueFile): OpenSearch's `discovery.type`, listmonk's `LISTMONK_db__user`.
_ENV_NAME = re.compile(r"^[^=\s#][^=\s]*$")
_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_DOCKER_VOLUME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_SSH_KEY = re.compile(
    r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|"
    r"sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$"
)
# Host paths a volume must never be mounted over: the system would stop booting or Docker would eat it.
_RESERVED_MOUNTS = ("/", "/bin", "/boot", "/dev", "/etc", "/lib", "/proc", "/root", "/run", "/sbin",
                    "/sys", "/usr", "/var", "/var/lib/docker", "/home", "/tmp")


def duration_seconds(value: str) -> float:
    """Seconds in a Go-style duration (`1m30s`), the format kamal-proxy parses."""
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(value))


def go_duration(seconds: float) -> str:
    """Go's time.Duration.String(): how Docker and the Docker provider write a duration back
    ("1m30s", "500ms", "0s"). Declaring it in this form keeps the read-back equal to the declaration."""
    nanoseconds = round(seconds * 1e9)
    if nanoseconds == 0:
        return "0s"
    if nanoseconds < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if nanoseconds >= size:
                return f"{nanoseconds / size:g}{unit}"
    hours, rest = divmod(nanoseconds, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    text = f"{rest / 1e9:.9f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    return f"{minutes}m{text}" if minutes else text


NANO = 10**9


def nano_cpus(cpus: float) -> int | None:
    """A CPU limit in billionths of a CPU, as Docker stores it (HostConfig.NanoCPUs); None when it has more
    than nine decimals, which the Docker provider refuses ("value is too precise", docker/cli ParseCPUs)."""
    exact = Decimal(repr(cpus)) * NANO
    return int(exact) if exact == exact.to_integral_value() else None


def provider_cpus_text(nano: int) -> str:
    """How the Docker provider (v4.5.0, `nanoInt64ToDecimalString`) writes a CPU limit back into its state:
    nine decimals, trailing zeros trimmed, except that a text with exactly nine zeros in it is rounded to
    one decimal. So 10 comes back as "10." and 0.05 as "0.1"."""
    whole, fraction = divmod(nano, NANO)
    text = f"{whole}.{fraction:09d}"
    if text.count("0") == 9:
        tenths, rest = divmod(nano, NANO // 10)
        tenths += 2 * rest >= NANO // 10  # big.Rat.FloatString rounds half away from zero
        return f"{tenths // 10}.{tenths % 10}"
    return text.rstrip("0")


def docker_cpus(cpus: float) -> str:
    """The `cpus` to declare: exactly the text the provider reads back ("10." for 10), because `cpus` forces
    a new container and any other spelling of the same value would replace it on every `pulumi up`."""
    nano = nano_cpus(cpus)
    if nano is None:
        raise ValueError(f"{cpus!r} has more than nine decimals")
    return provider_cpus_text(nano)


def _cpus(value: float) -> float:
    shown = format(Decimal(repr(value)), "f")
    nano = nano_cpus(value)
    if nano is None:
        raise ValueError(f"{shown} has more than nine decimals; Docker counts CPUs in billionths")
    text = provider_cpus_text(nano)
    if Decimal(text) * NANO != nano:
        instead = text if Decimal(text) > 0 else "0.1"
        raise ValueError(f"{shown} reads back from the Docker provider as {text!r} (it rounds this value), and a "
                         f"change of cpus replaces the container, so every `pulumi up` would replace it; use {instead}")
    return value


MIB = 1024 * 1024


def _memory(value: object) -> str:
    """A memory limit as `docker run --memory` reads it (go-units RAMInBytes: `512m`, `1.5g`, `500MiB`, `4GB` is
    4 GiB), in whole MiB, the unit the Docker provider declares it in."""
    text = str(value)
    try:
        size = ram_in_bytes(text)
    except SizeError as error:
        raise ValueError(f"{text!r} is not a size Docker reads ({error}); write it like 512m, 1.5g or 500MiB") from None
    if size <= 0 or size % MIB:
        raise ValueError(f"{text!r} is {size} bytes, not a whole number of MiB (the unit the Docker provider "
                         "takes); write it like 512m or 1.5g")
    return text


def _duration(value: str) -> str:
    if not _DURATION.match(value):
        raise ValueError(f"{value!r} is not a duration like 10s, 500ms or 1m30s")
    if duration_seconds(value) <= 0:
        raise ValueError(f"{value!r} must be longer than zero")
    return value


def _name(value: str) -> str:
    if not _NAME.match(value) or len(value) > 40:
        raise ValueError(
            f"{value!r} must start with a letter and hold only a-z, 0-9 and '-' (at most 40 characters)"
        )
    if value.endswith("-") or "--" in value:
        raise ValueError(f"{value!r} must not end with '-' or contain '--'")
    return value


def _proxy_host(value: str) -> str:
    """A name kamal-proxy routes: a DNS name, or a wildcard one (`*.example.org`, router.go matches the first
    label), which only a certificate of its own covers (Let's Encrypt's HTTP challenge cannot issue one)."""
    return "*." + _hostname(value[2:]) if value.startswith("*.") else _hostname(value)


def _hostname(value: str) -> str:
    value = value.rstrip(".")
    labels = value.split(".")
    if len(value) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"{value!r} is not a lowercase DNS name like app.example.com")
    if labels[-1].isdigit():
        raise ValueError(f"{value!r} is an IP address; a hostname is needed here")
    return value


_HOST_NAME = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$")


def _address(value: str) -> str:
    """An existing host: an IP address, or a name the machine running `pulumi up` resolves (a DNS name, or a
    single label such as an /etc/hosts entry, as Kamal takes any name ssh reaches)."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    if len(value) > 253 or not _HOST_NAME.match(value) or value.rstrip(".").split(".")[-1].isdigit():
        raise ValueError(f"{value!r} is neither an IP address nor a host name")
    return value.rstrip(".")


def _registry_host(value: str) -> str:
    """A registry as Docker names it: a DNS name, an IP address or localhost, with an optional port."""
    host, colon, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
    if colon and not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"{value!r} has a port that is not a number between 1 and 65535")
    if host == "localhost":
        return value
    try:
        ipaddress.ip_address(host)
        return value
    except ValueError:
        pass
    try:
        _hostname(host)
    except ValueError:
        raise ValueError(f"{value!r} is not a registry like ghcr.io, registry.example.com:5000 or "
                         "10.0.0.5:5000") from None
    return value


def _cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a CIDR with its host bits zero, like 203.0.113.7/32 or 2001:db8::/48"
        ) from None
    return str(network)


def _repository(value: str) -> str:
    if "@" in value or (":" in value.rsplit("/", 1)[-1]):
        raise ValueError(f"{value!r} carries a tag or digest; give the repository only and set berth:version")
    if not _REPOSITORY.match(value):
        raise ValueError(f"{value!r} is not an image repository like ghcr.io/acme/app")
    return value


_SECRET_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$")
# Credentials whose shape also fits a name in capitals: AWS access key ids, long runs of letters and digits.
_CREDENTIAL_SHAPES = (re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$"), re.compile(r"^(?=[A-Z0-9]*[0-9])[A-Z0-9]{20,}$"))


# Well-known token prefixes (GitHub, GitLab, Slack, Stripe, DigitalOcean) and PEM keys.
_TOKEN_PREFIX = re.compile(r"^(gh[pousr]_|github_pat_|glpat-|xox[abpr]-|[sr]k_live_|dop_v1_|-----BEGIN )")
# Environment variable names that hold credentials.
_CREDENTIAL_NAME = re.compile(r"(^|_)(PASSWORD|PASSWD|TOKEN|SECRET|SECRET_KEY|API_KEY|PRIVATE_KEY|MASTER_KEY|"
                              r"SECRET_ACCESS_KEY|SECRET_KEY_BASE)$")


def looks_like_credential(name: str, value: str) -> bool:
    """A plain variable that holds a credential, by its name or by the shape of its value."""
    return bool(_CREDENTIAL_NAME.search(name.upper()) or _TOKEN_PREFIX.match(value)
                or _CREDENTIAL_SHAPES[0].match(value))


def looks_like_secret_name(value: str) -> bool:
    return bool(_SECRET_NAME.match(value)) and not any(shape.match(value) for shape in _CREDENTIAL_SHAPES)


def _secret_name(value: str) -> str:
    """A berth:secrets name, never the secret itself. The error never repeats the value: it may be a token."""
    if not looks_like_secret_name(value):
        raise PydanticCustomError("secret_name", "is not the name of a berth:secrets entry")
    return value


def _accessory_image(value: str) -> str:
    """An accessory image: a repository with a tag or a digest, or without either (Docker's `latest`). An unpinned
    one is allowed, with a review warning (checks.py `unpinned_image`): Kamal runs such images, and Berth pulls
    an image only when its name changes, so a host keeps the one it has."""
    if "@" in value:
        repository, digest = value.split("@", 1)
        if _DIGEST.match(digest) and _REPOSITORY.match(repository):
            return value
        raise ValueError(f"{value!r} is not an image reference like repo@sha256:<64 hex>")
    last = value.rsplit("/", 1)[-1]
    repository, tag = (value.rsplit(":", 1) if ":" in last else (value, "latest"))
    if not repository or not _REPOSITORY.match(repository) or not _TAG.match(tag):
        raise ValueError(f"{value!r} is not an image like getmeili/meilisearch:v1.5")
    return value


def unpinned(image: str) -> bool:
    """No digest and no tag, or the tag `latest`: what the image is depends on when it was pulled."""
    last = image.rsplit("/", 1)[-1]
    return "@" not in image and (":" not in last or last.rsplit(":", 1)[1] == "latest")


def _version(value: str) -> str:
    if not (_TAG.match(value) or _DIGEST.match(value)):
        raise ValueError(f"{value!r} is not an image tag (like 3f9c2e1 or v1.2.0) or a sha256: digest")
    return value


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not an environment variable name Docker takes (no '=', no whitespace, "
                         "not starting with '#'), like RAILS_MASTER_KEY or discovery.type")
    return value


def _absolute_path(value: str) -> str:
    if not value.startswith("/") or posixpath.normpath(value) != value or "//" in value:
        raise ValueError(f"{value!r} is not a normalised absolute path like /rails/storage")
    return value


def _mount_point(value: str) -> str:
    _absolute_path(value)
    if value in _RESERVED_MOUNTS:
        raise ValueError(f"{value!r} is a system directory; mount the volume somewhere like /mnt/storage")
    return value


def _ssh_key(value: str) -> str:
    if not _SSH_KEY.match(value.strip()):
        raise ValueError("is not an OpenSSH public key line like 'ssh-ed25519 AAAA... you@host'")
    return value.strip()


def _docker_volume_name(value: str) -> str:
    if not _DOCKER_VOLUME.match(value):
        raise ValueError(f"{value!r} is not a Docker volume name")
    return value


def _stringify_number(value: object) -> object:
    """YAML turns `version: 18` into an int; these fields mean the text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _stringify_scalar(value: object) -> object:
    """Environment values are text; YAML's `true` and `2` mean "true" and "2", as in Kamal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _stringify_number(value)


def _extra_host(value: str) -> str:
    """`docker run --add-host name:ip`. The Docker provider reads the hosts back by splitting each at ':'
    (`flattenExtraHosts`), so an IPv6 address would come back cut and replace the container on every `up`."""
    name, colon, ip = value.partition(":")
    if not colon or not re.match(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$", name):
        raise ValueError(f"{value!r} is not name:ip, like host.docker.internal:host-gateway or db:10.0.0.5")
    if ip != "host-gateway":
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            raise ValueError(f"{value!r}: {ip!r} is not an IP address or host-gateway") from None
        if address.version == 6:
            raise ValueError(f"{value!r}: the Docker provider reads an IPv6 address back cut at its first ':', "
                             "so the container would be replaced on every `up`; use an IPv4 address")
    return value


Duration = Annotated[str, AfterValidator(_duration), Field(examples=["10s"], pattern=_DURATION.pattern)]
Name = Annotated[str, AfterValidator(_name), Field(pattern=_NAME.pattern, max_length=40)]
Hostname = Annotated[str, AfterValidator(_hostname)]
ProxyHost = Annotated[str, AfterValidator(_proxy_host)]
Address = Annotated[str, AfterValidator(_address)]
RegistryHost = Annotated[str, AfterValidator(_registry_host)]
Cidr = Annotated[str, AfterValidator(_cidr)]
Repository = Annotated[str, AfterValidator(_repository)]
AccessoryImage = Annotated[str, AfterValidator(_accessory_image)]
_TEXT_OR_NUMBER = WithJsonSchema({"type": ["string", "number"]})
Version = Annotated[str, BeforeValidator(_stringify_number), AfterValidator(_version), _TEXT_OR_NUMBER]
ExtraHost = Annotated[str, AfterValidator(_extra_host)]
EnvName = Annotated[str, AfterValidator(_env_name), Field(pattern=_ENV_NAME.pattern)]
SecretName = Annotated[str, AfterValidator(_secret_name), Field(pattern=_SECRET_NAME.pattern)]
AbsolutePath = Annotated[str, AfterValidator(_absolute_path)]
MountPoint = Annotated[str, AfterValidator(_mount_point)]
SshPublicKey = Annotated[str, AfterValidator(_ssh_key)]
DockerVolumeName = Annotated[str, AfterValidator(_docker_volume_name)]
Port = Annotated[int, Field(ge=1, le=65535)]
Memory = Annotated[str, BeforeValidator(_stringify_number), AfterValidator(_memory),
                   WithJsonSchema({"type": ["string", "number"], "examples": ["512m", "1.5g", "500MiB"]})]
Cpus = Annotated[float, Field(gt=0, le=64), AfterValidator(_cpus)]
Text = Annotated[str, BeforeValidator(_stringify_number), _TEXT_OR_NUMBER]
EnvValue = Annotated[str, BeforeValidator(_stringify_scalar), WithJsonSchema({"type": ["string", "number", "boolean"]})]
