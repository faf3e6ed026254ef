package dev.mamba.jobs.spark;

import dev.mamba.jobs.bench.PipelineBench;
import dev.mamba.pipeline.checkpoint.RandomCheckpoint;
import dev.mamba.pipeline.config.MambaConfig;
import dev.mamba.pipeline.config.ModelFamily;
import dev.mamba.pipeline.model.MambaModel;
import dev.mamba.pipeline.model.Runner;
import dev.mamba.pipeline.state.SequenceState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The local-mode prewarm: it loads what the tasks then use, and closeAll leaves nothing behind it. */
class ExecutorRuntimeTest {
    @TempDir
    Path tmp;

    @AfterEach
    void clean() {
        assertEquals(List.of(), ExecutorRuntime.closeAll(), "memory left after the runtime closed");
    }

    private JobSettings settings(Path model) {
        JobSettings s = new JobSettings();
        s.model = model.toString();
        s.backend = "cpu";
        s.lanes = 2;
        s.chunkLength = 64;
        s.batchTokens = 128;
        return s;
    }

    /**
     * Local mode refuses an explicit cuda this JVM cannot serve before any task runs, with the reason, and starts
     * no prewarm for it; where a GPU serves it, the same call passes.
     */
    @Test
    void prepareLocalRefusesACudaItCannotServe() {
        JobSettings s = settings(tmp.resolve("no-model-needed"));
        s.backend = "cuda";
        String why;
        try {
            dev.mamba.kernels.Backends.cuda().requireUsable(0);
            why = null;
        } catch (UnsupportedOperationException e) {
            why = e.getMessage();
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(why != null, "a GPU serves cuda here");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ExecutorRuntime.prepareLocal(s));
        assertEquals("backend cuda was asked for but cannot serve: " + why, e.getMessage());
        assertFalse(ExecutorRuntime.loaded(s, 0), "nothing was started for it");
    }

    @Test
    void prewarmLoadsTheModelTheTasksBorrow() throws Exception {
        Path model = RandomCheckpoint.writeRandom(tmp.resolve("m"), PipelineBench.tinyDna(), 3, true, "F32");
        JobSettings s = settings(model);
        assertFalse(ExecutorRuntime.loaded(s, 0));
        Thread t = ExecutorRuntime.prewarm(s);
        t.join();
        assertSame(t, ExecutorRuntime.prewarm(s), "the CLI's prewarm and the job's are one");
        assertTrue(ExecutorRuntime.loaded(s, 0), "the prewarm loaded backend 0 and the model on it");
        try (ExecutorRuntime.Lease a = ExecutorRuntime.acquire(s); ExecutorRuntime.Lease b = ExecutorRuntime.acquire(s)) {
            assertSame(a.model, b.model, "one model per backend");
            assertNotSame(a.runner, b.runner, "each task its own runner");
        }
        assertEquals(List.of(), ExecutorRuntime.closeAll());
        assertFalse(ExecutorRuntime.loaded(s, 0), "closeAll forgets what it closed");
    }

    /** A token model (the embed job's) and a continuous one (the score job's: the warm-up feeds zero features). */
    static java.util.stream.Stream<MambaConfig> warmUpModels() {
        return java.util.stream.Stream.of(PipelineBench.tinyDna(), new MambaConfig(ModelFamily.CONTINUOUS, 16, 2, 0, 8, 4,
                32, 1, true, false, 1e-5f, true, false, 3, 2));
    }

    @ParameterizedTest
    @MethodSource("warmUpModels")
    void theWarmedUpRunnerIsTheFirstTaskOneAndStartsFromZeroState(MambaConfig cfg) throws Exception {
        // The CPU backend does not ask for a warm-up (nothing to tune); warmUp is called here directly.
        Path model = RandomCheckpoint.writeRandom(tmp.resolve("m-" + cfg.family), cfg, 3, cfg.family == ModelFamily.TOKENS, "F32");
        JobSettings s = settings(model);
        MambaModel m;
        try (ExecutorRuntime.Lease first = ExecutorRuntime.acquire(s)) {
            m = first.model;
            assertFalse(m.backend().warmsUpPerShape(), "the CPU backend has no per-shape warm-up");
        }
        Runner warm = ExecutorRuntime.warmUp(s, m.backend(), m);
        try (ExecutorRuntime.Lease a = ExecutorRuntime.acquire(s); ExecutorRuntime.Lease b = ExecutorRuntime.acquire(s)) {
            assertSame(warm, a.runner, "the next task borrows the warmed-up runner");
            assertEquals(s.lanes, a.runner.lanes());
            assertEquals(s.stepsPerCall(), a.runner.maxSteps());
            SequenceState st = SequenceState.zero(m.config(), 0);
            for (int lane = 0; lane < s.lanes; lane++) {
                a.runner.saveState(lane, st);
                for (float[][] part : new float[][][]{st.conv, st.ssm}) {
                    for (float[] layer : part) {
                        for (float v : layer) {
                            assertEquals(0f, v, "lane " + lane + ": the warm-up batch's state was not cleared");
                        }
                    }
                }
            }
            assertNotSame(a.runner, b.runner);
        }
    }

    @Test
    void closeAllWaitsForEveryRunningPrewarm() throws Exception {
        // two jobs' prewarms (the first job may have failed before its tasks ran): both are joined
        JobSettings a = settings(RandomCheckpoint.writeRandom(tmp.resolve("a"), PipelineBench.tinyDna(), 3, true, "F32"));
        JobSettings b = settings(RandomCheckpoint.writeRandom(tmp.resolve("b"), PipelineBench.tinyDna(), 4, true, "F32"));
        Thread ta = ExecutorRuntime.prewarm(a), tb = ExecutorRuntime.prewarm(b);
        assertEquals(List.of(), ExecutorRuntime.closeAll());  // joins both, then closes what they opened
        assertFalse(ta.isAlive());
        assertFalse(tb.isAlive());
        assertFalse(ExecutorRuntime.loaded(a, 0));
        assertFalse(ExecutorRuntime.loaded(b, 0));
    }

    @Test
    void aFailedPrewarmIsLeftToTheTasksToReport() throws Exception {
        JobSettings s = settings(tmp.resolve("no-such-model"));
        ExecutorRuntime.prewarm(s).join();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ExecutorRuntime.acquire(s));
        assertTrue(e.getMessage().contains("cannot load model " + s.model), e.getMessage());
    }
}
