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
#   stderr-lines: N       stderr has exactly N lines besides progress reports (which
#                         appear after 2 s of wall time, so only on a slow or busy machine)
#   jq: EXPR              `jq -e EXPR` is true on stdout (which must be JSON)
#   png: FILE             FILE (in the case's scratch directory) is a PNG image
#   file-has: FILE: TEXT  FILE (in the scratch directory) contains TEXT
#   home: DIR             the data directory for this case ($MEGASIM_HOME; default $ROOT)
#   no-file: FILE         FILE (in the scratch directory) does not exist
# Each case runs in its own scratch directory, so files it writes vanish.
#
# Figures megasim computes that cases pin are written once, in
# DIR/golden.tsv: a jq: line reads one as $g.NAME, and args: and *-has:
# lines as {{NAME}}. A name that golden.tsv lacks fails the case; a
# figure no case uses fails the run, so none goes stale.
set -uo pipefail
megasim=$(realpath "$1")
dir=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ROOT
export MEGASIM_HOME=$ROOT
pass=0
fail=0

golden=$dir/golden.tsv
declare -A gold=() gold_used=()
while IFS=$'\t' read -r gname gvalue _; do
  case "$gname" in \#* | "") continue ;; esac
  [ -n "$gvalue" ] || { echo "golden.tsv: $gname has no value"; exit 1; }
  gold[$gname]=$gvalue
done <"$golden"
# The figures as one JSON object for jq: numbers where they read as numbers.
gold_json=$(grep -v '^#' "$golden" | grep . |
  jq -R -s 'split("\n") | map(select(length > 0) | split("\t") | {(.[0]): (.[1] | tonumber? // .)}) | add') ||
  { echo "golden.tsv: not name<TAB>value<TAB>what lines"; exit 1; }

# Sets $expanded to TEXT with every {{NAME}} replaced by its golden
# figure; fails (and says which) on a name golden.tsv lacks. Not run in
# a subshell, so the names it reads are remembered as used.
expand() {
  local text=$1 name
  expanded=""
  while [[ $text == *"{{"*"}}"* ]]; do
    expanded+=${text%%"{{"*}
    text=${text#*"{{"}
    name=${text%%"}}"*}
    text=${text#*"}}"}
    [ -n "${gold[$name]+x}" ] || { echo "  unknown golden figure {{$name}}"; return 1; }
    gold_used[$name]=1
    expanded+=${gold[$name]}
  done
  expanded+=$text
}

# Checks that every $g.NAME in a jq expression is a golden figure.
known_in_jq() {
  local name ok=0
  for name in $(grep -o '\$g\.[A-Za-z0-9_]*' <<<"$1" | cut -c4-); do
    if [ -n "${gold[$name]+x}" ]; then
      gold_used[$name]=1
    else
      echo "  unknown golden figure \$g.$name"
      ok=1
    fi
  done
  return $ok
}

run_case() {
  local file=$1 name args="" want_exit=0 out err got scratch ok=1 gname
  name=$(basename "$file" .case)
  scratch=$(mktemp -d)
  out=$scratch/.stdout
  err=$scratch/.stderr
  args=$(sed -n 's/^args: //p' "$file")
  expand "$args" || { echo "FAIL $name: args"; fail=$((fail + 1)); rm -rf "$scratch"; return; }
  args=$expanded
  eval "local -a argv=($args)"
  local home
  home=$(sed -n 's/^home: //p' "$file")
  eval "home=${home:-\$ROOT}"
  (cd "$scratch" && MEGASIM_HOME="$home" MEGASIM_USER_DIR="$scratch/user" "$megasim" "${argv[@]}" >"$out" 2>"$err")
  got=$?
  while IFS= read -r line; do
    local key=${line%%: *} val=${line#*: }
    case "$key" in
      stdout-has | stdout-lacks | stderr-has | file-has)
        expand "$val" || { ok=0; continue; }
        val=$expanded ;;
    esac
    case "$key" in
      exit) want_exit=$val ;;
      stdout-has) grep -qF -- "$val" "$out" || { echo "  stdout lacks: $val"; ok=0; } ;;
      stdout-lacks) grep -qF -- "$val" "$out" && { echo "  stdout has: $val"; ok=0; } ;;
      stderr-has) grep -qF -- "$val" "$err" || { echo "  stderr lacks: $val"; ok=0; } ;;
      stderr-lines)
        local n
        n=$(grep -cvE '^[a-z-]+: [0-9]+( of [0-9]+)? [a-z].*, [0-9]+ s$' "$err")
        [ "$n" -eq "$val" ] || { echo "  stderr has $n lines, expected $val"; ok=0; } ;;
      jq)
        known_in_jq "$val" || { ok=0; continue; }
        jq -e --argjson g "$gold_json" "$val" "$out" >/dev/null 2>&1 || {
          echo "  jq false: $val"
          for gname in $(grep -o '\$g\.[A-Za-z0-9_]*' <<<"$val" | cut -c4- | sort -u); do
            echo "    golden.tsv: $gname = ${gold[$gname]}"
          done
          ok=0
        } ;;
      file-has)
        local fname=${val%%: *} ftext=${val#*: }
        grep -qF -- "$ftext" "$scratch/$fname" 2>/dev/null || { echo "  $fname lacks: $ftext"; ok=0; } ;;
      no-file) [ ! -e "$scratch/$val" ] || { echo "  left behind: $val"; ok=0; } ;;
      png)
        [ "$(head -c 8 "$scratch/$val" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
          { echo "  not a PNG: $val"; ok=0; } ;;
      args|args:|home|\#*|"") ;;
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
unused=0
for name in "${!gold[@]}"; do
  [ -n "${gold_used[$name]+x}" ] || { echo "golden.tsv: $name is used by no case"; unused=$((unused + 1)); }
done
echo "cases: $pass passed, $fail failed; golden figures: ${#gold[@]}, $unused unused"
[ $fail -eq 0 ] && [ $unused -eq 0 ]
