package dev.mamba.kernels.cuda;

import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/**
 * Loads the JCuda driver binding and runs {@code cuInit} once per JVM, remembering why it failed.
 * NOTE: only this class and the backend touch JCuda; the provider reaches it lazily so that executors
 * without a GPU (or without the JCuda natives) can load the provider class.
 */
final class CudaDriver {
    private CudaDriver() {
    }

    /** Null when the driver API is usable, else the reason. */
    static String unavailableReason() {
        return Holder.REASON;
    }

    /** Throws {@link CudaException} naming {@code call} and the CUresult unless {@code result} is success. */
    static void check(int result, String call) {
        if (result != CUresult.CUDA_SUCCESS) {
            throw new CudaException(call, result, CUresult.stringFor(result));
        }
    }

    /** The CUresult name of a code. */
    static String name(int result) {
        return CUresult.stringFor(result);
    }

    // Holder idiom: initialised on first use, exactly once, without class-init deadlocks.
    private static final class Holder {
        static final String REASON = init();

        private static String init() {
            try {
                JCudaDriver.setExceptionsEnabled(false);
                int r = JCudaDriver.cuInit(0);
                if (r != CUresult.CUDA_SUCCESS) {
                    return "cuInit failed: " + CUresult.stringFor(r);
                }
                return null;
            } catch (UnsatisfiedLinkError e) {
                String m = String.valueOf(e.getMessage());
                if (m.contains("libcuda.so")) {
                    return "no CUDA driver (libcuda.so.1 not found)";
                }
                return "the JCuda native library could not be loaded: " + firstLine(m);
            } catch (NoClassDefFoundError e) {
                return "the JCuda classes are not on the classpath: " + e.getMessage();
            } catch (RuntimeException | LinkageError e) {
                return "the CUDA driver could not be initialised: " + e;
            }
        }
    }

    static String firstLine(String s) {
        int i = s.indexOf('\n');
        return i < 0 ? s : s.substring(0, i);
    }
}
