/* Benchmark: wall time and peak memory of one simulated training step:
 * DeepSeek-V3 on 2,048 H800 with its published plan, and 100,000-GPU-scale
 * steps of a MoE (DeepSeek-V3) and a dense model (GPT-3 175B), with the
 * database's calibration. Prints `name value unit` lines for bench/run. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench.h"
#include "hw/calib.h"
#include "hw/chip.h"
#include "model/modelfile.h"
#include "net/coll.h"
#include "train/step.h"

static int bench(const char *name, const char *model_file, const char *chip_name, plan p,
                 sched_kind k, int64_t comm_sms)
{
    ms_err err = {0};
    char warn[MODELFILE_WARN_MAX];
    model m;
    chip_db *db = NULL;
    calib *cal = NULL;
    const chip *c;
    coll_params net = COLL_PARAMS_IDEAL;
    step_result r = {0};
    int rc = modelfile_load(bench_path(model_file), &m, warn, &err);
    if (!rc)
        rc = chip_db_load(bench_path("hwdb/chips.csv"), &db, &err);
    if (!rc)
        rc = chip_db_lookup(db, chip_name, &c, &err);
    if (!rc)
        rc = calib_load(bench_path("hwdb/efficiency.csv"), &cal, &err);
    if (!rc)
        rc = coll_params_load(bench_path("hwdb/network.csv"), &net, &err);
    if (!rc)
        rc = plan_check(&p, &m, &err);
    double t0 = bench_now_s();
    if (!rc) {
        topo_spec ts = step_default_topo(c, p.gpus);
        topo *probe = NULL;
        /* Two tiers of 64-port switches, else three, else bigger switches
         * (as megasim train does). */
        rc = topo_build(&ts, &probe, &err);
        for (int radix = 64; rc && radix <= 512; radix *= 2) {
            ts.tiers = 3, ts.switch_radix = radix;
            rc = topo_build(&ts, &probe, &err);
        }
        step_config cfg = {.schedule = k, .moe_load = 1, .comm_sms = comm_sms};
        if (!rc)
            rc = step_run(&m, c, cal, &p, probe, &net, &cfg, &r, &err);
        topo_free(probe);
    }
    double wall = bench_now_s() - t0;
    if (rc) {
        fprintf(stderr, "bench %s: %s\n", name, err.msg);
    } else {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("train_step_%s_wall %.3f s\n", name, wall);
        printf("train_step_%s_peak_rss %.1f MB\n", name, (double)ru.ru_maxrss / 1024);
        printf("train_step_%s_simulated_step %.3f s\n", name, r.step_time_s);
    }
    step_result_free(&r);
    calib_free(cal);
    chip_db_free(db);
    return rc;
}

int main(void)
{
    plan v3 = {.gpus = 2048,
               .tp = 1,
               .pp = 16,
               .vpp = 1,
               .dp = 128,
               .ep = 64,
               .cp = 1,
               .zero = 1,
               .seq_len = 4096,
               .global_batch = 15360,
               .micro_batch = 1,
               .recipe = "fp8",
               .recompute = PLAN_RECOMPUTE_SELECTIVE};
    int bad = bench("deepseek_v3_2048", "workloads/deepseek-v3/config.json", "H800", v3,
                    SCHED_DUALPIPE, 20);
    /* The same layout on 100,352 GPUs: dp 6,272, 120 micro-batches each. */
    plan v3_100k = v3;
    v3_100k.gpus = 100352, v3_100k.dp = 6272, v3_100k.global_batch = 6272 * 120;
    bad |= bench("deepseek_v3_100k", "workloads/deepseek-v3/config.json", "H800", v3_100k,
                 SCHED_DUALPIPE, 20);
    /* GPT-3 175B, TP 8 x PP 12 on 100,032 A100s (dp 1,042). */
    plan g = {.gpus = 100032,
              .tp = 8,
              .pp = 12,
              .vpp = 1,
              .dp = 1042,
              .ep = 1,
              .cp = 1,
              .zero = 1,
              .seq_len = 2048,
              .global_batch = 1042 * 64,
              .micro_batch = 1,
              .recipe = "bf16",
              .recompute = PLAN_RECOMPUTE_FULL};
    bad |= bench("gpt3_175b_100k", "workloads/gpt-3-175b.json", "A100", g, SCHED_1F1B, 0);
    return bad;
}
