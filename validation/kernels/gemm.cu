/* gemm.cu (vk_gemm): cuBLASLt matrix products in BF16 (every GPU) and FP8
 * E4M3 (compute capability 8.9 and up, decided at run time: the FP8 path is
 * a cuBLASLt call, so the same binary serves sm_80), over large squares,
 * decode-like skinny products and MoE experts with few tokens.
 *
 * Layout, for both precisions: activations X[M][K] and weights W[N][K] row
 * major (the nn.Linear convention), Y[M][N] = X W^T row major. In
 * cuBLASLt's column-major terms that is the "TN" product FP8 requires:
 * D (N x M, ld N) = op(A) op(B) with A = W stored K x N (ld K, op T) and
 * B = X stored K x M (ld K, op N). FP32 compute and scale type, alpha 1,
 * beta 0, output BF16; for FP8 per-tensor scales of 1 for A and B (device
 * pointers), fast accumulation off (cuBLASLt's default, the accurate mode).
 * The algorithm is cuBLASLt's first heuristic choice given a 32 MiB
 * workspace.
 *
 * Counted as megasim's roofline counts a GEMM: 2MNK FLOPs; bytes
 * (MK + KN) x input bytes + MN x 2 (BF16 output).
 *
 * Each timed run rotates through copies of X, W and Y (enough that 4x the
 * L2 lies between two uses of one copy), so the weights of a skinny
 * product come from HBM as they do in decode.
 *
 * Check: inputs random (never zero; exactly representable in the input
 * type), every output copy poisoned with NaN, one product per copy, then
 * every element of every copy must be finite, and up to 512 sampled
 * elements of the first and last copy (the four corners among them) are
 * compared with an FP64 dot product of the same inputs:
 *   |y - ref| <= 2^-7 |ref| + 2^-5 sqrt(sum_k (x_k w_k)^2).
 * The first term covers rounding the output to BF16 (up to 2^-8 |ref|);
 * the second, accumulation over K, including split-K partial sums that
 * cuBLASLt may add up in the BF16 output type (its default reduction
 * schemes allow that). A wrong layout is off by about 1.4 sqrt(sum (x w)^2),
 * some 35x the allowance; a NaN or an unwritten element always fails.
 *
 * Sustained rows (gemm_cublaslt_sustained, kind gemm_train): after every
 * row above, two training-like shapes (one with --quick) are checked the
 * same way, warmed up, then run back to back (rotating copies as above)
 * for a soak of --sustain-s seconds (20; 3 with --quick; 0 leaves these
 * rows out), so that the clock settles where the power limit holds it, as
 * in a training step, and not at the boost of a short burst. Then a window
 * of 20 segments of about 0.25 s each (10 of 0.1 s with --quick) is timed
 * with CUDA events; time_s is the median over the window's segments of the
 * time of one op, runs the number of segments. At most two segments are
 * queued at a time, so the GPU never waits for the host and the soak ends
 * within a segment or two of its time. No clock or power is read here
 * (the project does not link NVML); watch nvidia-smi to see them. */
#include <cublasLt.h>
#include <cublas_v2.h>

#include <chrono>

#include "common.cuh"

