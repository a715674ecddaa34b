#!/usr/bin/env bash
# Installs what the integration tests and benchmarks need beyond Go itself:
# versitygw (a real S3 server) from the Go module proxy and Debian packages.
# Idempotent: anything already present is left alone.
set -euo pipefail

GOBIN="$(go env GOPATH)/bin"
export PATH="$GOBIN:$PATH"

if ! command -v versitygw >/dev/null 2>&1; then
	echo "installing versitygw v1.8.0 (once per machine, ~2 min)"
	GOFLAGS=-mod=mod go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi

apt_pkgs=()
command -v nats-server >/dev/null 2>&1 || apt_pkgs+=(nats-server)
# The API end-to-end test drives Debian's AWS CLI (v2); the UI test drives
# headless Chromium.
[ -x /usr/bin/aws ] || apt_pkgs+=(awscli)
command -v chromium >/dev/null 2>&1 || apt_pkgs+=(chromium)
if [ "${VPCFLOW_BENCH_TOOLS:-0}" = 1 ]; then
	command -v softflowd >/dev/null 2>&1 || apt_pkgs+=(softflowd)
	command -v nfpcapd >/dev/null 2>&1 || apt_pkgs+=(nfdump)
	command -v duckdb >/dev/null 2>&1 || true
fi
if [ ${#apt_pkgs[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "installing Debian packages: ${apt_pkgs[*]}"
		apt-get update -qq >/dev/null 2>&1 || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_pkgs[@]}" >/dev/null
	else
		echo "warning: cannot install ${apt_pkgs[*]} (need root and apt-get); dependent tests will fail" >&2
	fi
fi
