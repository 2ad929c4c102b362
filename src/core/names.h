/* names: lists of names joined by ';' ("H800;H200;H100", the columns of
 * hwdb/power.csv a row marks estimated), as the data files write them. */
#ifndef MS_NAMES_H
#define MS_NAMES_H

/* 1 if name is one of the ';'-separated names of list (NULL or "": 0). A
 * name that only starts alike ("H100" in "H100-PCIe") is not it. */
int names_has(const char *list, const char *name);

#endif
