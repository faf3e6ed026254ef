package dev.mamba.kernels.noop;

import dev.mamba.kernels.Backend;
import dev.mamba.kernels.DType;
import dev.mamba.kernels.MatrixView;
import dev.mamba.kernels.Precision;
import dev.mamba.kernels.Tensor;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A backend that computes nothing: tensors have shapes but no storage, operators return at once and
 * reads give zeros. It measures what the pipeline around the model costs (reading, chunking, lane
 * scheduling, Arrow batching, output) — the feed rate a real backend has to keep up with.
 * Select it with {@code --backend noop}; its outputs are meaningless.
 */
public final class NoopBackend implements Backend {
    private final AtomicBoolean closed = new AtomicBoolean();

    /** Shape and type only: no storage. */
    private static final class T extends MatrixView {
        T(String name, DType dtype, int rows, int cols, int ld) {
            super(name, dtype, rows, cols, ld);
        }

        @Override
        protected Tensor view(int r0, int c0, int rows, int cols) {
            return new T(name, dtype, rows, cols, ld);
        }
    }

    @Override
    public String name() {
        return "noop";
    }

    @Override
    public String describe() {
        return "noop: computes nothing (feed-rate measurement only)";
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

    @Override
    public Tensor allocate(String name, int rows, int cols, DType dtype) {
        if (closed.get()) {
            throw new IllegalStateException("noop backend has been closed already");
        }
        return new T(name, dtype, rows, cols, cols);
    }

    @Override
    public void free(Tensor t) {
    }

    @Override
    public long bytesAllocated() {
        return 0;
    }

    @Override
    public void write(Tensor dst, float[] src, int offset) {
    }

    @Override
    public void write(Tensor dst, int[] src, int offset) {
    }

    @Override
    public void write(Tensor dst, ByteBuffer src) {
    }

    @Override
    public void read(Tensor src, float[] dst, int offset) {
        java.util.Arrays.fill(dst, offset, offset + (int) src.elements(), 0f);
    }

    @Override
    public void read(Tensor src, int[] dst, int offset) {
        java.util.Arrays.fill(dst, offset, offset + (int) src.elements(), 0);
    }

    @Override
    public void fill(Tensor t, float value) {
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
    }

    @Override
    public void embedding(Tensor ids, Tensor table, Tensor out) {
    }

    @Override
    public void linear(Tensor x, Tensor w, Tensor bias, Tensor out, boolean accumulate) {
    }

    @Override
    public void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out) {
    }

    @Override
    public void add(Tensor x, Tensor out) {
    }

    @Override
    public void conv1dSilu(Tensor x, Tensor weight, Tensor bias, Tensor state, Tensor lens, Tensor out) {
    }

    @Override
    public void selectiveScan(Tensor u, Tensor dtRaw, Tensor dtBias, Tensor aNeg, Tensor b, Tensor c, Tensor dSkip,
                              Tensor z, Tensor state, Tensor lens, Tensor y) {
    }

    @Override
    public void laneSummary(Tensor hidden, Tensor lens, Tensor out) {
    }

    @Override
    public void tokenNll(Tensor logits, Tensor targets, Tensor out) {
    }

    @Override
    public void close() {
        closed.set(true);
    }
}
