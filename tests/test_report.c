/* Tests of report (src/report): the unit formats a person reads, and one
 * report rendered as text, JSON, CSV, HTML and Markdown, each held to what
 * it must say. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "test_assert.h"

static void test_format(void)
{
    static const struct {
        double v;
        const char *unit, *want;
    } cases[] = {
        {989.4e12, "FLOP/s", "989.4 TFLOP/s"},
        {3.35e12, "B/s", "3.35 TB/s"},
        {700, "W", "700 W"},
        {8360, "W", "8.36 kW"},
        {2.2e9, "W", "2.2 GW"},
        {812e-6, "s", "812 us"},
        {17.75, "s", "17.75 s"},
        {119.9, "s", "119.9 s"},
        {2712, "s", "45.2 min"},   /* 2712 / 60 */
        {45000, "s", "12.5 h"},    /* 45000 / 3600 */
        {293760, "s", "3.4 days"}, /* 3.4 x 86400 */
        {1024, "B", "1 KiB"},
        {80e9, "B", "74.51 GiB"}, /* 80e9 / 2^30 = 74.506 */
        {1023, "B", "1023 B"},
        {4.749e6, "USD", "$4.75 million"},
        {5.6e6, "USD", "$5.6 million"},
        {12345.6, "USD", "$12,346"},
        {0.00397, "USD", "$0.00397"},
        {0, "USD", "$0.00"},
        {12.5, "USD", "$12.50"},
        {2.1e9, "USD", "$2.1 billion"},
        {0.123, "%", "12.3%"},
        {0.567, "%", "56.7%"},
        {0.2462, "days", "0.246 days"}, /* not "246.2 m days" */
        {54, "days", "54 days"},
        {1536, "", "1,536"},
        {2022, "plain", "2022"},
        {1234567, "", "1,234,567"},
        {0.25, "", "0.25"},
        {14740.3, "", "14,740"},
        {4807.2, "", "4,807"}, /* a count that is a mean: grouped like the counts */
        {1.061e25, "FLOP/s", "10.61 YFLOP/s"},
        {NAN, "W", "-"},
        {0, "B/s", "0 B/s"},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        report_format(cases[i].v, cases[i].unit, buf, sizeof buf);
        if (strcmp(buf, cases[i].want) != 0)
            fprintf(stderr, "\n  %g %s: got '%s', want '%s'", cases[i].v, cases[i].unit, buf,
                    cases[i].want);
        CU_ASSERT_STRING_EQUAL(buf, cases[i].want);
    }
}

/* A report with a value, a group, a hidden group and a two-row table. */
static report *example(void)
{
    report *r = report_new();
    report_version(r, "9.9.9");
    report_begin_hidden(r, "inputs");
    report_str(r, "chip", NULL, "H100");
    report_end(r);
    report_num(r, "step_time_s", "step time", 17.75, "s");
    report_begin(r, "power", "power and cost");
    report_num(r, "it_power_mean_w", "IT power", 8.36e6, "W");
    report_num(r, "unknown_w", "unknown", NAN, "W");
    report_end(r);
    report_table(r, "results", "collectives");
    report_row(r);
    report_str(r, "chip", NULL, "H100");
    report_num(r, "busbw_Bps", "busbw", 352e9, "B/s");
    report_row(r);
    report_str(r, "chip", NULL, "H800, \"cut\"");
    report_num(r, "busbw_Bps", "busbw", 156e9, "B/s");
    report_table_end(r);
    report_bool(r, "fits", NULL, 1);
    report_strs_split(r, "levels", NULL, " matrix_W;  idle_W;; ;comm_W");
    return r;
}

/* What f holds, NUL-terminated, for the caller to free. */
static char *slurp(FILE *f)
{
    long n = ftell(f);
    char *s = calloc((size_t)n + 1, 1);
    rewind(f);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n)
        s[0] = '\0';
    return s;
}

static void test_text(void)
{
    report *r = example();
    FILE *f = tmpfile();
    ms_err err = {0};
    CU_ASSERT_EQUAL(report_write_text(r, f, &err), MS_OK);
    char *s = slurp(f);
    /* Labels aligned, units chosen per value, the hidden group absent. */
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "step time  17.75 s\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "power and cost\n  IT power  8.36 MW\n  unknown   -\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "collectives\nchip            busbw\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "H100         352 GB/s\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "fits       yes\n"));
    CU_ASSERT_PTR_NULL(strstr(s, "inputs"));
    CU_ASSERT_PTR_NULL(strstr(s, "9.9.9"));
    free(s);
    fclose(f);
    report_free(r);
}

