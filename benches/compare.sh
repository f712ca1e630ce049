#!/usr/bin/env bash
# Compares seatplan with Python on generated tenants of both shapes (tools/tenantgen.rs) and two
# sizes: the wall time and peak memory of `python3 -c 'import json; json.load(open(F))'` beside
# `seatplan plan` of the matching config (no changes) and of the config with one rule edited, on
# the same file, and every ratio the scale targets name, side by side, each against its target:
#
#   full plan   <= 0.2 x json.load at 1,000,000 users, <= 0.25 x at 100,000
#   rule edited <= 0.1 x json.load at 1,000,000 users
#   peak RSS    <= 1.5 GB at 1,000,000 users
#   linear      10 x the users <= 11 x the time (plan and rule edit, both shapes)
#
#   benches/compare.sh                                   # both shapes at 100,000 and 1,000,000
#   SIZES=100000 SHAPES=unrecorded benches/compare.sh    # a subset
#   DATA=/work/scale-data RUNS=1 benches/compare.sh      # where tenants go, runs per command
#
# Builds the release binaries, generates each tenant into $DATA/<shape>-<users>/ if it is missing
# (about 2 minutes and 450-770 MB per million users), then runs each command RUNS times (3 by
# default) and reports the run with the median wall time, with the load average before it. Run it
# on a quiet machine: it measures wall time. The CPU ratio (user + system time) is printed too.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES="${SIZES:-100000 1000000}"
SHAPES="${SHAPES:-recorded unrecorded}"
RUNS="${RUNS:-3}"
DATA="${DATA:-target/scale}"

echo "== building release binaries" >&2
cargo build --release --quiet --bin seatplan --example generate-tenant --example plan-phases

