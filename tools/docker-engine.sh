#!/usr/bin/env bash
# Docker Engine as users get it from Docker's repository today (29.x), built from the Go module proxy (no
# release download is reachable here) into a cache that later runs reuse. Prints the directory that holds
# the binaries (dockerd, docker-proxy, docker, containerd, containerd-shim-runc-v2, ctr, runc, docker-init).
#
#   tools/docker-engine.sh                      # build once (about 9 CPU-minutes), then reuse
#   DOCKER_ENGINE_CACHE=DIR tools/docker-engine.sh
#
# The pins, and why each is the one it is (../shared/spikes/docker-current/README.md has the whole record):
# - the daemon's module is github.com/moby/moby/v2 since 29.0; v2.0.0-beta.24 is Docker 29.8.1, the newest
#   whose own pins the proxy serves (beta.25 = 29.9.0-rc.1 needs five of them swapped). The module stamps no
#   version of its own, so it is set with -X as upstream's hack/make/.go-autogen does;
# - the CLI is github.com/docker/cli v29.10.0 (what get.docker.com installs today), +incompatible: its zip
#   has vendor.mod/vendor.sum, which become go.mod/go.sum; its pin github.com/moby/swarmkit/v2 v2.1.3 is not
#   served, and v2.1.2 (cli v29.9.x's pin) takes its place;
# - containerd v2.4.2 and runc v1.5.3, the versions 29.8.1's static bundle names; runc without the
#   `libpathrs` tag (a Rust library Debian 12 does not ship; upstream's RUNC_BUILDTAGS=-libpathrs);
# - docker-init is tini, as Docker ships it: Debian's tini-static.
# A stamp records the pins: the same pins never rebuild, other pins rebuild into a directory of their own.
set -euo pipefail
MOBY_VERSION=${DOCKER_MOBY_VERSION:-v2.0.0-beta.24}
ENGINE_VERSION=${DOCKER_ENGINE_VERSION:-29.8.1}
CLI_VERSION=${DOCKER_CLI_VERSION:-v29.10.0+incompatible}
CLI_SWAPS=${DOCKER_CLI_SWAPS-github.com/moby/swarmkit/v2=github.com/moby/swarmkit/v2@v2.1.2}
CONTAINERD_VERSION=${DOCKER_CONTAINERD_VERSION:-v2.4.2}
RUNC_VERSION=${DOCKER_RUNC_VERSION:-v1.5.3}
cache=${DOCKER_ENGINE_CACHE:-/var/cache/berth-e2e}
root="$cache/docker-$ENGINE_VERSION"
bin="$root/bin"
stamp="moby=$MOBY_VERSION engine=$ENGINE_VERSION cli=$CLI_VERSION swaps=$CLI_SWAPS containerd=$CONTAINERD_VERSION runc=$RUNC_VERSION"

if [ -f "$bin/.stamp" ] && [ "$(cat "$bin/.stamp")" = "$stamp" ]; then
  echo "$bin"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "Docker $ENGINE_VERSION is built from its Go modules: install Go 1.26 (this machine kind ships it)" >&2
  exit 1
fi
# Build prerequisites (runc links libseccomp statically) and docker-init (Debian's static tini).
missing=()
for package in gcc libc6-dev libseccomp-dev tini; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$root"
export GOBIN="$work/bin" GOFLAGS="-buildvcs=false" GOTOOLCHAIN=local

echo "building Docker $ENGINE_VERSION (daemon $MOBY_VERSION, CLI $CLI_VERSION, containerd $CONTAINERD_VERSION," \
     "runc $RUNC_VERSION) from their Go modules into $bin (once; about 9 CPU-minutes)" >&2

