# RL step time over training template. megasim writes the variables above
# this line: datafile, outfile, format ("png" or "svg") and title_text.
# datafile is comma separated with one header line: step, step_time_s,
# rollout_s, rollout_tail_s, score_s, update_s, sync_s, switch_s,
# rollout_idle_s, train_idle_s, mean_output_tokens. The phases are drawn
# stacked in the order a synchronous step runs them (one step off, the
# step is shorter than their sum: its own line shows it); the mean answer
# length is on the right axis.
if (format eq "svg") {
    set terminal svg size 1100,680 dynamic noenhanced font "sans,12"
} else {
    if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
        set terminal pngcairo size 1100,680 noenhanced font "sans,11"
    } else {
        set terminal png size 1100,680 noenhanced
    }
}
set output outfile
set title title_text
set datafile separator comma
set xlabel "RL step"
set ylabel "time per step (min)"
set y2label "mean answer (tokens)"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set grid xtics ytics lc rgb "#dddddd"
set bmargin at screen 0.24
set key at screen 0.5, screen 0.11 center center horizontal maxcols 3 width 2
set autoscale xfix
set style fill solid 0.85 noborder
m = 60.0
plot datafile skip 1 using 1:(($3+$5+$6+$7+$8)/m) with filledcurves x1 lc rgb "#9467bd" title "weight sync", \
     '' skip 1 using 1:(($3+$5+$6+$8)/m) with filledcurves x1 lc rgb "#2ca02c" title "update", \
     '' skip 1 using 1:(($3+$5+$8)/m) with filledcurves x1 lc rgb "#ff7f0e" title "scoring", \
     '' skip 1 using 1:(($3+$8)/m) with filledcurves x1 lc rgb "#8c564b" title "colocated switch", \
     '' skip 1 using 1:($3/m) with filledcurves x1 lc rgb "#1f77b4" title "rollout: its long tail (the last 10% of groups)", \
     '' skip 1 using 1:(($3-$4)/m) with filledcurves x1 lc rgb "#6baed6" title "rollout before its tail", \
     '' skip 1 using 1:($2/m) with lines lw 2 lc rgb "black" title "step time", \
     '' skip 1 using 1:11 axes x1y2 with lines lw 2 dt 2 lc rgb "#d62728" title "mean answer (right axis)"
