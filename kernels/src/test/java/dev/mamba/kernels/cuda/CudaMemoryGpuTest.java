package dev.mamba.kernels.cuda;

import dev.mamba.kernels.Backend;
import dev.mamba.kernels.DType;
import dev.mamba.kernels.Precision;
import dev.mamba.kernels.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Device memory, transfers, views, fill/copy, ownership and close semantics of the CUDA backend. */
@Tag("gpu")
class CudaMemoryGpuTest {
    private Backend gpu;

    @BeforeEach
    void open() {
        GpuTest.assumeCuda();
        gpu = GpuTest.open(Precision.BF16);
    }

    @AfterEach
    void close() {
        if (gpu != null) {
            gpu.close();
            assertEquals(0, gpu.bytesAllocated());
        }
    }

    @Test
    void allocationIsZeroedCountedAndFreed() {
        Tensor a = gpu.allocate("a", 37, 53, DType.F32);
        Tensor b = gpu.allocate("b", 5, 3, DType.BF16);
        Tensor c = gpu.allocate("c", 4, 1, DType.I32);
        assertEquals(37 * 53 * 4 + 5 * 3 * 2 + 4 * 4, gpu.bytesAllocated());
        for (float v : GpuTest.read(gpu, a)) {
            assertEquals(0f, v);
        }
        gpu.write(a, GpuTest.gauss(new Random(1), 37 * 53, 0, 1), 0);
        gpu.free(a);
        // a recycled block must come back zero-filled
        Tensor a2 = gpu.allocate("a2", 37, 53, DType.F32);
        for (float v : GpuTest.read(gpu, a2)) {
            assertEquals(0f, v);
        }
        IllegalArgumentException view = assertThrows(IllegalArgumentException.class, () -> gpu.free(a2.columns(1, 3)));
        assertTrue(view.getMessage().contains("view"), view.getMessage());
        gpu.free(a2);
        IllegalStateException twice = assertThrows(IllegalStateException.class, () -> gpu.free(a2));
        assertTrue(twice.getMessage().contains("freed"), twice.getMessage());
        assertThrows(IllegalStateException.class, () -> gpu.fill(a2, 1f));
        // its block is recycled for a3, yet the stale a2 must stay unusable
        Tensor a3 = gpu.allocate("a3", 37, 53, DType.F32);
        assertThrows(IllegalStateException.class, () -> gpu.fill(a2, 1f));
        gpu.free(a3);
        gpu.free(b);
        gpu.free(c);
        assertEquals(0, gpu.bytesAllocated());
    }

    @Test
    void roundTripsEveryDtypeAndView() {
        Random r = new Random(2);
        float[] f = GpuTest.gauss(r, 1234 * 7, 0, 3);
        Tensor t = gpu.upload("f", f, 1234, 7, DType.F32);
        assertArrayEquals(f, GpuTest.read(gpu, t));

        Tensor h = gpu.upload("h", f, 1234, 7, DType.BF16);
        float[] back = GpuTest.read(gpu, h);
        for (int i = 0; i < f.length; i++) {
            assertEquals(Bf16.round(f[i]), back[i], "bf16 element " + i);
        }

        int[] ids = new int[999];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt() ^ i;
        }
        Tensor it = gpu.allocate("ids", 999, 1, DType.I32);
        gpu.write(it, ids, 0);
        assertArrayEquals(ids, GpuTest.readInts(gpu, it));

