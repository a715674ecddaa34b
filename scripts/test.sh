#!/usr/bin/env bash
# The project's test command: vet, unit tests (with the race detector on the
# concurrent packages), fuzz seed corpora (plain go test runs them) and the
# integration tests against real servers started on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-tools.sh
export PATH="$(go env GOPATH)/bin:$PATH"
# Integration tests fail instead of skipping when a server binary is missing.
export VPCFLOW_INTEGRATION=1

echo "== go vet"
go vet ./...

echo "== go test"
# -artifacts keeps what tests save with t.ArtifactDir (UI screenshots) under
# test-artifacts/_artifacts/.
mkdir -p test-artifacts
go test -count=1 -timeout 20m -artifacts -outputdir "$PWD/test-artifacts" ./... 2>&1

race_pkgs=$(go list ./internal/... | grep -E '/(aggregate|publish|logstore|objstore|flowlog|alarm|api)($|/)' || true)
if [ -n "$race_pkgs" ]; then
	echo "== go test -race (concurrent packages)"
	go test -race -count=1 -timeout 15m $race_pkgs 2>&1
fi
# The replay's flow log goroutine (the rest of internal/demo is serial and
# slow under the race detector).
echo "== go test -race (replay pipe)"
go test -race -count=1 -timeout 10m -run 'TestReplayPipeSameOutput|TestObsPipeKeepsOrder' ./internal/demo 2>&1
