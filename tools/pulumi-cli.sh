#!/usr/bin/env bash
# The Pulumi CLI at Berth's pinned version, built from its Go module (no release download is reachable
# here) into a cache that later runs reuse. Prints the path of the `pulumi` binary.
#
#   tools/pulumi-cli.sh            # build once (about 10 minutes on two cores), then reuse
#   PULUMI_CLI_CACHE=DIR tools/pulumi-cli.sh
#
# The version is stamped with -X: without it `pulumi version` prints nothing, and the Automation API
# refuses a CLI whose version it cannot read.
set -euo pipefail
version=${PULUMI_CLI_VERSION:-v3.274.1}
cache=${PULUMI_CLI_CACHE:-/var/cache/berth-e2e}
root="$cache/pulumi-$version"
binary="$root/bin/pulumi"

if [ -x "$binary" ] && [ "$("$binary" version 2>/dev/null)" = "$version" ]; then
  echo "$binary"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "the Pulumi CLI is built from its Go module: install Go 1.26 (this machine kind ships it)" >&2
  exit 1
fi
mkdir -p "$root/bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cat > go.mod <<MOD
module berth/pulumi-cli

go 1.26

require github.com/pulumi/pulumi/pkg/v3 $version
MOD
printf '//go:build tools\npackage tools\n\nimport _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"\n' > tools.go
echo "building the Pulumi CLI $version from its Go module into $root (once; about 10 minutes)" >&2
go mod tidy >&2
go build -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
  -o "$work/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >&2
# Only a whole, working binary reaches the cache: an interrupted build leaves nothing behind.
[ "$("$work/pulumi" version)" = "$version" ]
mv "$work/pulumi" "$binary"
echo "$binary"
