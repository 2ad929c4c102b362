# Mitigations template. megasim writes the variables above this line:
#   datafile, outfile, format ("png" or "svg"), title_text and
#   ramp_limit_MW_per_s (a string). datafile is comma separated with one
#   header line: time_s, then the site's power in MW without any
#   mitigation, with a power floor, with software fill and with storage
#   (racks or site batteries: the grid draws the same).
if (format eq "svg") {
    set terminal svg size 1100,620 dynamic noenhanced font "sans,12"
} else {
    if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
        set terminal pngcairo size 1100,620 noenhanced font "sans,11"
    } else {
        set terminal png size 1100,620 noenhanced
    }
}
set output outfile
set title title_text . "\n" . sprintf("each mitigation holds the ramp to %s MW/s", ramp_limit_MW_per_s)
set datafile separator comma
set xlabel "time (s)"
set ylabel "site power (MW)"
set grid xtics ytics lc rgb "#dddddd"
set key below
plot datafile skip 1 using 1:2 with lines lw 1 lc rgb "#999999" title "without", \
     '' skip 1 using 1:3 with lines lw 2 lc rgb "#d62728" title "power floor (burns the gap)", \
     '' skip 1 using 1:4 with lines lw 2 lc rgb "#ff7f0e" title "software fill (burns less)", \
     '' skip 1 using 1:5 with lines lw 2 lc rgb "#1f77b4" title "storage, racks or site (the grid draws this)"
