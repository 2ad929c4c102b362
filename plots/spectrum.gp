# Power spectrum template. megasim writes the variables above this line:
#   datafile, outfile, format ("png" or "svg"), title_text, band_lo and
#   band_hi (Hz, as strings). datafile is comma separated with one header line:
#   frequency_hz, then share (of the swings' energy at that frequency).
#   The band utilities watch is shaded; both axes are logarithmic.
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
lo = band_lo + 0
hi = band_hi + 0
set title title_text
set datafile separator comma
set logscale xy
set format y "%g"
set yrange [1e-8:2]
set xlabel "frequency (Hz)"
set ylabel "share of the swings' energy"
set grid xtics ytics lc rgb "#dddddd"
set key below
set object 1 rectangle from lo, graph 0 to hi, graph 1 behind \
    fillcolor rgb "#fde2c4" fillstyle solid 0.6 noborder
set label 1 sprintf("the grid's band, %g-%g Hz", lo, hi) at lo, graph 0.95 \
    offset 1,0 textcolor rgb "#8a4b00"
plot datafile skip 1 using 1:($2 > 0 ? $2 : NaN) with impulses lw 1 lc rgb "#1f77b4" \
     title "energy at each frequency (share of all swings)"
