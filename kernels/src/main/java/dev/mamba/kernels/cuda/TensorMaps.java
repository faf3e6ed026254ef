package dev.mamba.kernels.cuda;

import jcuda.driver.CUresult;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * TMA tensor maps (CUtensorMap, 128 bytes) for the wgmma kernels' TMA producer (wgmma.cu TMA_KERNEL). The driver's
 * {@code cuTensorMapEncodeTiled} fills them; JCuda 12.6 does not bind it, so it is called through the JDK's foreign
 * linker (the {@code jdk.incubator.foreign} module of JDK 17 and 18, resolved by {@code --add-modules=ALL-SYSTEM} as the
 * launchers pass it, with {@code --enable-native-access=ALL-UNNAMED}) from the libcuda.so.1 that JCuda's driver binding
 * already mapped. (Later JDKs have the final java.lang.foreign instead, which this Java 17 code cannot name.)
 * Where any of that is missing the TMA kernels are simply not candidates: {@link #unavailableReason()} says why.
 * The foreign-linker code sits in {@link Ffm}, loaded only once the module is known to be there.
 */
final class TensorMaps {
    private TensorMaps() {
    }

    /** CUtensorMapDataType BFLOAT16, CUtensorMapSwizzle 128B, CUtensorMapL2promotion L2_256B (cuda.h). */
    static final int BF16 = 9, SWIZZLE_128B = 3, L2_256B = 3;
    /** Elements of k in one box: one 128-byte swizzle row of bf16. */
    static final int BOX_K = 64;

    private static String reason;
    private static boolean probed;

    /**
     * Null when maps can be encoded, else why not (one line). Probed once, on the first call, after the driver
     * binding is loaded (it maps libcuda.so.1).
     */
    static synchronized String unavailableReason() {
        if (!probed) {
            probed = true;
            if (!"true".equals(System.getProperty("mamba.cuda.gemmTma", "true"))) {
                reason = "-Dmamba.cuda.gemmTma=" + System.getProperty("mamba.cuda.gemmTma");
            } else if (CudaDriver.unavailableReason() != null) {  // (this also loads JCuda, which maps libcuda.so.1)
                reason = CudaDriver.unavailableReason();
            } else if (ModuleLayer.boot().findModule("jdk.incubator.foreign").isEmpty()) {
                reason = "this JVM has no jdk.incubator.foreign module (JDK 17 and 18 have it: run them with "
                        + "--add-modules=ALL-SYSTEM or =jdk.incubator.foreign)";
            } else {
                try {
                    reason = Ffm.init();
                } catch (Throwable t) {  // LinkageError, IllegalCallerException without native access, ...
                    reason = "cuTensorMapEncodeTiled could not be bound: " + t;
                }
            }
        }
        return reason;
    }

    /**
     * The map of a row-major bf16 matrix [rows, cols] at {@code address} with a row stride of {@code ld} elements,
     * read in boxes of {@link #BOX_K} columns x {@code boxRows} rows into the 128-byte-swizzle layout the wgmma
     * descriptors expect; the TMA unit zero-fills a box's part beyond rows or cols. As 16 longs (the kernel
     * parameter's bytes). {@code what} names the tensor in errors.
     */
    static long[] bf16Tiled(String what, long address, long rows, long cols, long ld, int boxRows) {
        String why = unavailableReason();
        if (why != null) {
            throw new IllegalStateException("TMA tensor maps are unavailable: " + why);
        }
        if (address % 16 != 0 || (ld * 2) % 16 != 0 || rows < 1 || cols < 1 || ld < cols || boxRows < 1
                || boxRows > 256) {
            throw new IllegalArgumentException(String.format(
                    "tensor map of %s: address %#x, [%d, %d] with row stride %d, box rows %d: the TMA unit needs "
                            + "16-byte aligned rows and 1..256 box rows", what, address, rows, cols, ld, boxRows));
        }
        Key key = new Key(address, rows, cols, ld, boxRows);
        synchronized (CACHE) {
            long[] hit = CACHE.get(key);
            if (hit != null) {
                return hit;
            }
        }
        long[] out = new long[16];
        int r = Ffm.encode(out, address, rows, cols, ld * 2, boxRows);
        if (r != CUresult.CUDA_SUCCESS) {
            throw new CudaException(String.format("cuTensorMapEncodeTiled(%s: [%d, %d], row stride %d bytes, box %d x %d)",
                    what, rows, cols, ld * 2, BOX_K, boxRows), r, CUresult.stringFor(r));
        }
        synchronized (CACHE) {
            CACHE.put(key, out);
        }
        return out;
    }

    /** What a map encodes; a map depends on nothing else, so one is valid wherever its key recurs. */
    private record Key(long address, long rows, long cols, long ld, int boxRows) {
    }

    /**
     * Maps already encoded, least recently used dropped past 512: the forward's GEMMs see the same weights and the
     * same workspace buffers call after call, so a launch costs no foreign call and no native allocation.
     */
    private static final java.util.Map<Key, long[]> CACHE = new java.util.LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(java.util.Map.Entry<Key, long[]> e) {
            return size() > 512;
        }
    };

    /** The path of the libcuda.so.1 this process has mapped (JCuda's driver binding links it), or null. */
    static String mappedLibcuda(List<String> mapsLines) {
        for (String l : mapsLines) {
            int i = l.indexOf('/');
            if (i >= 0 && l.contains("libcuda.so")) {
                return l.substring(i).trim();
            }
        }
        return null;
    }

    /** The foreign-linker binding; its class refers to jdk.incubator.foreign and loads only when that is present. */
    private static final class Ffm {
        private static java.lang.invoke.MethodHandle encode;

        static String init() throws Throwable {
            String lib;
            try {
                lib = mappedLibcuda(Files.readAllLines(Path.of("/proc/self/maps")));
            } catch (IOException e) {
                return "cannot read /proc/self/maps to find libcuda.so.1: " + e.getMessage();
            }
            if (lib == null) {
                return "libcuda.so.1 is not mapped into this process";
            }
            System.load(lib);
            var sym = jdk.incubator.foreign.SymbolLookup.loaderLookup().lookup("cuTensorMapEncodeTiled");
            if (sym.isEmpty()) {
                return lib + " has no cuTensorMapEncodeTiled (a driver older than CUDA 12)";
            }
            var p = jdk.incubator.foreign.CLinker.C_POINTER;
            var i = jdk.incubator.foreign.CLinker.C_INT;
            Class<?> a = jdk.incubator.foreign.MemoryAddress.class;
            encode = jdk.incubator.foreign.CLinker.getInstance().downcallHandle(sym.get(),
                    java.lang.invoke.MethodType.methodType(int.class, a, int.class, int.class, a, a, a, a, a, int.class,
                            int.class, int.class, int.class),
                    jdk.incubator.foreign.FunctionDescriptor.of(i, p, i, i, p, p, p, p, p, i, i, i, i));
            return null;
        }

        /** cuTensorMapEncodeTiled for a 2-D bf16 tensor; the map's 16 words into out. */
        static int encode(long[] out, long address, long rows, long cols, long strideBytes, int boxRows) {
            try (var scope = jdk.incubator.foreign.ResourceScope.newConfinedScope()) {
                var map = jdk.incubator.foreign.MemorySegment.allocateNative(128, 64, scope);
                var dims = jdk.incubator.foreign.MemorySegment.allocateNative(16, 8, scope);
                var strides = jdk.incubator.foreign.MemorySegment.allocateNative(8, 8, scope);
                var box = jdk.incubator.foreign.MemorySegment.allocateNative(8, 4, scope);
                var elemStrides = jdk.incubator.foreign.MemorySegment.allocateNative(8, 4, scope);
                jdk.incubator.foreign.MemoryAccess.setLongAtIndex(dims, 0, cols);
                jdk.incubator.foreign.MemoryAccess.setLongAtIndex(dims, 1, rows);
                jdk.incubator.foreign.MemoryAccess.setLongAtIndex(strides, 0, strideBytes);
                jdk.incubator.foreign.MemoryAccess.setIntAtIndex(box, 0, BOX_K);
                jdk.incubator.foreign.MemoryAccess.setIntAtIndex(box, 1, boxRows);
                jdk.incubator.foreign.MemoryAccess.setIntAtIndex(elemStrides, 0, 1);
                jdk.incubator.foreign.MemoryAccess.setIntAtIndex(elemStrides, 1, 1);
                int r = (int) encode.invokeExact(map.address(), BF16, 2,
                        jdk.incubator.foreign.MemoryAddress.ofLong(address), dims.address(), strides.address(),
                        box.address(), elemStrides.address(), 0, SWIZZLE_128B, L2_256B, 0);
                for (int k = 0; k < 16; k++) {
                    out[k] = jdk.incubator.foreign.MemoryAccess.getLongAtIndex(map, k);
                }
                return r;
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException("cuTensorMapEncodeTiled call failed", t);
            }
        }
    }
}
