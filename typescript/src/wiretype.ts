/**
 * Wire-type discipline for decoding (WIRE-003): a field whose wire type does
 * not match its declared type is an unknown field, as the protobuf reference
 * implementations (C++, upb, Java) treat it, and is skipped; one that cannot be
 * skipped (an unterminated group) does not decode. protobuf-es reads a known
 * field by its declared type whatever its wire type, so the codec first drops
 * such fields, recursively. Inputs without any (every valid encoding a
 * Parley encoder writes) are returned as they are.
 */
import { ScalarType } from "@bufbuild/protobuf";
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

function scalarWireType(t: ScalarType): WireType {
  switch (t) {
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.Bit64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WireType.Bit32;
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WireType.LengthDelimited;
    default:
      return WireType.Varint;
  }
}

/** Whether `wt` is a wire type the field may be written with, and the sub-message to check inside it. */
function accepts(field: DescField, wt: WireType): { ok: boolean; sub: DescMessage | undefined } {
  switch (field.fieldKind) {
    case "scalar":
      return { ok: wt === scalarWireType(field.scalar), sub: undefined };
    case "enum":
      return { ok: wt === WireType.Varint, sub: undefined };
    case "message":
      return field.delimitedEncoding
        ? { ok: wt === WireType.StartGroup, sub: undefined }
        : { ok: wt === WireType.LengthDelimited, sub: field.message };
    case "list":
      if (field.listKind === "message") return { ok: wt === WireType.LengthDelimited, sub: field.message };
      if (field.listKind === "enum") return { ok: wt === WireType.Varint || wt === WireType.LengthDelimited, sub: undefined };
      {
        const w = scalarWireType(field.scalar);
        return { ok: wt === w || (w !== WireType.LengthDelimited && wt === WireType.LengthDelimited), sub: undefined };
      }
    case "map":
      return { ok: wt === WireType.LengthDelimited, sub: undefined };
  }
}

const fieldMaps = new WeakMap<DescMessage, Map<number, DescField>>();

function fieldsOf(desc: DescMessage): Map<number, DescField> {
  let m = fieldMaps.get(desc);
  if (m === undefined) {
    m = new Map(desc.fields.map((f) => [f.number, f]));
    fieldMaps.set(desc, m);
  }
  return m;
}

/** True when every known field, recursively, has a wire type its declaration allows. Throws on bytes that do not parse. */
function clean(desc: DescMessage, bytes: Uint8Array, depth: number): boolean {
  if (depth > 32) throw new Error("too deep");
  const fields = fieldsOf(desc);
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    const f = fields.get(no);
    if (f === undefined) {
      r.skip(wt, no);
      continue;
    }
    const { ok, sub } = accepts(f, wt);
    if (!ok) return false;
    const data = r.skip(wt, no);
    if (sub !== undefined && wt === WireType.LengthDelimited) {
      // skip() returns the length prefix and the payload of a length-delimited field.
      const inner = new BinaryReader(data);
      if (!clean(sub, inner.bytes(), depth + 1)) return false;
    }
  }
  return true;
}

function rebuild(desc: DescMessage, bytes: Uint8Array, depth: number): Uint8Array {
  if (depth > 32) throw new Error("too deep");
  const fields = fieldsOf(desc);
  const r = new BinaryReader(bytes);
  const w = new BinaryWriter();
  while (r.pos < r.len) {
    const start = r.pos;
    const [no, wt] = r.tag();
    const f = fields.get(no);
    const data = r.skip(wt, no);
    if (f === undefined) {
      w.raw(bytes.subarray(start, r.pos));
      continue;
    }
    const { ok, sub } = accepts(f, wt);
    if (!ok) continue; // an unknown field: dropped, it carries nothing Parley reads
    if (sub !== undefined && wt === WireType.LengthDelimited) {
      const inner = new BinaryReader(data).bytes();
      w.tag(no, WireType.LengthDelimited).bytes(rebuild(sub, inner, depth + 1));
    } else {
      w.raw(bytes.subarray(start, r.pos));
    }
  }
  return w.finish();
}

/** The input with every known field of a wrong wire type removed, recursively; throws when it does not parse. */
export function withDeclaredWireTypes(desc: DescMessage, bytes: Uint8Array): Uint8Array {
  return clean(desc, bytes, 0) ? bytes : rebuild(desc, bytes, 0);
}
