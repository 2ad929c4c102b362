#!/usr/bin/env bash
# Runs the end-to-end cases in DIR/*.case against the megasim binary.
# Usage: run_cases.sh MEGASIM DIR
#
# A case file holds one directive per line ('#' starts a comment):
#   args: ARGS            the command line (shell words; $ROOT is the repo root)
#   exit: N               expected exit status (default 0)
#   stdout-has: TEXT      stdout contains TEXT (fixed string)
#   stdout-lacks: TEXT    stdout does not contain TEXT
#   stderr-has: TEXT      stderr contains TEXT
#   stderr-lines: N       stderr has exactly N lines
#   jq: EXPR              `jq -e EXPR` is true on stdout (which must be JSON)
#   png: FILE             FILE (in the case's scratch directory) is a PNG image
#   file-has: FILE: TEXT  FILE (in the scratch directory) contains TEXT
# Each case runs in its own scratch directory, so files it writes vanish.
set -uo pipefail
megasim=$(realpath "$1")
dir=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ROOT
export MEGASIM_HOME=$ROOT
pass=0
fail=0

run_case() {
  local file=$1 name args="" want_exit=0 out err got scratch ok=1
  name=$(basename "$file" .case)
  scratch=$(mktemp -d)
  out=$scratch/.stdout
  err=$scratch/.stderr
  args=$(sed -n 's/^args: //p' "$file")
  eval "local -a argv=($args)"
  (cd "$scratch" && MEGASIM_USER_DIR="$scratch/user" "$megasim" "${argv[@]}" >"$out" 2>"$err")
  got=$?
  while IFS= read -r line; do
    local key=${line%%: *} val=${line#*: }
    case "$key" in
      exit) want_exit=$val ;;
      stdout-has) grep -qF -- "$val" "$out" || { echo "  stdout lacks: $val"; ok=0; } ;;
      stdout-lacks) grep -qF -- "$val" "$out" && { echo "  stdout has: $val"; ok=0; } ;;
      stderr-has) grep -qF -- "$val" "$err" || { echo "  stderr lacks: $val"; ok=0; } ;;
      stderr-lines)
        local n
        n=$(wc -l <"$err")
        [ "$n" -eq "$val" ] || { echo "  stderr has $n lines, expected $val"; ok=0; } ;;
      jq) jq -e "$val" "$out" >/dev/null 2>&1 || { echo "  jq false: $val"; ok=0; } ;;
      file-has)
        local fname=${val%%: *} ftext=${val#*: }
        grep -qF -- "$ftext" "$scratch/$fname" 2>/dev/null || { echo "  $fname lacks: $ftext"; ok=0; } ;;
      png)
        [ "$(head -c 8 "$scratch/$val" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
          { echo "  not a PNG: $val"; ok=0; } ;;
      args|args:|\#*|"") ;;
      *) echo "  unknown directive: $key"; ok=0 ;;
    esac
  done <"$file"
  [ "$got" -eq "$want_exit" ] || { echo "  exit $got, expected $want_exit"; ok=0; }
  if [ $ok -eq 1 ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $name: megasim $args"
    sed 's/^/  stdout| /' "$out" | head -20
    sed 's/^/  stderr| /' "$err" | head -20
  fi
  rm -rf "$scratch"
}

for f in "$dir"/*.case; do
  run_case "$f"
done
echo "cases: $pass passed, $fail failed"
[ $fail -eq 0 ]
