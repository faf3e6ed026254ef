package dev.mamba.kernels;

import dev.mamba.kernels.cpu.CpuBackend;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/** Opens the backend a run asked for, falling back from CUDA to CPU only under {@code auto}. */
public final class Backends {
    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);
    private static final String CUDA_PROVIDER = "dev.mamba.kernels.cuda.CudaBackendProvider";

    private Backends() {
    }

    /**
     * Opens a backend. {@code AUTO}: CUDA when a provider and device are usable, else CPU with one
     * log line naming the reason. {@code CUDA}: CUDA or an {@link IllegalStateException} with the reason.
     */
    public static Backend open(BackendChoice choice, int device, Precision precision, int cpuThreads) {
        switch (choice) {
            case CPU:
                return cpu(precision, cpuThreads);
            case NOOP:
                return new dev.mamba.kernels.noop.NoopBackend();
            case CUDA:
                try {
                    return cuda().open(device, precision);
                } catch (UnsupportedOperationException e) {
                    throw new IllegalStateException("backend cuda was asked for but cannot serve: " + e.getMessage(), e);
                }
            case AUTO:
            default:
                try {
                    return cuda().open(device, precision);
                } catch (UnsupportedOperationException e) {
                    LOG.info("backend auto: using cpu because CUDA is unavailable: {}", e.getMessage());
                    return cpu(Precision.FP32, cpuThreads);
                }
        }
    }

    private static Backend cpu(Precision precision, int threads) {
        if (precision != Precision.FP32) {
            LOG.info("backend cpu computes in fp32; precision {} applies to cuda only", precision.lower());
        }
        return new CpuBackend(threads);
    }

    /** The CUDA provider, loaded by name; throws UnsupportedOperationException with the reason. */
    public static BackendProvider cuda() {
        return Holder.CUDA;
    }

    /** Device lines for {@code info}: CUDA devices, or why there are none. */
    public static List<String> describeCudaDevices() {
        try {
            return cuda().describeDevices();
        } catch (UnsupportedOperationException e) {
            return List.of("cuda: unavailable: " + e.getMessage());
        }
    }

    // Holder idiom: the provider is looked up once, lazily, without class-init deadlocks.
    private static final class Holder {
        static final BackendProvider CUDA = load();

        private static BackendProvider load() {
            try {
                Class<?> c = Class.forName(CUDA_PROVIDER);
                return (BackendProvider) c.getConstructor().newInstance();
            } catch (ClassNotFoundException e) {
                return new Unavailable("the CUDA backend classes are not on the classpath");
            } catch (ReflectiveOperationException | LinkageError e) {
                return new Unavailable("the CUDA backend could not be loaded: " + e);
            }
        }
    }

    /** Stand-in provider that always says why CUDA cannot serve. */
    private static final class Unavailable implements BackendProvider {
        private final String reason;

        Unavailable(String reason) {
            this.reason = reason;
        }

        @Override
        public String name() {
            return "cuda";
        }

        @Override
        public Backend open(int device, Precision precision) {
            throw new UnsupportedOperationException(reason);
        }

        @Override
        public void requireUsable(int device) {
            throw new UnsupportedOperationException(reason);
        }

        @Override
        public List<String> describeDevices() {
            return List.of("cuda: unavailable: " + reason);
        }

        @Override
        public int deviceCount() {
            return 0;
        }
    }
}
