package dev.mamba.kernels.cuda;

import dev.mamba.kernels.DType;
import dev.mamba.kernels.Tensor;

/** A row-major matrix in device memory: an allocation, an element offset, a shape and a row stride. */
public final class CudaTensor implements Tensor {
    final String name;
    final DType dtype;
    final DeviceMemory.Allocation alloc;
    /** Elements from the start of the allocation to element (0, 0). */
    final long offset;
    final int rows;
    final int cols;
    final int ld;
    /** True for the tensor returned by allocate (the one that may be freed). */
    final boolean root;

    CudaTensor(String name, DType dtype, DeviceMemory.Allocation alloc, int rows, int cols) {
        this(name, dtype, alloc, 0, rows, cols, cols, true);
    }

    private CudaTensor(String name, DType dtype, DeviceMemory.Allocation alloc, long offset, int rows, int cols,
                       int ld, boolean root) {
        this.name = name;
        this.dtype = dtype;
        this.alloc = alloc;
        this.offset = offset;
        this.rows = rows;
        this.cols = cols;
        this.ld = ld;
        this.root = root;
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
        return new CudaTensor(name, dtype, alloc, offset + from, rows, to - from, ld, false);
    }

    @Override
    public Tensor rows(int from, int to) {
        if (from < 0 || to > rows || from > to) {
            throw new IndexOutOfBoundsException("tensor " + name + " " + shape() + ": rows [" + from + ", " + to + ")");
        }
        return new CudaTensor(name, dtype, alloc, offset + (long) from * ld, to - from, cols, ld, false);
    }

    /** Device address of element (r, c). */
    long address(long r, long c) {
        return alloc.address + (offset + r * ld + c) * dtype.bytes();
    }

    /** Device address of element (0, 0). */
    long address() {
        return alloc.address + offset * dtype.bytes();
    }

    /** Byte offset of element (r, 0) from the allocation's start (for the driver's memcpy calls). */
    long byteOffset(long r) {
        return (offset + r * ld) * dtype.bytes();
    }

    /** True when 16-byte vector access is legal for every row (aligned start and row stride). */
    boolean aligned16() {
        return address() % 16 == 0 && ((long) ld * dtype.bytes()) % 16 == 0;
    }

    @Override
    public String toString() {
        return name + dtype + shape();
    }
}
