#!/usr/bin/env bash
# Compares seatplan with Python on a generated tenant (1,000,000 users by default): the wall time
# and peak memory of `python3 -c 'import json; json.load(open(F))'` beside seatplan's command on
# the same file, and their ratio (issue 8's targets: under 1/2 of json.load for a full plan, under
# 1/4 after one rule edit, peak memory under 1.5 GB).
#
#   benches/compare.sh                 # 1,000,000 users, in target/scale-1000000/
#   USERS=100000 benches/compare.sh    # another size
#
# Builds the release binaries, generates the tenant if it is missing (about 1 minute and 770 MB
# for a million users), then runs each command RUNS times (3 by default) and reports the run with
# the median wall time. Run it on a quiet machine: it measures wall time.
set -euo pipefail
cd "$(dirname "$0")/.."

USERS="${USERS:-1000000}"
RUNS="${RUNS:-3}"
DIR="${DIR:-target/scale-$USERS}"
STATE="$DIR/tenant.json"

# The seatplan commands measured: a full plan of the matching config (no changes) and of the
# config with one rule edited. For a per-phase breakdown (time and memory), run the
# `plan-phases` tool instead:
#   PLAN_CMD="target/release/examples/plan-phases $STATE --config $DIR/config"
PLAN_CMD="${PLAN_CMD:-target/release/seatplan plan -c $DIR/config --state $STATE --format json}"
EDIT_CMD="${EDIT_CMD:-target/release/seatplan plan -c $DIR/config-rule-edited --state $STATE --format json --allow-license-loss}"
PYTHON_CMD="python3 -c 'import json; json.load(open(\"$STATE\"))'"

echo "== building release binaries" >&2
cargo build --release --quiet --bin seatplan --example generate-tenant --example plan-phases

if [[ ! -f "$STATE" ]]; then
    echo "== generating $USERS users into $DIR" >&2
    target/release/examples/generate-tenant --users "$USERS" --groups 2000 --out "$DIR"
fi

# measure LABEL COMMAND: runs COMMAND (stdout discarded, stderr kept in $DIR/LABEL.log) and sets
# SECONDS_TAKEN (wall), CPU_TAKEN (user + system) and PEAK_KB.
measure() {
    local label="$1" command="$2" report
    report="$(mktemp)"
    if [[ -x /usr/bin/time ]]; then
        /usr/bin/time -f "%e %M %U %S" -o "$report" bash -c "exec $command" >/dev/null 2>"$DIR/$label.log"
        read -r SECONDS_TAKEN PEAK_KB user system <"$report"
        CPU_TAKEN=$(awk -v u="$user" -v s="$system" 'BEGIN { print u + s }')
    else
        python3 - "$command" "$DIR/$label.log" >"$report" <<'PY'
import resource, subprocess, sys, time
start = time.monotonic()
with open(sys.argv[2], "w") as log:
    subprocess.run(["bash", "-c", "exec " + sys.argv[1]], stdout=subprocess.DEVNULL, stderr=log, check=True)
elapsed = time.monotonic() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{elapsed:.2f} {usage.ru_maxrss} {usage.ru_utime + usage.ru_stime:.2f}")
PY
        read -r SECONDS_TAKEN PEAK_KB CPU_TAKEN <"$report"
    fi
    rm -f "$report"
}

size_mb=$(( $(stat -c %s "$STATE") / 1000000 ))
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "state:   $STATE ($size_mb MB, $USERS users)"
echo

# median LABEL COMMAND: runs COMMAND $RUNS times and keeps the run with the median wall time
# (a shared machine's noise is one-sided: a busy neighbour only ever adds time).
median() {
    local label="$1" command="$2" runs=() run
    for ((run = 0; run < RUNS; run++)); do
        measure "$label" "$command"
        runs+=("$SECONDS_TAKEN $CPU_TAKEN $PEAK_KB")
    done
    read -r SECONDS_TAKEN CPU_TAKEN PEAK_KB <<<"$(printf '%s\n' "${runs[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")"
    echo "$label: $(printf '%s s, ' "${runs[@]%% *}")median $SECONDS_TAKEN s" >&2
}

median python "$PYTHON_CMD"
py_s=$SECONDS_TAKEN py_cpu=$CPU_TAKEN py_kb=$PEAK_KB
median plan "$PLAN_CMD"
plan_s=$SECONDS_TAKEN plan_cpu=$CPU_TAKEN plan_kb=$PEAK_KB
median edit "$EDIT_CMD"
edit_s=$SECONDS_TAKEN edit_cpu=$CPU_TAKEN edit_kb=$PEAK_KB

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf '%-28s %9s %7s %9s %7s %9s\n' "" "wall" "ratio" "cpu" "ratio" "peak RSS"
row() {
    printf '%-28s %7.2f s %6s x %7.2f s %6s x %6d MB\n' "$1" "$2" "$(ratio "$2" "$py_s")" \
        "$3" "$(ratio "$3" "$py_cpu")" "$(($4 / 1024))"
}
row "python3 json.load" "$py_s" "$py_cpu" "$py_kb"
row "seatplan (matching config)" "$plan_s" "$plan_cpu" "$plan_kb"
row "seatplan (one rule edited)" "$edit_s" "$edit_cpu" "$edit_kb"
echo
echo "commands:"
echo "  python:   $PYTHON_CMD"
echo "  matching: $PLAN_CMD"
echo "  edited:   $EDIT_CMD"
echo "phase times (stderr of seatplan's runs) are in $DIR/plan.log and $DIR/edit.log"
