#!/usr/bin/env bash
# The whole-story report (megasim with no arguments):
#  1. its headline figures are those of the commands the report names: two
#     of them are run on their own and compared;
#  2. an interrupted run leaves the previous report as it was;
#  3. in headless Chromium (Debian's chromium), the page loads with no
#     console error, every section is there with its headline numbers,
#     every figure has a size, and no link inside the report is broken; a
#     screenshot of its first screen is kept. Where no browser is
#     installed this part is skipped with a line saying so.
# Usage: report.sh MEGASIM ROOT [full|quick]
#   full (the default): megasim with no arguments, the whole study;
#   quick: megasim report --quick, for the sanitizer builds, where the
#   slow entries (each covered by its own tests) would take minutes.
set -uo pipefail
megasim=$(realpath "$1")
root=$(realpath "$2")
mode=${3:-full}
case $mode in
full) run=() ;;
quick) run=(report --quick) ;;
*) echo "report.sh: expected full or quick, got '$mode'"; exit 2 ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
export MEGASIM_HOME=$root MEGASIM_USER_DIR=$tmp/user
fail=0

# 1. The report, and two of its entries run as the page says to run them.
if ! "$megasim" "${run[@]}" >summary.txt 2>report.err; then
  echo "FAIL megasim ${run[*]}"
  sed 's/^/  | /' report.err | head -10
  exit 1
fi
[ -s megasim-report/index.html ] || { echo "FAIL no megasim-report/index.html"; exit 1; }
figure() { # figure QUANTITY: megasim's figure for it in the report's summary
  jq -r --arg q "$1" '.all_headlines[] | select(.quantity == $q) | .megasim' megasim-report/summary.json
}
same() { # same NAME REPORTED ALONE
  if [ -z "$2" ] || [ "$2" = null ] || [ "$2" != "$3" ]; then
    echo "FAIL $1: the report has '$2', the command alone '$3'"
    fail=1
  fi
}
grep -qF 'megasim run scenarios/deepseek-v3-pretrain-h800.json' megasim-report/index.html ||
  { echo "FAIL the page does not name the V3 command"; fail=1; }
alone=$("$megasim" run scenarios/deepseek-v3-pretrain-h800.json --json | jq -r .gpu_hours_per_trillion_tokens)
same "V3 GPU-hours per trillion tokens" "$(figure 'V3 on 2,048 H800: GPU-hours per trillion tokens')" "$alone"
grep -qF 'megasim size --chip H100 --gpus 100000' megasim-report/index.html ||
  { echo "FAIL the page does not name the 100K H100 command"; fail=1; }
alone=$("$megasim" size --chip H100 --gpus 100000 --json | jq -r .facility_power_w)
same "100K H100 power at the meter" "$(figure '100K H100: power at the meter, full load')" "$alone"
lines=$(wc -l <summary.txt)
[ "$lines" -le 40 ] || { echo "FAIL the terminal summary takes $lines lines, over 40"; fail=1; }

# 2. Killed while it runs: the previous report is left whole. The old page
# is marked, since a finished run writes the same page again: a run that
# replaced it would drop the mark.
echo '<!-- the previous report -->' >>megasim-report/index.html
cp megasim-report/index.html before.html
"$megasim" report ${run[1]:+--quick} >/dev/null 2>&1 &
pid=$!
sleep 0.5
if kill -9 "$pid" 2>/dev/null; then
  wait "$pid" 2>/dev/null
  cmp -s before.html megasim-report/index.html || { echo "FAIL a killed run changed the report"; fail=1; }
  ls -d megasim-report.partial-* >/dev/null 2>&1 ||
    { echo "FAIL the killed run left no partial directory: was it killed while writing?"; fail=1; }
else
  wait "$pid" 2>/dev/null
  echo "report: the run finished within 0.5 s, before it could be killed; the kill check did not run"
fi
rm -rf megasim-report.partial-* megasim-report.old-*

