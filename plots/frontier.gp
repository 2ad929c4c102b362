# Export-frontier template. megasim writes the variables above this line:
#   datafile, outfile, format ("png" or "svg"), title_text, ylabel_text and
#   nallowed_text, ncontrolled_text, nbest_text (the points in blocks 0, 1, 2).
#   datafile has three blocks (gnuplot indexes 0, 1, 2), columns TPP and the
#   workload's metric: the designs the rule allows, the ones it controls
#   (run only with --all-designs) and the best allowed design.
if (format eq "svg") {
    set terminal svg size 1000,650 dynamic noenhanced font "sans,12"
} else {
    if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
        set terminal pngcairo size 1000,650 noenhanced font "sans,11"
    } else {
        set terminal png size 1000,650 noenhanced
    }
}
set output outfile
set title title_text."\nwhat each allowed design delivers against its TPP"
set xlabel "total processing performance (TPP = dense TOPS x bit length)"
set ylabel ylabel_text
set grid xtics ytics lc rgb "#dddddd"
set key top left box opaque
set datafile missing "NaN"
# Only the blocks that hold a design: an empty one would make gnuplot warn.
allowed = int(nallowed_text) > 0 ? \
    sprintf("datafile index 0 using 1:2 with points pt 7 ps 1.2 lc rgb \"#1f77b4\" title \"allowed\"") : ""
controlled = int(ncontrolled_text) > 0 ? \
    sprintf("datafile index 1 using 1:2 with points pt 6 ps 1.2 lc rgb \"#bbbbbb\" title \"controlled\"") : ""
best = int(nbest_text) > 0 ? \
    sprintf("datafile index 2 using 1:2 with points pt 3 ps 3 lw 2 lc rgb \"#d62728\" title \"best allowed\"") : ""
parts = allowed
parts = parts.(strlen(parts) > 0 && strlen(controlled) > 0 ? ", " : "").controlled
parts = parts.(strlen(parts) > 0 && strlen(best) > 0 ? ", " : "").best
if (strlen(parts) > 0) {
    # Designs all at one TPP (a grid whose allowed points differ only in
    # knobs the rule ignores): a range around it, as gnuplot would warn.
    stats datafile using 1 nooutput
    if (STATS_min == STATS_max) {
        pad = STATS_min != 0 ? abs(STATS_min) * 0.1 : 1
        set xrange [STATS_min - pad:STATS_max + pad]
    }
    eval "plot ".parts
} else {
    set label 1 "no design of the grid gave a result" at graph 0.5, graph 0.5 center
    plot NaN notitle
}
