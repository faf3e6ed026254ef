package dev.mamba.kernels;

/**
 * A compute backend: owns tensors and runs the Mamba operators on them. The model is written once
 * against this interface; the pure-Java CPU backend is the reference, the CUDA backend keeps every
 * tensor on the device.
 *
 * <h2>Batch layout</h2>
 * A forward call processes {@code B} lanes of {@code T} steps. Activation row {@code m = b·T + t}
 * holds lane {@code b}, step {@code t}. {@code lens} is an I32 tensor [B, 1] with
 * {@code 0 ≤ lens[b] ≤ T}: steps {@code t ≥ lens[b]} are padding; their outputs are unspecified and
 * they never change a state. State tensors have one row per lane.
 *
 * <h2>Threads and ownership</h2>
 * Methods may be called from several threads on distinct output tensors (an implementation may
 * serialize them). Every tensor returned by {@link #allocate} is owned by the backend and freed by
 * {@link #free} or {@link #close}; views share their parent's storage. {@link #close} runs once.
 */
public interface Backend extends AutoCloseable {

    /** Short name: {@code cpu} or {@code cuda}. */
    String name();

    /** One line naming device, driver, threads and precision, for logs and {@code info}. */
    String describe();

    /** Arithmetic mode of this backend's matrix products. */
    Precision precision();

    /** Element type the backend uses for activations between operators (F32, or BF16 in bf16 mode). */
    DType activationType();

    /** Element type the backend stores matrix weights in (F32, or BF16 in bf16 mode). */
    DType matrixWeightType();

    // ---------------------------------------------------------------- memory

    /** A new zero-filled tensor. */
    Tensor allocate(String name, int rows, int cols, DType dtype);

    /** Frees a tensor returned by {@link #allocate} (not a view); freeing twice is an error. */
    void free(Tensor t);

    /** Bytes currently held by tensors of this backend (device bytes for CUDA). Zero after close. */
    long bytesAllocated();

    /** Copies {@code t.elements()} floats from {@code src[offset..]} into {@code t} (converting to its dtype). */
    void write(Tensor dst, float[] src, int offset);

    /** Copies {@code t.elements()} ints into an I32 tensor. */
    void write(Tensor dst, int[] src, int offset);

    /**
     * Copies {@code dst.elements()} 32-bit little-endian elements from {@code src} (position to limit;
     * a direct buffer such as an Arrow buffer's {@code nioBuffer()} avoids a heap copy): ints for an I32
     * tensor, floats for F32 or BF16 (converted). The buffer's position is not changed.
     */
    void write(Tensor dst, java.nio.ByteBuffer src);

    /** Copies a F32/BF16 tensor to {@code dst[offset..]} as floats, row after row. */
    void read(Tensor src, float[] dst, int offset);

    /** Copies an I32 tensor to {@code dst[offset..]}. */
    void read(Tensor src, int[] dst, int offset);

    /** Sets every element of {@code t} to {@code value}. */
    void fill(Tensor t, float value);

    /** {@code dst = src}; same shape; dtypes may differ between F32 and BF16. */
    void copy(Tensor src, Tensor dst);

    /** Waits for queued work; reads are already synchronous. */
    default void synchronize() {
    }

    /**
     * Whether the first forward at a new batch shape does one-time work (kernel choice by timing, code
     * loading) that is worth running ahead, on a throwaway batch, while the data is still being planned.
     */
    default boolean warmsUpPerShape() {
        return false;
    }

    /** Allocates and fills a tensor in one step. */
    default Tensor upload(String name, float[] data, int rows, int cols, DType dtype) {
        Tensor t = allocate(name, rows, cols, dtype);
        write(t, data, 0);
        return t;
    }

    /**
     * Uploads a matrix weight (the {@code w} of {@link #linear} calls only) in {@link #matrixWeightType()}.
     * A backend may store it pre-processed for its GEMMs, as long as linear gives the same results.
     */
    default Tensor uploadMatrix(String name, float[] data, int rows, int cols) {
        return upload(name, data, rows, cols, matrixWeightType());
    }

    // ---------------------------------------------------------------- operators

    /** {@code out[m, :] = table[ids[m], :]}; ids are I32 [M, 1] and already checked against the table. */
    void embedding(Tensor ids, Tensor table, Tensor out);

    /**
     * {@code out = (accumulate ? out : 0) + x · wᵀ + bias}: x [M, K], w [N, K] (PyTorch's Linear layout),
     * bias [1, N] or null, out [M, N].
     */
    void linear(Tensor x, Tensor w, Tensor bias, Tensor out, boolean accumulate);

