package dev.mamba.kernels.cuda;

import dev.mamba.kernels.Backend;
import dev.mamba.kernels.DType;
import dev.mamba.kernels.Precision;
import dev.mamba.kernels.Tensor;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The CUDA backend: every tensor lives in device memory of one GPU; operators are kernels of the module
 * built from {@code src/main/cuda} queued on one non-default stream. Public methods are synchronized and
 * make the device's primary context current first (Spark reuses task threads across stages).
 * Set {@code -Dmamba.cuda.sync=true} to synchronize and check after every launch (debugging).
 */
public final class CudaBackend implements Backend {
    private static final Logger LOG = LoggerFactory.getLogger(CudaBackend.class);
    /** Workspace slots of {@link DeviceMemory#workspace}. */
    private static final int WS_STAGE = 0, WS_SCAN = 1, WS_LANES = 2, WS_GEMM_X = 3, WS_PROBE = 4, WS_TUNE = 5;

    private final int deviceIndex;
    private final Precision precision;
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final CUstream stream = new CUstream();
    private final CudaModule module;
    private final DeviceMemory memory;
    private final HostStaging staging;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final String deviceName;
    private final int ccMajor, ccMinor, smCount, driverVersion, archCode;
    /** L2 cache size in bytes (residualInLinear). */
    private final long l2Bytes;
    private final boolean sm90a;
    private final boolean exactScanExp;
    /** -Dmamba.cuda.scanChan: when the scan takes its channel-per-thread main pass (CudaScan.plan). */
    private final ChanScan chanScan;

    /** auto: where it fills the GPU (many lanes); off: never; force: wherever it applies (tests). */
    enum ChanScan { AUTO, OFF, FORCE }
    /**
     * bf16: dt_proj inside the scan kernel with -Dmamba.cuda.fusedDtProj=true (it then needs no [rows, D] dt
     * tensor). Off by default, slower on the H200 with every main pass: with 16 states the warp-specialised
     * pass's helper warps run the mma, 1.714 ms per layer at 64 x 2048 against 1.313 + 0.159 for that pass plus
     * the dt_proj GEMM (forward 1.319 vs 1.391 M tokens/s, run 34); the channel-per-thread pass's variant took
     * 1.618 ms against 1.213 + 0.125 (forward 1.395 vs 1.478 M, run 54); the phase-by-phase kernel's variant
     * (other state counts, or -Dmamba.cuda.scanWs=false) took 0.39 ms per layer at 8 x 2048 against 0.26 + 0.07
     * (run 14).
     */
    private final boolean fusedDtProj = Boolean.getBoolean("mamba.cuda.fusedDtProj");
    /**
     * bf16 with -Dmamba.cuda.deltaInDtProj=true, where the scan takes the channel-per-thread pass (many lanes):
     * the dt_proj GEMM's epilogue writes δ = softplus(dt + bias) and the pass reads it, one exp-unit op less
     * per step and channel in a pass the exp unit bounds. Off by default: on the H200 at 64 x 2048 the scan
     * gained 0.09 ms per layer (1.100 vs ~1.19) but dt_proj lost 0.157 (0.282 vs 0.125: its epilogue runs on
     * the 8 consumer warps per SM of the persistent wgmma kernel), forward 1.479 vs 1.481 M tokens/s (run 65).
     * (bf16 only: the 128-wide wgmma tiles that bf16 dt_proj takes apply a bias in their staged epilogue;
     * elsewhere a bias goes through the per-pair stores, several times slower on dt_proj's output.)
     */
    private final boolean deltaInDtProj = Boolean.getBoolean("mamba.cuda.deltaInDtProj");
    /**
     * bf16: the conv and x_proj in one kernel (conv_xproj.cu), -Dmamba.cuda.fusedConvXProj=auto|true|false.
     * auto (default) takes it from {@link #CONV_XPROJ_BLOCKS_PER_SM} of its 64-row blocks per SM on: on the H200
     * it took 0.378-0.389 ms per layer at 64 x 2048 against 0.394-0.408 for the conv kernel plus the x_proj GEMM
     * (forward +0.7 % and +0.8 % in two A/B runs, 63 and 66; 0.364-0.371 ms since runs 80-82), and lost at
     * 8 x 2048 (256 blocks: 0.088 against 0.069 ms). true: wherever it applies (tests); false: never.
     */
    private final String fusedConvXProj = System.getProperty("mamba.cuda.fusedConvXProj", "auto");
    static final int CONV_XPROJ_BLOCKS_PER_SM = 6;
    /** Warps per block of that kernel: 4 (64 rows), or 8 with -Dmamba.cuda.convXProjWarps=8 (measured slower). */
    private final int convXProjWarps = Integer.getInteger("mamba.cuda.convXProjWarps", 4);
    /**
     * The scan's main pass with recurrence warps and helper warps (scan.cuh scan_ws_kernel); false
     * (-Dmamba.cuda.scanWs=false) takes the kernel that runs its phases one after the other.
     */
    private final boolean warpSpecialisedScan = !"false".equals(System.getProperty("mamba.cuda.scanWs"));
    /**
     * On sm_90a the 16-state warp-specialised pass comes from the sm_90a module, at 4 blocks per SM
     * (sm90a.cu, setmaxnreg); false (-Dmamba.cuda.scanWs4=false) keeps the portable module's 3 per SM.
     */
    private final boolean hopperScanWanted = !"false".equals(System.getProperty("mamba.cuda.scanWs4"));
    /** Which sm_90a scan passes the sm_90a module carries (asked once per name). */
    private final java.util.Map<String, Boolean> hopperScanPresent = new java.util.HashMap<>();
    /** The sm_90a wgmma module (null when absent, not Hopper, or switched off). */
    private CudaModule wgmma;
    /** Why there are no wgmma kernels, or their self-check verdicts, for describe(). */
    private String wgmmaNote = "";
    private CudaGemm gemm;
    /** Per-operator event timing (-Dmamba.cuda.profile=true), else null. */
    private final CudaProfiler profiler;