#define CUBLAS_CHECK(call)                                                                         \
    do {                                                                                           \
        cublasStatus_t vk_s_ = (call);                                                             \
        if (vk_s_ != CUBLAS_STATUS_SUCCESS) {                                                      \
            fprintf(stderr, "%s: %s:%d: %s failed: %s (%d)\n", vk_prog, __FILE__, __LINE__, #call, \
                    cublasGetStatusString(vk_s_), (int)vk_s_);                                     \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static const size_t WORKSPACE_BYTES = (size_t)32 << 20;
static const int MAX_SAMPLES = 512;

typedef struct gemm_shape {
    int m, n, k;
} gemm_shape;

typedef struct gemm_prec {
    const char *name; /* as megasim names it */
    cudaDataType_t type;
    size_t in_bytes;
} gemm_prec;

/* One sampled element: its place, what the GEMM wrote, the FP64 reference
 * and the root of the sum of squared products (the scale of accumulation
 * error). */
typedef struct sample {
    int i, j;
    float got;
    double ref, rms;
} sample;

/* One block per sample: the FP64 dot product of row i of X and row j of W. */
template <class T>
__global__ void ref_kernel(const T *x, const T *w, const __nv_bfloat16 *y, int n, int k, sample *s)
{
    __shared__ double sum_s[128], sq_s[128];
    sample *me = &s[blockIdx.x];
    const T *xr = x + (size_t)me->i * k, *wr = w + (size_t)me->j * k;
    double sum = 0, sq = 0;
    for (int t = threadIdx.x; t < k; t += blockDim.x) {
        double p = (double)vk_load(xr + t) * (double)vk_load(wr + t);
        sum += p;
        sq += p * p;
    }
    sum_s[threadIdx.x] = sum;
    sq_s[threadIdx.x] = sq;
    __syncthreads();
    for (int h = blockDim.x / 2; h > 0; h /= 2) {
        if ((int)threadIdx.x < h) {
            sum_s[threadIdx.x] += sum_s[threadIdx.x + h];
            sq_s[threadIdx.x] += sq_s[threadIdx.x + h];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        me->ref = sum_s[0];
        me->rms = sqrt(sq_s[0]);
        me->got = __bfloat162float(y[(size_t)me->i * n + me->j]);
    }
}

/* The elements to check: the four corners, then hashed positions. */
static std::vector<sample> pick_samples(const gemm_shape *g)
{
    std::vector<sample> v;
    const int corners[4][2] = {{0, 0}, {0, g->n - 1}, {g->m - 1, 0}, {g->m - 1, g->n - 1}};
    for (int c = 0; c < 4; c++) {
        sample s = {corners[c][0], corners[c][1], 0, 0, 0};
        v.push_back(s);
    }
    long long total = (long long)g->m * g->n;
    for (uint64_t h = 0; (long long)v.size() < std::min<long long>(MAX_SAMPLES, total + 4); h++) {
        uint64_t r = vk_mix(h ^ 0x67656D6Dull) % (uint64_t)total;
        sample s = {(int)(r / g->n), (int)(r % g->n), 0, 0, 0};
        v.push_back(s);
    }
    return v;
}

template <class T>
static void check_samples(const char *kname, const gemm_prec *p, const gemm_shape *g,
                          const char *shape, const void *x, const void *w, const __nv_bfloat16 *y,
                          int copy)
{
    std::vector<sample> hs = pick_samples(g);
    sample *ds;
    CUDA_CHECK(cudaMalloc(&ds, hs.size() * sizeof *ds));
    CUDA_CHECK(cudaMemcpy(ds, hs.data(), hs.size() * sizeof *ds, cudaMemcpyHostToDevice));
    ref_kernel<T><<<(unsigned)hs.size(), 128>>>((const T *)x, (const T *)w, y, g->n, g->k, ds);
    LAUNCH_CHECK();
    CUDA_CHECK(cudaMemcpy(hs.data(), ds, hs.size() * sizeof *ds, cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaFree(ds));
    for (const sample &s : hs) {
        double tol = std::ldexp(std::fabs(s.ref), -7) + std::ldexp(s.rms, -5);
        if (!std::isfinite(s.got) || std::fabs((double)s.got - s.ref) > tol)
            vk_die("%s %s %s: wrong result in copy %d at Y[%d][%d]: got %.6g, FP64 "
                   "reference %.6g, tolerance %.3g (2^-7 |ref| + 2^-5 sqrt(sum (x w)^2))",
                   kname, p->name, shape, copy, s.i, s.j, (double)s.got, s.ref, tol);
    }
}

/* ---- sustained: back to back for seconds ------------------------------- */

typedef struct sustain_timing {
    double median_s;     /* median over the window's segments of the time of one op */
    double min_s, max_s; /* the window's fastest and slowest segment, per op */
    double first_s;      /* the soak's first segment, per op: before the clock settles */
    double soak_s;       /* host time from the soak's start to its end */
    int soak_segments;   /* segments in the soak */
    int segments;        /* segments in the timed window: the row's runs */
    int iters;           /* back-to-back ops in each segment */
} sustain_timing;

static double host_now_s(void)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

/* Times enqueue(i) (as vk_time does) at the power-limited steady state:
 * o->warmup untimed calls, one timed call to size the segments, then
 * segments of `iters` back-to-back calls, each ended by a CUDA event: first
 * a soak of at least soak_s seconds (host clock, checked after each segment
 * ends), then a window of a fixed number of segments whose median time of
 * one op is the result. Segment j runs between events E_j and E_(j+1)
 * (a ring of three events); segment j+1 is queued before the host waits for
 * E_(j+1), so the GPU always has the next segment queued and never idles. */
template <class F> static sustain_timing time_sustained(const vk_opts *o, double soak_s, F enqueue)
{
    const double seg_s = o->quick ? 0.1 : 0.25;
    const int window = o->quick ? 10 : 20;
    cudaEvent_t ev[3];
    for (int i = 0; i < 3; i++)
        CUDA_CHECK(cudaEventCreate(&ev[i]));
    long calls = 0;
    for (int i = 0; i < o->warmup; i++)
        enqueue(calls++);
    CUDA_CHECK(cudaDeviceSynchronize());

    float ms = 0;
    CUDA_CHECK(cudaEventRecord(ev[0], 0));
    enqueue(calls++);
    CUDA_CHECK(cudaEventRecord(ev[1], 0));
    CUDA_CHECK(cudaEventSynchronize(ev[1]));
    CUDA_CHECK(cudaEventElapsedTime(&ms, ev[0], ev[1]));
    double one_s = std::max(1e-7, ms * 1e-3);
    int iters = (int)std::min<double>(100000, std::max(1.0, std::ceil(seg_s / one_s)));

    std::vector<double> t; /* t[j]: time of one op in segment j */
    int soak_segments = -1, j = 0;
    double t0 = host_now_s(), soak_host_s = 0;
    CUDA_CHECK(cudaEventRecord(ev[0], 0));
    for (;; j++) {
        for (int i = 0; i < iters; i++)
            enqueue(calls++);
        CUDA_CHECK(cudaEventRecord(ev[(j + 1) % 3], 0));
        if (j >= 1) { /* segment j-1 is done once E_j is */
            CUDA_CHECK(cudaEventSynchronize(ev[j % 3]));
            CUDA_CHECK(cudaEventElapsedTime(&ms, ev[(j - 1) % 3], ev[j % 3]));
            t.push_back(ms * 1e-3 / iters);
        }
        if (soak_segments < 0 && host_now_s() - t0 >= soak_s) {
            soak_segments = j + 1; /* segments 0..j soak (j is queued) */
            soak_host_s = host_now_s() - t0;
        }
        if (soak_segments >= 0 && j + 1 == soak_segments + window)
            break;
    }
    CUDA_CHECK(cudaEventSynchronize(ev[(j + 1) % 3]));
    CUDA_CHECK(cudaEventElapsedTime(&ms, ev[j % 3], ev[(j + 1) % 3]));
    t.push_back(ms * 1e-3 / iters);
    LAUNCH_CHECK();
    for (int i = 0; i < 3; i++)
        CUDA_CHECK(cudaEventDestroy(ev[i]));
    if ((int)t.size() != soak_segments + window)
        vk_die("internal: sustained timing has %zu segments, expected %d", t.size(),
               soak_segments + window);

    std::vector<double> w(t.begin() + soak_segments, t.end());
    sustain_timing res;
    res.median_s = vk_median(w);
    res.min_s = *std::min_element(w.begin(), w.end());
    res.max_s = *std::max_element(w.begin(), w.end());
    res.first_s = t[0];
    res.soak_s = soak_host_s;
    res.soak_segments = soak_segments;
    res.segments = window;
    res.iters = iters;
    return res;
}

/* Measures one shape and prints its row; returns 1 if it did, 0 if the
 * shape was skipped (no memory, or no cuBLASLt algorithm for it). With
 * sustain_s > 0 the row is the sustained one (gemm_cublaslt_sustained,
 * kind gemm_train, soaked for sustain_s seconds), else the usual burst. */
static int run_shape(const vk_device *d, const vk_opts *o, cublasLtHandle_t lt, void *workspace,
                     const float *one_d, const gemm_prec *p, const gemm_shape *g, double sustain_s)
{
    int measured = 0;
    const char *kname = sustain_s > 0 ? "gemm_cublaslt_sustained" : "gemm_cublaslt";
    char shape[64];
    snprintf(shape, sizeof shape, "M=%d N=%d K=%d", g->m, g->n, g->k);
    const size_t M = g->m, N = g->n, K = g->k;
    const size_t align = 256;
    size_t xb = (M * K * p->in_bytes + align - 1) / align * align;
    size_t wb = (N * K * p->in_bytes + align - 1) / align * align;
    size_t yb = (M * N * 2 + align - 1) / align * align;
    size_t set_bytes = xb + wb + yb;
    int sets = vk_rotation_sets(d, set_bytes, 0);
    if (sets == 0) {
        vk_note("%s %s %s: skipped, %zu bytes do not fit in free memory", kname, p->name, shape,
                set_bytes);
        return 0;
    }

    /* cuBLASLt's view: D (N x M) = op(A) op(B), A = W (K x N, T), B = X (K x M, N). */
    cublasLtMatmulDesc_t desc;
    CUBLAS_CHECK(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    if (p->in_bytes == 1) {
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER,
                                                    &one_d, sizeof one_d));
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER,
                                                    &one_d, sizeof one_d));
    }
    cublasLtMatrixLayout_t la, lb, lc;
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&la, p->type, K, N, K));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&lb, p->type, K, M, K));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&lc, CUDA_R_16BF, N, M, N));
    cublasLtMatmulPreference_t pref;
    CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    uint64_t ws = WORKSPACE_BYTES;
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
    cublasLtMatmulHeuristicResult_t heur;
    memset(&heur, 0, sizeof heur);
    int found = 0;
    cublasStatus_t heuristic_status =
        cublasLtMatmulAlgoGetHeuristic(lt, desc, la, lb, lc, lc, pref, 1, &heur, &found);
    if (heuristic_status != CUBLAS_STATUS_SUCCESS &&
        heuristic_status != CUBLAS_STATUS_NOT_SUPPORTED)
        CUBLAS_CHECK(heuristic_status);
    if (heuristic_status == CUBLAS_STATUS_NOT_SUPPORTED || found == 0) {
        vk_note("%s %s %s: skipped, cuBLASLt has no algorithm for it", kname, p->name, shape);
        goto out_desc;
    }

    {
        char *pool;
        CUDA_CHECK(cudaMalloc(&pool, (size_t)sets * set_bytes));
        std::vector<void *> x(sets), w(sets);
        std::vector<__nv_bfloat16 *> y(sets);
        for (int i = 0; i < sets; i++) {
            char *base = pool + (size_t)i * set_bytes;
            x[i] = base;
            w[i] = base + xb;
            y[i] = (__nv_bfloat16 *)(base + xb + wb);
            uint64_t seed = 0x5EED0000ull + 64 * (uint64_t)i;
            if (p->in_bytes == 1) {
                vk_fill(d, (__nv_fp8_e4m3 *)x[i], M * K, seed, 1.0f);
                vk_fill(d, (__nv_fp8_e4m3 *)w[i], N * K, seed + 1, 1.0f);
            } else {
                vk_fill(d, (__nv_bfloat16 *)x[i], M * K, seed, 1.0f);
                vk_fill(d, (__nv_bfloat16 *)w[i], N * K, seed + 1, 1.0f);
            }
            vk_poison(y[i], M * N * 2);
        }
        const float alpha = 1.0f, beta = 0.0f;
        auto enqueue = [&](long it) {
            int s = (int)(it % sets);
            CUBLAS_CHECK(cublasLtMatmul(lt, desc, &alpha, w[s], la, x[s], lb, &beta, y[s], lc, y[s],
                                        lc, &heur.algo, workspace, WORKSPACE_BYTES, 0));
        };

        for (int i = 0; i < sets; i++)
            enqueue(i);
        CUDA_CHECK(cudaDeviceSynchronize());
        for (int i = 0; i < sets; i++) {
            unsigned long long bad = vk_count_nonfinite_bf16(d, y[i], M * N);
            if (bad)
                vk_die("%s %s %s: wrong result: %llu of %zu outputs of copy %d are "
                       "not finite (unwritten or overflowed)",
                       kname, p->name, shape, bad, M * N, i);
        }
        for (int i = 0; i < sets; i += std::max(1, sets - 1)) {
            if (p->in_bytes == 1)
                check_samples<__nv_fp8_e4m3>(kname, p, g, shape, x[i], w[i], y[i], i);
            else
                check_samples<__nv_bfloat16>(kname, p, g, shape, x[i], w[i], y[i], i);
        }

        vk_row r;
        memset(&r, 0, sizeof r);
        r.kernel = kname;
        r.kind = sustain_s > 0 ? "gemm_train" : "gemm";
        snprintf(r.shape, sizeof r.shape, "%s", shape);
        r.precision = p->name;
        r.m = g->m;
        r.n = g->n;
        r.k = g->k;
        r.flops = 2.0 * M * N * K;
        r.bytes = (double)(M * K + K * N) * p->in_bytes + (double)(M * N) * 2;
        if (sustain_s > 0) {
            vk_note("%s %s %s: checked, %d copies; soaking for %g s", kname, p->name, shape, sets,
                    sustain_s);
            sustain_timing st = time_sustained(o, sustain_s, enqueue);
            r.time_s = st.median_s;
            r.runs = st.segments;
            vk_print_row(&r);
            vk_note("%s %s %s: ok, soak %.1f s (%d segments of %d ops), first segment %.1f "
                    "TFLOP/s; window of %d segments: median %.1f TFLOP/s (slowest %.1f, fastest "
                    "%.1f)",
                    kname, p->name, shape, st.soak_s, st.soak_segments, st.iters,
                    r.flops / st.first_s * 1e-12, st.segments, r.flops / st.median_s * 1e-12,
                    r.flops / st.max_s * 1e-12, r.flops / st.min_s * 1e-12);
        } else {
            vk_timing t = vk_time(o, 1000, enqueue);
            r.time_s = t.median_s;
            r.runs = t.runs;
            vk_print_row(&r);
            vk_note("gemm_cublaslt %s %s: ok, %d copies, %d ops a run, %.1f TFLOP/s, %.1f GB/s",
                    p->name, shape, sets, t.iters, r.flops / t.median_s * 1e-12,
                    r.bytes / t.median_s * 1e-9);
        }
        CUDA_CHECK(cudaFree(pool));
        measured = 1;
    }