static void test_json(void)
{
    report *r = example();
    cJSON *j = report_json(r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(j->child->string, "megasim_version"); /* first */
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "megasim_version")->valuestring, "9.9.9");
    CU_ASSERT_STRING_EQUAL(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "inputs"), "chip")->valuestring, "H100");
    MS_ASSERT_EXACT(cJSON_GetObjectItem(j, "step_time_s")->valuedouble, 17.75);
    cJSON *power = cJSON_GetObjectItem(j, "power");
    MS_ASSERT_EXACT(cJSON_GetObjectItem(power, "it_power_mean_w")->valuedouble, 8.36e6);
    CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(power, "unknown_w")));
    cJSON *rows = cJSON_GetObjectItem(j, "results");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(rows), 2);
    MS_ASSERT_EXACT(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 1), "busbw_Bps")->valuedouble,
                    156e9);
    CU_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(j, "fits")));
    /* A ';'-separated list: blanks before an item and empty items gone. */
    cJSON *levels = cJSON_GetObjectItem(j, "levels");
    CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(levels), 3);
    CU_ASSERT_STRING_EQUAL(cJSON_GetArrayItem(levels, 0)->valuestring, "matrix_W");
    CU_ASSERT_STRING_EQUAL(cJSON_GetArrayItem(levels, 1)->valuestring, "idle_W");
    CU_ASSERT_STRING_EQUAL(cJSON_GetArrayItem(levels, 2)->valuestring, "comm_W");
    cJSON_Delete(j);
    report_free(r);
}

static void test_csv(void)
{
    report *r = example();
    FILE *f = tmpfile();
    ms_err err = {0};
    CU_ASSERT_EQUAL(report_write_csv(r, "results", f, &err), MS_OK);
    char *s = slurp(f);
    /* libcsv quotes every field it writes; numbers stay in SI base units. */
    CU_ASSERT_STRING_EQUAL(s, "\"chip\",\"busbw_Bps\"\n\"H100\",352000000000\n"
                              "\"H800, \"\"cut\"\"\",156000000000\n");
    free(s);
    fclose(f);
    f = tmpfile();
    CU_ASSERT_EQUAL(report_write_csv(r, "nothing", f, &err), MS_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'nothing'"));
    fclose(f);
    report_free(r);
}

/* report_find_num skips tables (a Server search's trials hold the same
 * keys as its run); report_append copies every item, groups and tables
 * included, so the JSON of the copy inside a group is the original's. */
static void test_find_and_append(void)
{
    report *a = report_new(), *b = report_new();
    CU_ASSERT_FATAL(a && b);
    report_table(a, "trials", "trials");
    report_row(a);
    report_num(a, "ttft_p99_s", NULL, 9.0, "s");
    report_table_end(a);
    report_begin(a, NULL, "run");
    report_num(a, "ttft_p99_s", NULL, 0.5, "s");
    report_int(a, "gpus", "GPUs", 32, "");
    report_strs_split(a, "parts", NULL, "x;y");
    report_end(a);
    CU_ASSERT_DOUBLE_EQUAL(report_find_num(a, "ttft_p99_s"), 0.5, 0);
    CU_ASSERT_DOUBLE_EQUAL(report_find_num(a, "gpus"), 32, 0);
    CU_ASSERT(isnan(report_find_num(a, "absent")));
    report_begin(b, "H20", NULL);
    report_append(b, a);
    report_end(b);
    cJSON *ja = report_json(a), *jb = report_json(b);
    CU_ASSERT_FATAL(ja && jb);
    char *ta = cJSON_PrintUnformatted(cJSON_GetObjectItem(ja, "trials"));
    char *tb =
        cJSON_PrintUnformatted(cJSON_GetObjectItem(cJSON_GetObjectItem(jb, "H20"), "trials"));
    CU_ASSERT(ta && tb && strcmp(ta, tb) == 0);
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetObjectItem(cJSON_GetObjectItem(jb, "H20"), "gpus")->valuedouble,
                           32, 0);
    free(ta);
    free(tb);
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    report_free(a);
    report_free(b);
}

