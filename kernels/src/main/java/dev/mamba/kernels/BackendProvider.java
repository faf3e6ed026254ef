package dev.mamba.kernels;

import java.util.List;

/**
 * An optional backend found by class name (so the portable code never links against JCuda).
 * Implementations have a public no-argument constructor that touches no native code.
 */
public interface BackendProvider {

    /** Short name, e.g. {@code cuda}. */
    String name();

    /**
     * Opens the backend on the given device.
     *
     * @throws UnsupportedOperationException with the reason when it cannot serve
     *         ("no CUDA driver (libcuda.so.1 not found)", "compute capability 7.0 < 8.0")
     */
    Backend open(int device, Precision precision);

    /**
     * Checks, without opening anything, that {@link #open} could serve this device: a job run in this JVM
     * (Spark local mode) can then refuse an explicit {@code cuda} before it starts, instead of in every task.
     *
     * @throws UnsupportedOperationException with the reason {@link #open} would give
     */
    void requireUsable(int device);

    /** Lines describing the devices and driver, or the reason there are none; for {@code info}. */
    List<String> describeDevices();

    /** Number of usable devices (0 when unavailable); never throws. */
    int deviceCount();
}
