package dev.mamba.jobs.spark;

import dev.mamba.kernels.Backend;
import dev.mamba.kernels.BackendChoice;
import dev.mamba.kernels.Backends;
import dev.mamba.kernels.Precision;
import dev.mamba.pipeline.config.ModelFamily;
import dev.mamba.pipeline.io.vocab.UnknownPolicy;
import dev.mamba.pipeline.io.vocab.Vocab;
import dev.mamba.pipeline.model.ForwardBatch;
import dev.mamba.pipeline.model.MambaModel;
import dev.mamba.pipeline.model.Output;
import dev.mamba.pipeline.model.Runner;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * What an executor JVM keeps between tasks: one backend per device, each model's weights uploaded
 * once per backend, pools of runners (workspaces and lane states) and the Arrow root allocator.
 * Tasks borrow a runner and give it back; nothing is loaded twice.
 */
public final class ExecutorRuntime {
    private static final Logger LOG = LoggerFactory.getLogger(ExecutorRuntime.class);
    private static final Map<String, Backend> BACKENDS = new ConcurrentHashMap<>();
    private static final Map<String, MambaModel> MODELS = new ConcurrentHashMap<>();
    private static final Map<String, Vocab> VOCABS = new ConcurrentHashMap<>();
    private static final Map<String, ConcurrentLinkedDeque<Runner>> RUNNERS = new ConcurrentHashMap<>();
    private static volatile RootAllocator allocator;
    private static final Map<String, Thread> PREWARMS = new ConcurrentHashMap<>();  // local-mode loads; closeAll joins them

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ExecutorRuntime::closeAll, "mamba-runtime-close"));
    }

    private ExecutorRuntime() {
    }

    /** A loaded model and the runner a task uses; close returns the runner to the pool. */
    public static final class Lease implements AutoCloseable {
        public final MambaModel model;
        public final Runner runner;
        private final String poolKey;
        private boolean returned;

        Lease(MambaModel model, Runner runner, String poolKey) {
            this.model = model;
            this.runner = runner;
            this.poolKey = poolKey;
        }

        @Override
        public void close() {
            if (!returned) {
                returned = true;
                RUNNERS.computeIfAbsent(poolKey, k -> new ConcurrentLinkedDeque<>()).push(runner);
            }
        }
    }

    /** The CUDA device for the current task: explicit, from Spark's GPU resources, else spread by partition. */
    static int pickDevice(JobSettings s) {
        if (s.device >= 0) {
            return s.device;
        }
        TaskContext tc = TaskContext.get();
        if (tc != null) {
            scala.collection.immutable.Map<String, ResourceInformation> res = tc.resources();
            if (res.contains("gpu")) {
                String[] addr = res.apply("gpu").addresses();
                if (addr.length > 0) {
                    try {
                        return Integer.parseInt(addr[0].trim());
                    } catch (NumberFormatException e) {
                        throw new IllegalStateException("Spark assigned GPU address '" + addr[0]
                                + "', expected a device index", e);
                    }
                }
            }
            // Local mode (Spark's GPU scheduling does not work there): spread tasks over visible devices.
            int n = Backends.cuda().deviceCount();
            if (n > 0) {
                return tc.partitionId() % n;
            }
        }
        return 0;
    }

    private static String backendKey(JobSettings s, int device) {
        return BackendChoice.resolve(s.backend, "job setting backend") + "/" + device + "/" + Precision.parse(s.precision)
                + "/" + s.cpuThreads;
    }

    /** Whether the backend of this device and the job's model on it are loaded (tests). */
    static boolean loaded(JobSettings s, int device) {
        Backend b = BACKENDS.get(backendKey(s, device));
        return b != null && MODELS.containsKey(modelKey(s, b));
    }

    private static Backend backend(JobSettings s, int device) {
        BackendChoice choice = BackendChoice.resolve(s.backend, "job setting backend");
        Precision p = Precision.parse(s.precision);
        return BACKENDS.computeIfAbsent(backendKey(s, device), k -> {
            long t0 = System.nanoTime();
            Backend b = Backends.open(choice, device, p, s.cpuThreads);
            LOG.info("executor backend: {} (asked: {}, device {}), opened in {} ms", b.describe(), choice.lower(), device,
                    (System.nanoTime() - t0) / 1_000_000);
            return b;
        });
    }

    /**
     * Local mode only (this JVM is the executor), before the job's tasks: refuses a backend this JVM cannot serve
     * and starts the {@link #prewarm}. The CLI calls it before it starts Spark, the job again when it runs (a
     * session made elsewhere); the second call finds the prewarm started.
     */
    public static void prepareLocal(JobSettings s) {
        requireLocalBackend(s);
        prewarm(s);
    }

    /**
     * An explicit {@code cuda} that this JVM cannot serve fails here, once, with the reason, instead of in every
     * task (each a page of Spark's logging) after Spark has started.
     */
    private static void requireLocalBackend(JobSettings s) {
        if (BackendChoice.resolve(s.backend, "--backend") == BackendChoice.CUDA) {
            try {
                Backends.cuda().requireUsable(Math.max(0, s.device));
            } catch (UnsupportedOperationException e) {
                throw new IllegalStateException("backend cuda was asked for but cannot serve: " + e.getMessage(), e);
            }
        }
    }

    /**
     * Local mode only (this JVM is the executor): opens the backend of every device the tasks will pick and
     * loads the model there on a background thread while Spark plans the job (H200, run 42: planning took
     * 2.2 s, then the first tasks spent 1.6 s opening the backend and 0.5 s loading the model). Tasks that
     * arrive first wait for the same map entries instead of loading twice; a failure here is left to the
     * tasks to report. Started once per backend, model and runner shape: the CLI starts it before the Spark
     * session, the job again when it runs (a session made elsewhere), which then finds it started.
     */
    public static Thread prewarm(JobSettings s) {
        String key = s.backend + "|" + s.device + "|" + s.precision + "|" + s.cpuThreads + "|" + s.model + "|"
                + s.lanes + "x" + s.stepsPerCall();
        return PREWARMS.computeIfAbsent(key, k -> startPrewarm(s));
    }

    private static Thread startPrewarm(JobSettings s) {
        Thread t = new Thread(() -> {
            try {
                int n = s.device >= 0 ? 0 : Backends.cuda().deviceCount();
                for (int d = 0; d < Math.max(1, n); d++) {
                    Backend b = backend(s, s.device >= 0 ? s.device : d);
                    MambaModel m = model(s, b);
                    if (b.warmsUpPerShape()) {
                        warmUp(s, b, m);
                    }
                }
            } catch (RuntimeException | Error e) {
                LOG.debug("prewarm stopped (the tasks load for themselves): {}", e.toString());
            }
        }, "mamba-prewarm");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /**
     * One forward over a throwaway full-size batch in a new runner, which then waits in the pool for the first
     * task: the GEMM tuning and the kernels' first launches happen while Spark plans instead of in the first
     * task's first batch (H200, run 102: ~0.8 s of the tasks' first forward). Returns that runner (tests).
     */
    static Runner warmUp(JobSettings s, Backend b, MambaModel m) {
        long t0 = System.nanoTime();
        int lanes = s.lanes, steps = s.stepsPerCall();
        Runner r = m.newRunner(lanes, steps);
        boolean pooled = false;
        try {
            ForwardBatch fb = new ForwardBatch(lanes, steps);
            java.util.Arrays.fill(fb.lens, steps);
            if (m.config().family == ModelFamily.TOKENS) {
                fb.tokens = new int[lanes * steps];  // id 0: every vocabulary has it
            } else {
                fb.features = new float[lanes * steps * m.config().inputFeatures];
            }
            r.forward(fb, EnumSet.noneOf(Output.class));
            for (int lane = 0; lane < lanes; lane++) {
                r.reset(lane);
            }
            b.synchronize();
            RUNNERS.computeIfAbsent(poolKey(s, b), k -> new ConcurrentLinkedDeque<>()).push(r);
            pooled = true;
            LOG.info("warmed up a {} x {} runner in {} ms", lanes, steps, (System.nanoTime() - t0) / 1_000_000);
            return r;
        } finally {
            if (!pooled) {
                r.close();
            }
        }
    }

    private static String poolKey(JobSettings s, Backend b) {
        return modelKey(s, b) + "/" + s.lanes + "x" + s.stepsPerCall();
    }

    /** The job's model on backend b, loaded once. */
    private static MambaModel model(JobSettings s, Backend b) {
        return MODELS.computeIfAbsent(modelKey(s, b), k -> {
            try {
                long t0 = System.nanoTime();
                MambaModel mm = MambaModel.load(s.modelDir(), b);
                LOG.info("loaded model {} ({}) in {} ms", s.model + (s.model.equals(s.modelDir().toString()) ? "" : " = " + s.modelDir()), mm.config(), (System.nanoTime() - t0) / 1_000_000);
                return mm;
            } catch (IOException e) {
                throw new IllegalStateException("cannot load model " + s.model + ": " + e.getMessage(), e);
            }
        });
    }

    private static String modelKey(JobSettings s, Backend b) {
        return s.model + "@" + System.identityHashCode(b);
    }

    /** Loads (once per backend) the model and borrows a runner with the job's lanes and steps. */
    public static Lease acquire(JobSettings s) {
        int device = pickDevice(s);
        Backend b = backend(s, device);
        MambaModel m = model(s, b);
        String poolKey = poolKey(s, b);
        Runner r = RUNNERS.computeIfAbsent(poolKey, k -> new ConcurrentLinkedDeque<>()).poll();
        if (r == null) {
            r = m.newRunner(s.lanes, s.stepsPerCall());
        }
        return new Lease(m, r, poolKey);
    }

    /** The model's vocab.json (token models), loaded once. */
    public static Vocab vocab(JobSettings s) {
        return VOCABS.computeIfAbsent(s.model + "|" + s.unknown + "|" + s.caseInsensitive, k -> {
            Path p = s.modelDir().resolve("vocab.json");
            if (!Files.exists(p)) {
                throw new IllegalStateException("token model " + s.model + " has no vocab.json (a JSON object "
                        + "mapping each character to its id, e.g. {\"A\": 0, \"C\": 1})");
            }
            try {
                return Vocab.load(p, s.unknown.equals("unk") ? UnknownPolicy.MAP_TO_UNKNOWN : UnknownPolicy.FAIL,
                        s.caseInsensitive);
            } catch (IOException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        });
    }

    /** The executor's Arrow root; tasks take child allocators from it. */
    public static BufferAllocator allocator() {
        RootAllocator a = allocator;
        if (a == null) {
            synchronized (ExecutorRuntime.class) {
                if (allocator == null) {
                    allocator = new RootAllocator();
                }
                a = allocator;
            }
        }
        return a;
    }

    /**
     * Frees runners and models, then checks that each backend holds no memory, then closes it.
     * Returns the leak descriptions (empty when clean). Used by tests and at JVM exit.
     */
    public static synchronized List<String> closeAll() {
        for (Thread t : PREWARMS.values()) {  // every job's, not only the last: what they open must be closed below
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        PREWARMS.clear();
        List<String> leaks = new ArrayList<>();
        RUNNERS.values().forEach(q -> q.forEach(Runner::close));
        RUNNERS.clear();
        MODELS.values().forEach(MambaModel::close);
        MODELS.clear();
        VOCABS.clear();
        for (Map.Entry<String, Backend> e : BACKENDS.entrySet()) {
            long left = e.getValue().bytesAllocated();
            if (left != 0) {
                leaks.add("backend " + e.getKey() + " still holds " + left + " bytes");
            }
            e.getValue().close();
        }
        BACKENDS.clear();
        RootAllocator a = allocator;
        allocator = null;
        if (a != null) {
            if (a.getAllocatedMemory() != 0) {
                leaks.add("Arrow allocator still holds " + a.getAllocatedMemory() + " bytes");
            }
            try {
                a.close();
            } catch (RuntimeException e) {
                leaks.add(e.getMessage());
            }
        }
        return leaks;
    }

    /** Bytes the cached backends hold right now (weights plus pooled workspaces). */
    public static long backendBytes() {
        return BACKENDS.values().stream().mapToLong(Backend::bytesAllocated).sum();
    }
}
