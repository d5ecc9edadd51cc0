#!/usr/bin/env bash
# Builds the DocC documentation of every product and checks it:
#   - every public symbol has a doc comment (compiler-synthesized members aside);
#   - `docc convert` of each catalog succeeds with warnings treated as errors (broken
#     symbol links, missing articles).
# Output: .build/docs/<Module>.doccarchive. Usage: bash scripts/docs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
swift package dump-symbol-graph --minimum-access-level public >/dev/null
graphs=$(swift build --show-bin-path)/../symbolgraph
[ -d "$graphs" ] || graphs=.build/$(uname -m)-unknown-linux-gnu/symbolgraph
out=.build/docs
rm -rf "$out"; mkdir -p "$out"
status=0
# module name : catalog
for entry in OCISpec:Sources/OCISpec/OCISpec.docc OCIHashing:Sources/OCIHashing/OCIHashing.docc ImageStore:Sources/ImageStore/ImageStore.docc \
             Registry:Sources/Registry/Registry.docc Sandbox:Sources/Sandbox/Sandbox.docc \
             CaissonNetwork:Sources/Network/CaissonNetwork.docc Caisson:Sources/Caisson/Caisson.docc; do
    module=${entry%%:*} catalog=${entry#*:}
    undocumented=$(python3 - "$graphs/$module.symbols.json" <<'PY'
import json, sys
synthesized = {"hashValue", "hash(into:)", "init(unicodeScalarLiteral:)", "init(extendedGraphemeClusterLiteral:)",
               "==(_:_:)", "!=(_:_:)", "init(from:)", "encode(to:)"}
graph = json.load(open(sys.argv[1]))
for s in graph["symbols"]:
    if s.get("accessLevel") in ("public", "open") and not s.get("docComment") and s["pathComponents"][-1] not in synthesized:
        print(".".join(s["pathComponents"]))
PY
)
    if [ -n "$undocumented" ]; then
        echo "docs: $module: public symbols without documentation:" >&2
        echo "$undocumented" | sed 's/^/    /' >&2
        status=1
    fi
    graph_dir=$(mktemp -d)
    cp "$graphs/$module.symbols.json" "$graph_dir/"
    cp "$graphs/$module"@*.symbols.json "$graph_dir/" 2>/dev/null || true
    if ! docc convert "$catalog" --additional-symbol-graph-dir "$graph_dir" \
            --fallback-display-name "$module" --fallback-bundle-identifier "org.caisson.$module" \
            --output-path "$out/$module.doccarchive" --warnings-as-errors >"$out/$module.log" 2>&1; then
        echo "docs: $module: docc reported problems:" >&2
        grep -E "warning|error" "$out/$module.log" | sed 's/^/    /' >&2
        status=1
    else
        echo "docs: $module: ok ($(echo "$undocumented" | grep -c . || true) undocumented)"
    fi
    rm -rf "$graph_dir"
done
exit $status
