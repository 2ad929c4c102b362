# Latency-throughput template. megasim writes the variables above this line:
#   datafile, outfile, format ("png" or "svg") and title_text. Columns of
#   datafile: rate_per_s, output tokens/s per GPU, TPOT p50 and p99 (ms),
#   TTFT p50 and p99 (s), one row per arrival rate.
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
set title title_text."\nlatency against throughput as the arrival rate rises"
set xlabel "output tokens per second per GPU"
set ylabel "time per output token (ms)"
set y2label "time to first token (s)"
set y2tics
set ytics nomirror
set grid xtics ytics lc rgb "#dddddd"
set key top left box opaque
set datafile missing "NaN"
plot datafile using 2:3 with linespoints pt 7 lw 2 title "TPOT p50", \
     datafile using 2:4 with linespoints pt 5 lw 2 title "TPOT p99", \
     datafile using 2:6 axes x1y2 with linespoints pt 9 lw 2 dt 2 title "TTFT p99 (right)"
