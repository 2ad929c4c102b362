#!/usr/bin/env bash
# Draws every kind of plot megasim makes, keeping each plot's .dat and .gp
# (--keep-plot-data), then draws each script again with gnuplot: every
# image must be a PNG and gnuplot must print nothing (no warning, no
# error) for any of them.
# Usage: plots.sh MEGASIM ROOT
set -uo pipefail
megasim=$(realpath "$1")
root=$(realpath "$2")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
export MEGASIM_HOME=$root MEGASIM_USER_DIR=$tmp/user
command -v gnuplot >/dev/null || { echo "plots: gnuplot is not installed"; exit 1; }
fail=0
draw() { # draw NAME ARGS...: megasim must succeed and leave NAME.png, .dat, .gp
  local name=$1
  shift
  if ! "$megasim" "$@" --keep-plot-data >"$name.out" 2>"$name.err"; then
    echo "FAIL megasim $*"
    sed 's/^/  | /' "$name.err" | head -5
    fail=1
    return
  fi
  for f in "$name.png" "$name.gp"; do
    [ -s "$f" ] || { echo "FAIL $name: $f missing after megasim $*"; fail=1; return; }
  done
  rm -f "$name.png"
  if ! gnuplot "$name.gp" 2>"$name.gperr" || [ -s "$name.gperr" ]; then
    echo "FAIL $name: gnuplot printed:"
    sed 's/^/  | /' "$name.gperr" | head -5
    fail=1
  fi
  [ "$(head -c 8 "$name.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
    { echo "FAIL $name: no PNG drawn"; fail=1; }
}
draw roofline roofline --chip H100,H20 --gemm 8192,8192,8192,bf16 --op 0,1e9,bf16 --plot roofline.png
draw megasim-default default
draw busbw collective --chip H100,H800 --gpus 8 --op allreduce --sweep-bytes 1KiB..1GiB --plot busbw.png
draw kernels validate --plot kernels.png
# One case of each kind (every kind has its own points and key), not the
# whole suite: its Server searches take minutes under the sanitizers.
mkdir cases
for c in t1-deepseek-v3-h800-pretraining t5-megatron-a100-gpt-1.7b p2-h100-node-power-training \
  i1-deepseek-v3-h800-prefill-per-node i6-b200-llama2-70b-offline; do
  cp "$root/validation/system/$c.json" cases/ || fail=1
done
draw system validate --system --cases cases --plot system.png
draw curve serve --model workloads/llama-3-70b/config.json --chip H100 --gpus 64 --tp 8 \
  --input-len lognormal:1000:1 --output-len fixed:200 --sweep-rate 20,80 --requests 300 --plot curve.png
draw power run scenarios/gpt4-class-a100-20k-smoothed.json --power-plot power.png
draw spectrum run scenarios/gpt4-class-a100-20k.json --spectrum-plot spectrum.png
draw mitigation run scenarios/gpt4-class-a100-20k.json --ramp-limit 10 --mitigation-plot mitigation.png
draw goodput_scale run scenarios/llama3-405b-goodput-16k-h100.json --runs 5 \
  --goodput-scale-plot goodput_scale.png
# Nine designs of 200 requests, not the scenario's 48 of 1,000: the same
# plot, in seconds rather than a minute under the sanitizers.
draw frontier run scenarios/frontier-oct2023-reasoning.json --workload-arg "--requests 200" \
  --vary flops=0.05:1:3,scale_up_bw=0.25:1:3,hbm_bw=0.6:1.2:3 --plot frontier.png
# The R1-Zero loop's first 120 steps: three length stretches.
draw rl run scenarios/r1-zero-rl-h800.json --steps 120 --plot rl.png
# Without --keep-plot-data, nothing but the image is left behind.
"$megasim" validate --plot alone.png >/dev/null 2>&1
[ -s alone.png ] && [ ! -e alone.dat ] && [ ! -e alone.gp ] ||
  { echo "FAIL a plot's .dat or .gp was left beside it without --keep-plot-data"; fail=1; }
[ $fail -eq 0 ] && echo "plots: every kind drawn, gnuplot silent"
exit $fail