        for (DType dt : new DType[] {DType.F32, DType.BF16}) {
            Tensor whole = gpu.allocate("whole", 40, 30, dt);
            Tensor v = whole.columns(5, 20).rows(3, 30);
            float[] vd = GpuTest.gauss(r, 27 * 15, 0, 1);
            gpu.write(v, vd, 0);
            float[] vb = GpuTest.read(gpu, v);
            float[] all = GpuTest.read(gpu, whole);
            for (int i = 0; i < 40; i++) {
                for (int j = 0; j < 30; j++) {
                    boolean in = i >= 3 && i < 30 && j >= 5 && j < 20;
                    float want = in ? vd[(i - 3) * 15 + (j - 5)] : 0f;
                    if (dt == DType.BF16) {
                        want = Bf16.round(want);
                    }
                    assertEquals(want, all[i * 30 + j], dt + " (" + i + ", " + j + ")");
                    if (in) {
                        assertEquals(want, vb[(i - 3) * 15 + (j - 5)]);
                    }
                }
            }
            gpu.free(whole);
        }
        gpu.free(t);
        gpu.free(h);
        gpu.free(it);
    }

    @Test
    void transfersLargerThanTheStagingBuffers() {
        Random r = new Random(3);
        int rows = 3001, cols = 1024;  // 12 MB of floats: two 8 MB staging rounds
        float[] f = GpuTest.gauss(r, rows * cols, 0, 1);
        for (DType dt : new DType[] {DType.F32, DType.BF16}) {
            Tensor t = gpu.upload("big", f, rows, cols, dt);
            float[] back = GpuTest.read(gpu, t);
            for (int i = 0; i < f.length; i += 997) {
                assertEquals(dt == DType.BF16 ? Bf16.round(f[i]) : f[i], back[i], dt + " element " + i);
            }
            assertEquals(dt == DType.BF16 ? Bf16.round(f[f.length - 1]) : f[f.length - 1], back[back.length - 1]);
            Tensor view = t.columns(1, cols);
            float[] vb = GpuTest.read(gpu, view);
            assertEquals(back[cols + 1], vb[cols - 1]);
            gpu.free(t);
        }
    }

    @Test
    void writesFromByteBuffers() {
        Random r = new Random(4);
        float[] f = GpuTest.gauss(r, 64 * 9, 0, 1);
        for (boolean direct : new boolean[] {true, false}) {
            ByteBuffer bb = (direct ? ByteBuffer.allocateDirect(8 + 4 * f.length) : ByteBuffer.allocate(8 + 4 * f.length))
                    .order(ByteOrder.LITTLE_ENDIAN);
            bb.putLong(0, -1L);
            for (int i = 0; i < f.length; i++) {
                bb.putFloat(8 + 4 * i, f[i]);
            }
            bb.position(8);
            Tensor t = gpu.allocate("t", 64, 9, DType.F32);
            gpu.write(t, bb);
            assertEquals(8, bb.position(), "position must not change");
            assertArrayEquals(f, GpuTest.read(gpu, t));
            Tensor h = gpu.allocate("h", 64, 9, DType.BF16);
            gpu.write(h, bb);
            float[] hb = GpuTest.read(gpu, h);
            for (int i = 0; i < f.length; i++) {
                assertEquals(Bf16.round(f[i]), hb[i]);
            }
            Tensor wide = gpu.allocate("wide", 64, 20, DType.F32);
            gpu.write(wide.columns(4, 13), bb);
            float[] wb = GpuTest.read(gpu, wide.columns(4, 13));
            assertArrayEquals(f, wb);
            ByteBuffer ints = (direct ? ByteBuffer.allocateDirect(4 * 64) : ByteBuffer.allocate(4 * 64))
                    .order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 64; i++) {
                ints.putInt(4 * i, i * 31 - 7);
            }
            Tensor it = gpu.allocate("ids", 64, 1, DType.I32);
            gpu.write(it, ints);
            int[] ib = GpuTest.readInts(gpu, it);
            for (int i = 0; i < 64; i++) {
                assertEquals(i * 31 - 7, ib[i]);
            }
            ByteBuffer small = ByteBuffer.allocate(10);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> gpu.write(t, small));
            assertTrue(e.getMessage().contains("need"), e.getMessage());
            for (Tensor x : new Tensor[] {t, h, wide, it}) {
                gpu.free(x);
            }
        }
    }

    @Test
    void fillAndCopyConvert() {
        Tensor f = gpu.allocate("f", 17, 33, DType.F32);
        gpu.fill(f.columns(3, 9), 2.5f);
        float[] fb = GpuTest.read(gpu, f);
        for (int i = 0; i < 17; i++) {
            for (int j = 0; j < 33; j++) {
                assertEquals(j >= 3 && j < 9 ? 2.5f : 0f, fb[i * 33 + j]);
            }
        }
        Tensor h = gpu.allocate("h", 17, 33, DType.BF16);
        gpu.fill(h, 1f / 3);
        for (float v : GpuTest.read(gpu, h)) {
            assertEquals(Bf16.round(1f / 3), v);
        }
        Tensor i = gpu.allocate("i", 5, 2, DType.I32);
        gpu.fill(i, 7.9f);
        for (int v : GpuTest.readInts(gpu, i)) {
            assertEquals(7, v);
        }
        float[] data = GpuTest.gauss(new Random(5), 17 * 33, 0, 1);
        gpu.write(f, data, 0);
        gpu.copy(f, h);
        float[] hb = GpuTest.read(gpu, h);
        for (int k = 0; k < data.length; k++) {
            assertEquals(Bf16.round(data[k]), hb[k]);
        }
        Tensor f2 = gpu.allocate("f2", 17, 33, DType.F32);
        gpu.copy(h, f2);
        assertArrayEquals(hb, GpuTest.read(gpu, f2));
        gpu.copy(f.columns(0, 10), f2.columns(20, 30));
        float[] f2b = GpuTest.read(gpu, f2);
        assertEquals(data[5 * 33 + 4], f2b[5 * 33 + 24]);
        assertThrows(IllegalArgumentException.class, () -> gpu.copy(f, i));
        for (Tensor x : new Tensor[] {f, h, i, f2}) {
            gpu.free(x);
        }
    }

    @Test
    void severalThreadsShareTheBackend() throws Exception {
        Random r = new Random(6);
        int m = 200, k = 96, n = 64;
        Tensor x = gpu.upload("x", GpuTest.gauss(r, m * k, 0, 1), m, k, DType.BF16);
        Tensor w = gpu.upload("w", GpuTest.gauss(r, n * k, 0, 0.1), n, k, DType.BF16);
        Tensor ref = gpu.allocate("ref", m, n, DType.F32);
        gpu.linear(x, w, null, ref, false);
        float[] want = GpuTest.read(gpu, ref);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<float[]>> outs = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                outs.add(pool.submit(() -> {
                    Tensor o = gpu.allocate("o", m, n, DType.F32);
                    gpu.linear(x, w, null, o, false);
                    float[] v = GpuTest.read(gpu, o);
                    gpu.free(o);
                    return v;
                }));
            }
            for (Future<float[]> f : outs) {
                assertArrayEquals(want, f.get());
            }
        } finally {
            pool.shutdown();
        }
        gpu.free(x);
        gpu.free(w);
        gpu.free(ref);
    }

    @Test
    void closeRunsOnceAndUseAfterCloseFails() {
        Backend b = GpuTest.open(Precision.FP32);
        b.allocate("leak-on-purpose", 100, 100, DType.F32);
        assertTrue(b.bytesAllocated() > 0);
        assertTrue(b.describe().startsWith("cuda: device 0"), b.describe());
        b.close();
        assertEquals(0, b.bytesAllocated());
        b.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> b.allocate("x", 1, 1, DType.F32));
        assertEquals("cuda backend has been closed already", e.getMessage());
    }
}
