package dev.mamba.kernels.cpu;

/** Picks the vectorized scan when the Vector API module is present, else the scalar one. */
final class ScanKernels {
    private static final String VECTOR_IMPL = "dev.mamba.kernels.cpu.VectorScan";

    private ScanKernels() {
    }

    static ScanKernel best() {
        return Holder.BEST;
    }

    private static final class Holder {
        static final ScanKernel BEST = lookup();

        private static ScanKernel lookup() {
            if (Boolean.getBoolean("mamba.cpu.scalar")
                    || ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
                return new ScalarScan();
            }
            try {
                return (ScanKernel) Class.forName(VECTOR_IMPL).getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException | LinkageError | UnsupportedOperationException e) {
                return new ScalarScan();
            }
        }
    }
}