/* A report for the document renderers: top-level values, a titled group
 * holding a titled group, a hidden group, a table of a string and a number
 * column, and strings holding '<', '&' and '|'. */
static report *doc_example(void)
{
    report *r = report_new();
    report_num(r, "power_w", "power", 1234.5, "W");
    report_str(r, "note", NULL, "a < b & c | d");
    report_begin(r, "outer", "Outer <1>");
    report_int(r, "gpus", "GPUs", 2048, "");
    report_begin(r, "inner", "Inner & more");
    report_num(r, "hbm_bw_Bps", "HBM bandwidth", 3.35e12, "B/s");
    report_end(r);
    report_end(r);
    report_begin_hidden(r, "inputs");
    report_str(r, "secret", NULL, "hidden-value-xyz");
    report_end(r);
    report_table(r, "chips", "chips | list");
    report_row(r);
    report_str(r, "chip", NULL, "H100");
    report_num(r, "tdp_w", "TDP", 700, "W");
    report_row(r);
    report_str(r, "chip", NULL, "H20 <cut>");
    report_num(r, "tdp_w", "TDP", 400, "W");
    report_table_end(r);
    return r;
}

/* What writer makes of r at level, NUL-terminated, for the caller to free. */
static char *render(const report *r, int (*writer)(const report *, FILE *, int, ms_err *),
                    int level)
{
    char *s = NULL;
    size_t len = 0;
    ms_err err = {0};
    FILE *f = open_memstream(&s, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(writer(r, f, level, &err), MS_OK);
    fclose(f);
    return s;
}

/* Each of want in s, none of unwanted; a miss prints what was looked for
 * and the whole document. */
static void check_doc(const char *s, const char *const *want, size_t nwant,
                      const char *const *unwanted, size_t nunwanted)
{
    for (size_t i = 0; i < nwant; i++) {
        if (!strstr(s, want[i]))
            fprintf(stderr, "\n  missing '%s' in:\n%s", want[i], s);
        CU_ASSERT_PTR_NOT_NULL(strstr(s, want[i]));
    }
    for (size_t i = 0; i < nunwanted; i++) {
        if (strstr(s, unwanted[i]))
            fprintf(stderr, "\n  unwanted '%s' in:\n%s", unwanted[i], s);
        CU_ASSERT_PTR_NULL(strstr(s, unwanted[i]));
    }
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_html(void)
{
    report *r = doc_example();
    char *s = render(r, report_write_html, 2);
    static const char *const want[] = {
        "<table class=\"kv\">\n<tr><th scope=\"row\">power</th><td class=\"num\">",
        "<tr><th scope=\"row\">note</th><td>a &lt; b &amp; c | d</td></tr>\n",
        "<section>\n<h2>Outer &lt;1&gt;</h2>\n",
        "<tr><th scope=\"row\">GPUs</th><td class=\"num\">2,048</td></tr>\n",
        "<section>\n<h3>Inner &amp; more</h3>\n",
        "<td class=\"num\">3.35 TB/s</td>",
        "</section>\n</section>\n",
        "<table>\n<caption>chips | list</caption>\n"
        "<thead><tr><th>chip</th><th class=\"num\">TDP</th></tr></thead>\n<tbody>\n"
        "<tr><td>H100</td><td class=\"num\">700 W</td></tr>\n"
        "<tr><td>H20 &lt;cut&gt;</td><td class=\"num\">400 W</td></tr>\n</tbody>\n</table>\n",
    };
    static const char *const unwanted[] = {
        "hidden-value-xyz", "inputs", "secret", "<h1", "<h4", "a < b", "<cut>", "<html"};
    check_doc(s, want, N(want), unwanted, N(unwanted));
    /* The top-level values come first, then h2 before the h3 it holds. */
    const char *kv = strstr(s, "<table class=\"kv\">"), *h2 = strstr(s, "<h2>"),
               *h3 = strstr(s, "<h3>");
    CU_ASSERT(kv == s && h2 && h3 && h2 < h3);
    free(s);
    /* Headings stop at h6. */
    s = render(r, report_write_html, 6);
    static const char *const deep[] = {"<h6>Outer", "<h6>Inner"};
    static const char *const too_deep[] = {"<h7", "<h5"};
    check_doc(s, deep, N(deep), too_deep, N(too_deep));
    free(s);
    report_free(r);
}

/* A number reads the same in HTML and Markdown as in text. */
static void test_doc_numbers_as_text(void)
{
    report *r = doc_example();
    char want[64], text_line[128], html_cell[128], md_row[128];
    report_format(1234.5, "W", want, sizeof want);
    CU_ASSERT_STRING_EQUAL(want, "1.234 kW"); /* 1234.5 in 4 significant digits */
    snprintf(text_line, sizeof text_line, "power  %s\n", want);
    snprintf(html_cell, sizeof html_cell, "<td class=\"num\">%s</td>", want);
    snprintf(md_row, sizeof md_row, "| power | %s |\n", want);
    FILE *f = tmpfile();
    ms_err err = {0};
    CU_ASSERT_EQUAL(report_write_text(r, f, &err), MS_OK);
    char *text = slurp(f), *html = render(r, report_write_html, 2),
         *md = render(r, report_write_markdown, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, text_line));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, html_cell));
    CU_ASSERT_PTR_NOT_NULL(strstr(md, md_row));
    free(text);
    free(html);
    free(md);
    fclose(f);
    report_free(r);
}

