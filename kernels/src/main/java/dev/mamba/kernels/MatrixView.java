package dev.mamba.kernels;

/**
 * What every backend's tensor shares: name, element type, shape, row stride, and bounds-checked row and
 * column views. A backend's subclass says where the elements live and how a view of itself is made.
 * The fields equal the {@link Tensor} getters; they are public so that backend code reads them directly.
 */
public abstract class MatrixView implements Tensor {
    public final String name;
    public final DType dtype;
    public final int rows;
    public final int cols;
    /** Elements between the starts of consecutive rows. */
    public final int ld;

    protected MatrixView(String name, DType dtype, int rows, int cols, int ld) {
        this.name = name;
        this.dtype = dtype;
        this.rows = rows;
        this.cols = cols;
        this.ld = ld;
    }

    /** Rows [r0, r0 + rows) and columns [c0, c0 + cols) of this tensor, already bounds-checked. */
    protected abstract Tensor view(int r0, int c0, int rows, int cols);

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final DType dtype() {
        return dtype;
    }

    @Override
    public final int rows() {
        return rows;
    }

    @Override
    public final int cols() {
        return cols;
    }

    @Override
    public final int rowStride() {
        return ld;
    }

    @Override
    public final Tensor columns(int from, int to) {
        if (from < 0 || to > cols || from > to) {
            throw new IndexOutOfBoundsException("tensor " + name + " " + shape() + ": columns [" + from + ", " + to + ")");
        }
        return view(0, from, rows, to - from);
    }

    @Override
    public final Tensor rows(int from, int to) {
        if (from < 0 || to > rows || from > to) {
            throw new IndexOutOfBoundsException("tensor " + name + " " + shape() + ": rows [" + from + ", " + to + ")");
        }
        return view(from, 0, to - from, cols);
    }

    @Override
    public String toString() {
        return name + dtype + shape();
    }
}
