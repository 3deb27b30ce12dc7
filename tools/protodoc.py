"""Read proto/ with its comments, and write a Markdown reference page from it.

protoc (from grpc_tools) compiles every .proto file under proto/ into a
FileDescriptorSet with source info, so the comments come from the schema
itself, never from a copy. Used by the site (``conf.py``) and by
``tests/test_spec.py`` (which checks that every field the spec names exists).

Usage: protodoc.py OUT.md     write the reference page
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO = ROOT / "proto"

# FileDescriptorProto / DescriptorProto / ... field numbers used in source-info paths.
_FILE_MESSAGE, _FILE_ENUM, _FILE_SERVICE = 4, 5, 6
_MSG_FIELD, _MSG_NESTED, _MSG_ENUM, _MSG_ONEOF = 2, 3, 4, 8
_ENUM_VALUE = 2
_SERVICE_METHOD = 2


@dataclass
class Field:
    name: str
    number: int
    type: str
    label: str
    oneof: str
    comment: str


@dataclass
class Message:
    name: str  # e.g. "Bundle" or "Outer.Inner"
    full_name: str  # e.g. "parley.v1.Bundle"
    file: str
    comment: str
    fields: list[Field] = field(default_factory=list)


@dataclass
class Enum:
    name: str
    full_name: str
    file: str
    comment: str
    values: list[tuple[str, int, str]] = field(default_factory=list)


@dataclass
class Method:
    name: str
    input: str
    output: str
    client_streaming: bool
    server_streaming: bool
    comment: str


@dataclass
class Service:
    name: str
    full_name: str
    file: str
    comment: str
    methods: list[Method] = field(default_factory=list)


@dataclass
class ProtoFile:
    path: str  # relative to proto/
    package: str
    comment: str
    messages: list[Message] = field(default_factory=list)
    enums: list[Enum] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)


def _descriptor_set(proto_dir: Path):
    from google.protobuf import descriptor_pb2
    from grpc_tools import protoc

    protos = sorted(str(p.relative_to(proto_dir)) for p in proto_dir.rglob("*.proto"))
    if not protos:
        return descriptor_pb2.FileDescriptorSet()
    include = Path(protoc.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "set.pb"
        args = [
            "protoc",
            f"-I{proto_dir}",
            f"-I{include}",
            f"--descriptor_set_out={out}",
            "--include_source_info",
            *protos,
        ]
        if protoc.main(args) != 0:
            raise RuntimeError("protoc failed on proto/")
        return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def _clean(comment: str) -> str:
    lines = [line[1:] if line.startswith(" ") else line for line in comment.splitlines()]
    return "\n".join(lines).strip()


_TYPE_NAMES = {
    1: "double",
    2: "float",
    3: "int64",
    4: "uint64",
    5: "int32",
    6: "fixed64",
    7: "fixed32",
    8: "bool",
    9: "string",
    12: "bytes",
    13: "uint32",
    15: "sfixed32",
    16: "sfixed64",
    17: "sint32",
    18: "sint64",
}


def load(proto_dir: Path = PROTO) -> list[ProtoFile]:
    """Every .proto file under ``proto_dir``: messages, enums, services, comments."""
    fds = _descriptor_set(proto_dir)
    files = []
    for fd in fds.file:
        comments: dict[tuple[int, ...], str] = {}
        file_comment = ""
        for loc in fd.source_code_info.location:
            text = loc.leading_comments or loc.trailing_comments
            if text:
                comments[tuple(loc.path)] = _clean(text)
            if tuple(loc.path) == (12,) and loc.leading_detached_comments:  # syntax statement
                file_comment = _clean("\n".join(loc.leading_detached_comments))
        pf = ProtoFile(fd.name, fd.package, file_comment)

        def add_enum(enum, path, prefix, pf=pf, comments=comments):
            name = prefix + enum.name
            e = Enum(name, f"{pf.package}.{name}", pf.path, comments.get(path, ""))
            for i, value in enumerate(enum.value):
                e.values.append(
                    (value.name, value.number, comments.get((*path, _ENUM_VALUE, i), ""))
                )
            pf.enums.append(e)

        def add_message(msg, path, prefix, pf=pf, comments=comments, add_enum=add_enum):
            name = prefix + msg.name
            m = Message(name, f"{pf.package}.{name}", pf.path, comments.get(path, ""))
            for i, f in enumerate(msg.field):
                if f.type_name:
                    type_name = f.type_name.lstrip(".")
                    if type_name.startswith(pf.package + "."):
                        type_name = type_name[len(pf.package) + 1 :]
                else:
                    type_name = _TYPE_NAMES.get(f.type, str(f.type))
                if f.label == 3:
                    label = "repeated"
                elif f.proto3_optional:
                    label = "optional"
                else:
                    label = ""
                oneof = ""
                if f.HasField("oneof_index") and not f.proto3_optional:
                    oneof = msg.oneof_decl[f.oneof_index].name
                m.fields.append(
                    Field(
                        f.name,
                        f.number,
                        type_name,
                        label,
                        oneof,
                        comments.get((*path, _MSG_FIELD, i), ""),
                    )
                )
            pf.messages.append(m)
            for i, nested in enumerate(msg.nested_type):
                if nested.options.map_entry:
                    continue
                add_message(nested, (*path, _MSG_NESTED, i), name + ".")
            for i, enum in enumerate(msg.enum_type):
                add_enum(enum, (*path, _MSG_ENUM, i), name + ".")

        for i, msg in enumerate(fd.message_type):
            add_message(msg, (_FILE_MESSAGE, i), "")
        for i, enum in enumerate(fd.enum_type):
            add_enum(enum, (_FILE_ENUM, i), "")
        for i, svc in enumerate(fd.service):
            s = Service(
                svc.name, f"{fd.package}.{svc.name}", fd.name, comments.get((_FILE_SERVICE, i), "")
            )
            for j, method in enumerate(svc.method):
                s.methods.append(
                    Method(
                        method.name,
                        method.input_type.lstrip("."),
                        method.output_type.lstrip("."),
                        method.client_streaming,
                        method.server_streaming,
                        comments.get((_FILE_SERVICE, i, _SERVICE_METHOD, j), ""),
                    )
                )
            pf.services.append(s)
        files.append(pf)
    return files


def message_fields(files: list[ProtoFile] | None = None) -> dict[str, set[str]]:
    """Message name -> its field names, by short name and by full name."""
    out: dict[str, set[str]] = {}
    for pf in load() if files is None else files:
        for m in pf.messages:
            names = {f.name for f in m.fields}
            for key in (m.name, m.full_name, m.name.rsplit(".", 1)[-1]):
                out.setdefault(key, set()).update(names)
    return out


def _md(text: str) -> str:
    """A comment as Markdown text inside a table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _anchor(full_name: str) -> str:
    return "proto-" + full_name.lower().replace(".", "-").replace("_", "-")


