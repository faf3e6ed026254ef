package dev.mamba.kernels.cuda;

import dev.mamba.kernels.Backend;
import dev.mamba.kernels.DType;
import dev.mamba.kernels.Precision;
import dev.mamba.kernels.RelativeError;
import dev.mamba.kernels.Tensor;
import org.junit.jupiter.api.Assumptions;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shared pieces of the GPU tests: the skip condition, seeded data, relative errors, tolerances. */
final class GpuTest {
    static final CudaBackendProvider PROVIDER = new CudaBackendProvider();

    private GpuTest() {
    }

    /** Skips the calling test (reported as skipped) when no CUDA device is usable here. */
    static void assumeCuda() {
        Assumptions.assumeTrue(PROVIDER.deviceCount() > 0, () -> "requires a CUDA device: " + reason());
    }

    static String reason() {
        String r = CudaDriver.unavailableReason();
        return r != null ? r : "no CUDA device";
    }

    static Backend open(Precision p) {
        return PROVIDER.open(0, p);
    }

    /** The brief's tolerances for ‖gpu − cpu‖ / ‖cpu‖. */
    static double tol(Precision p) {
        switch (p) {
            case FP32: return 1e-5;
            case TF32: return 1e-3;
            default: return 2e-2;
        }
    }

    static float[] gauss(Random r, int n, double mean, double sd) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (mean + sd * r.nextGaussian());
        }
        return a;
    }

    static float[] uniform(Random r, int n, double lo, double hi) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (lo + (hi - lo) * r.nextDouble());
        }
        return a;
    }

    static float[] read(Backend b, Tensor t) {
        float[] out = new float[t.rows() * t.cols()];
        b.read(t, out, 0);
        return out;
    }

    static int[] readInts(Backend b, Tensor t) {
        int[] out = new int[t.rows() * t.cols()];
        b.read(t, out, 0);
        return out;
    }

    /** Rows of a [B·T, C] matrix that belong to valid steps (t < lens[b]), concatenated. */
    static float[] validRows(float[] m, int lanes, int steps, int cols, int[] lens) {
        int n = 0;
        for (int l : lens) {
            n += l;
        }
        float[] out = new float[n * cols];
        int p = 0;
        for (int b = 0; b < lanes; b++) {
            System.arraycopy(m, b * steps * cols, out, p, lens[b] * cols);
            p += lens[b] * cols;
        }
        return out;
    }

    static void assertClose(float[] gpu, float[] cpu, double tol, String what) {
        for (float v : gpu) {
            if (!Float.isFinite(v)) {
                throw new AssertionError(what + ": GPU result holds a non-finite value " + v);
            }
        }
        double e = RelativeError.of(gpu, cpu);
        assertTrue(e <= tol, String.format("%s: relative error %.3g > %.1g", what, e, tol));
    }

    /** Uploads the same floats to both backends (the GPU one in {@code gpuType}). */
    static Tensor[] both(Backend cpu, Backend gpu, String name, float[] data, int rows, int cols, DType gpuType) {
        return new Tensor[] {cpu.upload(name, data, rows, cols, DType.F32), gpu.upload(name, data, rows, cols, gpuType)};
    }
}
