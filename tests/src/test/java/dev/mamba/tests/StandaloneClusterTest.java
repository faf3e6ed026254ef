package dev.mamba.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mamba.jobs.cli.Main;
import dev.mamba.jobs.spark.ExecutorRuntime;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The embed job submitted with spark-submit to a real standalone cluster (a master and two workers, each
 * in its own JVM, on 127.0.0.1) writes the same embeddings as the same job in local mode, and its tasks
 * ran in the workers' executors.
 *
 * <p>The cluster runs from the Maven-resolved Spark jars: a temporary SPARK_HOME whose {@code jars/}
 * links every jar of the test classpath except what the application jar carries itself (our modules,
 * picocli, JCuda) and the test frameworks. The application jar is built here the way the shade plugin
 * builds the assembly (the test phase runs before package); {@code -Dmamba.assembly=JAR} tests a
 * prebuilt assembly instead.
 */
class StandaloneClusterTest {
    static final Duration CLUSTER_UP = Duration.ofSeconds(90);
    static final Duration JOB_DONE = Duration.ofSeconds(180);
    static final String MAIN = "dev.mamba.jobs.cli.Main";
    /** Every forked JVM lives seconds to a minute on 2 cores: C2 compiler threads would cost more than they give. */
    static final List<String> QUICK_JVM = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");

    @TempDir
    static Path tmp;
    static Path sparkHome;
    static Path logs;
    static Path appJar;
    static Path model;
    static Path inputs;
    static Map<String, String> records = new LinkedHashMap<>();
    static int masterPort;
    static int masterUiPort;
    static final List<Path> workDirs = new ArrayList<>();
    static final List<Process> processes = new ArrayList<>();
    static final List<String> moduleFlags = moduleFlags();
    static long t0;

    /** Phase times on stderr (the surefire output file): where the minutes go on a slow box. */
    static void phase(String what) {
        System.err.printf("[cluster-test] %6.1f s  %s%n", (System.nanoTime() - t0) / 1e9, what);
    }

    @BeforeAll
    static void startCluster() throws Exception {
        t0 = System.nanoTime();
        Runtime.getRuntime().addShutdownHook(new Thread(StandaloneClusterTest::stopAll, "stop-spark-cluster"));
        logs = Files.createDirectories(tmp.resolve("logs"));
        model = JobFixtures.dnaModel(Files.createDirectories(tmp.resolve("model")));
        inputs = Files.createDirectories(tmp.resolve("in"));
        records.putAll(JobFixtures.writeFastaInputs(inputs, new Random(11), 8, 3000, 4, 2, 1500));

        List<Path> carried = appJarSources();
        sparkHome = sparkHome(tmp.resolve("spark-home"), carried);
        String prebuilt = System.getProperty("mamba.assembly");
        appJar = prebuilt != null && !prebuilt.isBlank() ? Path.of(prebuilt).toAbsolutePath()
                : buildAppJar(tmp.resolve("mamba-app.jar"), carried);
        assertTrue(Files.isRegularFile(appJar), "application jar " + appJar);

        phase("fixtures, SPARK_HOME and " + appJar.getFileName() + " ready");
        masterPort = freePort();
        masterUiPort = freePort();
        start("master", daemonJvm("256m"), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                "--port", String.valueOf(masterPort), "--webui-port", String.valueOf(masterUiPort));
        // Workers retry a missing master only after 5–15 s: start them once the master answers.
        await("the master's web UI on port " + masterUiPort, CLUSTER_UP, () -> masterState() != null);
        phase("master up");
        for (int w = 1; w <= 2; w++) {
            Path work = Files.createDirectories(tmp.resolve("work-" + w));
            workDirs.add(work);
            start("worker-" + w, daemonJvm("256m"), "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                    "--cores", "1", "--memory", "1g", "--work-dir", work.toString(),
                    "--webui-port", String.valueOf(freePort()), "spark://127.0.0.1:" + masterPort);
        }
    }

