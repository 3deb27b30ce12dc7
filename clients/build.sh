#!/usr/bin/env bash
# `make clients`: generate code from every proto under proto/ (the wire
# format, the local state format, the conformance driver, the public API)
# for Python, Node (JavaScript + TypeScript declarations), Java and C++, and
# compile each; then `buf generate` with the committed buf.gen.yaml, the
# TypeScript client (protobuf-es, tsc --strict) and the Go client on it.
# Output in build/clients/ (or $CLIENTS_OUT; not committed). Needs what
# tools/install_client_deps.sh installs; a missing toolchain fails the build.
#   clients/build.sh [LANGUAGE...]   (python node java cpp ts go; default all)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${CLIENTS_OUT:-build/clients}
PY=${PY:-.venv/bin/python}
PY="$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")"  # absolute, the venv's own
BUF=${BUF:-.tools/node_modules/.bin/buf}
LANGS=("$@")
((${#LANGS[@]})) || LANGS=(python node java cpp ts go)
want() { [[ " ${LANGS[*]} " == *" $1 "* ]]; }
mapfile -t PROTOS < <(cd proto && find . -name '*.proto' | sed 's|^\./||' | sort)
rm -rf "$OUT"
mkdir -p "$OUT"/{python,node,java/src,java/classes,cpp/gen,cpp/obj}
OUT=$(cd "$OUT" && pwd)  # absolute from here on
step() { echo "== $*"; }

if want python; then

step "python: generate (tools/gen_proto.py), byte-compile, import"
"$PY" tools/gen_proto.py "$OUT/python" >/dev/null
"$PY" -m compileall -q "$OUT/python"
(cd "$OUT/python" && "$PY" -c "
import importlib
for m in ['parley.v1.wire_pb2', 'parley.local.v1.state_pb2', 'parley.driver.v1.driver_pb2_grpc',
          'parley.api.v1.api_pb2_grpc']:
    importlib.import_module(m)
print('python: 4 modules import')")

fi

if want node; then
step "node: generate (protobufjs-cli: static JS + .d.ts), check with node and tsc"
NM=clients/node/node_modules
"$NM/.bin/pbjs" -t static-module -w commonjs --keep-case -p proto -o "$OUT/node/parley.js" "${PROTOS[@]}"
"$NM/.bin/pbts" -o "$OUT/node/parley.d.ts" "$OUT/node/parley.js"
node --check "$OUT/node/parley.js"
NODE_PATH="$PWD/$NM" node -e "
const p = require('$OUT/node/parley.js');
const m = p.parley.api.v1.SendMessageRequest.create({contact: 'bob', body: Buffer.from('hi')});
const back = p.parley.api.v1.SendMessageRequest.decode(p.parley.api.v1.SendMessageRequest.encode(m).finish());
if (back.contact !== 'bob') throw new Error('round trip failed');
console.log('node: generated module loads; a message round-trips');"
cat > "$OUT/node/check.ts" <<'TS'
import { parley } from "./parley";
const request: parley.api.v1.ISendMessageRequest = { contact: "bob", body: new Uint8Array([104, 105]) };
const bytes: Uint8Array = parley.api.v1.SendMessageRequest.encode(request).finish();
const event: parley.api.v1.IEvent = { event_id: 1, message_received: { body: bytes } };
export { event };
TS
ln -s "$PWD/$NM" "$OUT/node/node_modules"  # so that tsc resolves protobufjs and long
"$NM/.bin/tsc" --noEmit --strict --moduleResolution node --types node --typeRoots "$NM/@types" "$OUT/node/check.ts"
echo "node: TypeScript declarations type-check"

fi

if want java; then
step "java: generate (protoc --java_out), compile with javac"
JAR=/usr/share/java/protobuf.jar
protoc -Iproto --java_out="$OUT/java/src" "${PROTOS[@]}"
mapfile -t JAVA < <(find "$OUT/java/src" clients/java -name '*.java')
javac -nowarn -d "$OUT/java/classes" -cp "$JAR" "${JAVA[@]}" 2>&1 | grep -v '^Note:' || true
test -f "$OUT/java/classes/ParleyWire.class"
echo "java: $(find "$OUT/java/classes" -name '*.class' | wc -l) classes"

fi

if want cpp; then
step "c++: generate (protoc --cpp_out, grpc_cpp_plugin), compile with g++, link clients/cpp"
protoc -Iproto --cpp_out="$OUT/cpp/gen" "${PROTOS[@]}"
mapfile -t SERVICES < <(grep -l '^service ' $(printf 'proto/%s ' "${PROTOS[@]}") | sed 's|^proto/||')
protoc -Iproto --grpc_out="$OUT/cpp/gen" --plugin=protoc-gen-grpc="$(command -v grpc_cpp_plugin)" "${SERVICES[@]}"
CXXFLAGS=(-std=c++17 -O1 -I"$OUT/cpp/gen" $(pkg-config --cflags protobuf grpc++))
LIBS=($(pkg-config --libs protobuf grpc++))
objs=()
for src in $(cd "$OUT/cpp/gen" && find . -name '*.cc' | sort); do
  obj="$OUT/cpp/obj/$(echo "${src#./}" | tr / _).o"
  g++ "${CXXFLAGS[@]}" -c "$OUT/cpp/gen/$src" -o "$obj" &
  objs+=("$obj")
done
wait
g++ "${CXXFLAGS[@]}" clients/cpp/parley_client.cc "${objs[@]}" "${LIBS[@]}" -o "$OUT/cpp/parley_client"
echo "c++: ${#objs[@]} generated files compiled; $OUT/cpp/parley_client linked"
fi

if want ts || want go; then
  step "buf generate (buf.gen.yaml): TypeScript, Go, Java, C++, Python into $OUT/build/gen"
  "$BUF" generate --output "$OUT"
  GEN="$OUT/build/gen"
fi

if want ts; then
  step "typescript: protobuf-es code and clients/ts/client.ts, tsc --strict, node"
  mkdir -p "$OUT/ts"
  cp clients/ts/client.ts clients/ts/tsconfig.json "$OUT/ts/"
  cp -r "$GEN/es" "$OUT/ts/gen"
  ln -sfn "$PWD/clients/ts/node_modules" "$OUT/ts/node_modules"
  clients/ts/node_modules/.bin/tsc --strict -p "$OUT/ts/tsconfig.json"
  node --check "$OUT/ts/out/client.js"
  echo "typescript: $(find "$OUT/ts/gen" -name '*.ts' | wc -l) generated files and the client type-check; $OUT/ts/out/client.js"
fi

if want go; then
  step "go: protoc-gen-go + protoc-gen-go-grpc code and clients/go, go build (Debian's Go packages)"
  GOPATH_DIR="$OUT/go/path"
  mkdir -p "$GOPATH_DIR/src/parley/gen"
  ln -sfn "$GEN/go" "$GOPATH_DIR/src/parley/gen/go"
  # The protos' go_package is parley/gen/go/...; the libraries are Debian's,
  # under /usr/share/gocode, so the build is in GOPATH mode, offline.
  GO111MODULE=off GOPATH="$GOPATH_DIR:/usr/share/gocode" GOFLAGS= \
    go build -o "$OUT/go/parley_client" ./clients/go/parley_client.go
  echo "go: $(find "$GEN/go" -name '*.go' | wc -l) generated files compiled; $OUT/go/parley_client linked"
fi
echo "clients built in $OUT: ${LANGS[*]}"
