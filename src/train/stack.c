/* stack: see stack.h. */
#include "train/stack.h"

#include <string.h>

/* Megatron's pipeline transfers (megatron/core/pipeline_parallel/
 * p2p_communication.py, and 2021's megatron/p2p_communication.py) wait on
 * their requests before the schedule issues the next compute: a send holds
 * its rank. */
#define P2P_SOURCE                                                                                 \
    "Pipeline: p2p_communication._communicate waits on its requests (wait_on_reqs) before the "    \
    "next compute, so a send holds its rank; each rank sends its sequence-parallel shard "         \
    "(2021: the scatter/gather of Narayanan et al. §4.1), 1/tp of the activation"

/* Megatron's unfused vocab-parallel cross entropy, pass by pass over the
 * logits (megatron/core/tensor_parallel/cross_entropy.py, the same in 2021's
 * mpu/cross_entropy.py): forward, a BF16-to-FP32 copy (2 + 4 bytes), the
 * max (4), subtracting it in place (8), exp in place (8), the sum (4),
 * the softmax kept for the backward (8): 38 bytes a logit; backward, the
 * gradient scaled in place (8) and cast back to BF16 (4 + 2): 14. */
#define LOSS_SOURCE                                                                                \
    "Loss: megatron/core/tensor_parallel/cross_entropy.py (vocab-parallel cross entropy in FP32, " \
    "unfused): 38 bytes of HBM traffic a logit forward, 14 backward, counted pass by pass"

/* Transformer Engine picks cuDNN's fused attention over FlashAttention on
 * Hopper (DotProductAttention's backend choice since NVIDIA/TransformerEngine
 * 225b560e9, 2023-12-01; FlashAttention-3 joined only in late 2024), so
 * Megatron-Core's 2024 runs attended with cuDNN 9.1, whose kernels have
 * rows of their own in validation/published.csv (the kinds
 * attention_te2024 and attention_bwd_te2024). */
#define ATTN_2024_SOURCE                                                                           \
    "Attention: Transformer Engine's DotProductAttention prefers cuDNN's fused attention on "      \
    "Hopper (its backend choice since NVIDIA/TransformerEngine 225b560e9, 2023-12-01), "           \
    "timed as cuDNN 9.1 ran it (calibration kinds attention_te2024 and attention_bwd_te2024)"

/* Megatron-Core's embedding gradient, per micro-batch (megatron/core/
 * tensor_parallel/layers.py at f2e5db402c: VocabParallelEmbedding runs
 * F.embedding, whose CUDA backward, embedding_dense_backward, fills a dense
 * zero gradient of the whole table, 2 bytes an element in BF16, before
 * adding the rows the tokens touched; megatron/core/distributed/
 * distributed_data_parallel.py _make_param_hook then adds param.grad to
 * the FP32 main_grad, gradient-accumulation fusion covering only the
 * linear layers: 4 + 2 read, 4 written): 12 bytes an element. Once a step,
 * over every local parameter's FP32 gradient (param_and_grad_buffer.py):
 * reset() zeroes the buffer (grad_data.zero_(), 4 bytes written) and, with
 * check_for_nan_in_grad (on unless --no-check-for-nan-in-loss-and-grad),
 * start_grad_sync takes each bucket's norm before its reduction (4 read):
 * 8 bytes a parameter. */
#define GRAD_BUFFER_SOURCE                                                                         \
    "Embedding gradient and gradient buffer (Megatron-LM f2e5db402c): F.embedding's backward "     \
    "fills a dense zero BF16 gradient of the whole table and _make_param_hook adds it to the "     \
    "FP32 main_grad (12 bytes a table element a micro-batch); each step zeroes the FP32 "          \
    "gradient buffer (ParamAndGradBuffer.reset) and takes each bucket's norm before its "          \
    "reduction (check_for_nan_in_grad, on by default): 8 bytes a parameter"

/* How SC21's runs kept their gradients: --fp16 (examples/sc21/CONFIG.sh)
 * without --accumulate-allreduce-grads-in-fp32 leaves Megatron's DDP with
 * no contiguous FP32 buffer (megatron/model/distributed.py), so each
 * micro-batch's weight gradient lands in param.grad through autograd,
 * which adds it in place to the earlier ones': 2 bytes read of each and 2
 * written, for every micro-batch after the first. The fusion of that sum
 * into the weight-gradient GEMM came later (83b1e42, 2022-02-13). */
