/* Tests of the strict CSV reader (src/io/csvtab): quoted fields holding
 * commas, quotes and line breaks; a short row; blank lines skipped with
 * each row keeping its file line; malformed files and an empty one refused
 * naming file and line; csvtab_put_field's quoting read back unchanged.
 * Files live in a fresh temporary directory, removed at the end. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/csvtab.h"
#include "io/rfile.h"
#include "test_assert.h"

static char dir[64];

static int suite_init(void)
{
    strcpy(dir, "/tmp/megasim_test_csvtab_XXXXXX");
    return mkdtemp(dir) == NULL;
}

static int suite_clean(void)
{
    return rmdir(dir) != 0;
}

/* Writes len bytes of text to dir/name; returns the path (static
 * buffer). */
static const char *write_file(const char *name, const char *text, size_t len)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_FATAL(fwrite(text, 1, len, f) == len);
    CU_ASSERT_FATAL(fclose(f) == 0);
    return path;
}

/* Reads text as a CSV file; *err gets the error. NULL on failure. A NUL
 * inside text is written when it is followed by more text up to a
 * newline (how the NUL case is spelt). */
static csvtab *read_text(const char *text, int *rc, ms_err *err)
{
    size_t len = strlen(text);
    if (len > 0 && text[len - 1] != '\n')
        len += 1 + strlen(text + len + 1);
    const char *path = write_file("t.csv", text, len);
    csvtab *t = NULL;
    *rc = csvtab_read(path, &t, err);
    unlink(path);
    return t;
}

/* Every field of a small file, quoted and plain, against its expected text
 * (NULL: the row is short and has no such field). Not checked here: a row
 * whose first field spans lines reports the line that field ends on. */
static void test_fields(void)
{
    static const char *const text = "name,note,size\n"
                                    "plain,two words,1\n"
                                    "\"a,b\",\"said \"\"hi\"\"\",2\n"
                                    "\n"
                                    "next,\"two\nlines\",\"\"\n"
                                    "short,x\n"
                                    "\"first\nspans\nthree\",y,3\n";
    static const struct {
        size_t row;
        int line; /* the file line the row starts on */
        size_t nfields;
        const char *field[3];
    } cases[] = {
        {0, 2, 3, {"plain", "two words", "1"}},
        {1, 3, 3, {"a,b", "said \"hi\"", "2"}},
        {2, 5, 3, {"next", "two\nlines", ""}},        /* after a blank line; spans two */
        {3, 7, 2, {"short", "x", NULL}},              /* a missing column */
        {4, 8, 3, {"first\nspans\nthree", "y", "3"}}, /* its first field spans three */
    };
    int rc;
    ms_err err = {0};
    csvtab *t = read_text(text, &rc, &err);
    if (!MS_ASSERT_INT_EQ(rc, MS_OK))
        fprintf(stderr, "    %s\n", err.msg);
    CU_ASSERT_FATAL(t != NULL);
    MS_ASSERT_INT_EQ(csvtab_ncols(t), 3);
    MS_ASSERT_STR_EQ(csvtab_colname(t, 1), "note");
    CU_ASSERT(csvtab_colname(t, 3) == NULL);
    MS_ASSERT_INT_EQ(csvtab_find_col(t, "size"), 2);
    MS_ASSERT_INT_EQ(csvtab_find_col(t, "Size"), -1); /* exact match only */
    MS_ASSERT_STR_HAS(csvtab_path(t), dir);
    MS_ASSERT_INT_EQ(csvtab_nrows(t), sizeof cases / sizeof cases[0]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0] && i < csvtab_nrows(t); i++) {
        size_t r = cases[i].row;
        int ok = MS_ASSERT_INT_EQ(csvtab_row_line(t, r), cases[i].line);
        ok &= MS_ASSERT_INT_EQ(csvtab_row_nfields(t, r), cases[i].nfields);
        for (size_t c = 0; c < 3; c++) {
            const char *got = csvtab_field(t, r, c);
            if (cases[i].field[c])
                ok &= MS_ASSERT_STR_EQ(got, cases[i].field[c]);
            else
                ok &= MS_ASSERT_INT_EQ(got == NULL, 1);
        }
        if (!ok)
            fprintf(stderr, "    row %zu\n", r);
    }
    csvtab_free(t);
    csvtab_free(NULL); /* a no-op */
}

