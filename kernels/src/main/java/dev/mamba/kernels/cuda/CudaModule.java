package dev.mamba.kernels.cuda;

import jcuda.Pointer;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The kernel module (the fatbin resource built by nvcc), its functions looked up once and cached, and
 * kernel launches. Every kernel takes one parameter: a struct of 64-bit fields, passed as a long[].
 */
final class CudaModule {
    static final String RESOURCE = "/dev/mamba/kernels/cuda/mamba_kernels.fatbin";
    static final String UNAVAILABLE = "/dev/mamba/kernels/cuda/mamba_kernels.unavailable";
    /** The Hopper-only (sm_90a) wgmma GEMM, a separate small module. */
    static final String WGMMA_RESOURCE = "/dev/mamba/kernels/cuda/mamba_wgmma.fatbin";

    private final CUmodule module = new CUmodule();
    private final CUstream stream;
    private final boolean syncEachLaunch;
    private final Map<String, CUfunction> functions = new HashMap<>();
    private final Map<CUfunction, Integer> smemOptIn = new HashMap<>();
    private final Map<String, Integer> occupancyCache = new HashMap<>();
    private boolean loaded;

    CudaModule(byte[] fatbin, CUstream stream, boolean syncEachLaunch) {
        this.stream = stream;
        this.syncEachLaunch = syncEachLaunch;
        CudaDriver.check(JCudaDriver.cuModuleLoadData(module, fatbin), "cuModuleLoadData(mamba_kernels.fatbin)");
        loaded = true;
    }

    /** Throws readFatbin's reason when the jar carries no kernels, without reading them. */
    static void requireFatbin() {
        if (CudaModule.class.getResource(RESOURCE) == null) {
            readFatbin();
        }
    }

    /**
     * The fatbin bytes from the classpath; throws UnsupportedOperationException naming why it is missing
     * (including the text the build wrote when nvcc was absent).
     */
    static byte[] readFatbin() {
        try (InputStream in = CudaModule.class.getResourceAsStream(RESOURCE)) {
            if (in != null) {
                return in.readAllBytes();
            }
        } catch (IOException e) {
            throw new UnsupportedOperationException("the CUDA kernels could not be read from " + RESOURCE + ": " + e);
        }
        String why = "no reason recorded";
        try (InputStream in = CudaModule.class.getResourceAsStream(UNAVAILABLE)) {
            if (in != null) {
                why = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
            }
        } catch (IOException e) {
            why = "the reason file could not be read: " + e;
        }
        throw new UnsupportedOperationException("the CUDA kernels are missing from the jar (" + RESOURCE + "): " + why);
    }

    /** The sm_90a module's bytes, or null when the jar has none. */
    static byte[] readWgmmaFatbin() {
        try (InputStream in = CudaModule.class.getResourceAsStream(WGMMA_RESOURCE)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            return null;
        }
    }

    /** The cached function handle; CudaException when the module lacks it. */
    CUfunction function(String name) {
        CUfunction f = functions.get(name);
        if (f == null) {
            f = new CUfunction();
            CudaDriver.check(JCudaDriver.cuModuleGetFunction(f, module, name), "cuModuleGetFunction(" + name + ")");
            functions.put(name, f);
        }
        return f;
    }

    /** Whether {@code name}'s handle was looked up (every launch does). */
    boolean hasFunction(String name) {
        return functions.containsKey(name);
    }

    /** Launches {@code name} on the backend's stream with one struct parameter made of {@code params}. */
    void launch(String name, long gx, long gy, long gz, int block, int smem, long... params) {
        CUfunction f = function(name);
        if (gx <= 0 || gy <= 0 || gz <= 0) {
            return;  // empty problem
        }
        if (gx > Integer.MAX_VALUE || gy > 65535 || gz > 65535) {
            throw new IllegalArgumentException("launch " + name + ": grid (" + gx + ", " + gy + ", " + gz
                    + ") exceeds the device limits (2^31-1, 65535, 65535)");
        }
        if (smem > 48 * 1024) {
            Integer set = smemOptIn.get(f);
            if (set == null || set < smem) {
                CudaDriver.check(JCudaDriver.cuFuncSetAttribute(f,
                        CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem),
                        "cuFuncSetAttribute(" + name + ", MAX_DYNAMIC_SHARED_SIZE_BYTES=" + smem + ")");
                smemOptIn.put(f, smem);
            }
        }
        Pointer args = Pointer.to(Pointer.to(params));
        CudaDriver.check(JCudaDriver.cuLaunchKernel(f, (int) gx, (int) gy, (int) gz, block, 1, 1, smem, stream,
                args, null), "cuLaunchKernel(" + name + ")");
        if (syncEachLaunch) {
            CudaDriver.check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize after " + name);
        }
    }

    /** Resident blocks per SM of {@code name} at this block size and dynamic shared memory. */
    int occupancy(String name, int block, int smem) {
        // asked on every scan launch (its plan): one driver query per (kernel, block, smem), then cached
        return occupancyCache.computeIfAbsent(name + "/" + block + "/" + smem, k -> queryOccupancy(name, block, smem));
    }

    private int queryOccupancy(String name, int block, int smem) {
        CUfunction f = function(name);
        if (smem > 48 * 1024) {
            Integer set = smemOptIn.get(f);
            if (set == null || set < smem) {
                CudaDriver.check(JCudaDriver.cuFuncSetAttribute(f,
                        CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem),
                        "cuFuncSetAttribute(" + name + ")");
                smemOptIn.put(f, smem);
            }
        }
        int[] n = new int[1];
        CudaDriver.check(JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(n, f, block, smem),
                "cuOccupancyMaxActiveBlocksPerMultiprocessor(" + name + ")");
        return n[0];
    }

    /** Unloads the module (once). */
    void unload() {
        if (loaded) {
            loaded = false;
            functions.clear();
            CudaDriver.check(JCudaDriver.cuModuleUnload(module), "cuModuleUnload");
        }
    }
}
