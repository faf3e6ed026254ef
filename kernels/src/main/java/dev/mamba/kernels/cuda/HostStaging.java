package dev.mamba.kernels.cuda;

import jcuda.Pointer;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Two pinned (page-locked) host buffers used alternately for host↔device copies, so that filling one
 * overlaps the DMA of the other; an event per buffer says when its last copy has finished.
 */
final class HostStaging {
    /** Bytes per buffer. */
    static final int CHUNK = 8 << 20;

    private final CUstream stream;
    private final Pointer[] host = new Pointer[2];
    private final ByteBuffer[] buf = new ByteBuffer[2];
    private final CUevent[] done = new CUevent[2];
    private final boolean[] pending = new boolean[2];
    private int capacity;

    HostStaging(CUstream stream) {
        this.stream = stream;
    }

    /** Makes sure both buffers hold at least {@code bytes} (allocated lazily; grows for very wide rows). */
    void ensure(long bytes) {
        if (bytes > Integer.MAX_VALUE - 4096) {
            throw new IllegalArgumentException("a single row of " + bytes + " bytes is too wide to stage");
        }
        int want = (int) Math.max(CHUNK, bytes);
        if (capacity >= want) {
            return;
        }
        release();
        for (int i = 0; i < 2; i++) {
            host[i] = new Pointer();
            CudaDriver.check(JCudaDriver.cuMemAllocHost(host[i], want), "cuMemAllocHost(" + want + ")");
            buf[i] = host[i].getByteBuffer(0, want).order(ByteOrder.LITTLE_ENDIAN);
            done[i] = new CUevent();
            CudaDriver.check(JCudaDriver.cuEventCreate(done[i], CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate");
        }
        capacity = want;
    }

    int capacity() {
        return capacity;
    }

    /** Buffer {@code i}, cleared, after waiting for the copy that last used it. */
    ByteBuffer acquire(int i) {
        if (pending[i]) {
            CudaDriver.check(JCudaDriver.cuEventSynchronize(done[i]), "cuEventSynchronize(staging)");
            pending[i] = false;
        }
        ByteBuffer b = buf[i];
        b.clear();
        return b;
    }

    /** Buffer {@code i} as it is (position 0), for reading what a finished copy brought back. */
    ByteBuffer buffer(int i) {
        ByteBuffer b = buf[i].duplicate().order(ByteOrder.LITTLE_ENDIAN);
        b.clear();
        return b;
    }

    Pointer pointer(int i) {
        return host[i];
    }

    /** Records that a copy using buffer {@code i} has been queued. */
    void queued(int i) {
        CudaDriver.check(JCudaDriver.cuEventRecord(done[i], stream), "cuEventRecord(staging)");
        pending[i] = true;
    }

    /** Waits for the copy that last used buffer {@code i}. */
    void await(int i) {
        if (pending[i]) {
            CudaDriver.check(JCudaDriver.cuEventSynchronize(done[i]), "cuEventSynchronize(staging)");
            pending[i] = false;
        }
    }

    /** Frees the pinned buffers and events (waits for pending copies first). */
    void release() {
        RuntimeException first = null;
        for (int i = 0; i < 2; i++) {
            try {
                if (host[i] != null) {
                    await(i);
                    CudaDriver.check(JCudaDriver.cuMemFreeHost(host[i]), "cuMemFreeHost");
                }
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
            try {
                if (done[i] != null) {
                    CudaDriver.check(JCudaDriver.cuEventDestroy(done[i]), "cuEventDestroy");
                }
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
            host[i] = null;
            buf[i] = null;
            done[i] = null;
            pending[i] = false;
        }
        capacity = 0;
        if (first != null) {
            throw first;
        }
    }
}
