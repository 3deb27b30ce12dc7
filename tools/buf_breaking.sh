#!/usr/bin/env bash
# buf breaking: proto/ against the last release tag, or the previous commit
# before any tag exists. Skips (exit 0, with the reason) when there is nothing
# to compare with: no git, a shallow clone or a single commit, or a baseline
# without proto/.
# Usage: tools/buf_breaking.sh [BUF]   (default .tools/node_modules/.bin/buf)
set -euo pipefail
cd "$(dirname "$0")/.."
BUF=${1:-.tools/node_modules/.bin/buf}
skip() { echo "buf breaking: skipped: $*"; exit 0; }

git rev-parse --git-dir >/dev/null 2>&1 || skip "not a git checkout"
if tag=$(git describe --tags --abbrev=0 2>/dev/null); then
  ref=$tag
  why="the last release tag $tag"
else
  git rev-parse --verify -q 'HEAD~1^{commit}' >/dev/null \
    || skip "no previous commit (a single commit, or a shallow clone) and no release tag"
  ref=HEAD~1
  why="the previous commit $(git rev-parse --short HEAD~1) (no release tag yet)"
fi
git cat-file -e "$ref:proto/buf.yaml" 2>/dev/null || skip "$why has no proto/buf.yaml"

base=$(mktemp -d)
trap 'rm -rf "$base"' EXIT
git archive "$ref" proto | tar -x -C "$base"
echo "buf breaking: proto/ against $why"
"$BUF" breaking proto --against "$base/proto"
