#!/usr/bin/env bash
# Prints the path of a golangci-lint binary of the pinned version, built once from the Go module
# proxy and cached by version (like helm-tool.sh).
set -euo pipefail
GOLANGCI_LINT_VERSION=${GOLANGCI_LINT_VERSION:-2.15.0}
CACHE=${SKMALL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/skmall}
BIN="$CACHE/golangci-lint-$GOLANGCI_LINT_VERSION"
if [ ! -x "$BIN/golangci-lint" ]; then
	echo "lint-tool: building golangci-lint $GOLANGCI_LINT_VERSION from the Go module proxy (once)" >&2
	mkdir -p "$BIN"
	(cd /tmp && GOBIN="$BIN" GOFLAGS=-mod=mod CGO_ENABLED=0 go install -trimpath -gcflags=all=-dwarf=false -ldflags "-s -w" \
		"github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v$GOLANGCI_LINT_VERSION")
fi
echo "$BIN/golangci-lint"
