package dev.mamba.kernels.cpu;

import dev.mamba.kernels.Backend;
import dev.mamba.kernels.DType;
import dev.mamba.kernels.Precision;
import dev.mamba.kernels.Tensor;
import dev.mamba.kernels.cpu.gemm.Gemm;
import dev.mamba.kernels.cpu.gemm.Gemms;
import dev.mamba.kernels.cpu.gemm.PackedWeights;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/** The portable fp32 backend: Java arrays, a worker pool, the best available GEMM. */
public final class CpuBackend implements Backend {
    private final CpuParallel par;
    private final Gemm gemm;
    private final ScanKernel scan;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicLong bytes = new AtomicLong();
    private final Set<CpuTensor> live = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));

    /** A backend with {@code threads} workers; {@code threads ≤ 0} means one per available processor. */
    public CpuBackend(int threads) {
        this.par = new CpuParallel(threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
        this.gemm = Gemms.best();
        this.scan = ScanKernels.best();
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String describe() {
        return "cpu: " + par.threads() + " threads, gemm " + gemm.name() + ", scan " + scan.name() + ", fp32";
    }

    @Override
    public Precision precision() {
        return Precision.FP32;
    }

    @Override
    public DType activationType() {
        return DType.F32;
    }

    @Override
    public DType matrixWeightType() {
        return DType.F32;
    }

    /** Worker pool, for the GEMM benchmark. */
    public CpuParallel parallel() {
        return par;
    }

    /** The GEMM in use, for the benchmark. */
    public Gemm gemm() {
        return gemm;
    }

    private void open() {
        if (closed.get()) {
            throw new IllegalStateException("cpu backend has been closed already");
        }
    }

    private static CpuTensor t(Tensor x) {
        if (!(x instanceof CpuTensor)) {
            throw new IllegalArgumentException("tensor " + x.name() + " belongs to another backend");
        }
        CpuTensor c = (CpuTensor) x;
        if (c.root.freed) {
            throw new IllegalStateException("tensor " + c.name + " has been freed");
        }
        return c;
    }

    private static CpuTensor f32(Tensor x, String what) {
        CpuTensor c = t(x);
        if (c.dtype != DType.F32) {
            throw new IllegalArgumentException(what + " " + c.name + " must be F32, is " + c.dtype);
        }
        return c;
    }

    private static CpuTensor i32(Tensor x, String what) {
        CpuTensor c = t(x);
        if (c.dtype != DType.I32) {
            throw new IllegalArgumentException(what + " " + c.name + " must be I32, is " + c.dtype);
        }
        return c;
    }

    private static void shape(Tensor x, int rows, int cols, String op) {
        if (x.rows() != rows || x.cols() != cols) {
            throw new IllegalArgumentException(op + ": " + x.name() + " has shape " + x.shape() + ", expected ["
                    + rows + ", " + cols + "]");
        }
    }

    // ---------------------------------------------------------------- memory

    @Override
    public Tensor allocate(String name, int rows, int cols, DType dtype) {
        open();
        if (dtype == DType.BF16) {
            dtype = DType.F32; // the CPU backend keeps everything in fp32
        }
        CpuTensor c = new CpuTensor(name, dtype, rows, cols);
        bytes.addAndGet(4L * rows * cols);
        live.add(c);
        return c;
    }

    @Override
    public void free(Tensor x) {
        CpuTensor c = t(x);
        if (c.root != c) {
            throw new IllegalArgumentException("cannot free view of " + c.name + "; free the tensor it came from");
        }
        if (live.remove(c)) {
            c.freed = true;
            bytes.addAndGet(-4L * c.rows * c.cols);
        }
    }

    @Override
    public long bytesAllocated() {
        return bytes.get();
    }

    @Override
    public void write(Tensor dst, float[] src, int offset) {
        CpuTensor d = f32(dst, "write target");
        for (int r = 0; r < d.rows; r++) {
            System.arraycopy(src, offset + r * d.cols, d.f, d.at(r, 0), d.cols);
        }
        d.root.packed = null;
    }

    @Override
    public void write(Tensor dst, int[] src, int offset) {
        CpuTensor d = i32(dst, "write target");
        for (int r = 0; r < d.rows; r++) {
            System.arraycopy(src, offset + r * d.cols, d.i, d.at(r, 0), d.cols);
        }
    }

    @Override
    public void write(Tensor dst, java.nio.ByteBuffer src) {
        CpuTensor d = t(dst);
        java.nio.ByteBuffer le = src.duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN);
        long need = 4L * d.rows * d.cols;
        if (le.remaining() < need) {
            throw new IllegalArgumentException("write " + d.name + d.shape() + ": buffer holds " + le.remaining()
                    + " bytes, need " + need);
        }
        int p = le.position();
        for (int r = 0; r < d.rows; r++) {
            int a = d.at(r, 0);
            if (d.dtype == DType.I32) {
                for (int j = 0; j < d.cols; j++, p += 4) {
                    d.i[a + j] = le.getInt(p);
                }
            } else {
                for (int j = 0; j < d.cols; j++, p += 4) {
                    d.f[a + j] = le.getFloat(p);
                }
            }
        }
        d.root.packed = null;
    }

    @Override
    public void read(Tensor src, float[] dst, int offset) {
        CpuTensor s = f32(src, "read source");
        for (int r = 0; r < s.rows; r++) {
            System.arraycopy(s.f, s.at(r, 0), dst, offset + r * s.cols, s.cols);
        }
    }

    @Override
    public void read(Tensor src, int[] dst, int offset) {
        CpuTensor s = i32(src, "read source");
        for (int r = 0; r < s.rows; r++) {
            System.arraycopy(s.i, s.at(r, 0), dst, offset + r * s.cols, s.cols);
        }
    }

    @Override
    public void fill(Tensor x, float value) {
        CpuTensor c = t(x);
        for (int r = 0; r < c.rows; r++) {
            int a = c.at(r, 0);
            if (c.dtype == DType.I32) {
                java.util.Arrays.fill(c.i, a, a + c.cols, (int) value);
            } else {
                java.util.Arrays.fill(c.f, a, a + c.cols, value);
            }
        }
        c.root.packed = null;
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        CpuTensor s = f32(src, "copy source"), d = f32(dst, "copy target");
        shape(d, s.rows, s.cols, "copy");
        for (int r = 0; r < s.rows; r++) {
            System.arraycopy(s.f, s.at(r, 0), d.f, d.at(r, 0), s.cols);
        }
        d.root.packed = null;
    }

    // ---------------------------------------------------------------- operators

    @Override
    public void embedding(Tensor ids, Tensor table, Tensor out) {
        CpuTensor id = i32(ids, "ids"), tb = f32(table, "table"), o = f32(out, "out");
        shape(o, id.rows, tb.cols, "embedding");
        final int h = tb.cols;
        for (int r = 0; r < id.rows; r++) {
            int tok = id.i[id.at(r, 0)];
            if (tok < 0 || tok >= tb.rows) {
                throw new IllegalArgumentException("embedding: token id " + tok + " at row " + r
                        + " outside [0, " + tb.rows + ")");
            }
            System.arraycopy(tb.f, tb.at(tok, 0), o.f, o.at(r, 0), h);
        }
    }

    @Override
    public void linear(Tensor x, Tensor w, Tensor bias, Tensor out, boolean accumulate) {
        CpuTensor xi = f32(x, "input"), wi = f32(w, "weight"), o = f32(out, "output");
        if (xi.cols != wi.cols) {
            throw new IllegalArgumentException("linear " + wi.name + ": input " + xi.name + " has " + xi.cols
                    + " features, weight " + wi.shape() + " expects " + wi.cols);
        }
        shape(o, xi.rows, wi.rows, "linear " + wi.name);
        CpuTensor b = null;
        if (bias != null) {
            b = f32(bias, "bias");
            shape(b, 1, wi.rows, "linear " + wi.name + " bias");
        }
        PackedWeights p = packed(wi);
        gemm.multiply(par, xi.rows, xi.f, xi.offset, xi.ld, p, b == null ? null : b.f, b == null ? 0 : b.offset,
                o.f, o.offset, o.ld, accumulate);
    }

    private PackedWeights packed(CpuTensor w) {
        if (w.root == w) {
            PackedWeights p = w.packed;
            if (p == null) {
                synchronized (w) {
                    p = w.packed;
                    if (p == null) {
                        p = gemm.pack(w.f, w.offset, w.ld, w.rows, w.cols);
                        w.packed = p;
                    }
                }
            }
            return p;
        }
        // a view used as a weight: pack every time (not on a hot path in the model)
        return gemm.pack(w.f, w.offset, w.ld, w.rows, w.cols);
    }

    @Override
    public void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out) {
        CpuTensor xi = f32(x, "input"), wi = f32(weight, "weight"), o = f32(out, "output");
        shape(wi, 1, xi.cols, "rmsNorm weight");
        shape(o, xi.rows, xi.cols, "rmsNorm");
        final int h = xi.cols;
        par.forEach((xi.rows + 63) / 64, blk -> {
            int r1 = Math.min(xi.rows, blk * 64 + 64);
            for (int r = blk * 64; r < r1; r++) {
                int a = xi.at(r, 0), b = o.at(r, 0);
                double ss = 0;
                for (int j = 0; j < h; j++) {
                    float v = xi.f[a + j];
                    ss += v * v;
                }
                float inv = (float) (1.0 / Math.sqrt(ss / h + eps));
                for (int j = 0; j < h; j++) {
                    o.f[b + j] = xi.f[a + j] * inv * wi.f[wi.offset + j];
                }
            }
        });
    }

    @Override
    public void add(Tensor x, Tensor out) {
        CpuTensor xi = f32(x, "input"), o = f32(out, "output");
        shape(o, xi.rows, xi.cols, "add");
        for (int r = 0; r < xi.rows; r++) {
            int a = xi.at(r, 0), b = o.at(r, 0);
            for (int j = 0; j < xi.cols; j++) {
                o.f[b + j] += xi.f[a + j];
            }
        }
    }

    @Override
    public void conv1dSilu(Tensor x, Tensor weight, Tensor bias, Tensor state, Tensor lens, Tensor out) {
        CpuTensor xi = f32(x, "input"), wi = f32(weight, "weight"), st = f32(state, "conv state"),
                ln = i32(lens, "lens"), o = f32(out, "output");
        final int lanes = st.rows, d = xi.cols, k = wi.cols, km1 = k - 1;
        if (lanes == 0 || xi.rows % lanes != 0) {
            throw new IllegalArgumentException("conv1d: " + xi.rows + " rows do not split into " + lanes + " lanes");
        }
        final int steps = xi.rows / lanes;
        shape(wi, d, k, "conv1d weight");
        shape(st, lanes, d * km1, "conv1d state");
        shape(o, xi.rows, d, "conv1d output");
        final CpuTensor bi = bias == null ? null : f32(bias, "bias");
        final int[] len = lanesLengths(ln, lanes, steps);
        final int dBlock = 64;
        final int dBlocks = (d + dBlock - 1) / dBlock;
        par.forEach(lanes * dBlocks, job -> {
            int b = job / dBlocks, d0 = (job % dBlocks) * dBlock, d1 = Math.min(d, d0 + dBlock);
            int n = len[b];
            if (n == 0) {
                return;
            }
            float[] win = new float[km1 + n];
            for (int c = d0; c < d1; c++) {
                int sa = st.at(b, c * km1);
                System.arraycopy(st.f, sa, win, 0, km1);
                for (int t = 0; t < n; t++) {
                    win[km1 + t] = xi.f[xi.at(b * steps + t, c)];
                }
                int wa = wi.at(c, 0);
                float bv = bi == null ? 0f : bi.f[bi.offset + c];
                for (int t = 0; t < n; t++) {
                    float s = bv;
                    for (int j = 0; j < k; j++) {
                        s += wi.f[wa + j] * win[t + j];
                    }
                    o.f[o.at(b * steps + t, c)] = silu(s);
                }
                System.arraycopy(win, n, st.f, sa, km1);
            }
        });
    }

    private static int[] lanesLengths(CpuTensor ln, int lanes, int steps) {
        shape(ln, lanes, 1, "lens");
        int[] len = new int[lanes];
        for (int b = 0; b < lanes; b++) {
            len[b] = ln.i[ln.at(b, 0)];
            if (len[b] < 0 || len[b] > steps) {
                throw new IllegalArgumentException("lens[" + b + "] = " + len[b] + " outside [0, " + steps + "]");
            }
        }
        return len;
    }

    static float silu(float v) {
        return v / (1f + (float) Math.exp(-v));
    }

    @Override
    public void selectiveScan(Tensor u, Tensor dtRaw, Tensor dtBias, Tensor aNeg, Tensor b, Tensor c,
                              Tensor dSkip, Tensor z, Tensor state, Tensor lens, Tensor y) {
        CpuTensor ui = f32(u, "u"), dt = f32(dtRaw, "dt"), db = f32(dtBias, "dt bias"), a = f32(aNeg, "A"),
                bi = f32(b, "B"), ci = f32(c, "C"), ds = f32(dSkip, "D"), st = f32(state, "ssm state"),
                ln = i32(lens, "lens"), yo = f32(y, "y");
        CpuTensor zi = z == null ? null : f32(z, "z");
        final int lanes = st.rows, d = ui.cols, n = a.cols;
        if (lanes == 0 || ui.rows % lanes != 0) {
            throw new IllegalArgumentException("scan: " + ui.rows + " rows do not split into " + lanes + " lanes");
        }
        final int steps = ui.rows / lanes;
        shape(dt, ui.rows, d, "scan dt");
        shape(db, 1, d, "scan dt bias");
        shape(a, d, n, "scan A");
        shape(bi, ui.rows, n, "scan B");
        shape(ci, ui.rows, n, "scan C");
        shape(ds, 1, d, "scan D");
        shape(st, lanes, d * n, "scan state");
        shape(yo, ui.rows, d, "scan y");
        if (zi != null) {
            shape(zi, ui.rows, d, "scan z");
        }
        final int[] len = lanesLengths(ln, lanes, steps);
        final int dBlock = scan.channelBlock();
        final int dBlocks = (d + dBlock - 1) / dBlock;
        par.forEach(lanes * dBlocks, job -> {
            int lane = job / dBlocks, d0 = (job % dBlocks) * dBlock, d1 = Math.min(d, d0 + dBlock);
            if (len[lane] == 0) {
                return;
            }
            scan.scan(new ScanKernel.Args(ui.f, ui.offset, ui.ld, dt.f, dt.offset, dt.ld, db.f, db.offset,
                    a.f, a.offset, a.ld, bi.f, bi.offset, bi.ld, ci.f, ci.offset, ci.ld, ds.f, ds.offset,
                    zi == null ? null : zi.f, zi == null ? 0 : zi.offset, zi == null ? 0 : zi.ld,
                    st.f, st.at(lane, 0), yo.f, yo.offset, yo.ld, n, lane * steps, len[lane]), d0, d1);
        });
    }

    @Override
    public void laneSummary(Tensor hidden, Tensor lens, Tensor out) {
        CpuTensor hi = f32(hidden, "hidden"), ln = i32(lens, "lens"), o = f32(out, "summary");
        final int lanes = ln.rows, h = hi.cols;
        if (lanes == 0 || hi.rows % lanes != 0) {
            throw new IllegalArgumentException("laneSummary: " + hi.rows + " rows do not split into " + lanes + " lanes");
        }
        final int steps = hi.rows / lanes;
        shape(o, lanes, 2 * h, "laneSummary");
        final int[] len = lanesLengths(ln, lanes, steps);
        for (int b = 0; b < lanes; b++) {
            int oa = o.at(b, 0);
            java.util.Arrays.fill(o.f, oa, oa + 2 * h, 0f);
            if (len[b] == 0) {
                continue;
            }
            double[] sum = new double[h];
            for (int t = 0; t < len[b]; t++) {
                int ha = hi.at(b * steps + t, 0);
                for (int j = 0; j < h; j++) {
                    sum[j] += hi.f[ha + j];
                }
            }
            for (int j = 0; j < h; j++) {
                o.f[oa + j] = (float) sum[j];
            }
            System.arraycopy(hi.f, hi.at(b * steps + len[b] - 1, 0), o.f, oa + h, h);
        }
    }

    @Override
    public void tokenNll(Tensor logits, Tensor targets, Tensor out) {
        CpuTensor lg = f32(logits, "logits"), tg = i32(targets, "targets"), o = f32(out, "nll");
        shape(tg, lg.rows, 1, "tokenNll targets");
        shape(o, lg.rows, 1, "tokenNll output");
        final int v = lg.cols;
        par.forEach((lg.rows + 63) / 64, blk -> {
            int r1 = Math.min(lg.rows, blk * 64 + 64);
            for (int r = blk * 64; r < r1; r++) {
                int target = tg.i[tg.at(r, 0)];
                if (target < 0) {
                    o.f[o.at(r, 0)] = Float.NaN;
                    continue;
                }
                if (target >= v) {
                    throw new IllegalArgumentException("tokenNll: target " + target + " at row " + r
                            + " outside [0, " + v + ")");
                }
                int a = lg.at(r, 0);
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < v; j++) {
                    max = Math.max(max, lg.f[a + j]);
                }
                double s = 0;
                for (int j = 0; j < v; j++) {
                    s += Math.exp(lg.f[a + j] - max);
                }
                o.f[o.at(r, 0)] = (float) (max + Math.log(s) - lg.f[a + target]);
            }
        });
    }

    @Override
    public void close() {
        if (!closed.getAndSet(true)) {
            synchronized (live) {
                for (CpuTensor c : live) {
                    c.freed = true;
                }
                live.clear();
            }
            bytes.set(0);
            par.close();
        }
    }
}