    /** Opens the backend on {@code deviceIndex}; the provider has checked driver, index and capability. */
    CudaBackend(int deviceIndex, Precision precision, byte[] fatbin) {
        this.deviceIndex = deviceIndex;
        this.precision = precision;
        // The scan's exp(δA) runs on the MUFU (ex2.approx) in every mode: on the H200 it measured 2.7e-7
        // relative error even over 262144 steps (no bias showed), well inside FP32 mode's 1e-5, at 0.75x
        // the time of the unbiased FMA-pipe exp2; -Dmamba.cuda.scanExp=exact brings that one back.
        String scanExp = System.getProperty("mamba.cuda.scanExp", "fast");
        if (!scanExp.equals("exact") && !scanExp.equals("fast")) {
            throw new IllegalArgumentException("mamba.cuda.scanExp=" + scanExp + ": expected exact or fast");
        }
        this.exactScanExp = scanExp.equals("exact");
        String chan = System.getProperty("mamba.cuda.scanChan", "auto");
        this.chanScan = switch (chan) {
            case "auto", "true" -> ChanScan.AUTO;
            case "false" -> ChanScan.OFF;
            case "force" -> ChanScan.FORCE;
            default -> throw new IllegalArgumentException("mamba.cuda.scanChan=" + chan + ": expected auto, false or force");
        };
        CudaDriver.check(JCudaDriver.cuDeviceGet(device, deviceIndex), "cuDeviceGet(" + deviceIndex + ")");
        CudaDriver.check(JCudaDriver.cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain");
        CudaModule m = null;
        DeviceMemory mem = null;
        boolean streamMade = false;
        try {
            CudaDriver.check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
            CudaDriver.check(JCudaDriver.cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
            streamMade = true;
            m = new CudaModule(fatbin, stream, Boolean.getBoolean("mamba.cuda.sync"));
            mem = new DeviceMemory(stream, !"false".equals(System.getProperty("mamba.cuda.cache")));
            this.deviceName = CudaBackendProvider.deviceName(device);
            this.ccMajor = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
            this.ccMinor = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
            this.smCount = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
            this.l2Bytes = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE);
            int[] v = new int[1];
            CudaDriver.check(JCudaDriver.cuDriverGetVersion(v), "cuDriverGetVersion");
            this.driverVersion = v[0];
            // which SASS the driver picked: __CUDA_ARCH__ and whether sm_90a features are compiled in
            DeviceMemory.Allocation probe = mem.workspace(WS_PROBE, 8);
            CudaDriver.check(JCudaDriver.cuMemsetD8Async(probe.ptr, (byte) 0, 8, stream), "cuMemsetD8Async");
            Pointer args = Pointer.to(Pointer.to(probe.ptr));
            CudaDriver.check(JCudaDriver.cuLaunchKernel(m.function("mamba_arch_probe"), 1, 1, 1, 1, 1, 1, 0, stream,
                    args, null), "cuLaunchKernel(mamba_arch_probe)");
            int[] arch = new int[2];
            CudaDriver.check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize(arch probe)");
            // synchronous copy into a Java array (JCuda's async copies need pinned or direct memory)
            CudaDriver.check(JCudaDriver.cuMemcpyDtoH(Pointer.to(arch), probe.ptr, 8), "cuMemcpyDtoH(arch probe)");
            this.archCode = arch[0];
            this.sm90a = arch[1] != 0;
        } catch (RuntimeException | Error e) {
            try {
                if (mem != null) {
                    mem.closeAll();
                }
                if (m != null) {
                    m.unload();
                }
                if (streamMade) {
                    JCudaDriver.cuStreamDestroy(stream);
                }
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            } finally {
                JCudaDriver.cuDevicePrimaryCtxRelease(device);
            }
            throw e;
        }
        this.module = m;
        this.memory = mem;
        this.staging = new HostStaging(stream);
        this.profiler = Boolean.getBoolean("mamba.cuda.profile") ? new CudaProfiler(stream) : null;
        this.gemm = new CudaGemm(this, loadWgmma());
    }

    /**
     * Loads the sm_90a module on compute capability 9.0 in TF32/BF16 mode (unless switched off), checks
     * its GEMM kernels in a context of their own ({@link WgmmaCheck}) and returns those that passed.
     * Logs one line with the outcome.
     */
    private java.util.Set<CudaGemm.Kernel> loadWgmma() {
        java.util.Set<CudaGemm.Kernel> ok = java.util.EnumSet.noneOf(CudaGemm.Kernel.class);
        if (ccMajor != 9 || ccMinor != 0 || precision == Precision.FP32) {
            return ok;
        }
        if ("false".equals(System.getProperty("mamba.cuda.wgmma"))) {
            wgmmaNote = "wgmma off by -Dmamba.cuda.wgmma=false";
            LOG.info("cuda: {}", wgmmaNote);
            return ok;
        }
        byte[] bin = CudaModule.readWgmmaFatbin();
        if (bin == null) {
            wgmmaNote = "no sm_90a module in the jar";
            LOG.warn("cuda: {}: GEMMs use mma.sync", wgmmaNote);
            return ok;
        }
        try {
            CudaModule w = new CudaModule(bin, stream, Boolean.getBoolean("mamba.cuda.sync"));
            DeviceMemory.Allocation probe = memory.workspace(WS_PROBE, 8);
            CudaDriver.check(JCudaDriver.cuMemsetD8Async(probe.ptr, (byte) 0, 8, stream), "cuMemsetD8Async");
            CudaDriver.check(JCudaDriver.cuLaunchKernel(w.function("mamba_wgmma_probe"), 1, 1, 1, 1, 1, 1, 0, stream,
                    Pointer.to(Pointer.to(probe.ptr)), null), "cuLaunchKernel(mamba_wgmma_probe)");
            CudaDriver.check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize(wgmma probe)");
            int[] arch = new int[2];
            CudaDriver.check(JCudaDriver.cuMemcpyDtoH(Pointer.to(arch), probe.ptr, 8), "cuMemcpyDtoH(wgmma probe)");
            if (arch[1] != 1) {
                w.unload();
                wgmmaNote = "the driver did not pick the sm_90a code";
                LOG.warn("cuda: {}: GEMMs use mma.sync", wgmmaNote);
                return ok;
            }
            DType weight = precision == Precision.BF16 ? DType.BF16 : DType.F32;
            java.util.List<CudaGemm.Kernel> kernels = CudaGemm.hopperKernels(weight);
            java.util.Map<CudaGemm.Kernel, String> v = WgmmaCheck.verdicts(deviceIndex, device, bin, kernels);
            CudaDriver.check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
            StringBuilder note = new StringBuilder("wgmma check:");
            for (CudaGemm.Kernel k : kernels) {
                String why = v.get(k);
                note.append(' ').append(k.label).append(why == null ? " ok" : " OFF (" + why + ")");
                if (why == null) {
                    ok.add(k);
                }
            }
            if (weight == DType.BF16 && TensorMaps.unavailableReason() != null) {
                note.append("; TMA producers off (").append(TensorMaps.unavailableReason()).append(')');
            }
            wgmmaNote = note.toString();
            if (ok.isEmpty()) {
                w.unload();
                LOG.warn("cuda: {}: GEMMs use mma.sync", wgmmaNote);
            } else {
                wgmma = w;
                LOG.info("cuda: device {} {}", deviceIndex, wgmmaNote);
            }
        } catch (CudaException e) {
            wgmmaNote = "wgmma module not loaded: " + e.getMessage();
            LOG.warn("cuda: the sm_90a wgmma module could not be loaded, using mma.sync: {}", e.getMessage());
        }
        return ok;
    }

    /**
     * bf16 with a bulk-add wgmma kernel verified and a residual of more than twice the L2 (the tuner still picks
     * the kernel per shape). Measured on the H200 (runs 73-74): 64 x 2048 (403 MB) +0.5-0.9 % with out_proj's +=
     * 0.585 ms and the plain norm 0.169-0.180 against 0.492 + 0.300; 8 x 2048 (50 MB, the L2's size) -3 %, as the
     * fused add + norm then runs from L2. {@code -Dmamba.cuda.residualInLinear=true|false} overrides (A/B runs).
     */
    @Override
    public boolean residualInLinear(int rows, int hidden) {
        String p = System.getProperty("mamba.cuda.residualInLinear");
        if (p != null) {
            return Boolean.parseBoolean(p);
        }
        return precision == Precision.BF16 && gemm.bulkAdds() && 4L * rows * hidden > 2L * l2Bytes;
    }

    /** The wgmma module (null when no wgmma kernel is in use). */
    CudaModule wgmmaModule() {
        return wgmma;
    }

    private int attribute(int attr) {
        int[] v = new int[1];
        CudaDriver.check(JCudaDriver.cuDeviceGetAttribute(v, attr, device), "cuDeviceGetAttribute(" + attr + ")");
        return v[0];
    }

    // ---------------------------------------------------------------- identity

    @Override
    public String name() {
        return "cuda";
    }

    /** The GEMM tuner times its candidates at each new shape; the module loads each kernel at first launch. */
    @Override
    public boolean warmsUpPerShape() {
        return true;
    }

    @Override
    public String describe() {
        return String.format("cuda: device %d %s (cc %d.%d, %d SMs, kernels sm_%d%s), driver %d.%d, precision %s, gemm %s, scan exp %s%s",
                deviceIndex, deviceName, ccMajor, ccMinor, smCount, archCode / 10, sm90a ? "a" : "",
                driverVersion / 1000, (driverVersion % 1000) / 10, precision.lower(), gemmName(),
                exactScanExp ? "exact (fma)" : "fast (ex2.approx)",
                precision == Precision.BF16 ? (fusedDtProj ? ", dt_proj fused into the scan" : ", dt_proj as a GEMM")
                        + ", conv + x_proj fused: " + fusedConvXProj : "");
    }

    private String gemmName() {
        if (precision == Precision.FP32) {
            return "fp32 ffma";
        }
        String t = precision == Precision.TF32 ? "tf32" : "bf16";
        CudaGemm.Kernel last = gemm == null ? null : gemm.last();
        return t + " mma.sync" + (wgmma != null ? " + wgmma" : "") + (wgmmaNote.isEmpty() ? "" : " (" + wgmmaNote + ")")
                + (last == null ? "" : ", last linear: " + last.label);
    }

    /** Label of the GEMM kernel that ran the last {@code linear} ("mma_big", "wgmma_ws256", ...), or null. */
    public synchronized String lastGemmKernel() {
        CudaGemm.Kernel k = gemm.last();
        return k == null ? null : k.fullName();
    }

    /** One line per GEMM shape class tuned so far: each candidate's time and the choice. */
    public synchronized java.util.List<String> gemmTuning() {
        return gemm.tuneLines();
    }

    /** True when -Dmamba.cuda.profile=true made this backend time every operator. */
    public boolean profiling() {
        return profiler != null;
    }

    /**
     * The per-operator profile since open or the last {@link #profileReset()}: calls, total ms, ms per
     * call and share of the summed device time per operator label (linear by weight name and kernel).
     */
    public synchronized String profileReport() {
        if (profiler == null) {
            return "profiling is off (set -Dmamba.cuda.profile=true)\n";
        }
        enter();
        return profiler.report();
    }

    /** Forgets the profile recorded so far (e.g. after warm-up). */
    public synchronized void profileReset() {
        if (profiler != null) {
            enter();
            profiler.reset();
        }
    }

    @Override
    public Precision precision() {
        return precision;
    }

    @Override
    public DType activationType() {
        return precision == Precision.BF16 ? DType.BF16 : DType.F32;
    }

    @Override
    public DType matrixWeightType() {
        return precision == Precision.BF16 ? DType.BF16 : DType.F32;
    }

    /** Number of streaming multiprocessors (for launch heuristics and the benchmark). */
    public int smCount() {
        return smCount;
    }

    /** Device name as the driver reports it. */
    public String deviceName() {
        return deviceName;
    }

    // ---------------------------------------------------------------- context, checks

    private void enter() {
        if (closed.get()) {
            throw new IllegalStateException("cuda backend has been closed already");
        }
        CudaDriver.check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
    }

    private static CudaTensor t(Tensor x, String what) {
        if (x == null) {
            throw new IllegalArgumentException(what + " is null");
        }
        if (!(x instanceof CudaTensor)) {
            throw new IllegalArgumentException(what + " " + x.name() + " belongs to another backend");
        }
        CudaTensor c = (CudaTensor) x;
        if (c.alloc.freed) {
            throw new IllegalStateException(what + " " + c.name + " has been freed");
        }
        return c;
    }

    private static CudaTensor typed(Tensor x, String what, DType... allowed) {
        CudaTensor c = t(x, what);
        for (DType d : allowed) {
            if (c.dtype == d) {
                return c;
            }
        }
        throw new IllegalArgumentException(what + " " + c.name + " has dtype " + c.dtype + ", expected "
                + (allowed.length == 1 ? allowed[0].toString() : java.util.Arrays.toString(allowed)));
    }

    private static CudaTensor act(Tensor x, String what) {
        return typed(x, what, DType.F32, DType.BF16);
    }

    private static void shape(Tensor x, int rows, int cols, String op) {
        if (x.rows() != rows || x.cols() != cols) {
            throw new IllegalArgumentException(op + ": " + x.name() + " has shape " + x.shape() + ", expected ["
                    + rows + ", " + cols + "]");
        }
    }

    private static String tn(DType d) {
        switch (d) {
            case F32: return "f32";
            case BF16: return "bf16";
            default: return "i32";
        }
    }

    // ---------------------------------------------------------------- memory

    @Override
    public synchronized Tensor allocate(String name, int rows, int cols, DType dtype) {
        enter();
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException("tensor " + name + ": negative shape [" + rows + ", " + cols + "]");
        }
        long bytes = (long) rows * cols * dtype.bytes();
        return new CudaTensor(name, dtype, memory.allocate(name, bytes), rows, cols);
    }

