#!/usr/bin/env bash
# The bot's figures before and after a change, in one run on this machine: CPU per update,
# p99 reply latency, peak RSS and context switches per update.
#
#   benches/bot-figures.sh [BEFORE]        BEFORE: a commit, default 97a5946
#
# Builds the release binary of BEFORE (in a throwaway git worktree under /tmp, with its own
# target dir) and of this checkout (its usual target dir), then measures everything with
# THIS checkout's `repair-bot sandbox --load`; the BEFORE build only runs as the bot
# (--bot-exe), so all figures come from the same harness:
#
#   floor   W1 /start, W1_USERS users, W1_CONCURRENCY at a time (a bare teloxide bot, --floor)
#   before  W1, and W2 order intake: W2_ORDERS orders by W2_DISPATCHERS dispatchers at once
#   after   the same
#   peak RSS of the bot starting on a database of RSS_ORDERS orders, before and after: its
#           first start (every open order overdue: the first round of reminders and SLA
#           alerts has them all to do) and a restart on the same file (nothing due)
#
# Prints each run's report, then one table. Environment (defaults):
#   W1_USERS (10000) W1_CONCURRENCY (50) W2_DISPATCHERS (10) W2_ORDERS (200, in all)
#   RSS_ORDERS (1000000)  RSS_DATABASE: a database built by `BENCH_DATABASE_ONLY=FILE cargo
#     bench --bench database` to use instead of building one (it is copied, never changed)
#   BEFORE_TARGET: the BEFORE build's target dir (default: in the scratch folder, so built anew)
#   KEEP=1: keep the scratch folder (reports, logs, databases)
# Everything generated goes to a scratch folder under /tmp, removed at the end unless KEEP=1.

set -euo pipefail

before_commit=${1:-97a5946}
W1_USERS=${W1_USERS:-10000}
W1_CONCURRENCY=${W1_CONCURRENCY:-50}
W2_DISPATCHERS=${W2_DISPATCHERS:-10}
W2_ORDERS=${W2_ORDERS:-200}
RSS_ORDERS=${RSS_ORDERS:-1000000}

if (( W2_ORDERS % W2_DISPATCHERS != 0 )); then
    echo "W2_ORDERS ($W2_ORDERS) must be a multiple of W2_DISPATCHERS ($W2_DISPATCHERS)" >&2
    exit 2
fi
w2_per_dispatcher=$(( W2_ORDERS / W2_DISPATCHERS ))

repo=$(cd "$(dirname "$0")/.." && pwd)
before_rev=$(git -C "$repo" rev-parse --verify "$before_commit^{commit}")
after_rev=$(git -C "$repo" rev-parse HEAD)
after_label=$(git -C "$repo" rev-parse --short HEAD)
if [[ -n $(git -C "$repo" status --porcelain --untracked-files=no) ]]; then
    after_label="$after_label + uncommitted changes"
fi

scratch=$(mktemp -d /tmp/bot-figures.XXXXXX)
before_src="$scratch/before-src"
before_target=${BEFORE_TARGET:-$scratch/before-target}
cleanup() {
    if [[ -d $before_src ]]; then
        git -C "$repo" worktree remove --force "$before_src" || true
    fi
    if [[ ${KEEP:-} == 1 ]]; then
        echo "kept $scratch"
    else
        rm -rf "$scratch"
    fi
}
trap cleanup EXIT

echo "== bot figures, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -sr)"
echo "   before: $before_rev ($before_commit)"
echo "   after:  $after_rev ($after_label)"
echo "   scratch: $scratch"

echo "== building after (this checkout)"
(cd "$repo" && cargo build --release --quiet)
after_bin="${CARGO_TARGET_DIR:-$repo/target}/release/repair-bot"

echo "== building before in a throwaway worktree"
git -C "$repo" worktree add --quiet --detach "$before_src" "$before_rev"
(cd "$before_src" && CARGO_TARGET_DIR="$before_target" cargo build --release --locked --quiet)
before_bin="$scratch/repair-bot-before"
cp "$before_target/release/repair-bot" "$before_bin"
git -C "$repo" worktree remove --force "$before_src"

if [[ -n ${RSS_DATABASE:-} ]]; then
    database=$RSS_DATABASE
else
    echo "== building a database of $RSS_ORDERS orders (benches/database.rs)"
    database="$scratch/orders.db"
    (cd "$repo" && BENCH_DATABASE_ONLY="$database" BENCH_ORDERS="$RSS_ORDERS" \
        cargo bench --quiet --bench database)
fi