    /** {@code out = x · rsqrt(mean(x²) + eps) · weight}, row by row; x [M, H], weight [1, H]. */
    void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out);

    /** {@code out += x}, same shape. */
    void add(Tensor x, Tensor out);

    /**
     * Allocates an activation [rows, cols] of {@link #activationType()} that is only ever read as the x of
     * {@link #linear}: a backend may keep it at its GEMM input precision (CUDA in TF32 mode: the norm and
     * scan kernels that write it round to tf32, so the GEMM needs no rounding pass; results are the same).
     */
    default Tensor allocateGemmInput(String name, int rows, int cols) {
        return allocate(name, rows, cols, activationType());
    }

    /**
     * Whether, for a residual stream of {@code rows x hidden}, a block's output projection should add into the
     * F32 residual itself ({@link #linear} with accumulate) and the next norm be a plain {@link #rmsNorm},
     * rather than writing the output for {@link #addRmsNorm}. The two orders give the same sum; this is where a
     * backend's accumulating linear is cheaper than the norm's extra pass (CUDA bf16 on Hopper, large batches:
     * the adds go out through the TMA unit).
     */
    default boolean residualInLinear(int rows, int hidden) {
        return false;
    }

    /**
     * {@code residual += delta}, then {@code out = rmsNorm(residual)}: a block's output joining the residual
     * stream and the next norm in one pass (a backend may fuse them; the result equals {@link #add} then
     * {@link #rmsNorm}). residual is F32 [M, H]; delta and out [M, H] of any activation type.
     */
    default void addRmsNorm(Tensor delta, Tensor residual, Tensor weight, float eps, Tensor out) {
        add(delta, residual);
        rmsNorm(residual, weight, eps, out);
    }

    /**
     * Depthwise causal conv1d, bias and SiLU, continuing from a carried window.
     * x [B·T, D] (may be a column view), weight [D, K], bias [1, D] or null, state [B, D·(K−1)]
     * holding per channel d the K−1 previous inputs, oldest first, at {@code state[b, d·(K−1) + j]}.
     * For lane b and {@code t < lens[b]}, with {@code win = state_d ++ x[b, 0.., d]}:
     * {@code out[b·T+t, d] = silu(bias[d] + Σ_j weight[d, j] · win[t + j])}.
     * Afterwards state holds the last K−1 entries of {@code state_d ++ x[b, 0..lens[b], d]}.
     */
    void conv1dSilu(Tensor x, Tensor weight, Tensor bias, Tensor state, Tensor lens, Tensor out);

    /**
     * Mamba's conv and x_proj: {@link #conv1dSilu} into xc, then {@code out = xc · wᵀ} ({@link #linear}
     * without bias). xc [B·T, D] must hold the conv output afterwards (the scan reads it). Rows of a lane past
     * its length are unspecified in xc and out. A backend may fuse the two (CUDA bf16: one pass over x that
     * writes xc once and multiplies it on the tensor cores); this default runs them one after the other.
     */
    default void conv1dSiluLinear(Tensor x, Tensor convWeight, Tensor convBias, Tensor state, Tensor lens,
                                  Tensor xc, Tensor w, Tensor out) {
        conv1dSilu(x, convWeight, convBias, state, lens, xc);
        linear(xc, w, null, out, false);
    }

    /**
     * Selective scan from a carried state. u, dtRaw, z, y [B·T, D]; b, c [B·T, N]; dtBias, dSkip [1, D];
     * aNeg [D, N] (= −exp(A_log)); state [B, D·N] with {@code h[d, n]} at {@code state[b, d·N + n]}.
     * For lane b, {@code t < lens[b]}: {@code δ = softplus(dtRaw + dtBias[d])} (PyTorch's softplus,
     * threshold 20), {@code h = exp(δ·aNeg[d, n])·h + δ·b[m, n]·u[m, d]},
     * {@code y[m, d] = (Σ_n h·c[m, n] + dSkip[d]·u[m, d]) · (z == null ? 1 : silu(z[m, d]))}.
     * The final h of each lane is written back to state.
     */
    void selectiveScan(Tensor u, Tensor dtRaw, Tensor dtBias, Tensor aNeg, Tensor b, Tensor c,
                       Tensor dSkip, Tensor z, Tensor state, Tensor lens, Tensor y);

    /**
     * dt_proj and the selective scan together: {@code dt = dtIn · dtProjᵀ} (dtIn [rows, R], dtProj [D, R] as
     * {@link #uploadMatrix} left it), then {@link #selectiveScan} with that dt. A backend may compute dt
     * inside the scan (CUDA bf16 with -Dmamba.cuda.fusedDtProj=true: on the tensor cores, without writing
     * dt); this default writes it to {@code dtScratch} [rows, D] first.
     */
    default void selectiveScanProjected(Tensor u, Tensor dtIn, Tensor dtProj, Tensor dtScratch, Tensor dtBias,
                                        Tensor aNeg, Tensor b, Tensor c, Tensor dSkip, Tensor z, Tensor state,
                                        Tensor lens, Tensor y) {
        linear(dtIn, dtProj, null, dtScratch, false);
        selectiveScan(u, dtScratch, dtBias, aNeg, b, c, dSkip, z, state, lens, y);
    }

    /**
     * Per lane: {@code out[b, 0:H] = Σ_{t<lens[b]} hidden[b·T+t, :]} and {@code out[b, H:2H] =
     * hidden[b·T+lens[b]−1, :]} (zeros when lens[b] = 0). hidden [B·T, H], out F32 [B, 2H].
     */
    void laneSummary(Tensor hidden, Tensor lens, Tensor out);

    /**
     * Per row: {@code out[m] = logsumexp(logits[m, :]) − logits[m, targets[m]]}; NaN where
     * {@code targets[m] < 0}. logits [M, V], targets I32 [M, 1], out F32 [M, 1].
     */
    void tokenNll(Tensor logits, Tensor targets, Tensor out);

    /** Frees every tensor and the backend's native resources; runs once. */
    @Override
    void close();
}
