/* names: see names.h. */
#include "core/names.h"

#include <string.h>

int names_has(const char *list, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = list; p && *p;) {
        size_t n = strcspn(p, ";");
        if (n == len && strncmp(p, name, len) == 0)
            return 1;
        p += n;
        p += *p == ';';
    }
    return 0;
}
