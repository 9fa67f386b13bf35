#!/usr/bin/env bash
# Regenerates the C# FlatBuffers code from the schema. Needs Debian's flatc (flatbuffers-compiler).
# flatc 2.0.8 emits the pre-rename namespace `FlatBuffers` and a FLATBUFFERS_2_0_8() version check;
# the Google.FlatBuffers NuGet package (25.x) lives in `Google.FlatBuffers` and has no such method,
# so both are rewritten here.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
schema="$root/src/Worker.Connector/Protocol/Schema/vastar_ipc.fbs"
out="$root/src/Worker.Connector/Protocol/Generated"
if ! command -v flatc >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq flatbuffers-compiler >/dev/null
  else
    echo "flatc not found: install Debian's flatbuffers-compiler" >&2; exit 1
  fi
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
flatc --csharp -o "$tmp" "$schema"
rm -f "$out"/*.cs
find "$tmp" -name '*.cs' | while read -r f; do
  name=$(basename "$f")
  sed -e 's/global::FlatBuffers\./global::Google.FlatBuffers./g' \
      -e 's/^using global::FlatBuffers;/using global::Google.FlatBuffers;/' \
      -e '/FlatBufferConstants\.FLATBUFFERS_[0-9_]*();/d' \
      "$f" > "$out/$name"
done
echo "generated: $(ls "$out" | tr '\n' ' ')"
