#!/usr/bin/env bash
# Prints the path of a helm binary of the pinned version: the installed one when it is that
# version, otherwise built once from the Go module proxy and cached by version.
set -euo pipefail
HELM_VERSION=${HELM_VERSION:-3.21.4}
CACHE=${SKMALL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/skmall}
BIN="$CACHE/helm-$HELM_VERSION"
if command -v helm >/dev/null && helm version --template '{{.Version}}' 2>/dev/null | grep -qx "v$HELM_VERSION"; then
	command -v helm
	exit 0
fi
if [ ! -x "$BIN/helm" ]; then
	echo "helm-tool: building helm $HELM_VERSION from the Go module proxy (once)" >&2
	mkdir -p "$BIN"
	(cd /tmp && GOBIN="$BIN" GOFLAGS=-mod=mod CGO_ENABLED=0 go install -trimpath -gcflags=all=-dwarf=false \
		-ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION" \
		"helm.sh/helm/v3/cmd/helm@v$HELM_VERSION")
fi
echo "$BIN/helm"
