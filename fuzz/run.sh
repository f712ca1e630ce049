#!/usr/bin/env bash
# Runs the libFuzzer targets side by side, each for SECONDS, at the lowest CPU priority, on an
# optimised build, with corpora seeded from the repository's fixtures.
#
#   fuzz/run.sh SECONDS [TARGET...]      (default: every target)
#
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Corpora grow in
# fuzz/corpus/<target>/, crashes land in fuzz/artifacts/<target>/, libFuzzer's output in
# fuzz/artifacts/<target>.log (all gitignored). CARGO_TARGET_DIR moves the build elsewhere.
# A crash is committed as a regression test: add the input to the matching tests/hostile/
# directory (or to the seeds tests/fuzz_like.rs reads) and fix the cause.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(rule_parser config_loader tenant_loader plan_file graph_users)

nice -n 5 cargo +nightly fuzz build -O
binaries=${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release

seed() {
    local corpus=corpus/$1
    shift
    mkdir -p "$corpus"
    find "$@" -type f -size -64k 2>/dev/null | while read -r file; do
        cp "$file" "$corpus/seed-$(echo "$file" | tr '/' '_')"
    done
}
for target in "${targets[@]}"; do
    case $target in
        rule_parser)
            seed rule_parser ../tests/hostile/rules
            # One seed per rule of the rule corpus (JSON Lines, decoded by python3 where present).
            if command -v python3 >/dev/null; then
                python3 -c 'import json, sys
for n, line in enumerate(open(sys.argv[1])):
    rule = json.loads(line).get("rule") if line.strip() else None
    if isinstance(rule, str):
        open("corpus/rule_parser/seed-rule-%04d" % n, "w").write(rule)' \
                    ../tests/fixtures/rules/rules-corpus-dev.jsonl
            fi ;;
        config_loader) seed config_loader ../examples ../tests/fixtures/config ../tests/hostile/config ;;
        tenant_loader) seed tenant_loader ../examples ../tests/fixtures/codes ../tests/hostile/tenant ;;
        plan_file) seed plan_file ../tests/hostile/plan ../tests/fixtures/plans ;;
        graph_users) seed graph_users ../tests/fixtures/graph/export ../tests/fixtures/graph/api ;;
        *) echo "unknown target $target" >&2; exit 1 ;;
    esac
    mkdir -p "artifacts/$target"
    nice -n 19 "$binaries/$target" "corpus/$target" -max_total_time="$seconds" -rss_limit_mb=2048 \
        -timeout=60 -artifact_prefix="artifacts/$target/" -print_final_stats=1 \
        >"artifacts/$target.log" 2>&1 &
done
wait
for target in "${targets[@]}"; do
    echo "$target: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "artifacts/$target.log" | grep -o '[0-9]*$') executions"
done
