package dev.mamba.kernels.cpu;

import dev.mamba.kernels.DType;
import dev.mamba.kernels.MatrixView;
import dev.mamba.kernels.Tensor;
import dev.mamba.kernels.cpu.gemm.PackedWeights;

/** A tensor in a Java array: float[] for F32, int[] for I32; views share the array. */
public final class CpuTensor extends MatrixView {
    final float[] f;
    final int[] i;
    final int offset;
    /** The tensor that owns the array (this, for an allocation). */
    final CpuTensor root;
    /** Packed copy for repeated products, made on first use as a GEMM weight (root only). */
    volatile PackedWeights packed;
    boolean freed;

    CpuTensor(String name, DType dtype, int rows, int cols) {
        super(name, dtype, rows, cols, cols);
        long n = (long) rows * cols;
        if (rows < 0 || cols < 0 || n > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("tensor " + name + ": shape [" + rows + ", " + cols
                    + "] does not fit in one Java array");
        }
        this.f = dtype == DType.I32 ? null : new float[(int) n];
        this.i = dtype == DType.I32 ? new int[(int) n] : null;
        this.offset = 0;
        this.root = this;
    }

    private CpuTensor(CpuTensor parent, int offset, int rows, int cols) {
        super(parent.name, parent.dtype, rows, cols, parent.ld);
        this.f = parent.f;
        this.i = parent.i;
        this.offset = offset;
        this.root = parent.root;
    }

    @Override
    protected Tensor view(int r0, int c0, int rows, int cols) {
        return new CpuTensor(this, at(r0, c0), rows, cols);
    }

    /** Index of element (r, c) in the backing array. */
    int at(int r, int c) {
        return offset + r * ld + c;
    }
}