figures="$scratch/figures.txt"
: > "$figures"
failed_runs=()

# load NAME ARGS...: one harness run in a folder of its own; its report is printed and its
# `figures` lines kept under NAME.
load() {
    local name=$1
    shift
    local dir="$scratch/$name"
    mkdir -p "$dir"
    echo
    echo "== $name: repair-bot sandbox --load $*"
    local status=0
    (cd "$dir" && env -u DATABASE_URL -u DATABASE_PATH "$after_bin" sandbox --load "$@") \
        > "$dir/report.txt" 2>&1 || status=$?
    cat "$dir/report.txt"
    if (( status != 0 )); then
        failed_runs+=("$name")
    fi
    sed -n "s/^figures /$name /p" "$dir/report.txt" >> "$figures"
}

w1=(--workload start --users "$W1_USERS" --concurrency "$W1_CONCURRENCY")
w2=(--workload intake --users "$W2_DISPATCHERS" --concurrency "$W2_DISPATCHERS"
    --orders "$w2_per_dispatcher")
load before-w1 "${w1[@]}" --bot-exe "$before_bin"
load after-w1 "${w1[@]}" --floor --bot-exe "$after_bin"
load before-w2 "${w2[@]}" --bot-exe "$before_bin"
load after-w2 "${w2[@]}" --bot-exe "$after_bin"

# The bot on a copy of the large database: its first start, then a restart on the same copy.
for side in before after; do
    bin_var="${side}_bin"
    mkdir -p "$scratch/rss-$side"
    cp "$database" "$scratch/rss-$side/bot_database.db"
    for start in first restart; do
        load "rss-$side-$start" --database "$scratch/rss-$side/bot_database.db" \
            --workload start --users 1 --concurrency 1 --wait-idle --bot-exe "${!bin_var}"
    done
    rm -f "$scratch/rss-$side"/bot_database.db*
done

# field NAME KIND KEY: one figure of a run ("-" if missing).
field() {
    awk -v name="$1" -v kind="$2" -v key="$3" '
        $1 == name && $2 == kind {
            for (i = 3; i <= NF; i++) {
                split($i, kv, "=")
                if (kv[1] == key) { print kv[2]; found = 1 }
            }
        }
        END { if (!found) print "-" }' "$figures"
}

floor_cpu=$(field after-w1 floor-start cpu_ms_per_update)
ratio() {
    awk -v cpu="$1" -v floor="$floor_cpu" 'BEGIN {
        if (cpu == "-" || floor == "-" || floor + 0 == 0) print "-"
        else printf "%.2fx", cpu / floor }'
}

echo
echo "== figures (same harness, same run, this machine; CPU from /proc in 10 ms ticks)"
printf '%-22s %8s %6s %12s %9s %9s %9s %13s\n' \
    "" updates failed "CPU/update" "x floor" "p99" "peak RSS" "ctx sw/upd"
row() {
    local label=$1 name=$2 kind=$3
    local cpu
    cpu=$(field "$name" "$kind" cpu_ms_per_update)
    printf '%-22s %8s %6s %9s ms %9s %6s ms %6s MB %13s\n' "$label" \
        "$(field "$name" "$kind" updates)" "$(field "$name" "$kind" failed)" "$cpu" \
        "$(if [[ $kind == floor-* ]]; then echo 1x; else ratio "$cpu"; fi)" \
        "$(field "$name" "$kind" p99_ms)" "$(field "$name" "$kind" peak_rss_mb)" \
        "$(field "$name" "$kind" csw_per_update)"
}
row "floor  W1 /start" after-w1 floor-start
row "before W1 /start" before-w1 bot-start
row "after  W1 /start" after-w1 bot-start
row "before W2 intake" before-w2 bot-intake
row "after  W2 intake" after-w2 bot-intake
echo "W1: $W1_USERS users, $W1_CONCURRENCY at a time; W2: $W2_ORDERS orders by" \
    "$W2_DISPATCHERS dispatchers at once; x floor: CPU per update / the floor's in W1"
rss() { field "rss-$1-$2" bot-process peak_rss_idle_mb; }
echo "peak RSS starting on $RSS_ORDERS orders (VmHWM once idle after startup), first start" \
    "(every open order overdue) / restart (nothing due): before $(rss before first) /" \
    "$(rss before restart) MB, after $(rss after first) / $(rss after restart) MB"
if (( ${#failed_runs[@]} > 0 )); then
    echo "CHECKS FAILED in: ${failed_runs[*]} (see their reports above)"
    exit 1
fi
echo "every run's checks held"