# 3. In a browser.
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "report: SKIPPED the browser check: no chromium installed (scripts/install-deps installs it)"
  exit $fail
fi
chrome=("$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$tmp/profile" --allow-file-access-from-files --window-size=1366,900)
if ! timeout 120 "${chrome[@]}" --screenshot="$tmp/first-screen.png" \
  "file://$tmp/megasim-report/index.html" >shot.out 2>&1 || [ ! -s first-screen.png ]; then
  echo "FAIL chromium took no screenshot"
  tail -5 shot.out | sed 's/^/  | /'
  fail=1
fi
[ -n "${MEGASIM_KEEP_SCREENSHOT:-}" ] && cp first-screen.png "$MEGASIM_KEEP_SCREENSHOT"
# A page beside the report reads its layout (the report itself has no script).
cat >check.html <<'EOF'
<!DOCTYPE html><html><body>
<iframe id="f" src="megasim-report/index.html" style="width:1366px;height:900px"></iframe>
<pre id="out">not loaded</pre>
<script>
document.getElementById("f").onload = function () {
  var d = this.contentDocument, out = [];
  var sections = d.querySelectorAll("h2");
  out.push("sections " + sections.length);
  sections.forEach(function (h) {
    /* the section's headline tables, up to the next h2 */
    var n = 0, e = h.nextElementSibling;
    for (; e && e.tagName !== "H2"; e = e.nextElementSibling)
      e.querySelectorAll("table.headline td.num").forEach(function (td) {
        if (/[0-9]/.test(td.textContent)) n++;
      });
    if (n === 0) out.push("no headline number in " + h.textContent);
  });
  d.querySelectorAll("svg, img, table").forEach(function (e) {
    var r = e.getBoundingClientRect();
    var hidden = e.closest("details") && !e.closest("details").open;
    if (!hidden && !(r.width > 0 && r.height > 0)) out.push("no size: " + e.tagName);
  });
  d.querySelectorAll("a[href]").forEach(function (a) {
    var href = a.getAttribute("href");
    if (href.charAt(0) === "#") {
      if (!d.getElementById(href.slice(1))) out.push("broken link " + href);
    } else if (!/^[a-z]+:/.test(href)) {
      var x = new XMLHttpRequest();
      try {
        x.open("GET", "megasim-report/" + href, false);
        x.send();
        if (!x.responseText) out.push("broken link " + href);
      } catch (err) { out.push("broken link " + href); }
    } else {
      out.push("link outside the report " + href);
    }
  });
  out.push("checked");
  document.getElementById("out").textContent = out.join("\n");
};
</script></body></html>
EOF
timeout 120 "${chrome[@]}" --enable-logging=stderr --v=0 --virtual-time-budget=10000 \
  --dump-dom "file://$tmp/check.html" >dom.html 2>console.txt
sed -n '/<pre id="out">/,/<\/pre>/p' dom.html | sed 's/<[^>]*>//g' >checks.txt
grep -qx checked checks.txt || { echo "FAIL the page was not checked:"; head -5 checks.txt; fail=1; }
grep -qx 'sections 7' checks.txt || { echo "FAIL expected 7 sections (At a glance and six): $(head -1 checks.txt)"; fail=1; }
if grep -v -e '^sections ' -e '^checked$' checks.txt | grep -q .; then
  echo "FAIL in the browser:"
  grep -v -e '^sections ' -e '^checked$' checks.txt | head -10 | sed 's/^/  | /'
  fail=1
fi
if grep 'CONSOLE' console.txt | grep -q 'index.html'; then
  echo "FAIL console messages from the page:"
  grep 'CONSOLE' console.txt | grep 'index.html' | head -5 | sed 's/^/  | /'
  fail=1
fi
[ $fail -eq 0 ] && echo "report: the page loads in $("$browser" --version 2>/dev/null | head -1) with its 7 sections, headline numbers, sized figures and whole links"
exit $fail