_INTRO = (
    "Generated by `tools/protodoc.py` from the comments of the `.proto` files under "
    "`proto/` at build time; the schemas are the source of truth. "
    "Normative text: {doc}`/spec/wire-format` and {doc}`/spec/storage`."
)


def render(files: list[ProtoFile], title: str = "Schema reference", intro: str = _INTRO) -> str:
    """The reference page of ``files``, in MyST Markdown."""
    out = [f"# {title}", "", intro, ""]
    known = {m.full_name for pf in files for m in pf.messages}
    known |= {e.full_name for pf in files for e in pf.enums}

    def type_link(type_name: str, package: str) -> str:
        full = type_name if "." in type_name and type_name in known else f"{package}.{type_name}"
        shown = type_name.removeprefix(package + ".")  # the package is in the heading
        if full in known:
            return f"[`{shown}`](#{_anchor(full)})"
        return f"`{shown}`"

    for pf in sorted(files, key=lambda f: f.path):
        out += [f"## `{pf.path}`", "", f"Package `{pf.package}`.", ""]
        if pf.comment:
            out += ["```text", pf.comment, "```", ""]
        for svc in pf.services:
            out += [f"({_anchor(svc.full_name)})=", f"### service `{svc.name}`", ""]
            if svc.comment:
                out += [svc.comment, ""]
            for m in svc.methods:  # a list, not a table: comments are long
                req = ("stream " if m.client_streaming else "") + type_link(m.input, pf.package)
                resp = ("stream " if m.server_streaming else "") + type_link(m.output, pf.package)
                out.append(
                    f"- **`{m.name}`**({req}) → {resp}"
                    + (f"  \n  {_md(m.comment)}" if m.comment else "")
                )
            out.append("")
        for msg in pf.messages:
            out += [f"({_anchor(msg.full_name)})=", f"### `{msg.name}`", ""]
            if msg.comment:
                out += [msg.comment, ""]
            if msg.fields:
                out += ["| # | field | type | description |", "|---|---|---|---|"]
                for f in msg.fields:
                    kind = type_link(f.type, pf.package)
                    if f.label:
                        kind = f"{f.label} {kind}"
                    if f.oneof:
                        kind += f" (oneof `{f.oneof}`)"
                    out.append(f"| {f.number} | `{f.name}` | {kind} | {_md(f.comment)} |")
                out.append("")
            else:
                out += ["(no fields)", ""]
        for enum in pf.enums:
            out += [f"({_anchor(enum.full_name)})=", f"### enum `{enum.name}`", ""]
            if enum.comment:
                out += [enum.comment, ""]
            out += ["| value | name | description |", "|---|---|---|"]
            for name, number, comment in enum.values:
                out.append(f"| {number} | `{name}` | {_md(comment)} |")
            out.append("")
        out += [
            f"**The whole of `{pf.path}`**, included from the file:",
            "",
            f"```{{literalinclude}} /proto/{pf.path}",
            ":language: protobuf",
            "```",
            "",
        ]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    Path(argv[0]).write_text(render(load()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