# go's own words for a module the proxy will not serve are a 403 deep in a download log: say which it is.
build() { # build WHAT COMMAND...
  local what=$1; shift
  local log="$work/$what.log"
  echo "  $what" >&2
  if ! "$@" >"$log" 2>&1; then
    refused=$(grep -oE 'reading https://[^ ]*/@v/[^ :]*: 403' "$log" | sed -E 's#reading https://[^/]*/(.*)/@v/(.*)\.(zip|mod|info): 403#\1 \2#' | sort -u)
    if [ -n "$refused" ]; then
      echo "building $what: the Go module proxy refuses these module versions (403 'not available'):" >&2
      echo "$refused" | sed 's/^/    /' >&2
      echo "  pin versions it serves (DOCKER_* variables, see the top of $0)" >&2
    else
      echo "building $what failed:" >&2
      grep -v '^go: downloading' "$log" | tail -20 >&2
    fi
    exit 1
  fi
}

moby=github.com/moby/moby/v2
version_pkg=$moby/dockerversion
build dockerd env CGO_ENABLED=0 go install -trimpath -tags "netgo osusergo static_build nri_no_wasm" \
  -ldflags "-w -X $version_pkg.Version=$ENGINE_VERSION -X $version_pkg.GitCommit=$MOBY_VERSION -X $version_pkg.PlatformName=Docker-Engine-Community -X $version_pkg.ProductName=docker" \
  "$moby/cmd/dockerd@$MOBY_VERSION" "$moby/cmd/docker-proxy@$MOBY_VERSION"

containerd=github.com/containerd/containerd/v2
containerd_ldflags="-s -w -X $containerd/version.Version=$CONTAINERD_VERSION -X $containerd/version.Revision=$CONTAINERD_VERSION -X $containerd/version.Package=github.com/containerd/containerd"
build containerd env CGO_ENABLED=0 go install -trimpath -tags "urfave_cli_no_docs no_cri no_btrfs" \
  -ldflags "$containerd_ldflags" "$containerd/cmd/containerd@$CONTAINERD_VERSION" "$containerd/cmd/ctr@$CONTAINERD_VERSION"
build containerd-shim env CGO_ENABLED=0 go install -trimpath -tags "urfave_cli_no_docs no_grpc" \
  -ldflags "$containerd_ldflags" "$containerd/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION"

build runc env CGO_ENABLED=1 go install -trimpath -buildmode=pie -tags "seccomp urfave_cli_no_docs netgo osusergo" \
  -ldflags "-X main.gitCommit=$RUNC_VERSION -linkmode external -extldflags -static-pie" \
  "github.com/opencontainers/runc@$RUNC_VERSION"

cli_number=${CLI_VERSION#v}
cli_number=${cli_number%+incompatible}
build cli-download go mod download "github.com/docker/cli@$CLI_VERSION"
cli_source="$work/cli"
cp -r "$(go env GOMODCACHE)/github.com/docker/cli@$CLI_VERSION" "$cli_source"
chmod -R u+w "$cli_source"
mv "$cli_source/vendor.mod" "$cli_source/go.mod"
mv "$cli_source/vendor.sum" "$cli_source/go.sum"
rm -rf "$cli_source/vendor"
for swap in $CLI_SWAPS; do
  go -C "$cli_source" mod edit -replace "$swap"
  build cli-swap go -C "$cli_source" mod download "${swap%%=*}"
done
cli_version_pkg=github.com/docker/cli/cli/version
build docker-cli env -C "$cli_source" CGO_ENABLED=0 go build -trimpath -tags "grpcnotrace osusergo netgo" \
  -ldflags "-w -X $cli_version_pkg.Version=$cli_number -X $cli_version_pkg.GitCommit=$CLI_VERSION -X '$cli_version_pkg.PlatformName=Docker Engine - Community'" \
  -o "$work/bin/docker" ./cmd/docker

install -m 0755 /usr/bin/tini-static "$work/bin/docker-init"
# Only a whole, working set reaches the cache: an interrupted build leaves nothing behind.
"$work/bin/dockerd" --version | grep -q "Docker version $ENGINE_VERSION,"
"$work/bin/docker" --version | grep -q "Docker version $cli_number,"
echo "$stamp" > "$work/bin/.stamp"
rm -rf "$bin"
mv "$work/bin" "$bin"
echo "$bin"
