/* jenv: see jenv.h. */
#include "job/jenv.h"

#include <string.h>
#include <unistd.h>

int jenv_path(const jenv *e, const char *rel, char *buf, size_t cap, ms_err *err)
{
    int w = strcmp(e->home, ".") == 0 ? snprintf(buf, cap, "%s", rel)
                                      : snprintf(buf, cap, "%s/%s", e->home, rel);
    if (w < 0 || (size_t)w >= cap)
        return ms_errf(err, MS_EINVAL, "path too long: %s/%s", e->home, rel);
    return MS_OK;
}

const char *jenv_find(const jenv *e, const char *path, char *buf, size_t cap)
{
    if (access(path, F_OK) != 0 && path[0] != '/' && jenv_path(e, path, buf, cap, NULL) == MS_OK &&
        access(buf, F_OK) == 0)
        return buf;
    return path;
}

int jenv_load_chips(const jenv *e, const jopt_list *files, chip_db **db, ms_err *err)
{
    char path[4096];
    int rc;
    *db = NULL;
    if (files && files->n > 0) {
        rc = chip_db_load(jenv_find(e, files->v[0], path, sizeof path), db, err);
        for (int i = 1; i < files->n && !rc; i++)
            rc = chip_db_add_file(*db, jenv_find(e, files->v[i], path, sizeof path), err);
    } else {
        rc = jenv_path(e, "hwdb/chips.csv", path, sizeof path, err);
        if (!rc)
            rc = chip_db_load(path, db, err);
        if (!rc && e->derived_path && access(e->derived_path, F_OK) == 0)
            rc = chip_db_add_file(*db, e->derived_path, err);
    }
    if (rc) {
        chip_db_free(*db);
        *db = NULL;
    }
    return rc;
}

int jenv_select_chips(const chip_db *db, const jopt_list *lists, const chip **out, size_t cap,
                      size_t *n, ms_err *err)
{
    *n = 0;
    for (int l = 0; l < lists->n; l++) {
        const char *p = lists->v[l];
        for (;;) {
            size_t len = strcspn(p, ",");
            char name[64];
            if (len == 0 || len >= sizeof name)
                return ms_errf(err, MS_EUSAGE,
                               "--chip '%s': expected chip names separated by commas", lists->v[l]);
            memcpy(name, p, len);
            name[len] = '\0';
            const chip *c;
            int rc = chip_db_lookup(db, name, &c, err);
            if (rc)
                return rc;
            if (*n >= cap)
                return ms_errf(err, MS_EUSAGE, "--chip: at most %zu chips at once", cap);
            out[(*n)++] = c;
            if (p[len] == '\0')
                break;
            p += len + 1;
        }
    }
    return MS_OK;
}
