package dev.mamba.kernels.cuda;

import dev.mamba.kernels.Backend;
import dev.mamba.kernels.Precision;
import dev.mamba.kernels.cpu.CpuBackend;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A 2-layer model chained from the operators, CPU vs CUDA, two chunks with carried state, per precision. */
@Tag("gpu")
class CudaModelGpuTest {

    @ParameterizedTest
    @EnumSource(Precision.class)
    void twoLayerModelMatchesCpu(Precision precision) {
        GpuTest.assumeCuda();
        double tol = GpuTest.tol(precision);
        int lanes = 3, hidden = 48, inner = 96, states = 16, rank = 3, width = 4, vocab = 37, layers = 2;
        try (Backend cpu = new CpuBackend(2); Backend gpu = GpuTest.open(precision)) {
            try (MiniMamba mc = new MiniMamba(cpu, 5, hidden, inner, states, rank, width, vocab, layers, lanes);
                 MiniMamba mg = new MiniMamba(gpu, 5, hidden, inner, states, rank, width, vocab, layers, lanes)) {
                Random r = new Random(9);
                int[][] chunkLens = {{45, 20, 44}, {19, 0, 19}};
                for (int[] lens : chunkLens) {
                    int steps = 0;
                    for (int l : lens) {
                        steps = Math.max(steps, l);
                    }
                    int rows = lanes * steps;
                    int[] ids = new int[rows], targets = new int[rows];
                    for (int b = 0; b < lanes; b++) {
                        for (int t = 0; t < steps; t++) {
                            ids[b * steps + t] = r.nextInt(vocab);
                            targets[b * steps + t] = t < lens[b] ? r.nextInt(vocab) : -1;
                        }
                    }
                    MiniMamba.Out a = mc.forward(ids, targets, lens, steps);
                    MiniMamba.Out g = mg.forward(ids, targets, lens, steps);
                    String what = precision + " chunk " + java.util.Arrays.toString(lens);
                    GpuTest.assertClose(GpuTest.validRows(g.logits, lanes, steps, vocab, lens),
                            GpuTest.validRows(a.logits, lanes, steps, vocab, lens), tol, what + " logits");
                    GpuTest.assertClose(GpuTest.validRows(g.nll, lanes, steps, 1, lens),
                            GpuTest.validRows(a.nll, lanes, steps, 1, lens), tol, what + " nll");
                    GpuTest.assertClose(g.summary, a.summary, tol, what + " lane summary");
                    for (int l = 0; l < layers; l++) {
                        GpuTest.assertClose(g.ssmStates[l], a.ssmStates[l], tol, what + " ssm state " + l);
                        GpuTest.assertClose(g.convStates[l], a.convStates[l], tol, what + " conv state " + l);
                    }
                }
            }
            assertEquals(0, gpu.bytesAllocated(), "device bytes left after the model was closed");
        }
    }
}