    /**
     * TF32 mode rounds matrix weights to tf32 (nearest, ties away, as cvt.rna does) once here, so that the
     * wgmma kernels' producer rounds only the activation rows of each stage (it rounded both: tf32 GEMMs
     * ran at 129 TF/s, a third of bf16). Every TF32 kernel rounds its operands the same way, so results
     * do not change.
     */
    @Override
    public synchronized Tensor uploadMatrix(String name, float[] data, int rows, int cols) {
        if (precision != Precision.TF32) {
            return upload(name, data, rows, cols, matrixWeightType());
        }
        float[] r = new float[data.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = WgmmaCheck.tf32(data[i]);
        }
        CudaTensor t = (CudaTensor) upload(name, r, rows, cols, DType.F32);
        t.alloc.tf32Rounded = true;
        return t;
    }

    @Override
    public synchronized Tensor allocateGemmInput(String name, int rows, int cols) {
        CudaTensor t = (CudaTensor) allocate(name, rows, cols, activationType());
        if (precision == Precision.TF32 && t.dtype == DType.F32) {
            t.alloc.roundTf32Writes = true;
            t.alloc.tf32Rounded = true;  // zero-filled at allocation, which tf32 represents exactly
        }
        return t;
    }

    /** A write target: whatever it holds now is no longer what uploadMatrix rounded. */
    private static CudaTensor written(CudaTensor t) {
        t.alloc.tf32Rounded = false;
        return t;
    }