# measure LABEL COMMAND DIR: runs COMMAND (stdout discarded, stderr kept in DIR/LABEL.log) and sets
# SECONDS_TAKEN (wall), CPU_TAKEN (user + system) and PEAK_KB.
measure() {
    local label="$1" command="$2" dir="$3" report
    report="$(mktemp)"
    if [[ -x /usr/bin/time ]]; then
        /usr/bin/time -f "%e %M %U %S" -o "$report" bash -c "exec $command" >/dev/null 2>"$dir/$label.log"
        read -r SECONDS_TAKEN PEAK_KB user system <"$report"
        CPU_TAKEN=$(awk -v u="$user" -v s="$system" 'BEGIN { print u + s }')
    else
        python3 - "$command" "$dir/$label.log" >"$report" <<'PY'
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

# median LABEL COMMAND DIR: runs COMMAND $RUNS times and keeps the run with the median wall time
# (a shared machine's noise is one-sided: a busy neighbour only ever adds time); LOAD is the
# one-minute load average before the first run.
median() {
    local label="$1" command="$2" dir="$3" runs=() run
    LOAD=$(cut -d' ' -f1 /proc/loadavg)
    for ((run = 0; run < RUNS; run++)); do
        measure "$label" "$command" "$dir"
        runs+=("$SECONDS_TAKEN $CPU_TAKEN $PEAK_KB")
    done
    read -r SECONDS_TAKEN CPU_TAKEN PEAK_KB <<<"$(printf '%s\n' "${runs[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")"
    echo "$label ($dir, load $LOAD): $(printf '%s s, ' "${runs[@]%% *}")median $SECONDS_TAKEN s" >&2
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# verdict VALUE LIMIT: "met" when VALUE <= LIMIT.
verdict() { awk -v a="$1" -v b="$2" 'BEGIN { print (a <= b ? "met" : "NOT met") }'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo); load average $(cut -d' ' -f1-3 /proc/loadavg)"

declare -A py plan edit plan_cpu edit_cpu py_cpu plan_kb edit_kb py_kb mb load
for shape in $SHAPES; do
    for users in $SIZES; do
        dir="$DATA/$shape-$users"
        state="$dir/tenant.json"
        if [[ ! -f "$state" ]]; then
            echo "== generating $users users ($shape) into $dir" >&2
            target/release/examples/generate-tenant --shape "$shape" --users "$users" --groups 2000 --out "$dir"
        fi
        key="$shape-$users"
        mb[$key]=$(($(stat -c %s "$state") / 1000000))
        median python "python3 -c 'import json; json.load(open(\"$state\"))'" "$dir"
        py[$key]=$SECONDS_TAKEN py_cpu[$key]=$CPU_TAKEN py_kb[$key]=$PEAK_KB load[$key]=$LOAD
        median plan "target/release/seatplan plan -c $dir/config --state $state --format json" "$dir"
        plan[$key]=$SECONDS_TAKEN plan_cpu[$key]=$CPU_TAKEN plan_kb[$key]=$PEAK_KB
        median edit "target/release/seatplan plan -c $dir/config-rule-edited --state $state --format json --allow-license-loss" "$dir"
        edit[$key]=$SECONDS_TAKEN edit_cpu[$key]=$CPU_TAKEN edit_kb[$key]=$PEAK_KB
    done
done

echo
printf '%-11s %9s %6s %5s | %8s %5s | %8s %6s %6s %7s | %8s %6s %6s %7s\n' \
    shape users MB load json.load RSS plan "x" "cpu x" RSS edit "x" "cpu x" RSS
for shape in $SHAPES; do
    for users in $SIZES; do
        key="$shape-$users"
        printf '%-11s %9d %6d %5s | %6.2f s %5d | %6.2f s %6s %6s %7d | %6.2f s %6s %6s %7d\n' \
            "$shape" "$users" "${mb[$key]}" "${load[$key]}" "${py[$key]}" $((py_kb[$key] / 1024)) \
            "${plan[$key]}" "$(ratio "${plan[$key]}" "${py[$key]}")" "$(ratio "${plan_cpu[$key]}" "${py_cpu[$key]}")" $((plan_kb[$key] / 1024)) \
            "${edit[$key]}" "$(ratio "${edit[$key]}" "${py[$key]}")" "$(ratio "${edit_cpu[$key]}" "${py_cpu[$key]}")" $((edit_kb[$key] / 1024))
    done
done
echo "(x: wall time / json.load's; cpu x: user + system time / json.load's; RSS: peak, MB)"

echo
echo "targets:"
for shape in $SHAPES; do
    for users in $SIZES; do
        key="$shape-$users"
        r=$(ratio "${plan[$key]}" "${py[$key]}")
        case $users in
            1000000)
                echo "  $shape 1M: full plan ${r}x json.load (target <= 0.2): $(verdict "$r" 0.2)"
                e=$(ratio "${edit[$key]}" "${py[$key]}")
                echo "  $shape 1M: rule edited ${e}x json.load (target <= 0.1): $(verdict "$e" 0.1)"
                gb=$(awk -v k="$(( plan_kb[$key] > edit_kb[$key] ? plan_kb[$key] : edit_kb[$key] ))" 'BEGIN { printf "%.2f", k / 1048576 }')
                echo "  $shape 1M: peak RSS $gb GB (target <= 1.5): $(verdict "$gb" 1.5)"
                ;;
            100000)
                echo "  $shape 100k: full plan ${r}x json.load (target <= 0.25): $(verdict "$r" 0.25)"
                ;;
        esac
    done
    if [[ -n "${plan[$shape-100000]:-}" && -n "${plan[$shape-1000000]:-}" ]]; then
        for label in plan edit; do
            declare -n times=$label
            g=$(ratio "${times[$shape-1000000]}" "${times[$shape-100000]}")
            echo "  $shape 100k -> 1M: $label time grows ${g}x for 10x the users (target <= 11): $(verdict "$g" 11)"
            unset -n times
        done
    fi
done
echo
echo "phase times: target/release/examples/plan-phases DIR/tenant.json --config DIR/config"
