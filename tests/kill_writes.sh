#!/usr/bin/env bash
# Writes that cannot lose data, end to end.
# Usage: kill_writes.sh MEGASIM ROOT [KILLS]
#
# (a) Ten `megasim derive` runs at once into one --out file: every run
#     exits 0 and the file holds all ten chips.
# (b) KILLS (default 200) runs of `derive` (into a new file and into one
#     that exists), `calibrate` (efficiency), `serve --csv` and
#     `calibrate --network`, each killed with SIGKILL at a random moment of
#     its run: every output is then absent or as it was before the run, or
#     whole and byte-identical to an unkilled run's, and nothing else is
#     in its directory.
#
# Replacing a file that exists takes two calls (link the finished file
# under a temporary name, rename it over the target; src/io/afile.h). A
# kill between them leaves a whole file under the temporary name; the
# test accepts that only if it is whole and the next write of the file
# removes it, and counts such kills ("between link and rename").
#
# Everything runs on copies of hwdb/ and validation/ in a scratch
# directory ($MEGASIM_HOME points there): the repository's files are
# never written, and the test checks that they did not change.
set -uo pipefail
megasim=$(realpath "$1")
root=$(realpath "$2")
kills=${3:-200}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export MEGASIM_HOME=$work/home MEGASIM_USER_DIR=$work/user
mkdir -p "$work/home/validation"
cp -r "$root/hwdb" "$work/home/"
cp "$root/validation/published.csv" "$root/validation/published_net.csv" "$work/home/validation/"
repo_sum=$(cat "$root"/hwdb/*.csv | md5sum)
fail=0
window=0
bad() {
  echo "FAIL: $*"
  fail=$((fail + 1))
}

# ---- (a) ten concurrent derives ----
par=$work/par
mkdir -p "$par"
pids=()
for i in $(seq 1 10); do
  "$megasim" derive --from H100 --name C$i --scale flops=0.$i --out "$par/d.csv" \
    >/dev/null 2>"$par/err$i" &
  pids+=($!)
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || bad "concurrent derive $((i + 1)) exited $?: $(cat "$par/err$((i + 1))")"
done
rm -f "$par"/err*
kept=$(grep -c '^C[0-9]*,' "$par/d.csv")
[ "$kept" -eq 10 ] || bad "ten concurrent derives kept $kept of the ten chips"
[ "$(ls -A "$par")" = d.csv ] || bad "concurrent derives left: $(ls -A "$par" | tr '\n' ' ')"

# ---- (b) kills ----

# Milliseconds since the epoch.
now_ms() { date +%s%3N; }

# sleep for $1 ms.
sleep_ms() { sleep "$(($1 / 1000)).$(printf %03d $(($1 % 1000)))"; }

# check DIR NAME SEED REF PID WHAT [OTHERS]: DIR holds NAME as SEED (""
# when it did not exist) or as REF, the files named in OTHERS, and
# nothing else but a whole temporary of the killed PID (then counted:
# returns 2).
check() {
  local dir=$1 name=$2 seed=$3 ref=$4 pid=$5 what=$6 others=" ${7:-} " f
  if [ -e "$dir/$name" ]; then
    if ! cmp -s "$dir/$name" "$ref" && { [ -z "$seed" ] || ! cmp -s "$dir/$name" "$seed"; }; then
      bad "$what: $name is neither as before nor whole ($(wc -c <"$dir/$name") bytes)"
      return 1
    fi
  elif [ -n "$seed" ]; then
    bad "$what: $name is gone"
    return 1
  fi
  for f in $(ls -A "$dir"); do
    [ "$f" = "$name" ] || [[ $others == *" $f "* ]] && continue
    if [[ $f == ".$name.megasim-tmp.$pid."* ]] && cmp -s "$dir/$f" "$ref"; then
      window=$((window + 1))
      echo "note: $what: killed between link and rename: $f (whole)"
      return 2
    fi
    bad "$what: stray file $f ($(wc -c <"$dir/$f") bytes)"
    return 1
  done
  return 0
}

# kill_runs WHAT N NAME SEED REF MAX_MS -- COMMAND...: runs COMMAND (in a
# fresh directory $dir, with $dir/NAME copied from SEED when SEED is not
# "") N times, each killed after a random 0..MAX_MS ms, and checks each.
kill_runs() {
  local what=$1 n=$2 name=$3 seed=$4 ref=$5 max=$6 k dir pid rc
  shift 7
  for k in $(seq 1 "$n"); do
    dir=$work/k/$what.$k
    mkdir -p "$dir"
    [ -z "$seed" ] || cp "$seed" "$dir/$name"
    (cd "$dir" && exec "$@" >/dev/null 2>&1) &
    pid=$!
    sleep_ms $((RANDOM % max))
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    check "$dir" "$name" "$seed" "$ref" "$pid" "$what #$k"
    rc=$?
    if [ $rc -eq 2 ]; then
      # The next write of the file removes what the killed one left.
      (cd "$dir" && "$@" >/dev/null 2>&1) || bad "$what #$k: the run after the kill failed"
      check "$dir" "$name" "" "$ref" 0 "$what #$k, run again"
    fi
    rm -rf "$dir"
  done
}

# The number of kills of each kind: a network fit takes seconds of CPU
# (3.5 s on a 2-core machine), so one, killed as an unkilled run beside it
# finishes; the rest shared.
n_net=1
n_rest=$((kills - n_net))
n_new=$((n_rest / 4))
n_old=$((n_rest / 4))
n_cal=$((n_rest / 4))
n_srv=$((n_rest - n_new - n_old - n_cal))

# calibrate --network writes $MEGASIM_HOME/hwdb/network.csv: each run has
# a home of its own. The seed differs from a fit's output in its last
# source, so "as before" and "whole" can be told apart.
net_home() {
  mkdir -p "$1/validation"
  cp -r "$work/home/hwdb" "$1/"
  cp "$work/home/validation/"*.csv "$1/validation/"
  sed -i '$ s/"$/ (seed)"/' "$1/hwdb/network.csv"
}
net_seed=$work/net_seed.csv
net_home "$work/net/ref"
cp "$work/net/ref/hwdb/network.csv" "$net_seed"
net_pids=()
for k in $(seq 1 $n_net); do
  net_home "$work/net/$k"
  MEGASIM_HOME=$work/net/$k "$megasim" calibrate --network >/dev/null 2>&1 &
  net_pids+=($!)
done
MEGASIM_HOME=$work/net/ref "$megasim" calibrate --network >/dev/null 2>&1 &
net_ref=$!

# References: unkilled runs of each command.
ref=$work/ref
mkdir -p "$ref"
cmd_derive=("$megasim" derive --from H100 --name K --scale flops=0.5 --out d.csv)
seed_d=$ref/seed_d.csv
(cd "$ref" && "$megasim" derive --from H800 --name S --scale flops=0.5 --out seed_d.csv >/dev/null) ||
  bad "derive of the seed failed"
mkdir -p "$ref/new" "$ref/old"
cp "$seed_d" "$ref/old/d.csv"
t0=$(now_ms)
(cd "$ref/new" && "${cmd_derive[@]}" >/dev/null) || bad "derive into a new file failed"
(cd "$ref/old" && "${cmd_derive[@]}" >/dev/null) || bad "derive into a file that exists failed"
t_derive=$((($(now_ms) - t0) / 2 + 5))

# The seed of calibrate: the shipped calibration with one more row of a
# family nothing fits, which a fit keeps but moves before the fitted rows.
seed_e=$ref/seed_e.csv
cp "$work/home/hwdb/efficiency.csv" "$seed_e"
echo 'zz-test,gemm,bf16,0.5000,0.5000,,,,test row' >>"$seed_e"
cmd_cal=("$megasim" calibrate --efficiency e.csv)
mkdir -p "$ref/cal"
cp "$seed_e" "$ref/cal/e.csv"
t0=$(now_ms)
(cd "$ref/cal" && "${cmd_cal[@]}" >/dev/null) || bad "calibrate failed"
t_cal=$(($(now_ms) - t0 + 5))
cmp -s "$seed_e" "$ref/cal/e.csv" && bad "calibrate's output is its seed: the check cannot tell them apart"

cmd_srv=("$megasim" serve --model "$root/tests/data/models/tiny_mla.json" --chip H100 --gpus 1
  --input-len fixed:20 --output-len fixed:50 --rate 1000 --requests 3000 --csv r.csv)
mkdir -p "$ref/srv"
t0=$(now_ms)
(cd "$ref/srv" && "${cmd_srv[@]}" >/dev/null) || bad "serve failed"
t_srv=$(($(now_ms) - t0 + 5))

# Kills from the start to a little past the run's own length.
kill_runs derive-new $n_new d.csv "" "$ref/new/d.csv" $((t_derive * 6 / 5)) -- "${cmd_derive[@]}"
kill_runs derive-old $n_old d.csv "$seed_d" "$ref/old/d.csv" $((t_derive * 6 / 5)) -- "${cmd_derive[@]}"
kill_runs calibrate $n_cal e.csv "$seed_e" "$ref/cal/e.csv" $((t_cal * 6 / 5)) -- "${cmd_cal[@]}"
kill_runs serve-csv $n_srv r.csv "" "$ref/srv/r.csv" $((t_srv * 6 / 5)) -- "${cmd_srv[@]}"

# The network fits: when the unkilled one ends, the others (started with
# it, doing the same work) are about to write or writing; each is killed
# 0-40 ms later.
wait $net_ref || bad "calibrate --network failed"
net_out=$work/net/ref/hwdb/network.csv
cmp -s "$net_out" "$net_seed" && bad "calibrate --network's output is its seed"
for k in $(seq 1 $n_net); do
  sleep_ms $((RANDOM % 40))
  kill -9 "${net_pids[$((k - 1))]}" 2>/dev/null
  wait "${net_pids[$((k - 1))]}" 2>/dev/null
  check "$work/net/$k/hwdb" network.csv "$net_seed" "$net_out" "${net_pids[$((k - 1))]}" \
    "calibrate --network #$k" "$(ls -A "$work/home/hwdb" | grep -vx network.csv | tr '\n' ' ')"
done

[ "$(cat "$root"/hwdb/*.csv | md5sum)" = "$repo_sum" ] || bad "the repository's hwdb/ changed"
echo "kill_writes: 10 concurrent derives kept $kept chips; $kills kills ($n_new derive into a new" \
  "file, $n_old into one that exists, $n_cal calibrate, $n_srv serve --csv, $n_net calibrate" \
  "--network); between link and rename: $window; failures: $fail"
[ $fail -eq 0 ]