    /**
     * The output of a kernel that can round it: true (round it) for f32 into a GEMM-input allocation,
     * which then keeps its tf32Rounded mark; otherwise the write clears the mark.
     */
    private static boolean roundsTf32(CudaTensor o) {
        if (o.dtype == DType.F32 && o.alloc.roundTf32Writes) {
            return true;
        }
        written(o);
        return false;
    }

    @Override
    public synchronized void free(Tensor x) {
        enter();
        if (!(x instanceof CudaTensor)) {
            throw new IllegalArgumentException("tensor " + x.name() + " belongs to another backend");
        }
        CudaTensor c = (CudaTensor) x;
        if (!c.root) {
            throw new IllegalArgumentException("cannot free view of " + c.name + "; free the tensor it came from");
        }
        memory.release(c.alloc);
    }

    @Override
    public long bytesAllocated() {
        synchronized (this) {
            return closed.get() ? 0 : memory.bytesInUse();
        }
    }

    /** Device bytes held besides tensors (free-block cache, workspaces). */
    public synchronized long bytesReserved() {
        return closed.get() ? 0 : memory.bytesReserved();
    }

    /** Fills pinned staging buffer rows [r0, r1) of a transfer with 4-byte little-endian elements. */
    private interface RowSource {
        void put(ByteBuffer dst, int r0, int r1);
    }

    /** Consumes rows [r0, r1) of a transfer from a staging buffer (4-byte little-endian elements). */
    private interface RowSink {
        void get(ByteBuffer src, int r0, int r1);
    }

    @Override
    public synchronized void write(Tensor dst, float[] src, int offset) {
        enter();
        CudaTensor d = written(typed(dst, "write target", DType.F32, DType.BF16));
        checkRange(src.length, offset, d, "write");
        final int cols = d.cols;
        writeRows(d, (b, r0, r1) -> b.asFloatBuffer().put(src, offset + r0 * cols, (r1 - r0) * cols));
    }

    @Override
    public synchronized void write(Tensor dst, int[] src, int offset) {
        enter();
        CudaTensor d = written(typed(dst, "write target", DType.I32));
        checkRange(src.length, offset, d, "write");
        final int cols = d.cols;
        writeRows(d, (b, r0, r1) -> b.asIntBuffer().put(src, offset + r0 * cols, (r1 - r0) * cols));
    }

    @Override
    public synchronized void write(Tensor dst, ByteBuffer src) {
        enter();
        CudaTensor d = written(t(dst, "write target"));
        long need = 4L * d.rows * d.cols;
        if (src.remaining() < need) {
            throw new IllegalArgumentException("write " + d.name + d.shape() + ": buffer holds " + src.remaining()
                    + " bytes, need " + need);
        }
        if (need == 0) {
            return;
        }
        if (src.isDirect() && d.dtype != DType.BF16 && d.contiguous()) {
            // straight from the caller's (Arrow) buffer; for pageable memory the driver returns once the
            // bytes are staged, so the caller may release the buffer afterwards
            ByteBuffer s = src.duplicate();
            s.limit(s.position() + (int) need);
            CudaDriver.check(JCudaDriver.cuMemcpyHtoDAsync(d.alloc.ptr.withByteOffset(d.byteOffset(0)),
                    Pointer.to(s.slice()), need, stream), "cuMemcpyHtoDAsync(" + d.name + ")");
            return;
        }
        final int base = src.position();
        final int cols = d.cols;
        writeRows(d, (b, r0, r1) -> {
            ByteBuffer s = src.duplicate();
            s.position(base + r0 * cols * 4).limit(base + r1 * cols * 4);
            b.put(s);
        });
    }

    private static void checkRange(int length, int offset, CudaTensor d, String op) {
        long need = (long) d.rows * d.cols;
        if (offset < 0 || offset + need > length) {
            throw new IllegalArgumentException(op + " " + d.name + d.shape() + ": array of " + length
                    + " from offset " + offset + " holds fewer than " + need + " elements");
        }
    }

    private void writeRows(CudaTensor d, RowSource src) {
        final int rows = d.rows, cols = d.cols;
        if (rows == 0 || cols == 0) {
            return;
        }
        CUevent pe = pBegin();
        writeRowsImpl(d, src);
        if (pe != null) {
            pEnd(pe, "write (host->device) " + tn(d.dtype));
        }
    }

    private void writeRowsImpl(CudaTensor d, RowSource src) {
        final int rows = d.rows, cols = d.cols;
        final long rowBytes = 4L * cols;
        staging.ensure(rowBytes);
        final int perChunk = (int) Math.max(1, Math.min(rows, staging.capacity() / rowBytes));
        final boolean direct = d.dtype != DType.BF16 && d.contiguous();
        int k = 0;
        for (int r0 = 0; r0 < rows; r0 += perChunk, k++) {
            int r1 = Math.min(rows, r0 + perChunk);
            int i = k & 1;
            ByteBuffer b = staging.acquire(i);
            src.put(b, r0, r1);
            long bytes = rowBytes * (r1 - r0);
            if (direct) {
                CudaDriver.check(JCudaDriver.cuMemcpyHtoDAsync(d.alloc.ptr.withByteOffset(d.byteOffset(r0)),
                        staging.pointer(i), bytes, stream), "cuMemcpyHtoDAsync(" + d.name + ")");
            } else {
                DeviceMemory.Allocation ws = memory.workspace(WS_STAGE, staging.capacity());
                CudaDriver.check(JCudaDriver.cuMemcpyHtoDAsync(ws.ptr, staging.pointer(i), bytes, stream),
                        "cuMemcpyHtoDAsync(staging for " + d.name + ")");
                String fn = d.dtype == DType.BF16 ? "mamba_copy_f32_bf16" : "mamba_copy_u32";
                ew2d(fn, ws.address, cols, d.address(r0, 0), d.ld, r1 - r0, cols, 0);
            }
            staging.queued(i);
        }
    }

    private void readRows(CudaTensor s, RowSink sink) {
        final int rows = s.rows, cols = s.cols;
        if (rows == 0 || cols == 0) {
            return;
        }
        final long rowBytes = 4L * cols;
        staging.ensure(rowBytes);
        final int perChunk = (int) Math.max(1, Math.min(rows, staging.capacity() / rowBytes));
        final boolean direct = s.dtype != DType.BF16 && s.contiguous();
        int prev0 = -1, prev1 = -1, k = 0;
        for (int r0 = 0; r0 < rows; r0 += perChunk, k++) {
            int r1 = Math.min(rows, r0 + perChunk);
            int i = k & 1;
            staging.acquire(i);
            long bytes = rowBytes * (r1 - r0);
            if (direct) {
                CudaDriver.check(JCudaDriver.cuMemcpyDtoHAsync(staging.pointer(i),
                        s.alloc.ptr.withByteOffset(s.byteOffset(r0)), bytes, stream), "cuMemcpyDtoHAsync(" + s.name + ")");
            } else {
                DeviceMemory.Allocation ws = memory.workspace(WS_STAGE, staging.capacity());
                String fn = s.dtype == DType.BF16 ? "mamba_copy_bf16_f32" : "mamba_copy_u32";
                ew2d(fn, s.address(r0, 0), s.ld, ws.address, cols, r1 - r0, cols, 0);
                CudaDriver.check(JCudaDriver.cuMemcpyDtoHAsync(staging.pointer(i), ws.ptr, bytes, stream),
                        "cuMemcpyDtoHAsync(staging for " + s.name + ")");
            }
            staging.queued(i);
            if (prev0 >= 0) {
                int j = (k - 1) & 1;
                staging.await(j);
                sink.get(staging.buffer(j), prev0, prev1);
            }
            prev0 = r0;
            prev1 = r1;
        }
        int j = (k - 1) & 1;
        staging.await(j);
        sink.get(staging.buffer(j), prev0, prev1);
    }

