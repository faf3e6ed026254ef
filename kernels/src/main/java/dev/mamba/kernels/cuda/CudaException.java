package dev.mamba.kernels.cuda;

/** A CUDA driver call failed; the message names the call and the CUresult. */
public final class CudaException extends RuntimeException {
    private final int result;

    /** A failure of {@code call} with driver result {@code result} (its name is in the message). */
    public CudaException(String call, int result, String resultName) {
        super(call + " failed: " + resultName + " (" + result + ")");
        this.result = result;
    }

    /** A failure that is not a driver result (e.g. a kernel missing from the module). */
    public CudaException(String message) {
        super(message);
        this.result = -1;
    }

    /** The CUresult code, or -1. */
    public int result() {
        return result;
    }
}
