"""Which registry an image is pulled from, as Docker reads its name and as the Docker provider looks up
the credentials for it. They differ, and a pull whose credentials are looked up under another name goes
out anonymous: a private image is then refused."""

from __future__ import annotations

# The names the Docker provider (v4.5.0, provider.go `dockerHubRegistryHostnames`) treats as Docker Hub.
DOCKER_HUB = ("docker.io", "registry-1.docker.io", "index.docker.io", "registry.hub.docker.com")


def _has_host(first: str) -> bool:
    return "." in first or ":" in first or first == "localhost"


def docker_registry(image: str) -> str:
    """The registry Docker pulls `image` from (distribution/reference: the first component is a host only
    when it has a '.' or ':' or is localhost; otherwise Docker Hub, written docker.io)."""
    first, slash, _ = image.partition("/")
    if not slash or not _has_host(first):
        return "docker.io"
    return "docker.io" if first == "index.docker.io" else first


def provider_registry(image: str) -> str:
    """The name the Docker provider looks the pull's credentials up under (resource_docker_image_funcs.go
    `parseImageOptions`, v4.5.0): the first component when the name has two slashes or more, or one slash
    after a host; otherwise registry-1.docker.io. So `acme/app` is looked up as registry-1.docker.io, not
    as the docker.io a user writes in `registry.server`, and `acme/team/app` as "acme"."""
    first, slash, _ = image.partition("/")
    if image.count("/") > 1 or (slash and _has_host(first)):
        return first
    return "registry-1.docker.io"


def same_registry(a: str, b: str) -> bool:
    return a == b or (a in DOCKER_HUB and b in DOCKER_HUB)


def auth_addresses(server: str) -> tuple[str, ...]:
    """Where the provider must find the credentials for `server`: every Docker Hub name for Docker Hub (the
    provider picks one by the image's spelling), the server itself otherwise."""
    return DOCKER_HUB if server in DOCKER_HUB else (server,)


def familiar_name(repository: str) -> str:
    """The repository as Docker lists and filters it (distribution/reference `FamiliarName`): Docker Hub's
    host and its `library/` namespace left out, so docker.io/acme/app is acme/app. `docker images
    docker.io/acme/app` matches nothing: the reference filter compares with the familiar name."""
    first, slash, rest = repository.partition("/")
    if not slash or not _has_host(first):
        return repository
    if first not in ("docker.io", "index.docker.io"):
        return repository
    return rest.removeprefix("library/") if rest.startswith("library/") and rest.count("/") == 1 else rest
