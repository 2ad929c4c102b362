/* Tests of jsize (src/job): the size job from the source tree's hwdb/, its
 * JSON held to figures worked by hand from hwdb/power.csv, hwdb/costs.csv
 * and hwdb/chips.csv: the power 8 H100s need, the GPUs 1 MW holds, a flat
 * price, a mixed fleet, training days at two precisions; and the unhappy
 * paths. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/jsize.h"
#include "test_json.h"
#include "test_assert.h"

/* The tests run in the source tree. */
static jenv env = {.home = ".", .derived_path = NULL, .version = "test"};

/* The size job with argv's options (as after "megasim size"), as JSON;
 * NULL on failure, with *rc and err set. */
static cJSON *size_json(int argc, char **argv, int *rc, ms_err *err)
{
    jsize_job j;
    int npos, help;
    *rc = jopt_parse(&jsize_options, &j, argc, argv, NULL, 0, &npos, &help, err);
    if (*rc)
        return NULL;
    report *r = report_new();
    cJSON *json = NULL;
    if (!(*rc = jsize_run(&j, &env, r, NULL, err)))
        json = report_json(r);
    report_free(r);
    return json;
}

#define SIZE_JSON(rc, err, ...)                                                                    \
    size_json(sizeof((char *[]){__VA_ARGS__}) / sizeof(char *), (char *[]){__VA_ARGS__}, rc, err)

typedef struct want {
    const char *path;
    double v; /* NAN: null */
} want;

/* Each path's number within a billionth of what it should be. */
static void check(const cJSON *json, const char *what, const want *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double got = ms_json_num(json, w[i].path);
        int ok = isnan(w[i].v) ? isnan(got) : fabs(got - w[i].v) <= 1e-9 * fabs(w[i].v);
        if (!ok)
            printf("\n  %s: %s = %.17g, expected %.17g\n", what, w[i].path, got, w[i].v);
        CU_ASSERT(ok);
    }
}

/* H100 (power.csv): matrix 700 W, 8 a server with 4,600 W of other parts,
 * so 700 + 4600 / 8 = 1,275 W a GPU at full load. A fat-tree of 64-port
 * switches for 8 GPUs: ceil(3 x 8 / 64) = 1 switch of 1,720 W (switch_W).
 * costs.csv: PUE 1.2; server $270,000 (so $33,750 a GPU), network $4,390 a
 * GPU, facility $11.7 a W over 15 years, servers and network over 6 years
 * of 8,766 h; energy $0.0806 a kWh. */
static const double h100_gpu_w = 700 + 4600.0 / 8, switch_w = 1720, pue = 1.2;

