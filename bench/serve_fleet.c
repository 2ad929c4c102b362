/* Benchmark: wall time and peak memory of serving one million requests
 * through 1,000-GPU fleets (125 instances of 8): Llama-3-70B on H100 with
 * chat-like lengths, and DeepSeek-V3 on H200 with longer outputs, every
 * request there at time zero, with the database's calibration. Prints
 * `name value unit` lines for bench/run. */
#include <math.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

#include "bench.h"
#include "hw/calib.h"
#include "hw/chip.h"
#include "model/modelfile.h"
#include "net/coll.h"
#include "serve/serve.h"

static int bench(const char *name, const char *model_file, const char *chip_name, ms_prec prec,
                 const char *in_len, const char *out_len, int64_t requests)
{
    ms_err err = {0};
    char warn[MODELFILE_WARN_MAX];
    model m;
    chip_db *db = NULL;
    calib *cal = NULL;
    topo *t = NULL;
    const chip *c;
    coll_params net = COLL_PARAMS_IDEAL;
    dist in = {0}, out = {0};
    serve_result r = {0};
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
        rc = dist_parse(in_len, "input", ".", &in, &err);
    if (!rc)
        rc = dist_parse(out_len, "output", ".", &out, &err);
    if (!rc) {
        topo_spec ts = {.gpus = 8,
                        .domain_size = 8,
                        .scaleup_bw_Bps = c->scale_up_bw_Bps,
                        .fabric = TOPO_FABRIC_NONE,
                        .sites = 1};
        rc = topo_build(&ts, &t, &err);
    }
    double t0 = bench_now_s();
    if (!rc) {
        reqs_spec sp = {.kind = REQS_AT_ZERO,
                        .input_len = &in,
                        .output_len = &out,
                        .count = requests,
                        .seed = 1};
        serve_config cfg = {.m = &m,
                            .c = c,
                            .cal = cal,
                            .par = {.tp = 8,
                                    .dp = 1,
                                    .ep = 1,
                                    .weight_prec = prec,
                                    .kv_prec = MS_BF16,
                                    .moe_imbalance = 1},
                            .instance_topo = t,
                            .cp = &net,
                            .gpus = 1000,
                            .block_tokens = 64,
                            .max_tokens = 8192,
                            .mem_reserve = 0.1,
                            .best_of = 1,
                            .stream = &sp,
                            .seed = 1};
        rc = serve_run(&cfg, &r, &err);
    }
    double wall = bench_now_s() - t0;
    if (rc) {
        fprintf(stderr, "bench %s: %s\n", name, err.msg);
    } else {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("serve_%s_wall %.3f s\n", name, wall);
        printf("serve_%s_peak_rss %.1f MB\n", name, (double)ru.ru_maxrss / 1024);
        printf("serve_%s_requests %lld requests\n", name, (long long)r.requests);
        printf("serve_%s_iterations %lld iterations\n", name, (long long)r.iterations);
        printf("serve_%s_simulated %.1f s\n", name, r.makespan_s);
        printf("serve_%s_output_tokens_per_s_per_gpu %.1f tok/s\n", name, r.output_tps / 1000);
    }
    dist_free(&in);
    dist_free(&out);
    topo_free(t);
    calib_free(cal);
    chip_db_free(db);
    return rc;
}

int main(void)
{
    int bad = bench("llama70b_1m_h100_1000", "workloads/llama-3-70b/config.json", "H100", MS_BF16,
                    "lognormal:1000:1", "lognormal:300:1", 1000000);
    bad |= bench("deepseek_v3_1m_h200_1000", "workloads/deepseek-v3/config.json", "H200", MS_FP8,
                 "lognormal:1000:1", "lognormal:1000:1", 1000000);
    return bad ? 1 : 0;
}