    @AfterAll
    static void stopCluster() throws IOException {
        stopAll();
        keepLogs(Path.of("target", "cluster-test-logs"));
        assertEquals(List.of(), ExecutorRuntime.closeAll(), "memory left after the local job");
    }

    @Test
    void embedOnTheClusterEqualsLocalMode() throws Exception {
        String[] job = {"--model", model.toString(), "--input", inputs.toString(), "--chunk-length", "64",
                "--split-size", "2000", "--lanes", "3", "--batch-tokens", "2048", "--backend", "cpu"};
        // The local run overlaps the workers' start-up.
        Path local = tmp.resolve("out-local");
        assertEquals(0, Main.run(concat(new String[]{"embed", "--master", "local[2]", "--output", local.toString()}, job)));

        phase("local job done");
        await("2 ALIVE workers at the master", CLUSTER_UP, () -> aliveWorkers() == 2);
        phase("2 workers alive");
        Path remote = tmp.resolve("out-cluster");
        List<String> submit = daemonJvm("1g");
        submit.addAll(List.of("org.apache.spark.deploy.SparkSubmit",
                "--master", "spark://127.0.0.1:" + masterPort, "--deploy-mode", "client", "--class", MAIN,
                // The documented executor flags (Vector API, Arrow), plus the short-lived-JVM ones.
                "--conf", "spark.executor.extraJavaOptions=" + templateProperty("spark.executor.extraJavaOptions")
                        + " " + String.join(" ", QUICK_JVM),
                "--conf", "spark.executor.memory=512m", "--conf", "spark.executor.cores=1",
                "--conf", "spark.cores.max=2",
                // Both executors registered before the first task, so both take tasks.
                "--conf", "spark.scheduler.minRegisteredResourcesRatio=1.0",
                "--conf", "spark.scheduler.maxRegisteredResourcesWaitingTime=60s",
                "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
                "--conf", "spark.ui.enabled=false",
                appJar.toString(), "embed", "--output", remote.toString()));
        submit.addAll(List.of(job));
        Process p = start("submit", submit);
        if (!p.waitFor(JOB_DONE.toSeconds(), TimeUnit.SECONDS)) {
            fail("spark-submit still running after " + JOB_DONE.toSeconds() + " s\n" + logTails());
        }
        assertEquals(0, p.exitValue(), "spark-submit exit code\n" + logTails());
        phase("spark-submit done");
        assertTrue(Files.exists(remote.resolve("_SUCCESS")), "cluster output committed\n" + logTails());

        JsonNode summary = new ObjectMapper().readTree(remote.resolve("summary.json").toFile());
        assertEquals("spark://127.0.0.1:" + masterPort, summary.path("settings").path("spark_master").asText());
        assertEquals(records.size(), summary.path("sequences").asLong());
        assertEquals(0, summary.path("errors").asLong());

        Map<String, Row> want = JobOutputs.byId(local, "embeddings"), got = JobOutputs.byId(remote, "embeddings");
        assertEquals(records.keySet(), want.keySet(), "local output");
        assertEquals(want.keySet(), got.keySet(), "cluster output");
        for (String id : want.keySet()) {
            Row w = want.get(id), g = got.get(id);
            assertEquals(w.getString(1), g.getString(1), id + " file");
            assertEquals(records.get(id).length(), g.getLong(2), id + " length");
            double em = JobOutputs.relErr(g.getList(3), JobOutputs.floats(w.getList(3)));
            double el = JobOutputs.relErr(g.getList(4), JobOutputs.floats(w.getList(4)));
            assertTrue(em <= 1e-6 && el <= 1e-6, id + ": cluster vs local relative error: mean " + em + ", last " + el);
        }

        phase("outputs compared");
        // Both workers ran an executor that loaded the model and ran tasks.
        for (Path work : workDirs) {
            List<Path> stderr = executorLogs(work);
            assertTrue(!stderr.isEmpty(), "no executor under " + work + "\n" + logTails());
            String text = Files.readString(stderr.get(0));
            assertTrue(text.contains("Running task") && text.contains("loaded model " + model),
                    stderr.get(0) + " shows no task that loaded the model\n" + logTails());
        }
    }

