package dev.mamba.kernels.cuda;

import dev.mamba.kernels.Backend;
import dev.mamba.kernels.BackendProvider;
import dev.mamba.kernels.Precision;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.JCudaDriver;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Opens {@link CudaBackend}s. NOTE: the constructor and the class's static init touch no JCuda class:
 * executors without a GPU (or without the JCuda natives) must be able to load this class; the driver is
 * reached on the first {@link #open}, {@link #describeDevices} or {@link #deviceCount} call.
 */
public final class CudaBackendProvider implements BackendProvider {
    /** Lowest supported compute capability (cp.async, bf16 mma.sync, ldmatrix). */
    static final int MIN_MAJOR = 8;

    /** A provider; nothing native happens until it is used. */
    public CudaBackendProvider() {
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public Backend open(int device, Precision precision) {
        requireUsable(device);
        return new CudaBackend(device, precision, CudaModule.readFatbin());
    }

    @Override
    public void requireUsable(int device) {
        String why = CudaDriver.unavailableReason();
        if (why != null) {
            throw new UnsupportedOperationException(why);
        }
        int count = count();
        if (count == 0) {
            throw new UnsupportedOperationException("no CUDA device (cuDeviceGetCount returned 0)");
        }
        if (device < 0 || device >= count) {
            throw new UnsupportedOperationException("CUDA device index " + device + " out of range: "
                    + count + " device" + (count == 1 ? "" : "s") + " (0.." + (count - 1) + ")");
        }
        CUdevice dev = new CUdevice();
        CudaDriver.check(JCudaDriver.cuDeviceGet(dev, device), "cuDeviceGet(" + device + ")");
        int major = attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        int minor = attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        if (major < MIN_MAJOR) {
            throw new UnsupportedOperationException("CUDA device " + device + " (" + deviceName(dev)
                    + "): compute capability " + major + "." + minor + " < " + MIN_MAJOR + ".0");
        }
        CudaModule.requireFatbin();
    }

    @Override
    public List<String> describeDevices() {
        List<String> out = new ArrayList<>();
        try {
            String why = CudaDriver.unavailableReason();
            if (why != null) {
                out.add("cuda: unavailable: " + why);
                return out;
            }
            int[] v = new int[1];
            CudaDriver.check(JCudaDriver.cuDriverGetVersion(v), "cuDriverGetVersion");
            String driver = (v[0] / 1000) + "." + (v[0] % 1000) / 10;
            int count = count();
            if (count == 0) {
                out.add("cuda: driver " + driver + ", no devices");
            }
            for (int i = 0; i < count; i++) {
                CUdevice dev = new CUdevice();
                CudaDriver.check(JCudaDriver.cuDeviceGet(dev, i), "cuDeviceGet(" + i + ")");
                long[] mem = new long[1];
                CudaDriver.check(JCudaDriver.cuDeviceTotalMem(mem, dev), "cuDeviceTotalMem");
                int major = attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
                int minor = attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
                int sms = attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
                out.add(String.format("cuda: device %d: %s, compute capability %d.%d%s, %d SMs, %.1f GiB, driver %s",
                        i, deviceName(dev), major, minor, major < MIN_MAJOR ? " (unsupported: < 8.0)" : "", sms,
                        mem[0] / (double) (1L << 30), driver));
            }
            try {
                CudaModule.readFatbin();
            } catch (UnsupportedOperationException e) {
                out.add("cuda: " + e.getMessage());
            }
        } catch (RuntimeException | LinkageError e) {
            out.add("cuda: unavailable: " + e);
        }
        return out;
    }

    @Override
    public int deviceCount() {
        try {
            return CudaDriver.unavailableReason() == null ? count() : 0;
        } catch (RuntimeException | LinkageError e) {
            return 0;
        }
    }

    private static int count() {
        int[] n = new int[1];
        CudaDriver.check(JCudaDriver.cuDeviceGetCount(n), "cuDeviceGetCount");
        return n[0];
    }

    private static int attribute(CUdevice dev, int attr) {
        int[] v = new int[1];
        CudaDriver.check(JCudaDriver.cuDeviceGetAttribute(v, attr, dev), "cuDeviceGetAttribute(" + attr + ")");
        return v[0];
    }

    static String deviceName(CUdevice dev) {
        byte[] b = new byte[256];
        CudaDriver.check(JCudaDriver.cuDeviceGetName(b, b.length, dev), "cuDeviceGetName");
        int len = 0;
        while (len < b.length && b[len] != 0) {
            len++;
        }
        return new String(b, 0, len, StandardCharsets.UTF_8);
    }
}
