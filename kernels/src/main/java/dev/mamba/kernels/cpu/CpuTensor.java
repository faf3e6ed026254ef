package dev.mamba.kernels.cpu;

import dev.mamba.kernels.DType;
import dev.mamba.kernels.Tensor;
import dev.mamba.kernels.cpu.gemm.PackedWeights;

/** A tensor in a Java array: float[] for F32, int[] for I32; views share the array. */
public final class CpuTensor implements Tensor {
    final String name;
    final DType dtype;
    final float[] f;
    final int[] i;
    final int offset;
    final int rows;
    final int cols;
    final int ld;
    /** The tensor that owns the array (this, for an allocation). */
    final CpuTensor root;
    /** Packed copy for repeated products, made on first use as a GEMM weight (root only). */
    volatile PackedWeights packed;
    boolean freed;

    CpuTensor(String name, DType dtype, int rows, int cols) {
        this.name = name;
        this.dtype = dtype;
        long n = (long) rows * cols;
        if (rows < 0 || cols < 0 || n > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("tensor " + name + ": shape [" + rows + ", " + cols
                    + "] does not fit in one Java array");
        }
        this.f = dtype == DType.I32 ? null : new float[(int) n];
        this.i = dtype == DType.I32 ? new int[(int) n] : null;
        this.offset = 0;
        this.rows = rows;
        this.cols = cols;
        this.ld = cols;
        this.root = this;
    }

    private CpuTensor(CpuTensor parent, int offset, int rows, int cols) {
        this.name = parent.name;
        this.dtype = parent.dtype;
        this.f = parent.f;
        this.i = parent.i;
        this.offset = offset;
        this.rows = rows;
        this.cols = cols;
        this.ld = parent.ld;
        this.root = parent.root;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    @Override
    public int rowStride() {
        return ld;
    }

    @Override
    public Tensor columns(int from, int to) {
        if (from < 0 || to > cols || from > to) {
            throw new IndexOutOfBoundsException("tensor " + name + " " + shape() + ": columns [" + from + ", " + to + ")");
        }
        return new CpuTensor(this, offset + from, rows, to - from);
    }

    @Override
    public Tensor rows(int from, int to) {
        if (from < 0 || to > rows || from > to) {
            throw new IndexOutOfBoundsException("tensor " + name + " " + shape() + ": rows [" + from + ", " + to + ")");
        }
        return new CpuTensor(this, offset + from * ld, to - from, cols);
    }

    /** Index of element (r, c) in the backing array. */
    int at(int r, int c) {
        return offset + r * ld + c;
    }

    @Override
    public String toString() {
        return name + dtype + shape();
    }
}
