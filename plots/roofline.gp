# Roofline template. megasim writes the variables above this line:
#   datafile, outfile, format ("png" or "svg"), title_text, xmin, xmax,
#   nroofs and roof_title[1..nroofs] (chips with identical roofs share one),
#   nops, op_title[1..nops] and op_pt[1..nops] (the key of the operations).
#   Block 2k-2 of datafile is roof k at datasheet peaks; block 2k-1 holds the
#   operations on it at their attained rate, column 3 their point type.
if (format eq "svg") {
    set terminal svg size 1100,700 dynamic noenhanced font "sans,12"
} else {
    if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
        set terminal pngcairo size 1100,700 noenhanced font "sans,11"
    } else {
        set terminal png size 1100,700 noenhanced
    }
}
set output outfile
set title title_text
set logscale xy
set xrange [xmin:xmax]
set xlabel "arithmetic intensity (FLOP per byte of HBM traffic)"
set ylabel "TFLOP/s"
set format y "%g"
set grid xtics ytics mxtics mytics lc rgb "#dddddd"
# Outside the axes, so that it never covers a roof or a point.
set key outside right top box
set datafile missing "NaN"
plot for [k=1:nroofs] datafile index 2*(k-1) using 1:2 with lines lw 2 lc k title roof_title[k], \
     for [k=1:nroofs] datafile index 2*k-1 using 1:2:3 with points pt variable ps 1.6 lc k notitle, \
     for [j=1:nops] keyentry with points pt op_pt[j] ps 1.6 lc rgb "#333333" title op_title[j]
