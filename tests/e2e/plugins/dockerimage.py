"""The `docker` package's images (docker:index/remoteImage:RemoteImage) and the registry credentials a pull
uses, as kreuzwerker/terraform-provider-docker v4.5.0 finds them (internal/provider/resource_docker_image*.go,
provider.go, config.go): a local lookup before a pull, credentials keyed by the image's registry.
"""

from __future__ import annotations

import base64
import json

from .dockerapi import ApiError, DockerApi, api, daemon_error
from .schema import Attr, Schema
from .server import Config, Failed, Kind

IMAGE_SOURCE = "kreuzwerker/terraform-provider-docker v4.5.0 internal/provider/resource_docker_image.go"


# --- registry credentials (internal/provider/provider.go providerSetToRegistryAuth, config.go) --------------

def _hostname(address: str) -> str:
    """`convertToHostname(canonicalizeRegistryAddress(address))`: scheme and path dropped."""
    stripped = address.removeprefix("http://").removeprefix("https://")
    return stripped.split("/", 1)[0]


def image_registry(image: str) -> str:
    """`parseImageOptions(image).Registry`: the part before the first slash when it looks like a host or
    when the name has more than two parts; `registry-1.docker.io` otherwise."""
    first = image.find("/")
    if image.count("/") > 1 or (first != -1 and (any(c in image[:first] for c in ".:") or image[:first] == "localhost")):
        return image[:first]
    return "registry-1.docker.io"


def registry_auth(config: Config, image: str) -> str:
    """The X-Registry-Auth header of a pull: the credentials keyed by the image's registry, else none."""
    auths = {_hostname(a["address"]): a for a in config.get("registryAuth") or []}
    registry = image_registry(image)
    auth = auths.get(registry)
    body: dict[str, str] = {}
    if auth is not None:
        body = {"username": auth.get("username", ""), "password": auth.get("password", ""),
                "serveraddress": "https://" + _hostname(auth["address"])}
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode()


# --- docker:index/remoteImage:RemoteImage --------------------------------------------------------------

def local_image(docker: DockerApi, name: str) -> dict | None:
    """`searchLocalImages`: inspect by name, and only an image `docker images` lists counts."""
    inspected = docker.inspect_image(name)
    if inspected is None:
        return None
    return next((i for i in docker.list_images() if i["Id"] == inspected["Id"]), None)


def find_image(config: Config, name: str) -> dict:
    """`findImage`: the local image if there is one, else a pull with the registry's credentials. Its
    error text is the provider's; each caller puts its own prefix before it, as the provider does."""
    docker = api(config)
    try:
        found = local_image(docker, name)
        if found is None:
            try:
                docker.pull(name, registry_auth(config, name))
            except ApiError as error:
                raise Failed(f"unable to pull image {name}: error pulling image {name}: {daemon_error(error)}") from None
            found = local_image(docker, name)
    except ApiError as error:
        raise Failed(daemon_error(error)) from None
    if found is None:
        raise Failed(f"unable to find or pull image {name}")
    return found


class RemoteImage(Kind):
    schema = Schema("docker:index/remoteImage:RemoteImage", {
        "name": Attr(required=True, replace=True),
        "keepLocally": Attr(),
        "forceRemove": Attr(),
        "pullTriggers": Attr(replace=True, unordered=True),
        "triggers": Attr(replace=True),
        "platform": Attr(replace=True, default=""),
        "imageId": Attr(output=True),
        "repoDigest": Attr(output=True),
    }, IMAGE_SOURCE)

    @staticmethod
    def _find(config: Config, name: str) -> dict:
        try:
            return find_image(config, name)
        except Failed as failure:
            raise Failed(f"Unable to read Docker image into resource: {failure}") from None

    def _state(self, inputs: dict, image: dict) -> dict:
        return {**inputs, "imageId": image["Id"], "repoDigest": repo_digest(inputs["name"], image)}

    def create(self, config, name, inputs):
        image = self._find(config, inputs["name"])
        return image["Id"] + inputs["name"], self._state(inputs, image)

    def read(self, config, id_, state, inputs):
        try:
            image = local_image(api(config), state["name"])
        except ApiError as error:
            raise Failed(f"Error reading docker image list: {daemon_error(error)}") from None
        return None if image is None else self._state(state, image)

    def update(self, config, id_, olds, news):
        return self._state(news, self._find(config, news["name"]))

    def delete(self, config, id_, state):
        if state.get("keepLocally"):
            return
        docker = api(config)
        try:
            if local_image(docker, state["name"]) is not None:
                docker.request("DELETE", f"/images/{state['name']}",
                               params={"force": "1" if state.get("forceRemove") else "0"})
        except ApiError as error:
            raise Failed(f"Unable to remove Docker image: {daemon_error(error)}") from None


def repo_digest(name: str, image: dict) -> str:
    """data_source_docker_image.go `determineRepoDigest`."""
    digests = image.get("RepoDigests") or []
    if not digests:
        return ""
    if len(digests) == 1:
        return digests[0]
    without_tag = name.split(":", 1)[0]
    return next((d for d in digests if d.startswith(without_tag)), "")
