package dev.mamba.kernels.cuda;

import dev.mamba.kernels.Backend;
import dev.mamba.kernels.BackendChoice;
import dev.mamba.kernels.Backends;
import dev.mamba.kernels.Precision;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs everywhere: where no CUDA device is usable the provider must refuse with the reason and the
 * backend selection must fall back (auto) or fail loudly (cuda); where one is, the same calls succeed.
 */
class CudaUnavailableTest {
    private final CudaBackendProvider provider = new CudaBackendProvider();

    private boolean usable() {
        return provider.deviceCount() > 0;
    }

    @Test
    void providerConstructsWithoutTouchingTheDriver() {
        assertEquals("cuda", provider.name());
    }

    @Test
    void openWithoutDeviceNamesTheReason() {
        if (usable()) {
            try (Backend b = provider.open(0, Precision.FP32)) {
                assertEquals("cuda", b.name());
            }
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                    () -> provider.open(provider.deviceCount(), Precision.FP32));
            assertTrue(e.getMessage().contains("out of range"), e.getMessage());
            return;
        }
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> provider.open(0, Precision.FP32));
        String m = e.getMessage();
        assertNotNull(m);
        String reason = CudaDriver.unavailableReason();
        if (reason != null) {
            assertEquals(reason, m);
            boolean noLib = System.getenv().getOrDefault("LD_LIBRARY_PATH", "").isEmpty()
                    && !new java.io.File("/usr/lib/x86_64-linux-gnu/libcuda.so.1").exists()
                    && !new java.io.File("/usr/lib64/libcuda.so.1").exists();
            if (noLib) {
                assertEquals("no CUDA driver (libcuda.so.1 not found)", m);
            }
        } else {
            assertTrue(m.contains("device"), m);
        }
    }

    @Test
    void autoFallsBackToCpuAndCudaFailsLoudly() {
        if (usable()) {
            try (Backend b = Backends.open(BackendChoice.AUTO, 0, Precision.FP32, 1)) {
                assertEquals("cuda", b.name());
            }
            return;
        }
        try (Backend b = Backends.open(BackendChoice.AUTO, 0, Precision.BF16, 1)) {
            assertEquals("cpu", b.name());
            assertEquals(Precision.FP32, b.precision());
        }
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Backends.open(BackendChoice.CUDA, 0, Precision.FP32, 1));
        assertTrue(e.getMessage().contains("cannot serve"), e.getMessage());
        String reason = CudaDriver.unavailableReason();
        if (reason != null) {
            assertTrue(e.getMessage().contains(reason), e.getMessage());
        }
    }

    @Test
    void describeDevicesAndCountNeverThrow() {
        List<String> lines = provider.describeDevices();
        assertFalse(lines.isEmpty());
        for (String l : lines) {
            assertTrue(l.startsWith("cuda:"), l);
        }
        assertTrue(provider.deviceCount() >= 0);
        if (!usable()) {
            assertTrue(lines.get(0).contains("unavailable") || lines.get(0).contains("no devices"), lines.get(0));
        }
        List<String> viaBackends = Backends.describeCudaDevices();
        assertFalse(viaBackends.isEmpty());
    }

    @Test
    void kernelsOrTheReasonShipAsResources() {
        boolean fatbin = CudaModule.class.getResource(CudaModule.RESOURCE) != null;
        boolean reason = CudaModule.class.getResource(CudaModule.UNAVAILABLE) != null;
        assertTrue(fatbin || reason, "neither " + CudaModule.RESOURCE + " nor " + CudaModule.UNAVAILABLE);
        if (!fatbin) {
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, CudaModule::readFatbin);
            assertTrue(e.getMessage().contains("missing"), e.getMessage());
        } else {
            byte[] b = CudaModule.readFatbin();
            assertTrue(b.length > 1000, "fatbin of " + b.length + " bytes");
        }
    }
}
