#!/usr/bin/env bash
# Regenerate the protobuf-es code from ../proto into a temporary folder and
# fail on any difference from typescript/src/gen (generated, never edited).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|out: src/gen|out: $tmp/gen|" buf.gen.yaml > "$tmp/buf.gen.yaml"
node_modules/.bin/buf generate ../proto --template "$tmp/buf.gen.yaml"
if ! diff -r "$tmp/gen" src/gen > "$tmp/diff"; then
  cat "$tmp/diff" | head -40
  echo "typescript/src/gen is stale: run (cd typescript && npx buf generate ../proto --template buf.gen.yaml)" >&2
  exit 1
fi
echo "typescript/src/gen is fresh ($(find src/gen -name '*.ts' | wc -l) files)"
