/* Benchmark: wall time of `megasim run scenarios/deepseek-v3-pretrain-h800.json
 * --uncertainty 32` through the job layer (src/job/jscen, jtrain, junc): the
 * step on 2,048 H800s once undrawn and 32 times with drawn calibrations,
 * inputs loaded once; the target is under 2 s (issue 17). Also the same
 * scenario without draws, for the cost of a draw. Prints `name value unit`
 * lines for bench/run. */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "bench.h"
#include "job/jscen.h"

/* Runs the scenario with extra's options; its wall time in *wall_s and,
 * from its JSON, the 10th and 90th percentiles of the step (NAN without
 * draws). */
static int run(int nextra, char **extra, double *wall_s, double *p10, double *p90)
{
    const jenv env = {.home = MEGASIM_SOURCE_DIR, .derived_path = NULL, .version = "bench"};
    ms_err err = {0};
    cJSON *json = NULL;
    double t0 = bench_now_s();
    int rc = jscen_run_file(bench_path("scenarios/deepseek-v3-pretrain-h800.json"), nextra, extra,
                            "train", &env, &json, &err);
    *wall_s = bench_now_s() - t0;
    if (rc) {
        fprintf(stderr, "bench train_uncertainty: %s\n", err.msg);
        return rc;
    }
    const cJSON *a = cJSON_GetObjectItem(json, "step_time_s_p10"),
                *b = cJSON_GetObjectItem(json, "step_time_s_p90");
    *p10 = cJSON_IsNumber(a) ? a->valuedouble : 0;
    *p90 = cJSON_IsNumber(b) ? b->valuedouble : 0;
    cJSON_Delete(json);
    return 0;
}

int main(void)
{
    double plain_s, wall_s, p10, p90;
    if (run(0, NULL, &plain_s, &p10, &p90) ||
        run(2, (char *[]){"--uncertainty", "32"}, &wall_s, &p10, &p90))
        return 1;
    printf("train_uncertainty_v3_h800_plain_wall %.3f s\n", plain_s);
    printf("train_uncertainty_v3_h800_32_draws_wall %.3f s\n", wall_s);
    printf("train_uncertainty_v3_h800_per_draw %.1f ms\n", 1e3 * (wall_s - plain_s) / 32);
    printf("train_uncertainty_v3_h800_step_p10 %.3f s\n", p10);
    printf("train_uncertainty_v3_h800_step_p90 %.3f s\n", p90);
    return 0;
}
