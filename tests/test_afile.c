/* Tests of the whole-or-nothing writer (src/io/afile): a committed file
 * appears whole, a replaced one keeps its permissions, an aborted one
 * leaves the directory as it was, a missing directory and a full device
 * fail with MS_EIO naming the path, afile_undo removes only what this
 * process created (or recorded), a dead writer's temporary is swept, and
 * the directory lock excludes a second holder. Every test checks that nothing besides
 * the expected files is left in a fresh temporary directory. */
#define _GNU_SOURCE /* O_DIRECTORY */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/afile.h"
#include "test_assert.h"

static char dir[64];

static int suite_init(void)
{
    strcpy(dir, "/tmp/megasim_test_afile_XXXXXX");
    return mkdtemp(dir) == NULL;
}

static int suite_clean(void)
{
    return rmdir(dir) != 0;
}

/* dir/name (static buffer, one of two so two paths can be held). */
static const char *at(const char *name)
{
    static char path[2][256];
    static int k;
    k = !k;
    snprintf(path[k], sizeof path[k], "%s/%s", dir, name);
    return path[k];
}

/* The names in dir, sorted and joined by spaces ("" when empty). */
static const char *listing(void)
{
    static char out[1024];
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0) {
            size_t used = strlen(out);
            snprintf(out + used, sizeof out - used, "%s%s", used ? " " : "", names[i]->d_name);
        }
        free(names[i]);
    }
    free(names);
    return out;
}

