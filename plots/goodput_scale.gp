# Goodput against scale template. megasim writes the variables above this
# line: datafile, outfile, format ("png" or "svg") and title_text.
# datafile is comma separated with one header line: gpus, then the mean
# ETTR and its 10th and 90th percentiles over the runs (%), and this_run
# (1 on the run's own size). Meta's Llama 3 figure is marked for scale.
if (format eq "svg") {
    set terminal svg size 1000,600 dynamic noenhanced font "sans,12"
} else {
    if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
        set terminal pngcairo size 1000,600 noenhanced font "sans,11"
    } else {
        set terminal png size 1000,600 noenhanced
    }
}
set output outfile
set title title_text
set datafile separator comma
set logscale x 2
set xtics ("1,024" 1024, "4,096" 4096, "16,384" 16384, "65,536" 65536, "262,144" 262144, \
    "1,048,576" 1048576)
set xrange [700:1500000]
set yrange [0:100]
set xlabel "GPUs in the job"
set ylabel "effective training time ratio (%)"
set grid xtics ytics lc rgb "#dddddd"
set key below
# Llama 3 405B on 16,384 H100: more than 90% (arXiv:2407.21783, 3.3.4): a lower bound.
set arrow 1 from 16384, 90 to 16384, 99 lc rgb "#2ca02c" lw 2 filled
set arrow 2 from 13500, 90 to 19900, 90 nohead lc rgb "#2ca02c" lw 2
set label 1 "Meta, Llama 3 405B on 16,384 H100: more than 90%" \
    at 21000, 97 left textcolor rgb "#2ca02c"
plot datafile skip 1 using 1:3:4 with filledcurves lc rgb "#c6dbef" title "10th to 90th percentile of the runs", \
     '' skip 1 using 1:2 with linespoints lw 2 pt 7 lc rgb "#1f77b4" title "mean", \
     '' skip 1 using 1:($5 > 0 ? $2 : NaN) with points pt 6 ps 2.5 lw 2 lc rgb "#d62728" title "this run's size"