    @Override
    public synchronized void read(Tensor src, float[] dst, int offset) {
        enter();
        CudaTensor s = typed(src, "read source", DType.F32, DType.BF16);
        checkRange(dst.length, offset, s, "read");
        final int cols = s.cols;
        readRows(s, (b, r0, r1) -> b.asFloatBuffer().get(dst, offset + r0 * cols, (r1 - r0) * cols));
    }

    @Override
    public synchronized void read(Tensor src, int[] dst, int offset) {
        enter();
        CudaTensor s = typed(src, "read source", DType.I32);
        checkRange(dst.length, offset, s, "read");
        final int cols = s.cols;
        readRows(s, (b, r0, r1) -> b.asIntBuffer().get(dst, offset + r0 * cols, (r1 - r0) * cols));
    }

    @Override
    public synchronized void fill(Tensor x, float value) {
        enter();
        CudaTensor c = written(t(x, "fill target"));
        CUevent pe = pBegin();
        fillImpl(c, value);
        if (pe != null) {
            pEnd(pe, "fill " + c.rows + "x" + c.cols + " " + tn(c.dtype));
        }
    }

    private void fillImpl(CudaTensor c, float value) {
        switch (c.dtype) {
            case BF16:
                ew2d("mamba_fill_u16", 0, 0, c.address(), c.ld, c.rows, c.cols, Bf16.fromFloat(value) & 0xffff);
                break;
            case I32:
                ew2d("mamba_fill_u32", 0, 0, c.address(), c.ld, c.rows, c.cols, (int) value);
                break;
            default:
                ew2d("mamba_fill_u32", 0, 0, c.address(), c.ld, c.rows, c.cols, Float.floatToRawIntBits(value));
        }
    }

    @Override
    public synchronized void copy(Tensor src, Tensor dst) {
        enter();
        CudaTensor s = t(src, "copy source"), d = written(t(dst, "copy target"));
        shape(d, s.rows, s.cols, "copy");
        String fn;
        if (s.dtype == d.dtype) {
            fn = s.dtype == DType.BF16 ? "mamba_copy_u16" : "mamba_copy_u32";
        } else if (s.dtype == DType.I32 || d.dtype == DType.I32) {
            throw new IllegalArgumentException("copy " + s.name + " -> " + d.name + ": cannot convert between "
                    + s.dtype + " and " + d.dtype);
        } else {
            fn = "mamba_copy_" + tn(s.dtype) + "_" + tn(d.dtype);
        }
        CUevent pe = pBegin();
        ew2d(fn, s.address(), s.ld, d.address(), d.ld, s.rows, s.cols, 0);
        if (pe != null) {
            pEnd(pe, "copy " + s.rows + "x" + s.cols + " " + tn(s.dtype) + "->" + tn(d.dtype));
        }
    }

    /** Grid for the 2-D elementwise kernels; contiguous operands are treated as one long row. */
    private void ew2d(String fn, long src, long lds, long dst, long ldd, int rows, int cols, long value) {
        if (rows == 0 || cols == 0) {
            return;
        }
        boolean flat = rows == 1 || (ldd == cols && (src == 0 || lds == cols));
        long r = flat ? 1 : rows;
        long c = flat ? (long) rows * cols : cols;
        long gx = Math.min((c + 255) / 256, 1L << 16);
        long gy = Math.min(r, 65535);
        module.launch(fn, gx, gy, 1, 256, 0, src, dst, lds, ldd, r, c, value);
    }

    @Override
    public synchronized void synchronize() {
        enter();
        CudaDriver.check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
    }

    // ---------------------------------------------------------------- operators

    @Override
    public synchronized void embedding(Tensor ids, Tensor table, Tensor out) {
        enter();
        CudaTensor id = typed(ids, "ids", DType.I32), tb = act(table, "table"), o = written(act(out, "out"));
        shape(id, id.rows, 1, "embedding ids");
        shape(o, id.rows, tb.cols, "embedding");
        CUevent pe = pBegin();
        module.launch("mamba_embedding_" + tn(tb.dtype) + "_" + tn(o.dtype), id.rows, 1, 1, 256, 0,
                id.address(), tb.address(), o.address(), id.ld, tb.ld, o.ld, id.rows, tb.cols, tb.rows);
        if (pe != null) {
            pEnd(pe, "embedding " + id.rows + "x" + tb.cols + " " + tn(tb.dtype) + "->" + tn(o.dtype));
        }
    }

    @Override
    public synchronized void linear(Tensor x, Tensor w, Tensor bias, Tensor out, boolean accumulate) {
        linear(x, w, bias, out, accumulate, CudaGemm.ACT_NONE);
    }

    /** {@link #linear} with an activation after the bias ({@link CudaGemm#ACT_SOFTPLUS}: dt_proj writing δ). */
    private void linear(Tensor x, Tensor w, Tensor bias, Tensor out, boolean accumulate, int act) {
        enter();
        CudaTensor xi = act(x, "input"), wi = act(w, "weight"), o = written(act(out, "output"));
        checkLinear(xi, wi, o);
        CudaTensor b = null;
        if (bias != null) {
            b = typed(bias, "bias", DType.F32);
            shape(b, 1, wi.rows, "linear " + wi.name + " bias");
        }
        CUevent pe = pBegin();
        gemm.run(xi, wi, b, o, accumulate, act);
        if (pe != null) {
            CudaGemm.Kernel k = gemm.last();
            pEnd(pe, "linear " + weightLabel(wi.name) + " " + xi.rows + "x" + xi.cols + "->" + wi.rows + " "
                    + tn(o.dtype) + (accumulate ? " +=" : "") + (act == CudaGemm.ACT_SOFTPLUS ? " +bias, softplus" : "")
                    + " [" + (k == null ? "-" : k.fullName()) + "]");
        }
    }

    /** x [M, K] · w [N, K]ᵀ into out [M, N]: the features agree and out has the shape. */
    private static void checkLinear(CudaTensor x, CudaTensor w, CudaTensor out) {
        if (x.cols != w.cols) {
            throw new IllegalArgumentException("linear " + w.name + ": input " + x.name + " has " + x.cols
                    + " features, weight " + w.shape() + " expects " + w.cols);
        }
        shape(out, x.rows, w.rows, "linear " + w.name);
    }

    /** A weight name with its layer number replaced by '*', so the profile sums over layers. */
    static String weightLabel(String name) {
        return name.replaceAll("\\.\\d+\\.", ".*.").replace("backbone.", "");
    }

