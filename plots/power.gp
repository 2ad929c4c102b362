# Power over time template. megasim writes the variables above this line:
#   datafile, outfile, format ("png" or "svg"), title_text, ncols and
#   col_title[1..ncols]. datafile is comma separated with one header line:
#   time_s (the start of each bin) then ncols columns of mean power in W
#   over the bin. Each column is drawn as steps (a bin's mean holds until
#   the next bin starts), in MW.
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
set datafile missing "NaN"
set xlabel "time (s)"
set ylabel "power (MW)"
set yrange [0:*]
set grid xtics ytics lc rgb "#dddddd"
set key below
plot for [k=1:ncols] datafile skip 1 using 1:(column(k+1)/1e6) with steps lw 2 lc k \
     title col_title[k]
