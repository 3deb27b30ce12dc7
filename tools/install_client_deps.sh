#!/usr/bin/env bash
# What `make clients` needs beyond Python: Debian's protobuf compiler and
# runtimes (C++, Java), gRPC for C++, and the Node packages of clients/node.
# Packages already installed are skipped; apt runs only if one is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGES=(protobuf-compiler libprotobuf-dev libprotobuf-java libgrpc++-dev protobuf-compiler-grpc pkg-config)
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
else
  echo "npm not found: the Node client is skipped"
fi
