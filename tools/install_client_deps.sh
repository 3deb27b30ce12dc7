#!/usr/bin/env bash
# What `make clients` needs beyond Python: Debian's protobuf compiler and
# runtimes (C++, Java), gRPC for C++, Go's protobuf and gRPC plugins and
# libraries (the protos' go_package builds offline in GOPATH mode), and the
# Node packages of clients/node and clients/ts (protoc-gen-es, protobuf-es).
# Packages already installed are skipped; apt runs only if one is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGES=(protobuf-compiler libprotobuf-dev libprotobuf-java libgrpc++-dev protobuf-compiler-grpc pkg-config
          golang-go protoc-gen-go protoc-gen-go-grpc golang-google-protobuf-dev golang-google-grpc-dev
          golang-github-golang-protobuf-1-5-dev)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
else
  echo "client packages already installed"
fi
if command -v npm >/dev/null; then
  if [ ! -d clients/node/node_modules/@grpc/grpc-js ] || [ ! -d clients/node/node_modules/protobufjs-cli ]; then
    npm install --silent --no-audit --no-fund --prefix clients/node
  fi
  if [ ! -x clients/ts/node_modules/.bin/protoc-gen-es ] || [ ! -d clients/ts/node_modules/@grpc/grpc-js ]; then
    npm install --silent --no-audit --no-fund --prefix clients/ts
  fi
else
  echo "npm not found: the Node and TypeScript clients are skipped"
fi