/* The text of path ("<absent>" when it cannot be read). */
static const char *contents(const char *path)
{
    static char text[4096];
    FILE *f = fopen(path, "r");
    if (!f)
        return "<absent>";
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

/* Writes text through an afile to path and commits it; the code. */
static int write_whole(const char *path, const char *text, ms_err *err)
{
    afile *af;
    int rc = afile_open(path, &af, err);
    if (rc)
        return rc;
    fputs(text, afile_stream(af));
    return afile_commit(af, err);
}

static void test_commit_whole(void)
{
    ms_err err = {0};
    const char *p = at("out.csv");
    afile *af;
    MS_ASSERT_INT_EQ(afile_open(p, &af, &err), MS_OK);
    CU_ASSERT_FATAL(af != NULL);
    fputs("a,b\n1,2\n", afile_stream(af));
    /* Until the commit, the directory shows nothing at all. */
    MS_ASSERT_STR_EQ(listing(), "");
    MS_ASSERT_INT_EQ(afile_commit(af, &err), MS_OK);
    MS_ASSERT_STR_EQ(contents(p), "a,b\n1,2\n");
    MS_ASSERT_STR_EQ(listing(), "out.csv");
    afile_forget();
    unlink(p);
}

static void test_replace_keeps_mode(void)
{
    ms_err err = {0};
    const char *p = at("keep.csv");
    MS_ASSERT_INT_EQ(write_whole(p, "old\n", &err), MS_OK);
    CU_ASSERT_FATAL(chmod(p, 0640) == 0);
    MS_ASSERT_INT_EQ(write_whole(p, "new and longer\n", &err), MS_OK);
    MS_ASSERT_STR_EQ(contents(p), "new and longer\n");
    struct stat st;
    CU_ASSERT_FATAL(stat(p, &st) == 0);
    MS_ASSERT_INT_EQ(st.st_mode & 07777, 0640);
    MS_ASSERT_STR_EQ(listing(), "keep.csv");
    afile_forget();
    unlink(p);
}

static void test_abort_leaves_nothing(void)
{
    ms_err err = {0};
    const char *fresh = at("fresh.json"), *old = at("old.json");
    afile *a, *b;
    MS_ASSERT_INT_EQ(write_whole(old, "{}\n", &err), MS_OK);
    MS_ASSERT_INT_EQ(afile_open(fresh, &a, &err), MS_OK);
    MS_ASSERT_INT_EQ(afile_open(old, &b, &err), MS_OK);
    fputs("{\"half\": ", afile_stream(a));
    fputs("{\"half\": ", afile_stream(b));
    afile_abort(a);
    afile_abort(b);
    afile_abort(NULL);
    MS_ASSERT_STR_EQ(contents(old), "{}\n");
    MS_ASSERT_STR_EQ(listing(), "old.json");
    afile_forget();
    unlink(old);
}

/* Targets that cannot be written: the error names the path as given. */
static void test_failures_name_the_path(void)
{
    static const struct {
        const char *path;
        int at_open; /* fails at afile_open, else at afile_commit */
        const char *reason;
    } cases[] = {
        {"no/such/dir/x.csv", 1, "No such file or directory"},
        {"/dev/full", 0, "No space left on device"},
        {"", 1, "Is a directory"}, /* the test directory itself: "DIR/" */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[256];
        if (cases[i].path[0] == '/')
            snprintf(path, sizeof path, "%s", cases[i].path);
        else
            snprintf(path, sizeof path, "%s/%s", dir, cases[i].path);
        ms_err err = {0};
        afile *af = NULL;
        int rc = afile_open(path, &af, &err);
        int ok = MS_ASSERT_INT_EQ(rc == MS_OK, !cases[i].at_open);
        if (!rc) {
            fputs("some bytes\n", afile_stream(af));
            rc = afile_commit(af, &err);
        }
        ok &= MS_ASSERT_INT_EQ(rc, MS_EIO);
        char want[512];
        snprintf(want, sizeof want, "%s: cannot write: %s", path, cases[i].reason);
        ok &= MS_ASSERT_STR_EQ(err.msg, want);
        if (!ok)
            fprintf(stderr, "    case %zu: %s\n", i, err.msg);
        MS_ASSERT_STR_EQ(listing(), "");
    }
}

static void test_undo_removes_only_created(void)
{
    ms_err err = {0};
    const char *old = at("old.csv"), *made = at("made.csv");
    MS_ASSERT_INT_EQ(write_whole(old, "before\n", &err), MS_OK);
    afile_forget(); /* as if it existed before the run */
    MS_ASSERT_INT_EQ(write_whole(old, "during\n", &err), MS_OK);
    MS_ASSERT_INT_EQ(write_whole(made, "during\n", &err), MS_OK);
    /* An image gnuplot drew is recorded by name. */
    char drawn[256];
    snprintf(drawn, sizeof drawn, "%s/drawn.png", dir);
    FILE *f = fopen(drawn, "w");
    CU_ASSERT_FATAL(f != NULL);
    fclose(f);
    afile_record(drawn);
    afile_undo();
    MS_ASSERT_STR_EQ(listing(), "old.csv");
    MS_ASSERT_STR_EQ(contents(old), "during\n");
    afile_undo(); /* nothing more to do */
    MS_ASSERT_STR_EQ(listing(), "old.csv");
    unlink(old);
}

/* A file another process renamed over a created one is not removed. */
static void test_undo_spares_a_replaced_file(void)
{
    ms_err err = {0};
    const char *p = at("shared.csv"), *other = at("other");
    MS_ASSERT_INT_EQ(write_whole(p, "mine\n", &err), MS_OK);
    FILE *f = fopen(other, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs("theirs\n", f);
    fclose(f);
    CU_ASSERT_FATAL(rename(other, p) == 0);
    afile_undo();
    MS_ASSERT_STR_EQ(contents(p), "theirs\n");
    unlink(p);
}

static void test_sweeps_dead_temporaries(void)
{
    ms_err err = {0};
    pid_t child = fork();
    CU_ASSERT_FATAL(child >= 0);
    if (child == 0)
        _exit(0);
    waitpid(child, NULL, 0); /* its process id now names no process */
    char stale[128], live[128];
    snprintf(stale, sizeof stale, ".t.csv.megasim-tmp.%ld.0", (long)child);
    snprintf(live, sizeof live, ".t.csv.megasim-tmp.%ld.0", (long)getppid());
    for (int k = 0; k < 2; k++) {
        FILE *f = fopen(at(k ? live : stale), "w");
        CU_ASSERT_FATAL(f != NULL);
        fclose(f);
    }
    MS_ASSERT_INT_EQ(write_whole(at("t.csv"), "x\n", &err), MS_OK);
    char want[256];
    snprintf(want, sizeof want, "%s t.csv", live);
    MS_ASSERT_STR_EQ(listing(), want);
    afile_undo();
    unlink(at(live));
    MS_ASSERT_STR_EQ(listing(), "");
}

static void test_lock_excludes(void)
{
    ms_err err = {0};
    int fd, other = open(dir, O_RDONLY | O_DIRECTORY);
    CU_ASSERT_FATAL(other >= 0);
    MS_ASSERT_INT_EQ(afile_lock(at("derived.csv"), &fd, &err), MS_OK);
    CU_ASSERT(fd >= 0);
    MS_ASSERT_INT_EQ(flock(other, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK, 1);
    afile_unlock(fd);
    MS_ASSERT_INT_EQ(flock(other, LOCK_EX | LOCK_NB), 0);
    close(other);
    MS_ASSERT_INT_EQ(afile_lock("no/such/dir/derived.csv", &fd, &err), MS_EIO);
    MS_ASSERT_STR_EQ(err.msg, "no/such/dir: cannot lock: No such file or directory");
    MS_ASSERT_INT_EQ(fd, -1);
    afile_unlock(-1);
    MS_ASSERT_STR_EQ(listing(), "");
}

static CU_TestInfo tests[] = {
    {"a committed file appears whole", test_commit_whole},
    {"a replaced file keeps its permissions", test_replace_keeps_mode},
    {"abort leaves no file and no temporary", test_abort_leaves_nothing},
    {"failures are MS_EIO naming the path", test_failures_name_the_path},
    {"undo removes only created and recorded files", test_undo_removes_only_created},
    {"undo spares a file another process replaced", test_undo_spares_a_replaced_file},
    {"a dead writer's temporary is swept", test_sweeps_dead_temporaries},
    {"the directory lock excludes a second holder", test_lock_excludes},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "afile", .pInitFunc = suite_init, .pCleanupFunc = suite_clean, .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_afile");
}