/* Malformed and empty files: refused with the code and a message naming
 * the file and, for malformed ones, the line. */
static void test_bad_files(void)
{
    static const struct {
        const char *what, *text;
        int code;
        const char *expect; /* after the path */
    } cases[] = {
        {"a stray quote in a plain field", "a,b\n1,2\nx,ab\"c\n", MS_EPARSE, ":3: malformed CSV"},
        {"text after a closing quote", "a,b\n\"x\"y,1\n", MS_EPARSE, ":2: malformed CSV"},
        {"a quote never closed", "a,b\n1,2\n\"open,3\n", MS_EPARSE, ":3: malformed CSV"},
        {"an empty file", "", MS_EPARSE, ": empty file"},
        {"only blank lines", "\n\n", MS_EPARSE, ": empty file"},
        {"a field too many", "a,b\n1,2\nx,y,z\n", MS_EPARSE,
         ":3: row 'x' has 3 fields, the header has 2"},
        {"a column named twice", "a,b,a\n1,2,3\n", MS_EPARSE, ":1: column 'a' appears twice"},
        {"a column without a name", "a,,c\n1,2,3\n", MS_EPARSE, ":1: header column 2 has no name"},
        {"a NUL byte", "a,b\n1,2\0x\n", MS_EPARSE, ":2:4: a NUL byte"},
        {"a control character", "a,b\n1,\x1b[2\n", MS_EPARSE, ":2:3: control character 0x1B"},
        {"invalid UTF-8", "a,b\nx\xff,2\n", MS_EPARSE, ":2:2: byte 0xFF is not valid UTF-8"},
        {"an overlong UTF-8 form", "a,b\n\xc0\xaf,2\n", MS_EPARSE, ":2:1: byte 0xC0"},
        {"a UTF-16 surrogate", "a,b\n\xed\xa0\x80,2\n", MS_EPARSE, ":2:1: byte 0xED"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc;
        ms_err err = {0};
        csvtab *t = read_text(cases[i].text, &rc, &err);
        char expect[256];
        snprintf(expect, sizeof expect, "%s/t.csv%s", dir, cases[i].expect);
        int ok = MS_ASSERT_INT_EQ(rc, cases[i].code);
        ok &= MS_ASSERT_INT_EQ(t == NULL, 1);
        ok &= MS_ASSERT_STR_HAS(err.msg, expect);
        if (!ok)
            fprintf(stderr, "    case %s\n", cases[i].what);
        csvtab_free(t);
    }
    /* A file that is not there. */
    char path[128];
    snprintf(path, sizeof path, "%s/absent.csv", dir);
    csvtab *t = (csvtab *)1;
    ms_err err = {0};
    MS_ASSERT_INT_EQ(csvtab_read(path, &t, &err), MS_EIO);
    CU_ASSERT(t == NULL);
    MS_ASSERT_STR_HAS(err.msg, path);
    /* What is not a regular file is refused before it is read: a
     * directory, an endless device, a FIFO without a writer (which would
     * block an open for reading). */
    MS_ASSERT_INT_EQ(csvtab_read(dir, &t, &err), MS_EIO);
    MS_ASSERT_STR_HAS(err.msg, ": is a directory: expected a file");
    MS_ASSERT_INT_EQ(csvtab_read("/dev/zero", &t, &err), MS_EIO);
    MS_ASSERT_STR_HAS(err.msg, "/dev/zero: not a regular file");
    snprintf(path, sizeof path, "%s/fifo", dir);
    CU_ASSERT_FATAL(mkfifo(path, 0600) == 0);
    MS_ASSERT_INT_EQ(csvtab_read(path, &t, &err), MS_EIO);
    MS_ASSERT_STR_HAS(err.msg, "fifo: not a regular file");
    unlink(path);
    /* A file past the size cap, without writing it: a sparse one. */
    snprintf(path, sizeof path, "%s/big.csv", dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_FATAL(ftruncate(fileno(f), (off_t)RFILE_MAX_BYTES + 1) == 0);
    fclose(f);
    MS_ASSERT_INT_EQ(csvtab_read(path, &t, &err), MS_EINVAL);
    MS_ASSERT_STR_HAS(err.msg,
                      "big.csv: 256 MiB, more than the 256 MiB megasim reads from one file");
    unlink(path);
}

/* Each text written by csvtab_put_field, as the first field of a row: the
 * bytes written, then the same text read back by csvtab_read. */
static void test_put_field_round_trip(void)
{
    static const struct {
        const char *text, *written;
    } cases[] = {
        {"plain", "plain"},     {"", ""},
        {"a,b", "\"a,b\""},     {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"\"", "\"\"\"\""},     {"two\nlines", "\"two\nlines\""},
        {"cr\r", "\"cr\r\""},   {"in  side", "in  side"},
        {" lead", "\" lead\""}, {"trail\t", "\"trail\t\""},
        {" ", "\" \""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/put.csv", dir);
        FILE *f = fopen(path, "w");
        CU_ASSERT_FATAL(f != NULL);
        fputs("text,end\n", f);
        long start = ftell(f);
        csvtab_put_field(f, cases[i].text);
        long end = ftell(f);
        fputs(",z\n", f);
        CU_ASSERT_FATAL(fclose(f) == 0);

        /* The bytes of the field as written. */
        char got[64] = "";
        f = fopen(path, "r");
        CU_ASSERT_FATAL(f != NULL);
        fseek(f, start, SEEK_SET);
        size_t n = fread(got, 1, (size_t)(end - start) < sizeof got ? (size_t)(end - start) : 0, f);
        got[n] = '\0';
        fclose(f);
        int ok = MS_ASSERT_STR_EQ(got, cases[i].written);

        /* Read back: the same text, and the row ends where it should. */
        csvtab *t = NULL;
        ms_err err = {0};
        ok &= MS_ASSERT_INT_EQ(csvtab_read(path, &t, &err), MS_OK);
        if (t) {
            ok &= MS_ASSERT_INT_EQ(csvtab_nrows(t), 1);
            ok &= MS_ASSERT_STR_EQ(csvtab_field(t, 0, 0), cases[i].text);
            ok &= MS_ASSERT_STR_EQ(csvtab_field(t, 0, 1), "z");
        }
        if (!ok)
            fprintf(stderr, "    case %zu: %s\n", i, err.msg);
        csvtab_free(t);
        unlink(path);
    }
}

/* A header mapped to its columns in any order; a missing or an unknown
 * column named with line 1 and the hint. */
static void test_map_cols(void)
{
    static const char *const cols[] = {"a", "b", "c"};
    size_t map[3];
    int rc;
    ms_err err = {0};
    csvtab *t = read_text("c,a,b\n1,2,3\n", &rc, &err);
    CU_ASSERT_FATAL(t != NULL);
    CU_ASSERT_EQUAL(csvtab_map_cols(t, cols, 3, map, "see X", &err), MS_OK);
    CU_ASSERT(map[0] == 1 && map[1] == 2 && map[2] == 0);
    csvtab_free(t);
    t = read_text("a,b\n1,2\n", &rc, &err);
    CU_ASSERT_FATAL(t != NULL);
    CU_ASSERT_EQUAL(csvtab_map_cols(t, cols, 3, map, "see X", &err), MS_EPARSE);
    CU_ASSERT(strstr(err.msg, ":1: missing column 'c' in the header; see X") != NULL);
    csvtab_free(t);
    t = read_text("a,b,c,d\n1,2,3,4\n", &rc, &err);
    CU_ASSERT_FATAL(t != NULL);
    CU_ASSERT_EQUAL(csvtab_map_cols(t, cols, 3, map, "see X", &err), MS_EPARSE);
    CU_ASSERT(strstr(err.msg, ":1: unknown column 'd' (field 4); see X") != NULL);
    csvtab_free(t);
}

static CU_TestInfo tests[] = {
    {"a header mapped to its columns", test_map_cols},
    {"quoted fields, blank lines, a short row", test_fields},
    {"malformed and empty files name file and line", test_bad_files},
    {"csvtab_put_field round-trips", test_put_field_round_trip},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "csvtab", .pInitFunc = suite_init, .pCleanupFunc = suite_clean, .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_csvtab");
}
