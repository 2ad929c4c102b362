/* Tests of gnuplot driving (src/io/gnuplot): string literals escaped as
 * gnuplot reads them, the plot style's 16 distinct colours, the header
 * every script starts with, and a failing script reported with gnuplot's
 * own message (when gnuplot is installed). Files live in a fresh
 * temporary directory, removed at the end. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/gnuplot.h"
#include "test_assert.h"

static char dir[64];

static int suite_init(void)
{
    strcpy(dir, "/tmp/megasim_test_gnuplot_XXXXXX");
    return mkdtemp(dir) == NULL;
}

static int suite_clean(void)
{
    return rmdir(dir) != 0;
}

/* What fn wrote to a memory stream, in buf. */
static void written(char *buf, size_t cap, void (*fn)(FILE *, const void *), const void *arg)
{
    FILE *f = fmemopen(buf, cap, "w");
    CU_ASSERT_FATAL(f != NULL);
    fn(f, arg);
    CU_ASSERT_FATAL(fclose(f) == 0);
}

static void put_string(FILE *f, const void *s)
{
    gp_write_string(f, s);
}

static void test_write_string(void)
{
    static const struct {
        const char *text, *literal;
    } cases[] = {
        {"plain", "\"plain\""},
        {"", "\"\""},
        {"say \"hi\"", "\"say \\\"hi\\\"\""},
        {"C:\\data", "\"C:\\\\data\""},
        {"two\nlines", "\"two\\nlines\""},
        {"\\\"\n", "\"\\\\\\\"\\n\""},
        {"under_score 'single'", "\"under_score 'single'\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[128];
        written(buf, sizeof buf, put_string, cases[i].text);
        if (!MS_ASSERT_STR_EQ(buf, cases[i].literal))
            fprintf(stderr, "    case %zu\n", i);
    }
}

static void put_style(FILE *f, const void *unused)
{
    (void)unused;
    gp_write_style(f);
}

/* Colours 1..16 set once each, all different, then the cycle. */
static void test_write_style(void)
{
    char buf[4096];
    written(buf, sizeof buf, put_style, NULL);
    char colour[GP_COLOURS + 1][16] = {{0}};
    int set = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        int k;
        char rgb[16];
        if (sscanf(line, "set linetype %d lc rgb \"%15[^\"]\"", &k, rgb) != 2)
            continue;
        set++;
        if (!MS_ASSERT_INT_EQ(k >= 1 && k <= GP_COLOURS, 1))
            continue;
        MS_ASSERT_STR_EQ(colour[k], "");  /* each linetype once */
        MS_ASSERT_INT_EQ(strlen(rgb), 7); /* #rrggbb */
        strcpy(colour[k], rgb);
    }
    MS_ASSERT_INT_EQ(set, GP_COLOURS);
    for (int a = 1; a <= GP_COLOURS; a++)
        for (int b = a + 1; b <= GP_COLOURS; b++)
            if (!MS_ASSERT_INT_EQ(strcmp(colour[a], colour[b]) != 0, 1))
                fprintf(stderr, "    linetypes %d and %d are both \"%s\"\n", a, b, colour[a]);
    /* strtok cut buf; read it again for the cycle. */
    written(buf, sizeof buf, put_style, NULL);
    MS_ASSERT_STR_HAS(buf, "\nset linetype cycle 16\n");
    MS_ASSERT_INT_EQ(GP_COLOURS, 16);
}

typedef struct header_args {
    const char *who, *script, *data, *out, *title;
    int svg;
} header_args;

static void put_header(FILE *f, const void *arg)
{
    const header_args *h = arg;
    gp_write_header(f, h->who, h->script, h->data, h->out, h->svg, h->title);
}

static void test_write_header(void)
{
    static const struct {
        header_args args;
        const char *expect[6];
    } cases[] = {
        {{"megasim train", "out/step.gp", "out/step.dat", "out/step.svg", "H100 \"fast\"", 1},
         {"# written by megasim train; draw with: gnuplot out/step.gp\n",
          "\ndatafile = \"out/step.dat\"\n", "\noutfile = \"out/step.svg\"\n",
          "\nformat = \"svg\"\n", "\ntitle_text = \"H100 \\\"fast\\\"\"\n",
          "\nset linetype cycle 16\n"}},
        {{"megasim power", "p.gp", "dir\\p.csv", "p.png", "two\nlines", 0},
         {"# written by megasim power; draw with: gnuplot p.gp\n",
          "\ndatafile = \"dir\\\\p.csv\"\n", "\noutfile = \"p.png\"\n", "\nformat = \"png\"\n",
          "\ntitle_text = \"two\\nlines\"\n", "\nset linetype 16 lc rgb"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[4096];
        written(buf, sizeof buf, put_header, &cases[i].args);
        int ok = MS_ASSERT_INT_EQ(strncmp(buf, "# written by ", 13), 0); /* first line */
        for (size_t k = 0; k < 6; k++)
            ok &= MS_ASSERT_STR_HAS(buf, cases[i].expect[k]);
        if (!ok)
            fprintf(stderr, "    case %zu\n", i);
    }
}

/* A script gnuplot refuses: MS_EIO naming the script, with gnuplot's own
 * words; one it accepts: MS_OK and nothing said. */
static void test_run(void)
{
    if (!gp_available()) {
        printf("\n    gnuplot is not installed: gp_run not checked\n");
        return;
    }
    char bad[128], good[128];
    snprintf(bad, sizeof bad, "%s/bad.gp", dir);
    snprintf(good, sizeof good, "%s/good.gp", dir);
    FILE *f = fopen(bad, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs("set terminal dumb\nthis_is_not_a_command 1 2 3\n", f);
    CU_ASSERT_FATAL(fclose(f) == 0);
    f = fopen(good, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs("x = 1 + 1\n", f);
    CU_ASSERT_FATAL(fclose(f) == 0);

    ms_err err = {0};
    MS_ASSERT_INT_EQ(gp_run(bad, &err), MS_EIO);
    MS_ASSERT_STR_HAS(err.msg, "gnuplot failed on ");
    MS_ASSERT_STR_HAS(err.msg, bad);
    MS_ASSERT_STR_HAS(err.msg, "this_is_not_a_command"); /* gnuplot echoes the line */
    MS_ASSERT_STR_HAS(err.msg, "invalid command");
    CU_ASSERT(strchr(err.msg, '\n') == NULL); /* one line */

    ms_err_clear(&err);
    MS_ASSERT_INT_EQ(gp_run(good, &err), MS_OK);
    MS_ASSERT_STR_EQ(err.msg, "");
    unlink(bad);
    unlink(good);
}

static CU_TestInfo tests[] = {
    {"string literals escaped", test_write_string},
    {"16 distinct colours, then a cycle", test_write_style},
    {"the header every script starts with", test_write_header},
    {"a failing script gives gnuplot's message", test_run},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "gnuplot", .pInitFunc = suite_init, .pCleanupFunc = suite_clean, .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_gnuplot");
}
