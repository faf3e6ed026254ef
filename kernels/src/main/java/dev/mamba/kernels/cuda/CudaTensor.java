package dev.mamba.kernels.cuda;

import dev.mamba.kernels.DType;
import dev.mamba.kernels.MatrixView;
import dev.mamba.kernels.Tensor;

/** A row-major matrix in device memory: an allocation, an element offset, a shape and a row stride. */
public final class CudaTensor extends MatrixView {
    final DeviceMemory.Allocation alloc;
    /** Elements from the start of the allocation to element (0, 0). */
    final long offset;
    /** True for the tensor returned by allocate (the one that may be freed). */
    final boolean root;

    CudaTensor(String name, DType dtype, DeviceMemory.Allocation alloc, int rows, int cols) {
        this(name, dtype, alloc, 0, rows, cols, cols, true);
    }

    private CudaTensor(String name, DType dtype, DeviceMemory.Allocation alloc, long offset, int rows, int cols,
                       int ld, boolean root) {
        super(name, dtype, rows, cols, ld);
        this.alloc = alloc;
        this.offset = offset;
        this.root = root;
    }

    @Override
    protected Tensor view(int r0, int c0, int rows, int cols) {
        return new CudaTensor(name, dtype, alloc, offset + (long) r0 * ld + c0, rows, cols, ld, false);
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
}
