package dev.mamba.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mamba.jobs.cli.EmbedCommand;
import dev.mamba.jobs.cli.ScoreCommand;
import dev.mamba.jobs.spark.JobSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

import java.io.IOException;
import java.io.Reader;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The files under conf/: the GPU discovery script's JSON, the job settings list and the Spark defaults stay true. */
class ConfFilesTest {
    static final Path CONF = StandaloneClusterTest.repoRoot().resolve("conf");

    @TempDir
    Path tmp;

    /** Runs conf/gpu-discovery.sh with PATH holding only a fake nvidia-smi (or none); returns its parsed output. */
    JsonNode discover(String fakeNvidiaSmi) throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("bin-" + System.nanoTime()));
        for (String tool : new String[]{"tr", "printf"}) { // what the script needs besides bash builtins
            Path real = Arrays.stream(System.getenv("PATH").split(":")).map(d -> Path.of(d, tool))
                    .filter(Files::isExecutable).findFirst().orElse(null);
            if (real != null) {
                Files.createSymbolicLink(bin.resolve(tool), real);
            }
        }
        if (fakeNvidiaSmi != null) {
            Path smi = Files.writeString(bin.resolve("nvidia-smi"), "#!/bin/sh\n" + fakeNvidiaSmi + "\n");
            Files.setPosixFilePermissions(smi, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        ProcessBuilder pb = new ProcessBuilder("bash", CONF.resolve("gpu-discovery.sh").toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("PATH", bin.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "gpu-discovery.sh finished");
        assertEquals(0, p.exitValue(), "exit code; output: " + out);
        JsonNode n = new ObjectMapper().readTree(out);
        assertEquals("gpu", n.path("name").asText(), out);
        assertTrue(n.path("addresses").isArray(), out);
        return n;
    }

    @Test
    void gpuDiscoveryListsNvidiaSmiIndicesAsStrings() throws Exception {
        // Argument check in the fake: the script must ask for exactly the index column.
        JsonNode n = discover("[ \"$*\" = \"--query-gpu=index --format=csv,noheader\" ] || { echo \"bad args: $*\" >&2; exit 9; }\n"
                + "printf '0\\n1\\n 2\\n3\\n'");
        assertEquals("[\"0\",\"1\",\"2\",\"3\"]", n.get("addresses").toString());
        assertEquals("[\"5\"]", discover("echo 5").get("addresses").toString());
    }

    @Test
    void gpuDiscoveryWithoutGpusListsNone() throws Exception {
        assertEquals("[]", discover(null).get("addresses").toString(), "no nvidia-smi on PATH");
        assertEquals("[]", discover("echo 'NVIDIA-SMI has failed because it could not communicate with the driver' ; exit 9")
                .get("addresses").toString(), "driver missing");
        assertEquals("[]", discover("echo 'No devices were found'").get("addresses").toString(), "no devices");
        assertTrue(Files.isExecutable(CONF.resolve("gpu-discovery.sh")), "conf/gpu-discovery.sh is executable");
    }

    /** key -> {value, flag named in the comment above it ("" for "(no flag)")}. */
    static Map<String, String[]> jobProperties() throws IOException {
        Map<String, String[]> m = new LinkedHashMap<>();
        Pattern flagLine = Pattern.compile("^# (--[a-z0-9-]+|\\(no flag\\))");
        Pattern keyLine = Pattern.compile("^([A-Za-z][A-Za-z0-9]*)\\s*=\\s*(.*)$");
        String flag = null;
        for (String line : Files.readAllLines(CONF.resolve("mamba-job.properties"))) {
            Matcher f = flagLine.matcher(line), k = keyLine.matcher(line);
            if (f.find()) {
                flag = f.group(1).startsWith("--") ? f.group(1) : "";
            } else if (k.matches()) {
                assertNotNull(flag, "mamba-job.properties: " + k.group(1) + " has no '# --flag' (or '# (no flag)') comment above it");
                m.put(k.group(1), new String[]{k.group(2).trim(), flag});
                flag = null;
            }
        }
        return m;
    }

    /** A default as the properties file writes it: null and empty lists as nothing, lists comma-separated. */
    static String text(Object v) {
        if (v == null) {
            return "";
        }
        if (v instanceof List) {
            return String.join(",", ((List<?>) v).stream().map(String::valueOf).toArray(String[]::new));
        }
        return String.valueOf(v);
    }

    /** Equal as numbers when both are numbers (512 = 512.0), else as text. */
    static void assertSameValue(String want, String got, String what) {
        try {
            assertEquals(Double.parseDouble(want), Double.parseDouble(got), 0.0, what);
        } catch (NumberFormatException notNumbers) {
            assertEquals(want, got, what);
        }
    }

    @Test
    void jobPropertiesListEverySettingWithTheDefaultsOfJobSettingsAndTheFlags() throws Exception {
        Map<String, String[]> props = jobProperties();
        JobSettings defaults = new JobSettings();
        List<String> fields = new ArrayList<>();
        for (Field f : JobSettings.class.getDeclaredFields()) {
            if (Modifier.isStatic(f.getModifiers())) {
                continue;
            }
            fields.add(f.getName());
            String[] p = props.get(f.getName());
            assertNotNull(p, "conf/mamba-job.properties lacks JobSettings." + f.getName());
            assertSameValue(text(f.get(defaults)), p[0], "conf/mamba-job.properties: default of " + f.getName());
        }
        assertEquals(fields, new ArrayList<>(props.keySet()), "the same settings, in JobSettings' order");

        List<CommandLine.Model.CommandSpec> jobs = List.of(new CommandLine(new EmbedCommand()).getCommandSpec(),
                new CommandLine(new ScoreCommand()).getCommandSpec());
        for (Map.Entry<String, String[]> e : props.entrySet()) {
            String flag = e.getValue()[1];
            if (flag.isEmpty()) {
                continue;
            }
            OptionSpec o = jobs.stream().map(c -> c.findOption(flag)).filter(x -> x != null).findFirst().orElse(null);
            assertNotNull(o, e.getKey() + ": neither embed nor score has the option " + flag);
            String d = o.defaultValue();
            if (o.type() == boolean.class) {
                // A flag sets true; "--no-x" flags set their setting to false.
                boolean setting = Boolean.parseBoolean(d == null ? "false" : d) != flag.startsWith("--no-");
                assertEquals(e.getValue()[0], String.valueOf(setting), e.getKey() + ": default of " + flag);
            } else if (d != null) {
                assertSameValue(e.getValue()[0], d, e.getKey() + ": default of " + flag);
            }
            // Flags without a static default (--model follows the input format, --norm-half-life reads the model):
            // the file states JobSettings' default, checked above.
        }
    }

    @Test
    void sparkDefaultsGiveExecutorsAndDriverTheBuildsModuleFlags() throws Exception {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(CONF.resolve("spark-defaults.conf.template"))) {
            p.load(r); // what spark-submit does with --properties-file and spark-defaults.conf
        }
        List<String> want = StandaloneClusterTest.moduleFlags(); // the pom's jvm.module.flags
        for (String key : new String[]{"spark.executor.extraJavaOptions", "spark.driver.extraJavaOptions"}) {
            String v = p.getProperty(key);
            assertNotNull(v, key);
            assertEquals(want, Arrays.asList(v.trim().split("\\s+")), key);
        }
        for (String k : p.stringPropertyNames()) {
            assertTrue(k.startsWith("spark."), "only Spark settings in the template: " + k);
        }
    }
}
