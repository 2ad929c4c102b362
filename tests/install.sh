#!/usr/bin/env bash
# Installs megasim from build directory BUILD into an empty prefix, moves
# the prefix elsewhere, and runs the installed binary from a third
# directory with no MEGASIM_HOME: it must find its data beside itself, look
# up scenario and model paths in it, keep derived chips in the user
# directory (the same derivation twice is fine, a new one needs --force),
# and print no path of the source tree or build directory.
# Usage: install.sh BUILD SOURCE
set -uo pipefail
build=$(realpath "$1")
src=$(realpath "$2")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # check NAME COMMAND...: the command must succeed
  local name=$1
  shift
  if ! "$@" >"$tmp/out" 2>"$tmp/err"; then
    echo "FAIL $name: $*"
    sed 's/^/  | /' "$tmp/out" "$tmp/err" | head -20
    fail=1
  fi
  cat "$tmp/out" "$tmp/err" >>"$tmp/all"
}

cmake --install "$build" --prefix "$tmp/first" >/dev/null || { echo "FAIL cmake --install"; exit 1; }
mv "$tmp/first" "$tmp/moved"
mkdir "$tmp/work"
cd "$tmp/work" || exit 1
unset MEGASIM_HOME
export MEGASIM_USER_DIR="$tmp/user"
bin="$tmp/moved/bin/megasim"

check version "$bin" --version
grep -q '^megasim [0-9]' "$tmp/out" || { echo "FAIL --version printed: $(cat "$tmp/out")"; fail=1; }
check overview "$bin" --help
grep -qF "$tmp/moved/share/megasim" "$tmp/out" || { echo "FAIL overview does not name the installed data"; fail=1; }
# The default study, less its slow entries (tests/report.sh runs it whole).
check report "$bin" report --quick
[ -s megasim-report/index.html ] || { echo "FAIL megasim report wrote no megasim-report/index.html"; fail=1; }
grep -qF 'This entry failed' megasim-report/index.html && { echo "FAIL the installed report has a failed entry"; fail=1; }
check scenario "$bin" run scenarios/deepseek-v3-pretrain-h800.json --json
jq -e '.step_time_s > 0' "$tmp/out" >/dev/null || { echo "FAIL run printed no step time"; fail=1; }
check model "$bin" model workloads/deepseek-v3/config.json
check derive "$bin" derive --from H100 --name H800x --set scale_up_bw=400GB/s
check derive-again "$bin" derive --from H100 --name H800x --set scale_up_bw=400GB/s
if "$bin" derive --from H100 --name H800x --set scale_up_bw=300GB/s >/dev/null 2>&1; then
  echo "FAIL a new derivation under a taken name succeeded without --force"
  fail=1
fi
check derive-force "$bin" derive --from H100 --name H800x --set scale_up_bw=300GB/s --force
check derived-used "$bin" chip H800x
grep -qF 'scale_up_bw=300GB/s' "$tmp/out" || { echo "FAIL the forced derivation is not the one read back"; fail=1; }
[ "$(grep -c '^H800x,' "$tmp/user/derived.csv")" -eq 1 ] || { echo "FAIL derived.csv holds H800x more than once"; fail=1; }
# The installed cases of two kinds (the Server searches of the third take
# minutes under the sanitizers), then one serving case from the installed
# data, which reads its length table from there too.
check validate-system "$bin" validate --system --kind train,power --json
jq -e '.summary.cases > 20' "$tmp/out" >/dev/null || { echo "FAIL validate --system found no installed cases"; fail=1; }
mkdir "$tmp/cases"
cp "$tmp/moved/share/megasim/validation/system/i6-b200-llama2-70b-offline.json" "$tmp/cases/"
check validate-serve "$bin" validate --system --cases "$tmp/cases" --json
jq -e '.summary.cases == 1 and .summary.failed == 0' "$tmp/out" >/dev/null ||
  { echo "FAIL the installed serving case did not run"; fail=1; }

for dir in "$src" "$build"; do
  if grep -qF "$dir/" "$tmp/all"; then
    echo "FAIL output names $dir:"
    grep -F "$dir/" "$tmp/all" | head -3
    fail=1
  fi
done
[ $fail -eq 0 ] && echo "install: relocated binary passed"
exit $fail