static void test_markdown(void)
{
    report *r = doc_example();
    char *s = render(r, report_write_markdown, 2);
    static const char *const want[] = {
        "| quantity | value |\n| --- | --- |\n| power | ",
        "| note | a < b & c \\| d |\n",
        "\n## Outer <1>\n\n| quantity | value |\n| --- | --- |\n| GPUs | 2,048 |\n",
        "\n### Inner & more\n\n| quantity | value |\n| --- | --- |\n| HBM bandwidth | 3.35 TB/s "
        "|\n",
        "\n**chips \\| list**\n\n| chip | TDP |\n| --- | ---: |\n| H100 | 700 W |\n"
        "| H20 <cut> | 400 W |\n",
    };
    static const char *const unwanted[] = {"hidden-value-xyz", "secret", "#### ", "c | d"};
    check_doc(s, want, N(want), unwanted, N(unwanted));
    CU_ASSERT(strncmp(s, "| quantity | value |\n", 21) == 0); /* top-level values first */
    free(s);
    report_free(r);
}

/* A table inside a row is drawn after its table, as a table of its own;
 * a write error is MS_EIO. */
static void test_doc_nested_and_failed(void)
{
    report *r = report_new();
    report_table(r, "runs", "runs");
    report_row(r);
    report_str(r, "name", NULL, "a");
    report_table(r, "trials", "trials of a");
    report_row(r);
    report_num(r, "ttft_s", "TTFT", 0.5, "s");
    report_table_end(r);
    report_row(r);
    report_str(r, "name", NULL, "b");
    report_table_end(r);
    char *s = render(r, report_write_html, 2);
    static const char *const want[] = {
        "<caption>runs</caption>\n<thead><tr><th>name</th></tr></thead>\n<tbody>\n"
        "<tr><td>a</td></tr>\n<tr><td>b</td></tr>\n</tbody>\n</table>\n"
        "<table>\n<caption>trials of a</caption>\n",
        "<tr><td class=\"num\">500 ms</td></tr>\n",
    };
    check_doc(s, want, N(want), NULL, 0);
    free(s);
    s = render(r, report_write_markdown, 2);
    static const char *const want_md[] = {"| name |\n| --- |\n| a |\n| b |\n\n**trials of a**\n\n"
                                          "| TTFT |\n| ---: |\n| 500 ms |\n"};
    check_doc(s, want_md, N(want_md), NULL, 0);
    free(s);
    /* A stream that cannot be written: MS_EIO, as text gives. */
    FILE *ro = fopen("/dev/null", "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ro);
    ms_err err = {0};
    CU_ASSERT_EQUAL(report_write_html(r, ro, 2, &err), MS_EIO);
    CU_ASSERT_EQUAL(report_write_markdown(r, ro, 2, &err), MS_EIO);
    fclose(ro);
    report_free(r);
}

static CU_TestInfo tests[] = {
    {"unit formats", test_format},
    {"a number found outside tables; a report appended", test_find_and_append},
    {"text rendering", test_text},
    {"JSON rendering", test_json},
    {"CSV rendering", test_csv},
    {"HTML rendering", test_html},
    {"Markdown rendering", test_markdown},
    {"HTML and Markdown numbers as text prints them", test_doc_numbers_as_text},
    {"HTML and Markdown: a table in a row; a write error", test_doc_nested_and_failed},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "report", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_report");
}
