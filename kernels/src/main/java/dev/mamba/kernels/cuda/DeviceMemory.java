package dev.mamba.kernels.cuda;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUpointer_attribute;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Device memory of one backend: tensor allocations (counted), internal workspaces, and a small cache of
 * freed blocks by rounded size so that per-batch tensors don't go through cuMemAlloc/cuMemFree each time.
 * Not thread-safe: the backend calls it under its own lock, with its context current.
 */
final class DeviceMemory {

    /**
     * One use of a cuMemAlloc'd block. A block coming back from the cache gets a NEW Allocation, so a
     * stale tensor of the freed one still sees {@code freed} and cannot write into its successor.
     */
    static final class Allocation {
        final CUdeviceptr ptr;
        final long address;
        /** Bytes of the block (rounded size class). */
        final long capacity;
        /** Bytes the tensor asked for (what bytesAllocated counts). */
        long used;
        String name;
        boolean freed;
        /** Holds tf32-rounded values written by {@code uploadMatrix} (TF32 GEMMs then skip rounding them). */
        boolean tf32Rounded;
        /**
         * A GEMM-input activation in TF32 mode ({@code allocateGemmInput}): kernels that write f32 into it
         * round to tf32, so {@link #tf32Rounded} stays true until some other write clears it.
         */
        boolean roundTf32Writes;

        Allocation(CUdeviceptr ptr, long address, long capacity) {
            this.ptr = ptr;
            this.address = address;
            this.capacity = capacity;
        }
    }

    private final CUstream stream;
    private final boolean caching;
    private final Set<Allocation> live = Collections.newSetFromMap(new IdentityHashMap<>());
    private final TreeMap<Long, ArrayDeque<Allocation>> cache = new TreeMap<>();
    private final Map<Integer, Allocation> workspaces = new TreeMap<>();
    private long bytesInUse;
    private long bytesCached;

    DeviceMemory(CUstream stream, boolean caching) {
        this.stream = stream;
        this.caching = caching;
    }

    /** Size class: 512-byte granules below 1 MiB, else 4 classes per power of two (≤ 25 % slack). */
    static long roundUp(long bytes) {
        if (bytes <= 0) {
            return 512;
        }
        if (bytes <= (1L << 20)) {
            return (bytes + 511) & ~511L;
        }
        long top = Long.highestOneBit(bytes);
        long step = top >> 2;
        return (bytes + step - 1) / step * step;
    }

    /** A zero-filled block of at least {@code bytes} for tensor {@code name}, counted in {@link #bytesInUse}. */
    Allocation allocate(String name, long bytes) {
        long cap = roundUp(bytes);
        Allocation a = null;
        if (caching) {
            ArrayDeque<Allocation> q = cache.get(cap);
            if (q != null && !q.isEmpty()) {
                Allocation old = q.pop();
                bytesCached -= old.capacity;
                a = new Allocation(old.ptr, old.address, old.capacity);
            }
        }
        if (a == null) {
            a = raw(cap, name);
        }
        a.name = name;
        a.used = bytes;
        a.freed = false;
        CudaDriver.check(JCudaDriver.cuMemsetD8Async(a.ptr, (byte) 0, cap, stream), "cuMemsetD8Async(" + name + ")");
        live.add(a);
        bytesInUse += bytes;
        return a;
    }

    /** Returns a tensor's block (to the cache when caching). */
    void release(Allocation a) {
        if (!live.remove(a)) {
            throw new IllegalStateException("tensor " + a.name + " has been freed already");
        }
        a.freed = true;
        bytesInUse -= a.used;
        if (caching) {
            cache.computeIfAbsent(a.capacity, k -> new ArrayDeque<>()).push(a);
            bytesCached += a.capacity;
        } else {
            // stream order protects reuse by later kernels; a raw free must wait for queued readers
            CudaDriver.check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
            CudaDriver.check(JCudaDriver.cuMemFree(a.ptr), "cuMemFree(" + a.name + ")");
        }
    }