static void test_h100_gpus(void)
{
    double it = 8 * h100_gpu_w + switch_w; /* 11,920 W */
    double per_gpu = it / 8;               /* 1,490 W with the switch's share */
    double capital_h = (33750 + 4390) / (6 * 8766.0) + per_gpu * 11.7 / (15 * 8766.0);
    double energy_h = per_gpu * pue / 1000 * 0.0806;
    const want w[] = {
        {"gpus", 8},
        {"servers", 1},
        {"racks", 8 / 32.0}, /* rack_gpus.H100 32 */
        {"switches", 1},
        {"switch_radix", 64},
        {"it_power_w", it},
        {"facility_power_w", it * pue},
        {"pue", pue},
        {"hbm_bytes", 8 * 80e9},
        {"peak_flop_per_s.bf16", 8 * 989.4e12},
        {"peak_flop_per_s.fp4", NAN},
        {"usd_capital_servers", 270000},
        {"usd_capital_network", 8 * 4390},
        {"usd_capital_facility", it * 11.7},
        {"usd_per_gpu_hour_capital", capital_h},
        {"usd_per_gpu_hour_energy", energy_h},
        {"train_days", NAN},
        {"fleet.0.gpus", 8},
        {"fleet.0.it_power_per_gpu_w", per_gpu},
        {"fleet.0.it_power_w", it},
        {"fleet.0.racks", 1}, /* whole racks by chip */
        {"inputs.gpus", 8},
        {"inputs.seq", 4096},
    };
    ms_err err = {0};
    int rc;
    cJSON *json = SIZE_JSON(&rc, &err, "--chip", "H100", "--gpus", "8");
    if (rc)
        printf("\n  size --gpus 8: %s\n", err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    check(json, "8 x H100", w, sizeof w / sizeof w[0]);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(json, "megasim_version");
    CU_ASSERT(cJSON_IsString(v) && strcmp(v->valuestring, "test") == 0);
    CU_ASSERT_PTR_NULL(cJSON_GetObjectItemCaseSensitive(json, "capital_unknown"));
    cJSON_Delete(json);
}

/* 1 MW with 80% to IT: 800,000 W. 800,000 / 1,275 = 627 GPUs want
 * ceil(3 x 627 / 64) = 30 switches, leaving (800,000 - 30 x 1,720) /
 * 1,275 = 586 GPUs; those want 28, leaving 589; 589 want 28 again. */
static void test_h100_power(void)
{
    const want w[] = {
        {"gpus", 589},
        {"switches", 28},
        {"it_power_w", 589 * h100_gpu_w + 28 * switch_w}, /* 799,135 W */
        {"facility_power_w", 1e6},
        {"pue", 1 / 0.8},
        {"servers", 589 / 8.0},
    };
    ms_err err = {0};
    int rc;
    cJSON *json = SIZE_JSON(&rc, &err, "--chip", "H100", "--power", "1MW", "--it-fraction", "0.8");
    if (rc)
        printf("\n  size --power 1MW: %s\n", err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    check(json, "1 MW of H100", w, sizeof w / sizeof w[0]);
    cJSON_Delete(json);
}

/* A flat $2 a GPU-hour: capital is what is left after energy. 64 GPUs want
 * ceil(3 x 64 / 64) = 3 switches, so a GPU draws 1,275 + 3 x 1,720 / 64 =
 * 1,355.625 W. */
static void test_flat_price(void)
{
    double energy_h = (h100_gpu_w + 3 * switch_w / 64) * pue / 1000 * 0.0806;
    const want w[] = {
        {"switches", 3},
        {"usd_per_gpu_hour_energy", energy_h},
        {"usd_per_gpu_hour_capital", 2 - energy_h},
        {"fleet.0.usd_per_gpu_hour_capital", 2 - energy_h},
    };
    ms_err err = {0};
    int rc;
    cJSON *json =
        SIZE_JSON(&rc, &err, "--chip", "H100", "--gpus", "64", "--price-per-gpu-hour", "2");
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    check(json, "flat price", w, sizeof w / sizeof w[0]);
    cJSON_Delete(json);
}

/* H100:16,H200:16 share one fabric: ceil(3 x 32 / 64) = 2 switches, half
 * each. H200 (power.csv) draws as the H100 at full load. In a data home
 * whose costs.csv lacks the H200's server and rental prices, capital is
 * unknown and says why; with them (the shipped hwdb), it is priced. */
static void test_mixed(void)
{
    char home[] = "/tmp/megasim-test-jsize-XXXXXX", cmd[400];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(home));
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s/hwdb && cp hwdb/*.csv %s/hwdb/ && "
             "grep -v -e '^server_usd.H200,' -e '^gpu_hour_usd.H200,' hwdb/costs.csv "
             ">%s/hwdb/costs.csv",
             home, home, home);
    CU_ASSERT_FATAL(system(cmd) == 0);
    double half = 16 * h100_gpu_w + 0.5 * 2 * switch_w;
    const want w[] = {
        {"gpus", 32},
        {"switches", 2},
        {"fleet.0.it_power_w", half},
        {"fleet.1.it_power_w", half},
        {"it_power_w", 2 * half},
        {"hbm_bytes", 16 * 80e9 + 16 * 141e9},
        {"usd_capital_servers", NAN},
        {"usd_per_gpu_hour_capital", NAN},
    };
    ms_err err = {0};
    int rc;
    env.home = home;
    cJSON *json = SIZE_JSON(&rc, &err, "--chip", "H100:16,H200:16");
    env.home = ".";
    snprintf(cmd, sizeof cmd, "rm -rf %s", home);
    CU_ASSERT(system(cmd) == 0);
    if (rc)
        printf("\n  size H100:16,H200:16: %s\n", err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    check(json, "mixed", w, sizeof w / sizeof w[0]);
    const cJSON *why = cJSON_GetObjectItemCaseSensitive(json, "capital_unknown");
    CU_ASSERT(cJSON_IsString(why) && strstr(why->valuestring, "H200"));
    cJSON_Delete(json);
    /* The shipped costs.csv prices both. */
    json = SIZE_JSON(&rc, &err, "--chip", "H100:16,H200:16");
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    CU_ASSERT(ms_json_num(json, "usd_capital_servers") > 0);
    CU_ASSERT(cJSON_GetObjectItemCaseSensitive(json, "capital_unknown") == NULL ||
              cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(json, "capital_unknown")));
    cJSON_Delete(json);
}