    // ---- the cluster --------------------------------------------------------------------------------

    /** The flags the test JVM runs with (from the root pom's jvm.module.flags); Spark's JVMs need them too. */
    static List<String> moduleFlags() {
        List<String> f = ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-opens") || a.startsWith("--add-modules") || a.startsWith("--add-exports")
                        || a.startsWith("--enable-native-access") || a.startsWith("-Djdk.reflect")
                        || a.startsWith("-Dio.netty") || a.equals("-XX:+IgnoreUnrecognizedVMOptions"))
                .collect(Collectors.toList());
        assertTrue(f.contains("--add-opens=java.base/java.nio=ALL-UNNAMED"),
                "the test JVM lacks the pom's jvm.module.flags (run it through Maven): " + f);
        return f;
    }

    /** java, heap, module flags and SPARK_HOME/jars/* as the classpath. */
    static List<String> daemonJvm(String heap) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx" + heap);
        cmd.addAll(QUICK_JVM);
        cmd.addAll(moduleFlags);
        cmd.add("-cp");
        cmd.add(sparkHome.resolve("jars") + File.separator + "*");
        return cmd;
    }

    /** Starts a JVM with the cluster's environment; output goes to logs/NAME.log. */
    static Process start(String name, List<String> jvm, String mainClass, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(jvm);
        cmd.add(mainClass);
        cmd.addAll(List.of(args));
        return start(name, cmd);
    }

    static Process start(String name, List<String> cmd) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(logs.resolve(name + ".log").toFile()).directory(tmp.toFile());
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("SPARK_") || k.startsWith("PYSPARK_") || k.startsWith("MAMBA_"));
        env.put("SPARK_HOME", sparkHome.toString());
        // Without it the worker's command builder looks for launcher/target/scala-* and executors fail with
        // "Cannot find any build directories".
        env.put("SPARK_SCALA_VERSION", "2.13");
        env.put("SPARK_LOCAL_IP", "127.0.0.1");
        env.put("JAVA_HOME", System.getProperty("java.home")); // executors use the same JDK
        Process p = pb.start();
        synchronized (processes) {
            processes.add(p);
        }
        return p;
    }

    /** Ends every started JVM and the executors below them: TERM first, KILL after 10 s. */
    static void stopAll() {
        List<Process> ps;
        synchronized (processes) {
            ps = new ArrayList<>(processes);
            processes.clear();
        }
        // Children first collected: once a worker is gone its executors are no longer its descendants.
        List<ProcessHandle> all = new ArrayList<>();
        for (Process p : ps) {
            p.descendants().forEach(all::add);
            all.add(p.toHandle());
        }
        all.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (ProcessHandle h : all) {
            try {
                h.onExit().get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (Exception e) {
                h.destroyForcibly();
            }
        }
    }

    /** The master's JSON status, or null while it does not answer. */
    static JsonNode masterState() {
        try {
            HttpURLConnection c = (HttpURLConnection) new URI("http://127.0.0.1:" + masterUiPort + "/json/").toURL()
                    .openConnection();
            c.setConnectTimeout(2000);
            c.setReadTimeout(2000);
            try (InputStream in = c.getInputStream()) {
                return new ObjectMapper().readTree(in);
            } finally {
                c.disconnect();
            }
        } catch (IOException | URISyntaxException e) {
            return null;
        }
    }

    static int aliveWorkers() {
        JsonNode s = masterState();
        int n = 0;
        if (s != null) {
            for (JsonNode w : s.path("workers")) {
                n += "ALIVE".equals(w.path("state").asText()) ? 1 : 0;
            }
        }
        return n;
    }

    interface Check {
        boolean ok() throws Exception;
    }

    /** Polls until ok, failing with every log's tail after the timeout or when a daemon died. */
    static void await(String what, Duration timeout, Check check) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!check.ok()) {
            synchronized (processes) {
                for (Process p : processes) {
                    if (!p.isAlive()) {
                        fail("waiting for " + what + ": a process exited with " + p.exitValue() + "\n" + logTails());
                    }
                }
            }
            if (System.nanoTime() > deadline) {
                fail("no " + what + " after " + timeout.toSeconds() + " s\n" + logTails());
            }
            Thread.sleep(250);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static List<Path> executorLogs(Path work) throws IOException {
        try (Stream<Path> s = Files.walk(work)) {
            return s.filter(p -> p.getFileName().toString().equals("stderr")).sorted().collect(Collectors.toList());
        }
    }

    /** Copies every log to DIR (CI keeps target/ on failure); the temp directory goes away. */
    static void keepLogs(Path dir) throws IOException {
        if (logs == null || !Files.isDirectory(Path.of("target"))) {
            return;
        }
        if (Files.isDirectory(dir)) { // an earlier run's logs would be mistaken for this one's
            try (Stream<Path> old = Files.list(dir)) {
                for (Path f : (Iterable<Path>) old::iterator) {
                    Files.delete(f);
                }
            }
        }
        Files.createDirectories(dir);
        try (Stream<Path> s = Files.list(logs)) {
            for (Path f : (Iterable<Path>) s::iterator) {
                Files.copy(f, dir.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
        for (int w = 0; w < workDirs.size(); w++) {
            for (Path f : executorLogs(workDirs.get(w))) {
                Path rel = workDirs.get(w).relativize(f);
                String name = "worker-" + (w + 1) + "-" + rel.toString().replace(File.separatorChar, '-');
                Files.copy(f, dir.resolve(name), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /** The last lines of every daemon, driver and executor log, for failure messages. */
    static String logTails() {
        StringBuilder sb = new StringBuilder();
        try {
            List<Path> files = new ArrayList<>();
            try (Stream<Path> s = Files.list(logs)) {
                s.sorted().forEach(files::add);
            }
            for (Path w : workDirs) {
                files.addAll(executorLogs(w));
            }
            for (Path f : files) {
                List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
                sb.append("---- ").append(f).append(" (last 40 of ").append(lines.size()).append(" lines)\n");
                lines.subList(Math.max(0, lines.size() - 40), lines.size()).forEach(l -> sb.append(l).append('\n'));
            }
        } catch (IOException e) {
            sb.append("(cannot read logs: ").append(e).append(")\n");
        }
        return sb.toString();
    }

    // ---- SPARK_HOME and the application jar -------------------------------------------------------

    /** Classpath entries the application jar carries (as the shade plugin's includes: our modules, picocli, JCuda). */
    static List<Path> appJarSources() throws URISyntaxException {
        Set<Path> s = new java.util.LinkedHashSet<>();
        for (Class<?> c : new Class<?>[]{Main.class, dev.mamba.pipeline.model.MambaModel.class,
                dev.mamba.kernels.Backend.class, picocli.CommandLine.class}) {
            s.add(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()));
        }
        for (Path p : classpath()) {
            if (p.getFileName().toString().startsWith("jcuda-")) {
                s.add(p);
            }
        }
        return new ArrayList<>(s);
    }

    static List<Path> classpath() {
        return Stream.of(System.getProperty("java.class.path").split(File.pathSeparator)).filter(x -> !x.isEmpty())
                .map(Path::of).collect(Collectors.toList());
    }

    /** A SPARK_HOME with jars/ linking the classpath's jars, minus the application's own and the test frameworks. */
    static Path sparkHome(Path home, List<Path> carried) throws IOException {
        Path jars = Files.createDirectories(home.resolve("jars"));
        Set<String> names = new HashSet<>();
        for (Path p : classpath()) {
            String n = p.getFileName().toString();
            if (!n.endsWith(".jar") || carried.contains(p) || n.startsWith("junit-") || n.startsWith("opentest4j")
                    || n.startsWith("apiguardian") || n.startsWith("surefire") || n.startsWith("mamba-")) {
                continue;
            }
            assertTrue(names.add(n), "two classpath jars named " + n);
            Files.createSymbolicLink(jars.resolve(n), p.toAbsolutePath());
        }
        assertTrue(names.stream().anyMatch(n -> n.startsWith("spark-core_")), "no spark-core jar on the classpath " + names);
        return home;
    }

    /** Our classes, picocli and JCuda in one jar with merged service files and Main-Class, like the assembly. */
    static Path buildAppJar(Path jar, List<Path> sources) throws IOException {
        Manifest mf = new Manifest();
        mf.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        mf.getMainAttributes().put(Attributes.Name.MAIN_CLASS, MAIN);
        Map<String, StringBuilder> services = new HashMap<>();
        Set<String> seen = new HashSet<>();
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), mf)) {
            out.setLevel(1);
            seen.add("META-INF/MANIFEST.MF");
            for (Path src : sources) {
                if (Files.isDirectory(src)) {
                    try (Stream<Path> s = Files.walk(src)) {
                        for (Path f : (Iterable<Path>) s.filter(Files::isRegularFile).sorted()::iterator) {
                            String name = src.relativize(f).toString().replace(File.separatorChar, '/');
                            try (InputStream in = Files.newInputStream(f)) {
                                add(out, name, in, seen, services);
                            }
                        }
                    }
                } else {
                    try (JarFile jf = new JarFile(src.toFile())) {
                        for (JarEntry e : (Iterable<JarEntry>) jf.stream()::iterator) {
                            if (!e.isDirectory()) {
                                try (InputStream in = jf.getInputStream(e)) {
                                    add(out, e.getName(), in, seen, services);
                                }
                            }
                        }
                    }
                }
            }
            for (Map.Entry<String, StringBuilder> e : services.entrySet()) {
                out.putNextEntry(new JarEntry(e.getKey()));
                out.write(e.getValue().toString().getBytes(StandardCharsets.UTF_8));
                out.closeEntry();
            }
        }
        assertTrue(services.containsKey("META-INF/services/org.apache.spark.sql.sources.DataSourceRegister"),
                "the data sources' service file is in the application jar");
        return jar;
    }

    private static void add(JarOutputStream out, String name, InputStream in, Set<String> seen,
                            Map<String, StringBuilder> services) throws IOException {
        if (name.startsWith("META-INF/services/")) {
            services.computeIfAbsent(name, k -> new StringBuilder())
                    .append(new String(in.readAllBytes(), StandardCharsets.UTF_8)).append('\n');
            return;
        }
        // Signature files of one jar would invalidate the merged jar; first copy of a duplicate wins.
        if (name.matches("META-INF/[^/]+\\.(SF|DSA|RSA)") || !seen.add(name)) {
            return;
        }
        out.putNextEntry(new JarEntry(name));
        in.transferTo(out);
        out.closeEntry();
    }

    // ---- outputs ------------------------------------------------------------------------------------

    /** A setting of conf/spark-defaults.conf.template, read as spark-submit reads properties files. */
    static String templateProperty(String key) throws IOException {
        Properties p = new Properties();
        try (java.io.Reader r = Files.newBufferedReader(repoRoot().resolve("conf/spark-defaults.conf.template"))) {
            p.load(r);
        }
        String v = p.getProperty(key);
        assertTrue(v != null && !v.isBlank(), "conf/spark-defaults.conf.template sets " + key);
        return v.trim();
    }


    static String[] concat(String[] a, String[] b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** The checkout root (the tests module runs in tests/). */
    static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("conf/spark-defaults.conf.template"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new UncheckedIOException(new IOException("no conf/spark-defaults.conf.template above " + Path.of("").toAbsolutePath()));
        }
        return p;
    }
}
