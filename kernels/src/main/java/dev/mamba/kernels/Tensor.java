package dev.mamba.kernels;

/**
 * A row-major matrix owned by a {@link Backend}: host arrays for the CPU backend, device memory for CUDA.
 * A view (from {@link #columns} or {@link #rows}) shares its parent's storage and has the parent's
 * row stride; only the tensor returned by the backend owns memory and is freed when the backend closes.
 */
public interface Tensor {
    /** Name given at allocation (for error messages and leak reports). */
    String name();

    DType dtype();

    int rows();

    int cols();

    /** Elements between the starts of consecutive rows (≥ cols; > cols for a column view). */
    int rowStride();

    /** View of columns [from, to) of every row. */
    Tensor columns(int from, int to);

    /** View of rows [from, to). */
    Tensor rows(int from, int to);

    /** True when rows are packed back to back (rowStride == cols). */
    default boolean contiguous() {
        return rowStride() == cols();
    }

    default long elements() {
        return (long) rows() * cols();
    }

    default String shape() {
        return "[" + rows() + ", " + cols() + "]";
    }
}
