package dev.mamba.kernels.cpu.gemm;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Picks the fastest GEMM this JVM can run: the Vector API one when the {@code jdk.incubator.vector}
 * module is present (run with {@code --add-modules jdk.incubator.vector}), else the scalar one, with
 * one log line naming the fix.
 */
public final class Gemms {
    private static final Logger LOG = LoggerFactory.getLogger(Gemms.class);
    private static final String VECTOR_IMPL = "dev.mamba.kernels.cpu.gemm.VectorGemm";

    private Gemms() {
    }

    /** The process-wide best implementation. */
    public static Gemm best() {
        return Holder.BEST;
    }

    private static final class Holder {
        static final Gemm BEST = lookup();

        private static Gemm lookup() {
            if (Boolean.getBoolean("mamba.cpu.scalar")) {
                return new ScalarGemm();
            }
            if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
                LOG.warn("jdk.incubator.vector is not enabled: CPU matrix products use the scalar path; "
                        + "run java with --add-modules jdk.incubator.vector for the vectorized one");
                return new ScalarGemm();
            }
            try {
                return (Gemm) Class.forName(VECTOR_IMPL).getConstructor().newInstance();
            } catch (ClassNotFoundException e) {
                return new ScalarGemm();
            } catch (ReflectiveOperationException | LinkageError | UnsupportedOperationException e) {
                LOG.warn("vectorized GEMM unavailable ({}); using the scalar path", e.toString());
                return new ScalarGemm();
            }
        }
    }
}
