#!/usr/bin/env bash
# Installs what the integration tests and benchmarks need beyond Go itself:
# versitygw (a real S3 server) from the Go module proxy and Debian packages.
# Idempotent: anything already present is left alone.
#
#	scripts/install-tools.sh           what the tests need (CI)
#	scripts/install-tools.sh --bench   only the peers the bench/ harnesses
#	                                   compare against: softflowd, nfdump (nfpcapd)
#
# VPCFLOW_BENCH_TOOLS=1 adds the bench peers to the test tools.
set -euo pipefail

test_tools=1
bench_tools="${VPCFLOW_BENCH_TOOLS:-0}"
for arg in "$@"; do
	case "$arg" in
	--bench) test_tools=0 bench_tools=1 ;;
	*)
		echo "usage: $0 [--bench]" >&2
		exit 2
		;;
	esac
done

GOBIN="$(go env GOPATH)/bin"
export PATH="$GOBIN:$PATH"

if [ "$test_tools" = 1 ] && ! command -v versitygw >/dev/null 2>&1; then
	echo "installing versitygw v1.8.0 (once per machine, ~2 min)"
	GOFLAGS=-mod=mod go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi

apt_pkgs=()
if [ "$test_tools" = 1 ]; then
	command -v nats-server >/dev/null 2>&1 || apt_pkgs+=(nats-server)
	# The API end-to-end test drives Debian's AWS CLI (v2); the UI test
	# drives headless Chromium.
	[ -x /usr/bin/aws ] || apt_pkgs+=(awscli)
	command -v chromium >/dev/null 2>&1 || apt_pkgs+=(chromium)
fi
# bench/replay compares with softflowd (+ nfcapd/nfdump to collect and read
# its export) and nfpcapd. DuckDB comes in through the Go binding, not a CLI.
if [ "$bench_tools" = 1 ]; then
	command -v softflowd >/dev/null 2>&1 || apt_pkgs+=(softflowd)
	command -v nfpcapd >/dev/null 2>&1 || apt_pkgs+=(nfdump)
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