/* Days scale as one over the peak: H100 fp8 1978.9 TFLOP/s, bf16 989.4. */
static void test_train_days(void)
{
    ms_err err = {0};
    int rc;
    cJSON *bf = SIZE_JSON(&rc, &err, "--chip", "H100", "--gpus", "1024", "--model",
                          "workloads/gpt-3-175b.json", "--tokens", "300e9", "--mfu", "0.5");
    cJSON *f8 = SIZE_JSON(&rc, &err, "--chip", "H100", "--gpus", "1024", "--model",
                          "workloads/gpt-3-175b.json", "--tokens", "300e9", "--mfu", "0.5",
                          "--precision", "fp8");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f8);
    double a = ms_json_num(bf, "train_days"), b = ms_json_num(f8, "train_days");
    CU_ASSERT(a > 0);
    MS_ASSERT_WITHIN(a / b, 1978.9 / 989.4, 1e-12);
    cJSON_Delete(bf);
    cJSON_Delete(f8);
}

/* Bad options fail with a message naming them. */
static void test_unhappy(void)
{
    static const struct {
        const char *args[8];
        int argc, code;
        const char *says;
    } cases[] = {
        {{"--chip", "H100", "--gpu", "8"}, 4, MS_EUSAGE, "did you mean --gpus?"},
        {{"--chip", "H100", "--gpus", "8", "--it-fraction", "0.8"},
         6,
         MS_EUSAGE,
         "--it-fraction goes with --power"},
        {{"--chip", "H100", "--power", "-2GW"}, 4, MS_EUSAGE, "expected a positive power"},
        {{"--chip", "H100", "--power", "1GW", "--gpus", "8"}, 6, MS_EUSAGE, "give one of"},
        {{"--chip", "H100,H200", "--gpus", "8"}, 4, MS_EUSAGE, "needs a count of each kind"},
        {{"--chip", "H100", "--power", "1kW"}, 4, MS_EUSAGE, "holds no H100"},
        {{"--chip", "H100", "--gpus", "8", "--tokens", "1e12"},
         6,
         MS_EUSAGE,
         "--tokens goes with --model"},
        {{"--chip", "H100", "--gpus", "8", "--mfu", "1.5"}, 6, MS_EUSAGE, "--mfu '1.5'"},
        {{"--chip", "X999:5"}, 2, MS_ENOTFOUND, "unknown chip 'X999'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ms_err err = {0};
        int rc;
        cJSON *json = size_json(cases[i].argc, (char **)cases[i].args, &rc, &err);
        if (rc != cases[i].code || !strstr(err.msg, cases[i].says))
            printf("\n  case %zu: code %d (expected %d), '%s' (expected '%s')\n", i, rc,
                   cases[i].code, err.msg, cases[i].says);
        CU_ASSERT_PTR_NULL(json);
        CU_ASSERT_EQUAL(rc, cases[i].code);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[i].says));
        cJSON_Delete(json);
    }
}

static CU_TestInfo tests[] = {
    {"8 H100: power and cost by hand", test_h100_gpus},
    {"1 MW of H100: the GPUs it holds", test_h100_power},
    {"a flat price", test_flat_price},
    {"a mixed fleet on one fabric", test_mixed},
    {"training days against the peak", test_train_days},
    {"unhappy paths", test_unhappy},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "jsize", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_jsize");
}
