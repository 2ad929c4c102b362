#!/usr/bin/env bash
# megasim sweep end to end, on a 64-point grid of a small model:
# (a) --jobs 1 and --jobs 2 write the same CSV, byte for byte;
# (b) a sweep whose journal holds some rows (and a last row cut short, as
#     a kill leaves it) runs only the others and writes the same CSV;
# (c) a sweep killed at a random moment and run again writes the same CSV;
# (d) a Sobol design gives the same CSV twice;
# (e) given MPIEXEC (megasim built with MPI), mpirun -n 2 writes it too.
# Usage: sweep.sh MEGASIM ROOT [MPIEXEC]
set -uo pipefail
megasim=$(realpath "$1")
root=$(realpath "$2")
mpiexec=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
export MEGASIM_HOME=$root
fail=0
bad() {
  echo "FAIL: $*"
  fail=1
}
spec=$root/tests/data/sweep/grid64.json

"$megasim" sweep "$spec" --jobs 1 --out one.csv >/dev/null 2>err || bad "--jobs 1: $(cat err)"
"$megasim" sweep "$spec" --jobs 2 --out two.csv --json >two.json 2>err || bad "--jobs 2: $(cat err)"
[ "$(wc -l <one.csv)" -eq 65 ] || bad "the grid's CSV has $(wc -l <one.csv) lines, not 65"
cmp -s one.csv two.csv || bad "--jobs 1 and --jobs 2 differ"
jq -e '.sweep.points == 64 and .sweep.ran == 64 and .sweep.resumed == 0' two.json >/dev/null ||
  bad "counts of a fresh sweep: $(jq -c .sweep two.json)"
[ ! -e one.csv.partial ] && [ ! -e two.csv.partial ] || bad "a finished sweep left its journal"

# (b) a journal of the header and 20 rows, then half a row.
head -n 21 one.csv >res.csv.partial
sed -n 22p one.csv | cut -c1-20 | tr -d '\n' >>res.csv.partial
"$megasim" sweep "$spec" --jobs 2 --out res.csv --json >res.json 2>err || bad "resume: $(cat err)"
cmp -s one.csv res.csv || bad "the resumed sweep's CSV differs"
jq -e '.sweep.resumed == 20 and .sweep.ran == 44' res.json >/dev/null ||
  bad "a resumed sweep ran again what was done: $(jq -c .sweep res.json)"

# (c) killed, then run again: the rows it finished are kept.
for k in 1 2 3; do
  rm -f kill.csv kill.csv.partial
  "$megasim" sweep "$spec" --jobs 2 --out kill.csv >/dev/null 2>&1 &
  pid=$!
  sleep "0.0$((RANDOM % 9 + 1))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pkill -9 -P "$pid" 2>/dev/null
  "$megasim" sweep "$spec" --jobs 2 --out kill.csv >/dev/null 2>err || bad "after a kill: $(cat err)"
  cmp -s one.csv kill.csv || bad "kill $k: the CSV differs after a kill and a rerun"
done

# (d) a quasi-random design is the same twice.
"$megasim" sweep "$root/tests/data/sweep/sobol.json" --out s1.csv >/dev/null 2>&1 || bad "sobol"
"$megasim" sweep "$root/tests/data/sweep/sobol.json" --out s2.csv --jobs 1 >/dev/null 2>&1 || bad "sobol again"
cmp -s s1.csv s2.csv || bad "two runs of one Sobol design differ"
[ "$(wc -l <s1.csv)" -eq 17 ] || bad "the Sobol design's CSV has $(wc -l <s1.csv) lines, not 17"

# (e) two MPI ranks (as root too, and on a machine of fewer cores).
if [ -n "$mpiexec" ]; then
  "$mpiexec" --allow-run-as-root --oversubscribe -n 2 "$megasim" sweep "$spec" --out mpi.csv \
    --json >mpi.json 2>err || bad "mpirun -n 2: $(cat err)"
  cmp -s one.csv mpi.csv || bad "mpirun -n 2 wrote another CSV"
  jq -e '.sweep.ranks == 2 and .sweep.ran == 64' mpi.json >/dev/null ||
    bad "mpirun -n 2 printed: $(head -c 300 mpi.json)"
  mpi_note=", and over 2 MPI ranks"
fi

[ $fail -eq 0 ] && echo "sweep: same CSV with 1 and 2 workers, resumed, after kills${mpi_note:-}"
exit $fail