out_desc:
    CUBLAS_CHECK(cublasLtMatmulPreferenceDestroy(pref));
    CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(la));
    CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(lb));
    CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(lc));
    CUBLAS_CHECK(cublasLtMatmulDescDestroy(desc));
    return measured;
}

int main(int argc, char **argv)
{
    vk_prog = "vk_gemm";
    /* --sustain-s S is this program's own; the rest go to vk_parse_args. */
    double sustain_s = -1;
    std::vector<char *> args(argv, argv + argc);
    for (size_t i = 1; i < args.size(); i++) {
        if (strcmp(args[i], "--sustain-s") != 0)
            continue;
        char *end = NULL;
        double v = i + 1 < args.size() ? strtod(args[i + 1], &end) : -1;
        if (!end || end == args[i + 1] || *end != '\0' || !(v >= 0 && v <= 600)) {
            fprintf(stderr, "%s: --sustain-s takes seconds from 0 to 600 (try --help)\n", vk_prog);
            exit(2);
        }
        sustain_s = v;
        args.erase(args.begin() + i, args.begin() + i + 2);
        i--;
    }
    vk_opts o = vk_parse_args((int)args.size(), args.data(),
                              "GEMM: cuBLASLt BF16 and (compute capability >= 8.9) FP8 E4M3, "
                              "Y = X W^T, output BF16.\n"
                              "  --sustain-s S  soak before timing the sustained rows "
                              "(gemm_cublaslt_sustained,\n"
                              "                 kind gemm_train), seconds: 20, 3 with --quick; "
                              "0 leaves them out");
    if (sustain_s < 0)
        sustain_s = o.quick ? 3 : 20;
    vk_device d = vk_device_open();
    vk_print_device(&d);

    std::vector<gemm_shape> shapes;
    if (o.quick) {
        shapes = {{4096, 4096, 4096}, {8, 7168, 7168}, {32, 4096, 7168}};
    } else {
        /* Large squares: compute bound. */
        for (int s : {1024, 2048, 4096, 8192, 16384})
            shapes.push_back({s, s, s});
        /* Decode: a few tokens against a weight matrix (N x K): hidden
         * sizes of 4096 (Llama 3 8B) and 7168 (DeepSeek-V3), an MLP
         * up/down pair of 4096 <-> 16384. */
        const int nk[4][2] = {{4096, 4096}, {7168, 7168}, {16384, 4096}, {4096, 16384}};
        for (int m : {1, 8, 64, 128})
            for (int i = 0; i < 4; i++)
                shapes.push_back({m, nk[i][0], nk[i][1]});
        /* From decode to prefill on one weight matrix. */
        for (int m : {256, 512, 1024, 2048})
            shapes.push_back({m, 7168, 7168});
        /* MoE experts with few tokens: DeepSeek-V3's routed expert, gate and
         * up fused (N 2 x 2048, K 7168) and down (N 7168, K 2048). */
        for (int m : {16, 32, 64}) {
            shapes.push_back({m, 4096, 7168});
            shapes.push_back({m, 7168, 2048});
        }
    }

    /* Sustained, training-like shapes: a square the size of a large model's
     * projections and one with twice the tokens. */
    std::vector<gemm_shape> sustained_shapes = {{8192, 8192, 8192}};
    if (!o.quick)
        sustained_shapes.push_back({16384, 8192, 8192});

    std::vector<gemm_prec> precs = {{"bf16", CUDA_R_16BF, 2}};
    if (d.cc_major * 10 + d.cc_minor >= 89)
        precs.push_back({"fp8", CUDA_R_8F_E4M3, 1});
    else
        vk_note("compute capability %d.%d < 8.9: no FP8, BF16 only", d.cc_major, d.cc_minor);

    cublasLtHandle_t lt;
    CUBLAS_CHECK(cublasLtCreate(&lt));
    void *workspace;
    float *one_d, one = 1.0f;
    CUDA_CHECK(cudaMalloc(&workspace, WORKSPACE_BYTES));
    CUDA_CHECK(cudaMalloc(&one_d, sizeof *one_d));
    CUDA_CHECK(cudaMemcpy(one_d, &one, sizeof one, cudaMemcpyHostToDevice));
    for (const gemm_prec &p : precs) {
        int measured = 0;
        for (const gemm_shape &g : shapes)
            measured += run_shape(&d, &o, lt, workspace, one_d, &p, &g, 0);
        /* Every shape skipped means the set-up is wrong, not the shapes. */
        if (measured == 0)
            vk_die("gemm_cublaslt %s: cuBLASLt ran none of the %zu shapes", p.name, shapes.size());
    }
    /* After every burst row, so the soak's heat does not change those. */
    for (const gemm_prec &p : precs) {
        if (!(sustain_s > 0))
            break;
        int measured = 0;
        for (const gemm_shape &g : sustained_shapes)
            measured += run_shape(&d, &o, lt, workspace, one_d, &p, &g, sustain_s);
        if (measured == 0)
            vk_die("gemm_cublaslt_sustained %s: cuBLASLt ran none of the %zu shapes", p.name,
                   sustained_shapes.size());
    }
    CUDA_CHECK(cudaFree(one_d));
    CUDA_CHECK(cudaFree(workspace));
    CUBLAS_CHECK(cublasLtDestroy(lt));
    return 0;
}