    /**
     * Device address of internal workspace {@code slot} with at least {@code bytes} (contents undefined).
     * Grows by free + alloc after a stream synchronize (queued kernels may still read the old block).
     */
    Allocation workspace(int slot, long bytes) {
        Allocation w = workspaces.get(slot);
        if (w != null && w.capacity >= bytes) {
            return w;
        }
        if (w != null) {
            CudaDriver.check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
            CudaDriver.check(JCudaDriver.cuMemFree(w.ptr), "cuMemFree(workspace " + slot + ")");
            workspaces.remove(slot);
        }
        Allocation n = raw(roundUp(Math.max(bytes, 1 << 20)), "workspace " + slot);
        workspaces.put(slot, n);
        return n;
    }

    /** Bytes held by live tensors. */
    long bytesInUse() {
        return bytesInUse;
    }

    /** Bytes held by the free-block cache and workspaces (not tensors). */
    long bytesReserved() {
        long w = 0;
        for (Allocation a : workspaces.values()) {
            w += a.capacity;
        }
        return bytesCached + w;
    }

    /** Frees cached blocks (after an out-of-memory, or on close). */
    void trimCache() {
        RuntimeException first = null;
        for (ArrayDeque<Allocation> q : cache.values()) {
            for (Allocation a : q) {
                first = freeQuietly(a, first);
            }
        }
        cache.clear();
        bytesCached = 0;
        if (first != null) {
            throw first;
        }
    }

    /** Frees every block (live tensors, cache, workspaces) even if one free fails; throws the first failure. */
    void closeAll() {
        RuntimeException first = null;
        List<Allocation> all = new ArrayList<>(live);
        for (Allocation a : all) {
            a.freed = true;
            first = freeQuietly(a, first);
        }
        live.clear();
        bytesInUse = 0;
        try {
            trimCache();
        } catch (RuntimeException e) {
            first = first == null ? e : first;
        }
        for (Allocation a : workspaces.values()) {
            first = freeQuietly(a, first);
        }
        workspaces.clear();
        if (first != null) {
            throw first;
        }
    }

    private static RuntimeException freeQuietly(Allocation a, RuntimeException first) {
        try {
            CudaDriver.check(JCudaDriver.cuMemFree(a.ptr), "cuMemFree(" + a.name + ")");
        } catch (RuntimeException e) {
            return first == null ? e : first;
        }
        return first;
    }

    private Allocation raw(long cap, String name) {
        CUdeviceptr p = new CUdeviceptr();
        int r = JCudaDriver.cuMemAlloc(p, cap);
        if (r == CUresult.CUDA_ERROR_OUT_OF_MEMORY && !cache.isEmpty()) {
            CudaDriver.check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
            trimCache();
            r = JCudaDriver.cuMemAlloc(p, cap);
        }
        if (r != CUresult.CUDA_SUCCESS) {
            throw new CudaException("cuMemAlloc(" + cap + " bytes for " + name + "; " + bytesInUse
                    + " bytes in tensors)", r, CudaDriver.name(r));
        }
        return new Allocation(p, addressOf(p), cap);
    }

    /** The numeric device address of a pointer, for kernel parameter structs. */
    static long addressOf(CUdeviceptr p) {
        long[] v = new long[1];
        int r = JCudaDriver.cuPointerGetAttribute(Pointer.to(v), CUpointer_attribute.CU_POINTER_ATTRIBUTE_DEVICE_POINTER, p);
        if (r == CUresult.CUDA_SUCCESS && v[0] != 0) {
            return v[0];
        }
        // Fallback: JCuda keeps the address in NativePointerObject.nativePointer (a fresh cuMemAlloc
        // pointer has no byte offset).
        try {
            java.lang.reflect.Field f = jcuda.NativePointerObject.class.getDeclaredField("nativePointer");
            f.setAccessible(true);
            long a = f.getLong(p);
            if (a != 0) {
                return a;
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            // fall through to the error below
        }
        throw new CudaException("cuPointerGetAttribute(DEVICE_POINTER)", r, CudaDriver.name(r));
    }
}