    @Override
    public synchronized void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out) {
        enter();
        CudaTensor xi = act(x, "input"), wi = typed(weight, "weight", DType.F32), o = act(out, "output");
        shape(wi, 1, xi.cols, "rmsNorm weight");
        shape(o, xi.rows, xi.cols, "rmsNorm");
        CUevent pe = pBegin();
        module.launch("mamba_rmsnorm_" + tn(xi.dtype) + "_" + tn(o.dtype), (xi.rows + 7) / 8, 1, 1, 256, 0,
                xi.address(), wi.address(), o.address(), xi.ld, o.ld, xi.rows, xi.cols,
                Float.floatToRawIntBits(eps), roundsTf32(o) ? 1 : 0);
        if (pe != null) {
            pEnd(pe, "rmsNorm " + xi.rows + "x" + xi.cols + " " + tn(xi.dtype) + "->" + tn(o.dtype));
        }
    }

    @Override
    public synchronized void addRmsNorm(Tensor delta, Tensor residual, Tensor weight, float eps, Tensor out) {
        enter();
        CudaTensor di = act(delta, "delta"), ri = written(typed(residual, "residual", DType.F32)),
                wi = typed(weight, "weight", DType.F32), o = act(out, "output");
        shape(di, ri.rows, ri.cols, "addRmsNorm delta");
        shape(wi, 1, ri.cols, "addRmsNorm weight");
        shape(o, ri.rows, ri.cols, "addRmsNorm");
        CUevent pe = pBegin();
        module.launch("mamba_add_rmsnorm_" + tn(di.dtype) + "_" + tn(o.dtype), (ri.rows + 7) / 8, 1, 1, 256, 0,
                di.address(), ri.address(), wi.address(), o.address(), di.ld, ri.ld, o.ld, ri.rows, ri.cols,
                Float.floatToRawIntBits(eps), roundsTf32(o) ? 1 : 0);
        if (pe != null) {
            pEnd(pe, "addRmsNorm " + ri.rows + "x" + ri.cols + " " + tn(di.dtype) + "->" + tn(o.dtype));
        }
    }

    @Override
    public synchronized void add(Tensor x, Tensor out) {
        enter();
        CudaTensor xi = act(x, "input"), o = written(act(out, "output"));
        shape(o, xi.rows, xi.cols, "add");
        CUevent pe = pBegin();
        ew2d("mamba_add_" + tn(xi.dtype) + "_" + tn(o.dtype), xi.address(), xi.ld, o.address(), o.ld,
                xi.rows, xi.cols, 0);
        if (pe != null) {
            pEnd(pe, "add " + xi.rows + "x" + xi.cols + " " + tn(xi.dtype) + "->" + tn(o.dtype));
        }
    }

    /** Lanes of a [B·T, ·] operand given a state/lens tensor with B rows. */
    private static int steps(CudaTensor x, int lanes, String op) {
        if (lanes == 0 || x.rows % lanes != 0) {
            throw new IllegalArgumentException(op + ": " + x.rows + " rows do not split into " + lanes + " lanes");
        }
        return x.rows / lanes;
    }

    /** conv1dSilu's operands, checked: x and out of the activation type, lanes from the state's rows. */
    private record ConvArgs(CudaTensor x, CudaTensor w, CudaTensor bias, CudaTensor state, CudaTensor lens,
                            CudaTensor out, int lanes, int steps, int d, int k) {}

    private ConvArgs convArgs(Tensor x, Tensor weight, Tensor bias, Tensor state, Tensor lens, Tensor out) {
        CudaTensor xi = act(x, "input"), wi = typed(weight, "weight", DType.F32),
                st = written(typed(state, "conv state", DType.F32)), ln = typed(lens, "lens", DType.I32),
                o = written(act(out, "output"));
        final int lanes = st.rows, d = xi.cols, k = wi.cols;
        final int steps = steps(xi, lanes, "conv1d");
        shape(wi, d, k, "conv1d weight");
        shape(st, lanes, d * (k - 1), "conv1d state");
        shape(ln, lanes, 1, "lens");
        shape(o, xi.rows, d, "conv1d output");
        if (o.dtype != xi.dtype) {
            throw new IllegalArgumentException("conv1d: input " + xi.name + " is " + xi.dtype + " but output "
                    + o.name + " is " + o.dtype + "; both must be the activation type");
        }
        if (k < 1 || k > 16) {
            throw new IllegalArgumentException("conv1d: kernel width " + k + " outside [1, 16]");
        }
        CudaTensor bi = null;
        if (bias != null) {
            bi = typed(bias, "bias", DType.F32);
            shape(bi, 1, d, "conv1d bias");
        }
        return new ConvArgs(xi, wi, bi, st, ln, o, lanes, steps, d, k);
    }

    @Override
    public synchronized void conv1dSilu(Tensor x, Tensor weight, Tensor bias, Tensor state, Tensor lens, Tensor out) {
        enter();
        ConvArgs a = convArgs(x, weight, bias, state, lens, out);
        CudaTensor xi = a.x, o = a.out;
        final int lanes = a.lanes, steps = a.steps, d = a.d, k = a.k;
        int kt = (k >= 2 && k <= 4) ? k : 0;
        long chunks = (steps + 63) / 64;
        // two adjacent channels per thread where x and out hold them as aligned pairs (conv1d.cu CP = 2)
        int eb = xi.dtype.bytes();
        boolean pairs = d % 2 == 0 && xi.address() % (2L * eb) == 0 && xi.ld % 2 == 0
                && o.address() % (2L * o.dtype.bytes()) == 0 && o.ld % 2 == 0;
        int cpt = pairs ? 2 : 1;
        CUevent pe = pBegin();
        module.launch("mamba_conv1d_" + tn(xi.dtype) + "_k" + kt + (pairs ? "_c2" : ""), (d + 32L * cpt - 1) / (32L * cpt),
                (chunks + 3) / 4, lanes, 128, 0,
                xi.address(), a.w.address(), a.bias == null ? 0 : a.bias.address(), a.state.address(),
                a.lens.address(), o.address(), xi.ld, a.w.ld, a.state.ld, a.lens.ld, o.ld, steps, d, k);
        if (pe != null) {
            pEnd(pe, "conv1dSilu " + lanes + "x" + steps + "x" + d + " k" + k + " " + tn(xi.dtype) + (pairs ? " [c2]" : ""));
        }
    }

    /**
     * bf16 with conv width 4, D a multiple of 64, at most 128 outputs and 16-byte aligned operands, where
     * {@link #fusedConvXProj} says so: conv_xproj.cu, one pass that writes xc once and multiplies it by w_x on
     * the tensor cores, then a small kernel for the new conv state. Otherwise conv1dSilu, then linear.
     */
    @Override
    public synchronized void conv1dSiluLinear(Tensor x, Tensor convWeight, Tensor convBias, Tensor state,
                                              Tensor lens, Tensor xc, Tensor w, Tensor out) {
        enter();
        CudaTensor wi = act(w, "x_proj weight"), o = act(out, "x_proj output");
        final boolean wanted = switch (fusedConvXProj) {
            case "true" -> true;
            case "false" -> false;
            case "auto" -> convXProjAuto(x.rows(), smCount);
            default -> throw new IllegalArgumentException("mamba.cuda.fusedConvXProj=" + fusedConvXProj
                    + ": expected auto, true or false");
        };
        if (!wanted || wi.dtype != DType.BF16 || o.dtype != DType.BF16) {
            Backend.super.conv1dSiluLinear(x, convWeight, convBias, state, lens, xc, w, out);
            return;
        }
        ConvArgs a = convArgs(x, convWeight, convBias, state, lens, xc);
        checkLinear(a.out, wi, o);
        final int n = wi.rows;
        if (a.x.dtype != DType.BF16 || a.k != 4 || a.d % 64 != 0 || n > 128 || n == 0 || a.x.ld >= 1 << 20
                || !aligned16(a.x) || !aligned16(a.out) || !aligned16(wi) || a.w.ld != 4 || a.w.address() % 16 != 0
                || (a.bias != null && a.bias.address() % 16 != 0)) {
            Backend.super.conv1dSiluLinear(x, convWeight, convBias, state, lens, xc, w, out);
            return;
        }
        written(o);
        final long m = a.x.rows;
        final int warps = convXProjWarps == 8 ? 8 : 4;
        final int np = (n + 15) / 16 * 16;
        final boolean vecOut = o.address() % 4 == 0 && o.ld % 2 == 0;
        CUevent pe = pBegin();
        module.launch("mamba_conv_xproj_bf16_w" + warps + "_n" + np, (m + 16L * warps - 1) / (16L * warps), 1, 1,
                32 * warps, convXProjSmem(warps, np),
                a.x.address(), a.w.address(), a.bias == null ? 0 : a.bias.address(), a.state.address(),
                a.out.address(), wi.address(), o.address(), a.x.ld, a.state.ld, a.out.ld, wi.ld, o.ld,
                m, a.steps, a.d, n, vecOut ? 1 : 0);
        module.launch("mamba_conv_state_bf16", ((long) a.lanes * a.d + 255) / 256, 1, 1, 256, 0,
                a.x.address(), a.state.address(), a.lens.address(), a.x.ld, a.state.ld, a.lens.ld, a.steps, a.d,
                a.lanes);
        if (pe != null) {
            pEnd(pe, "conv1dSiluLinear " + weightLabel(wi.name) + " " + a.lanes + "x" + a.steps + "x" + a.d + "->" + n
                    + " [w" + warps + "_n" + np + "]");
        }
    }

    /** fusedConvXProj=auto: at least {@link #CONV_XPROJ_BLOCKS_PER_SM} blocks of 64 rows per SM. */
    static boolean convXProjAuto(long rows, int sms) {
        return (rows + 63) / 64 >= (long) CONV_XPROJ_BLOCKS_PER_SM * sms;
    }

    /** Whether this backend's module has launched (or looked up) kernel {@code name}: tests check a fast path ran. */
    boolean launched(String name) {
        return module.hasFunction(name);
    }

    /** Base and row stride 16-byte aligned: cp.async and 16-byte stores are legal on every row. */
    private static boolean aligned16(CudaTensor t) {
        return t.address() % 16 == 0 && ((long) t.ld * t.dtype.bytes()) % 16 == 0;
    }

    /** conv_xproj.cu's dynamic shared memory (cxp::smem_bytes): 3 stages of x rows + halo, w_x, taps, bias. */
    static int convXProjSmem(int warps, int np) {
        return 3 * ((16 * warps + 3) * 128 + np * 128 + 64 * 16 + 64 * 4) + 16 * warps * 128;
    }

    @Override
    public synchronized void selectiveScan(Tensor u, Tensor dtRaw, Tensor dtBias, Tensor aNeg, Tensor b, Tensor c,
                                           Tensor dSkip, Tensor z, Tensor state, Tensor lens, Tensor y) {
        scan(u, dtRaw, null, dtBias, aNeg, b, c, dSkip, z, state, lens, y, false);
    }

    /**
     * bf16 with a dt rank up to 64, where {@link #fusedDtProj} says so: dt is computed inside the scan kernel
     * (no dt tensor); else dt_proj as a GEMM into dtScratch, then the scan.
     */
    @Override
    public synchronized void selectiveScanProjected(Tensor u, Tensor dtIn, Tensor dtProj, Tensor dtScratch,
                                                    Tensor dtBias, Tensor aNeg, Tensor b, Tensor c, Tensor dSkip,
                                                    Tensor z, Tensor state, Tensor lens, Tensor y) {
        CudaTensor w = t(dtProj, "dt_proj");
        if (fusedDtProj && CudaScan.fusable(u.dtype(), w)) {
            scan(u, dtIn, w, dtBias, aNeg, b, c, dSkip, z, state, lens, y, false);
        } else if (deltaInDtProj && u.dtype() == DType.BF16 && aNeg.cols() == 16 && state.rows() > 0
                && CudaScan.planFor(this, act(u, "u"), act(dtScratch, "dt"), act(b, "B"), act(c, "C"),
                        z == null ? null : act(z, "z"), act(y, "y"), state.rows()).chan()) {
            // the channel-per-thread pass is bound by the exp unit: the dt_proj GEMM's epilogue computes
            // δ = softplus(dt + bias) instead (one exp-unit op and ~12 instructions less per step and channel)
            linear(dtIn, dtProj, dtBias, dtScratch, false, CudaGemm.ACT_SOFTPLUS);
            scan(u, dtScratch, null, dtBias, aNeg, b, c, dSkip, z, state, lens, y, true);
        } else {
            Backend.super.selectiveScanProjected(u, dtIn, dtProj, dtScratch, dtBias, aNeg, b, c, dSkip, z, state,
                    lens, y);
        }
    }

    private void scan(Tensor u, Tensor dt, CudaTensor dtW, Tensor dtBias, Tensor aNeg, Tensor b, Tensor c,
                      Tensor dSkip, Tensor z, Tensor state, Tensor lens, Tensor y, boolean delta) {
        enter();
        CUevent pe = pBegin();
        CudaTensor yo = act(y, "y");
        CudaScan.Plan plan = CudaScan.run(this, act(u, "u"), act(dt, dtW == null ? "dt" : "dt input"), dtW,
                typed(dtBias, "dt bias", DType.F32),
                typed(aNeg, "A", DType.F32), act(b, "B"), act(c, "C"), typed(dSkip, "D", DType.F32),
                z == null ? null : act(z, "z"), written(typed(state, "ssm state", DType.F32)),
                typed(lens, "lens", DType.I32), yo, roundsTf32(yo), delta);
        if (pe != null) {
            pEnd(pe, "selectiveScan " + state.rows() + "x" + (u.rows() / Math.max(1, state.rows())) + "x" + u.cols()
                    + " n" + aNeg.cols() + " " + tn(u.dtype()) + (plan == null ? "" : " [" + plan.describe() + "]"));
        }
    }

    @Override
    public synchronized void laneSummary(Tensor hidden, Tensor lens, Tensor out) {
        enter();
        CudaTensor hi = act(hidden, "hidden"), ln = typed(lens, "lens", DType.I32),
                o = written(typed(out, "summary", DType.F32));
        final int lanes = ln.rows, h = hi.cols;
        final int steps = steps(hi, lanes, "laneSummary");
        shape(ln, lanes, 1, "lens");
        shape(o, lanes, 2 * h, "laneSummary");
        if (h == 0) {
            return;
        }
        long colTiles = (h + 31) / 32;
        long splits = Math.max(1, Math.min((2L * smCount + colTiles * lanes - 1) / (colTiles * lanes),
                Math.min(65535, (steps + 7) / 8)));
        CUevent pe = pBegin();
        DeviceMemory.Allocation ws = memory.workspace(WS_LANES, 8L * lanes * splits * h);
        long[] p = {hi.address(), ln.address(), o.address(), ws.address, hi.ld, ln.ld, o.ld, steps, h, splits};
        module.launch("mamba_lane_partial_" + tn(hi.dtype), colTiles, splits, lanes, 256, 0, p);
        module.launch("mamba_lane_final_" + tn(hi.dtype), (h + 255) / 256, lanes, 1, 256, 0, p);
        if (pe != null) {
            pEnd(pe, "laneSummary " + lanes + "x" + steps + "x" + h);
        }
    }

    @Override
    public synchronized void tokenNll(Tensor logits, Tensor targets, Tensor out) {
        enter();
        CudaTensor lg = act(logits, "logits"), tg = typed(targets, "targets", DType.I32),
                o = written(typed(out, "nll", DType.F32));
        shape(tg, lg.rows, 1, "tokenNll targets");
        shape(o, lg.rows, 1, "tokenNll output");
        CUevent pe = pBegin();
        module.launch("mamba_token_nll_" + tn(lg.dtype), lg.rows, 1, 1, 256, 0,
                lg.address(), tg.address(), o.address(), lg.ld, tg.ld, o.ld, lg.rows, lg.cols);
        if (pe != null) {
            pEnd(pe, "tokenNll " + lg.rows + "x" + lg.cols);
        }
    }

    private CUevent pBegin() {
        return profiler == null ? null : profiler.begin();
    }

    private void pEnd(CUevent start, String label) {
        profiler.end(start, label);
    }

    // ---------------------------------------------------------------- for CudaGemm / CudaScan / the benchmark

    CUstream stream() {
        return stream;
    }

    static int wsTune() {
        return WS_TUNE;
    }

    CudaModule module() {
        return module;
    }

    DeviceMemory.Allocation workspace(int slot, long bytes) {
        return memory.workspace(slot, bytes);
    }

    static int wsScan() {
        return WS_SCAN;
    }

    static int wsGemmX() {
        return WS_GEMM_X;
    }

    boolean warpSpecialisedScan() {
        return warpSpecialisedScan;
    }

    /**
     * The module of the sm_90a scan main pass {@code name}, or null: not wanted, no sm_90a module loaded
     * (not Hopper, FP32 mode, or its GEMM self-check failed), or a module without it.
     */
    CudaModule hopperScanModule(String name) {
        if (!hopperScanWanted || wgmma == null) {
            return null;
        }
        boolean present = hopperScanPresent.computeIfAbsent(name, n -> {
            try {
                wgmma.function(n);
                return true;
            } catch (CudaException e) {
                LOG.warn("cuda: the sm_90a module has no {}: the scan keeps the portable pass", n);
                return false;
            }
        });
        return present ? wgmma : null;
    }

    ChanScan chanScan() {
        return chanScan;
    }

    boolean exactScanExp() {
        return exactScanExp;
    }

    /** Converts {@code x} into a contiguous workspace tensor of dtype {@code to} (for mixed-type linear). */
    CudaTensor converted(CudaTensor x, DType to) {
        long bytes = (long) x.rows * x.cols * to.bytes();
        DeviceMemory.Allocation ws = memory.workspace(WS_GEMM_X, bytes);
        ew2d("mamba_copy_" + tn(x.dtype) + "_" + tn(to), x.address(), x.ld, ws.address, x.cols, x.rows, x.cols, 0);
        return new CudaTensor(x.name + "(" + tn(to) + ")", to, ws, x.rows, x.cols);
    }

    /**
     * Runs {@code op} {@code warmup + runs} times and returns the device time of each of the last
     * {@code runs} in milliseconds (CUDA events on this backend's stream). Each timed run is queued right
     * behind an untimed one, so the device is still busy when the start event is recorded: the host's own
     * work inside {@code op} (planning, JNI, the launch) then overlaps device work and stays out of the
     * interval, as it does inside a forward pass. Without this, ~0.1 ms of host time counted as scan time.
     */
    public synchronized float[] time(Runnable op, int warmup, int runs) {
        enter();
        for (int i = 0; i < warmup; i++) {
            op.run();
        }
        CUevent start = new CUevent(), stop = new CUevent();
        CudaDriver.check(JCudaDriver.cuEventCreate(start, CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate");
        CudaDriver.check(JCudaDriver.cuEventCreate(stop, CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate");
        try {
            float[] ms = new float[runs];
            float[] v = new float[1];
            for (int i = 0; i < runs; i++) {
                op.run();  // untimed: keeps the device busy while the timed op is being issued
                CudaDriver.check(JCudaDriver.cuEventRecord(start, stream), "cuEventRecord");
                op.run();
                CudaDriver.check(JCudaDriver.cuEventRecord(stop, stream), "cuEventRecord");
                CudaDriver.check(JCudaDriver.cuEventSynchronize(stop), "cuEventSynchronize");
                CudaDriver.check(JCudaDriver.cuEventElapsedTime(v, start, stop), "cuEventElapsedTime");
                ms[i] = v[0];
            }
            return ms;
        } finally {
            JCudaDriver.cuEventDestroy(start);
            JCudaDriver.cuEventDestroy(stop);
        }
    }

    /** Device-to-device copy of a whole contiguous tensor with cuMemcpyDtoDAsync (bandwidth reference). */
    public synchronized void copyBytes(Tensor src, Tensor dst) {
        enter();
        CudaTensor s = t(src, "copy source"), d = written(t(dst, "copy target"));
        long bytes = (long) s.rows * s.cols * s.dtype.bytes();
        if (!s.contiguous() || !d.contiguous() || bytes != (long) d.rows * d.cols * d.dtype.bytes()) {
            throw new IllegalArgumentException("copyBytes needs two contiguous tensors of the same size");
        }
        CUdeviceptr sp = s.alloc.ptr.withByteOffset(s.byteOffset(0)), dp = d.alloc.ptr.withByteOffset(d.byteOffset(0));
        CudaDriver.check(JCudaDriver.cuMemcpyDtoDAsync(dp, sp, bytes, stream), "cuMemcpyDtoDAsync");
    }

    // ---------------------------------------------------------------- close

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        synchronized (this) {
            RuntimeException first = null;
            try {
                CudaDriver.check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
                CudaDriver.check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
            } catch (RuntimeException e) {
                first = e;
            }
            if (profiler != null) {
                try {
                    profiler.close();
                } catch (RuntimeException e) {
                    first = first == null ? e : first;
                }
            }
            try {
                memory.closeAll();
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
            try {
                staging.release();
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
            try {
                module.unload();
                if (wgmma != null) {
                    wgmma.unload();
                }
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
            try {
                CudaDriver.check(JCudaDriver.cuStreamDestroy(stream), "cuStreamDestroy");
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
            try {
                CudaDriver.check(JCudaDriver.cuDevicePrimaryCtxRelease(device), "cuDevicePrimaryCtxRelease");
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
            if (first != null) {
                throw first;
            }
        }
    }
}
