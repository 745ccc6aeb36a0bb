"""docker, as far as the release's prune script uses it, over a JSON state file ($DOCKER_STATE).

It models the two image stores a host can have, $DOCKER_STORE being `overlay2` (the graph driver store,
Docker 20.10 to 28 and upgraded hosts) or `containerd` (Docker 29's default on fresh installs), with the
behaviour read from moby docker-v29.0.0:
- an image pulled by digest has no tag: overlay2 lists it with RepoTags [] (daemon/images/image_list.go),
  containerd lists its digested name among RepoTags too (daemon/containerd/image_inspect.go
  `collectRepoTagsAndDigests`);
- `docker images REPO` and `--filter ancestor` take references as distribution/reference's FamiliarMatch
  reads them: docker.io/acme/app matches nothing, acme/app matches tags and digests (image_list.go);
- `docker rmi REF` removes one reference; on overlay2 removing a repository's last tag also removes its
  digests (daemon/images/image_delete.go); an image without references is deleted; a reference that is
  the last one of an image a container uses is refused (conflict).
"""

from __future__ import annotations

import json
import os
import sys


def load() -> dict:
    with open(os.environ["DOCKER_STATE"]) as f:
        return json.load(f)


def save(state: dict) -> None:
    with open(os.environ["DOCKER_STATE"], "w") as f:
        json.dump(state, f)


def repo_of(ref: str) -> str:
    return ref.split("@")[0] if "@" in ref else ref.rsplit(":", 1)[0]


def references(image: dict) -> list[str]:
    return image["tags"] + image["digests"]


def inspect_lists(image: dict) -> tuple[list[str], list[str]]:
    """RepoTags and RepoDigests as each store reports them."""
    if os.environ["DOCKER_STORE"] == "containerd":
        return image["tags"] + (image["digests"] if image["by_digest"] else []), image["digests"]
    return image["tags"], image["digests"]


def resolve(state: dict, ref: str) -> str | None:
    for image_id, image in state["images"].items():
        if ref in (image_id, image_id.removeprefix("sha256:")) or ref in references(image):
            return image_id
    return None


def option_values(args: list[str], name: str) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args) if arg == name]


def ps(state: dict, args: list[str]) -> None:
    shown = []
    for container in reversed(state["containers"]):  # newest first, as docker ps lists them
        if "-a" not in args and container["status"] != "running":
            continue
        keep = True
        for condition in option_values(args, "--filter"):
            key, _, value = condition.partition("=")
            if key == "label":
                label, _, wanted = value.partition("=")
                keep &= container["labels"].get(label) == wanted
            elif key == "status":
                keep &= container["status"] == value
            elif key == "ancestor":
                keep &= resolve(state, value) == container["image"]
        if keep:
            shown.append(container["id"] if "--quiet" in args else container["name"])
    print("\n".join(shown), end="\n" if shown else "")


def rmi(state: dict, ref: str) -> int:
    image_id = resolve(state, ref)
    if image_id is None or ref == image_id:
        print(f"Error: No such image: {ref}", file=sys.stderr)
        return 1
    image = state["images"][image_id]
    in_use = any(c["image"] == image_id for c in state["containers"])
    if in_use and len(references(image)) == 1:
        print(f"Error response from daemon: conflict: unable to remove repository reference {ref!r} (must force)",
              file=sys.stderr)
        return 1
    for kind in ("tags", "digests"):
        image[kind] = [r for r in image[kind] if r != ref]
    if os.environ["DOCKER_STORE"] == "overlay2" and not any(repo_of(t) == repo_of(ref) for t in image["tags"]):
        image["digests"] = [d for d in image["digests"] if repo_of(d) != repo_of(ref)]
    if not references(image):
        del state["images"][image_id]
    return 0


def main(args: list[str]) -> int:
    state = load()
    command = args[0] if args[0] != "image" else args[1]
    rest = args[1:] if args[0] != "image" else args[2:]
    if command == "ps":
        ps(state, rest)
    elif command == "start":  # `docker start NAME`: running afterwards (a running one stays so)
        name = rest[-1]
        next(c for c in state["containers"] if c["name"] == name)["status"] = "running"
    elif command == "stop":
        name = rest[-1]
        next(c for c in state["containers"] if c["name"] == name)["status"] = "exited"
    elif command == "rm":
        state["containers"] = [c for c in state["containers"] if c["name"] not in rest]
    elif command == "images":
        repository = rest[-1]
        ids = [i for i, image in state["images"].items() if any(repo_of(r) == repository for r in references(image))]
        print("\n".join(ids), end="\n" if ids else "")
    elif command == "inspect":
        image_id = resolve(state, rest[-1])
        if image_id is None:
            print(f"Error: No such image: {rest[-1]}", file=sys.stderr)
            return 1
        if "--format" in rest:
            tags, digests = inspect_lists(state["images"][image_id])
            print("".join(f"{r}\n" for r in tags + digests), end="")
    elif command == "rmi":
        status = rmi(state, rest[-1])
        save(state)
        return status
    else:
        print(f"fake docker: {args} is not modelled", file=sys.stderr)
        return 2
    save(state)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