#define GRAD_2021_SOURCE                                                                           \
    "Gradients as SC21's runs kept them (NVIDIA/Megatron-LM v2.5, e269e20, 2021-08-10: "           \
    "examples/sc21/CONFIG.sh --fp16; megatron/model/distributed.py: without "                      \
    "--accumulate-allreduce-grads-in-fp32 no contiguous FP32 buffer): FP16 in param.grad, each "   \
    "micro-batch's added by autograd in place to the earlier ones' (6 bytes a parameter: both "    \
    "read, the sum written), every micro-batch after the first; the sum was fused into the "       \
    "weight-gradient GEMM only in 2022 (83b1e42, 'gradient accumulation fusion')"
/* The libraries SC21's runs linked (CUDA 11) sustained less on an A100
 * than today's: their training GEMMs take the rows measured with CUDA 11
 * where a family has them. */
#define GEMM_2021_SOURCE                                                                           \
    "Training GEMMs timed by the gemm_train_cuda11 rows, GEMMs run back to back for seconds "      \
    "with CUDA 11's libraries (mli/transformers-benchmarks, CUDA 11.7: 230 TFLOP/s on an A100): "  \
    "Megatron-LM v2.5 (e269e20) was tested with NGC's PyTorch 20.12 (CUDA 11.1); CUDA 12.8's "     \
    "libraries sustain 270 on an A100 SXM4 (huggingface/gpu-fryer), the gemm_train row the "       \
    "other stacks use"
#define RUNS_2021_SOURCE                                                                           \
    "Narayanan et al., Efficient Large-Scale Language Model Training on GPU "                      \
    "Clusters Using Megatron-LM, SC21, arXiv:2104.04473, §4.2 (fused kernels: "                   \
    "bias+GeLU, bias+dropout+add, scale+mask+softmax; the attention scores go "                    \
    "through HBM) and §3 (tensor-parallel all-reduces on the critical path); "                    \
    "Megatron-LM v2 megatron/model/transformer.py (baddbmm scores, FusedScaleMaskSoftmax, "        \
    "attention and hidden dropout 0.1 for GPT); sequence parallelism came in "                     \
    "2022 (Korthikanti et al., arXiv:2205.05198). " LOSS_SOURCE ". " P2P_SOURCE                    \
    ". " GRAD_2021_SOURCE ". " GEMM_2021_SOURCE

/* What both SC21 stacks run, whichever DDP. */
#define SC21_KERNELS                                                                               \
    .attention = STACK_ATTN_MATERIALIZED, .gemm_train_kind = "gemm_train_cuda11", .dropout = 1,    \
    .sequence_parallel = 0, .tp_overlap = 0, .p2p_blocking = 1, .grad_accum_B = 6,                 \
    .loss_fp32_B_fwd = 38, .loss_fp32_B_bwd = 14

