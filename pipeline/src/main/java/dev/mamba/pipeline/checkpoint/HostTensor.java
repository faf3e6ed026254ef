package dev.mamba.pipeline.checkpoint;

import java.util.Arrays;

/** A named fp32 tensor in host memory, as read from a checkpoint (upcast from BF16/F16 if needed). */
public final class HostTensor {
    public final String name;
    public final long[] shape;
    public final float[] data;

    public HostTensor(String name, long[] shape, float[] data) {
        this.name = name;
        this.shape = shape.clone();
        this.data = data;
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        if (n != data.length) {
            throw new IllegalArgumentException("tensor " + name + ": shape " + Arrays.toString(shape) + " holds " + n
                    + " elements, data has " + data.length);
        }
    }

    /** Rows when seen as a matrix: the first dimension (1 for a vector). */
    public int rows() {
        return shape.length <= 1 ? 1 : (int) shape[0];
    }

    /** Columns when seen as a matrix: the product of the remaining dimensions. */
    public int cols() {
        return rows() == 0 ? 0 : data.length / rows();
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }
}
