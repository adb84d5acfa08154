#!/usr/bin/env bash
# Prints a folder holding buf, the protoc-gen-go and protoc-gen-go-grpc plugins and grpcurl of
# the pinned versions, built once from the Go module proxy and cached by version (like
# lint-tool.sh): buf lints the gRPC contracts and, with the plugins, generates their Go code;
# grpcurl is the client the README and the end-to-end tests call the gRPC APIs with.
set -euo pipefail
BUF_VERSION=${BUF_VERSION:-1.75.0}
PROTOC_GEN_GO_VERSION=${PROTOC_GEN_GO_VERSION:-1.36.12}
PROTOC_GEN_GO_GRPC_VERSION=${PROTOC_GEN_GO_GRPC_VERSION:-1.5.1}
GRPCURL_VERSION=${GRPCURL_VERSION:-1.9.4}
CACHE=${SKMALL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/skmall}
BIN="$CACHE/grpc-tools-buf$BUF_VERSION-go$PROTOC_GEN_GO_VERSION-grpc$PROTOC_GEN_GO_GRPC_VERSION-grpcurl$GRPCURL_VERSION"
if [ ! -x "$BIN/buf" ] || [ ! -x "$BIN/protoc-gen-go" ] || [ ! -x "$BIN/protoc-gen-go-grpc" ] || [ ! -x "$BIN/grpcurl" ]; then
	echo "grpc-tools: building buf $BUF_VERSION, the Go plugins and grpcurl $GRPCURL_VERSION from the Go module proxy (once)" >&2
	mkdir -p "$BIN"
	for pkg in "github.com/bufbuild/buf/cmd/buf@v$BUF_VERSION" \
		"google.golang.org/protobuf/cmd/protoc-gen-go@v$PROTOC_GEN_GO_VERSION" \
		"google.golang.org/grpc/cmd/protoc-gen-go-grpc@v$PROTOC_GEN_GO_GRPC_VERSION" \
		"github.com/fullstorydev/grpcurl/cmd/grpcurl@v$GRPCURL_VERSION"; do
		(cd /tmp && GOBIN="$BIN" GOFLAGS=-mod=mod CGO_ENABLED=0 go install -trimpath -gcflags=all=-dwarf=false -ldflags "-s -w" "$pkg")
	done
fi
echo "$BIN"