static const stack stacks[] = {
    {
        .name = "megatron-2021",
        SC21_KERNELS,
        .dp_overlap = 0,
        .summary = "Megatron-LM as of SC21, its own (local) DDP: materialized attention with a "
                   "fused scale-mask-softmax, dropout, no sequence parallelism, FP16 gradients "
                   "summed over micro-batches by a kernel of their own, no overlap",
        .source = RUNS_2021_SOURCE ". Local DDP (--DDP-impl local, SC21's runs of 39B and up: "
                                   "examples/sc21/run_table_1.sh) all-reduces the gradients "
                                   "after the backward (megatron/training.py "
                                   "allreduce_gradients)",
    },
    {
        .name = "megatron-2021-torch-ddp",
        SC21_KERNELS,
        .dp_overlap = 1,
        .dp_bucket_params = 25 * 1048576 / 2, /* 25 MiB of FP16 gradients */
        .summary = "Megatron-LM as of SC21 on PyTorch's DDP: as megatron-2021, but the "
                   "gradient all-reduce runs in 25 MiB buckets under the last micro-batch's "
                   "backward",
        .source = RUNS_2021_SOURCE ". PyTorch DDP (--DDP-impl torch, SC21's runs of 1.7B to "
                                   "18B: examples/sc21/run_table_1.sh): megatron/schedules.py "
                                   "runs every micro-batch but the last under model.no_sync, so "
                                   "the last one's backward all-reduces the gradients in DDP's "
                                   "buckets as they are ready (torch.nn.parallel."
                                   "DistributedDataParallel bucket_cap_mb 25); it has no "
                                   "weight all-gather",
    },
    {
        .name = "megatron-core-2024",
        .attention = STACK_ATTN_FLASH,
        .attn_fwd_kind = "attention_te2024",
        .attn_bwd_kind = "attention_bwd_te2024",
        .dropout = 0,
        .sequence_parallel = 1,
        .tp_overlap = 1,
        .tp_overlap_sms = 16,
        .dp_overlap = 1,
        .dp_bucket_params = 40e6,
        .dp_bucket_per_rank = 1e6,
        .p2p_blocking = 1,
        .grad_B = 4,
        .wgrad_out_B = 8,
        .loss_fp32_B_fwd = 38,
        .loss_fp32_B_bwd = 14,
        .embed_grad_B = 12,
        .grad_buffer_step_B = 8,
        .summary = "Megatron-Core with Transformer Engine: fused attention, sequence "
                   "parallelism, TP communication overlap, DP overlap in buckets",
        .source =
            "NVIDIA/Megatron-LM README, Performance Benchmarking (2024): "
            "--overlap-grad-reduce, --overlap-param-gather, TP communication overlap; "
            "megatron/core/distributed/distributed_data_parallel_config.py: bucket_size "
            "default max(40000000, 1000000 x dp_size) parameters; Transformer Engine "
            "userbuffers overlap the sequence-parallel all-gather and reduce-scatter with "
            "the GEMMs in tp chunks, each overlap's kernels holding 16 SMs by default "
            "(transformer_engine/pytorch/module/base.py initialize_ub, add_ub num_sm=16, "
            "NVIDIA/TransformerEngine commit 0004dbd). Dropout 0 is assumed (modern pre-training "
            "settings; the README does not say, and Megatron's defaults at f2e5db402c are 0.1 "
            "for both --hidden-dropout and --attention-dropout, whose cost inside cuDNN's fused "
            "attention has no measurement here). " ATTN_2024_SOURCE ". " LOSS_SOURCE ". " P2P_SOURCE
            ". " GRAD_BUFFER_SOURCE ". Gradients: BF16 training accumulates and "
            "reduces them in FP32 (megatron/training/arguments.py at f2e5db402c, the commit of "
            "the 2024 table: 'bfloat16 requires gradient accumulation and all-reduce to be done "
            "in fp32', with no way out; --grad-reduce-in-bf16 came in d165a8548b, Feb 2025), and "
            "each weight-gradient GEMM adds its result to that FP32 buffer itself "
            "(--gradient-accumulation-fusion, on unless --no-gradient-accumulation-fusion; "
            "Transformer Engine's fuse_wgrad_accumulation): 4 bytes read and 4 written an "
            "element",
    },
    {
        .name = "deepseek-v3",
        .attention = STACK_ATTN_FLASH,
        .dropout = 0,
        .sequence_parallel = 1,
        .tp_overlap = 0,
        .dp_overlap = 0,
        .summary = "DeepSeek's HAI-LLM for V3: fused attention, DualPipe overlap (set by "
                   "the schedule), data-parallel reduction after the backward",
        .source = "DeepSeek-V3 Technical Report, arXiv:2412.19437, §3.2 (DualPipe overlaps "
                  "the expert-parallel traffic; no tensor parallelism); how its ZeRO-1 "
                  "gradient reduction is scheduled is not described, so it is not overlapped",
    },
    {
        .name = "plain",
        .attention = STACK_ATTN_FLASH,
        .dropout = 0,
        .sequence_parallel = 1,
        .tp_overlap = 0,
        .dp_overlap = 0,
        .summary = "fused attention, no overlap of tensor- or data-parallel communication",
        .source = "megasim's reference: no software-specific overlap",
    },
};

#define NSTACKS (sizeof stacks / sizeof stacks[0])

const stack *stack_find(const char *name)
{
    for (size_t i = 0; name && i < NSTACKS; i++)
        if (strcmp(stacks[i].name, name) == 0)
            return &stacks[i];
    return NULL;
}

const stack *stack_or_plain(const char *name)
{
    const stack *s = name ? stack_find(name) : NULL;
    return s ? s : stack_find("plain");
}

const stack *stack_default(const chip *c)
{
    if (strcmp(c->family, "ampere") == 0)
        return stack_find("megatron-2021");
    if (strcmp(c->family, "hopper") == 0 || strncmp(c->family, "blackwell", 9) == 0)
        return stack_find("megatron-core-2024");
    return stack_find("plain");
}

double stack_grad_B(const stack *s, double recipe_grad_B)
{
    return s->grad_B > recipe_grad_B ? s->grad_B : recipe_grad_B;
}

const char *stack_list(void)
{
    return "megatron-2021, megatron-2021-torch-ddp, megatron-core-2024, deepseek-v3, plain";
}
