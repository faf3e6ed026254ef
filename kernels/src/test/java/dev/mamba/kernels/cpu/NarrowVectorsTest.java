package dev.mamba.kernels.cpu;

import dev.mamba.kernels.cpu.gemm.Gemm;
import dev.mamba.kernels.cpu.gemm.PackedWeights;
import dev.mamba.kernels.cpu.gemm.ScalarGemm;
import dev.mamba.kernels.cpu.gemm.VectorGemm;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The vector kernels with 4-lane vectors: a child JVM with {@code -XX:MaxVectorSize=16} (which makes the
 * preferred species 128 bits wide) runs {@link #main} against the scalar kernels.
 */
class NarrowVectorsTest {

    @Test
    void fourLaneKernelsMatchScalar() throws Exception {
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        ProcessBuilder pb = new ProcessBuilder(List.of(java, "-XX:MaxVectorSize=16", "--add-modules",
                "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                NarrowVectorsTest.class.getName()));
        pb.redirectErrorStream(true);
        Process proc = pb.start();
        String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(proc.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish: " + out);
        assertEquals(0, proc.exitValue(), out);
        assertTrue(out.contains("lanes 4: ok"), out);
    }

    /** Child JVM entry: compares the vector kernels with the scalar ones; exits 1 on the first mismatch. */
    public static void main(String[] args) {
        int lanes = VectorMath.L;
        try (CpuParallel par = new CpuParallel(2)) {
            Gemm vg = new VectorGemm(), sg = new ScalarGemm();
            SplittableRandom rnd = new SplittableRandom(9);
            int[][] shapes = {{1, 1, 1}, {7, 5, 3}, {13, 80, 48}, {50, 33, 300}, {6, 8, 17}};
            for (int[] s : shapes) {
                int m = s[0], n = s[1], k = s[2];
                float[] x = random(rnd, m * k), w = random(rnd, n * k), bias = random(rnd, n);
                float[] a = random(rnd, m * n), b = a.clone();
                PackedWeights pv = vg.pack(w, 0, k, n, k), ps = sg.pack(w, 0, k, n, k);
                vg.multiply(par, m, x, 0, k, pv, bias, 0, a, 0, n, true);
                sg.multiply(par, m, x, 0, k, ps, bias, 0, b, 0, n, true);
                for (int i = 0; i < a.length; i++) {
                    if (Math.abs(a[i] - b[i]) > 1e-4 * (1 + Math.abs(b[i]))) {
                        fail("gemm " + m + "x" + n + "x" + k + " element " + i + ": " + a[i] + " vs " + b[i]);
                    }
                }
            }
        }
        ScanKernel vs = new VectorScan(), ss = new ScalarScan();
        SplittableRandom rnd = new SplittableRandom(10);
        for (int d : new int[]{3, 4, 9, 70}) {
            for (int n : new int[]{1, 16}) {
                int len = 9;
                float[] u = random(rnd, len * d), dt = random(rnd, len * d), z = random(rnd, len * d);
                float[] dtBias = random(rnd, d), dSkip = random(rnd, d);
                float[] b = random(rnd, len * n), c = random(rnd, len * n);
                float[] a = new float[d * n];
                for (int i = 0; i < a.length; i++) {
                    a[i] = -1 - (i % 16);
                }
                float[] st = random(rnd, d * n), st2 = st.clone(), y = new float[len * d], y2 = new float[len * d];
                vs.scan(new ScanKernel.Args(u, 0, d, dt, 0, d, dtBias, 0, a, 0, n, b, 0, n, c, 0, n, dSkip, 0, z, 0, d,
                        st, 0, y, 0, d, n, 0, len), 0, d);
                ss.scan(new ScanKernel.Args(u, 0, d, dt, 0, d, dtBias, 0, a, 0, n, b, 0, n, c, 0, n, dSkip, 0, z, 0, d,
                        st2, 0, y2, 0, d, n, 0, len), 0, d);
                for (int i = 0; i < y.length; i++) {
                    if (Math.abs(y[i] - y2[i]) > 1e-5 * (Math.abs(y2[i]) + 0.1)) {
                        fail("scan d " + d + " n " + n + " y[" + i + "]: " + y[i] + " vs " + y2[i]);
                    }
                }
                for (int i = 0; i < st.length; i++) {
                    if (Math.abs(st[i] - st2[i]) > 1e-5 * (Math.abs(st2[i]) + 0.1)) {
                        fail("scan d " + d + " n " + n + " state[" + i + "]: " + st[i] + " vs " + st2[i]);
                    }
                }
            }
        }
        System.out.println("lanes " + lanes + ": ok");
    }

    private static void fail(String what) {
        System.out.println("lanes " + VectorMath.L + ": " + what);
        System.exit(1);
    }

    private static float[] random(SplittableRandom rnd, int size) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) {
            v[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return v;
    }
}
