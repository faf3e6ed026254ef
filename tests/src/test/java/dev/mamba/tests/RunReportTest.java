package dev.mamba.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mamba.jobs.cli.Main;
import dev.mamba.jobs.report.Plots;
import dev.mamba.jobs.spark.ExecutorRuntime;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Jobs run without --model on cuts of the bundled samples pick the shipped models (extracted from the
 * classpath: the test JVM has no mamba.home), and write report/ with real plots: PNGs of the report size
 * with varied content, the flagged steps and the input files in their colours, linked exactly by index.html.
 */
class RunReportTest {
    /** Flag colour of the series plots, the palette's first colours for files (Plots). */
    static final int FLAG = 0xD62728;
    static final int[] FILE_COLOURS = {0x0072B2, 0xE69F00, 0x009E73};
    static final String BAD_ID = "bad<&>\"x\"";

    @TempDir
    static Path tmp;
    static Path fasta;
    static Path csv;
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void inputs() throws IOException {
        Path samples = StandaloneClusterTest.repoRoot().resolve("samples");
        fasta = Files.createDirectories(tmp.resolve("genomes"));
        // two records of 400 bases from each of three sample genomes: 2,400 steps, three files to colour by
        for (String f : List.of("bee_rna_viruses.fa", "human_subtelomeric.fa", "shigella_plasmids.fa")) {
            Map<String, String> recs = firstBases(samples.resolve("genomes").resolve(f), 400);
            assertEquals(2, recs.size(), f);
            if (f.startsWith("shigella")) {
                recs.put(BAD_ID, "ACGTXACGT"); // no X in vocab.json: goes to errors/, its id must be escaped
            }
            JobFixtures.writeFasta(fasta.resolve(f), recs);
        }
        // the first 400 steps of each labelled demo series (2,000 steps), one spike added at step 300 of one
        csv = tmp.resolve("series.csv");
        List<String> out = new ArrayList<>();
        Map<String, Integer> seen = new HashMap<>();
        for (String line : Files.readAllLines(samples.resolve("timeseries/anomalies_demo.csv"))) {
            if (out.isEmpty()) {
                out.add(line);
                continue;
            }
            String[] c = line.split(",");
            int step = seen.merge(c[0], 1, Integer::sum) - 1;
            if (step < 400) {
                if (c[0].equals("demo3_frequency_change") && step == 300) {
                    c[2] = String.valueOf(Double.parseDouble(c[2]) + 40);
                }
                out.add(String.join(",", c));
            }
        }
        assertEquals(5 * 400 + 1, out.size());
        Files.write(csv, out);
    }

    @AfterAll
    static void leaks() {
        assertEquals(List.of(), ExecutorRuntime.closeAll(), "memory left after the jobs");
    }

    @Test
    void embedWithoutModelUsesShippedDnaAndPlotsPcaByFile() throws Exception {
        Path out = tmp.resolve("embed");
        assertEquals(0, Main.run("embed", "--input", fasta.toString(), "--output", out.toString(), "--master", "local[2]",
                "--chunk-length", "256", "--backend", "cpu"));
        JsonNode sum = JSON.readTree(out.resolve("summary.json").toFile());
        assertEquals("builtin:dna", sum.path("settings").path("model").asText());
        assertTrue(Files.isRegularFile(Path.of(sum.path("settings").path("model_dir").asText(), "model.safetensors")));
        assertEquals(6, sum.path("sequences").asLong());
        assertEquals(1, sum.path("errors").asLong());
        long steps = sum.path("steps").asLong(), computed = sum.path("computed_steps").asLong();
        assertTrue(steps > 0 && computed >= steps, "computed lane-steps " + computed + " cover the " + steps + " steps");
        assertEquals((double) steps / computed, sum.path("lane_utilization").asDouble(), 1e-12);
        String html = checkReport(out, Set.of("pca.png"));
        BufferedImage pca = checkPng(out.resolve("report/pca.png"));
        for (int c : FILE_COLOURS) {
            assertTrue(count(pca, c) > 20, String.format("pca.png shows a file in colour %06x", c));
        }
        assertTrue(html.contains("bad&lt;&amp;&gt;&quot;x&quot;"), "error id escaped in index.html");
        assertFalse(html.contains(BAD_ID));
        assertTrue(html.contains("'X'") || html.contains("&#39;X&#39;"), "the error's reason is listed");
    }

    @Test
    void scoreTokensWithoutModelPlotsMeanNllAndTopSequences() throws Exception {
        Path out = tmp.resolve("score-dna");
        assertEquals(0, Main.run("score", "--input", fasta.toString(), "--output", out.toString(), "--master", "local[2]",
                "--chunk-length", "256", "--backend", "cpu"));
        assertEquals("builtin:dna", JSON.readTree(out.resolve("summary.json").toFile()).path("settings").path("model").asText());
        checkReport(out, Set.of("nll_mean.png", "nll_1.png", "nll_2.png", "nll_3.png", "nll_4.png", "nll_5.png"));
        for (String png : List.of("nll_mean.png", "nll_1.png", "nll_5.png")) {
            assertTrue(count(checkPng(out.resolve("report").resolve(png)), 0x0072B2) > 100, png + " draws its data");
        }
    }

    @Test
    void scoreSeriesWithoutModelPlotsTopSeriesWithFlags() throws Exception {
        Path out = tmp.resolve("score-ts");
        assertEquals(0, Main.run("score", "--input", csv.toString(), "--output", out.toString(), "--master", "local[2]",
                "--id-column", "series_id", "--value-columns", "value", "--chunk-length", "256", "--backend", "cpu"));
        JsonNode sum = JSON.readTree(out.resolve("summary.json").toFile());
        assertEquals("builtin:timeseries", sum.path("settings").path("model").asText());
        assertEquals(String.valueOf(new dev.mamba.jobs.spark.JobSettings().threshold), sum.path("settings").path("threshold").asText());
        checkReport(out, Set.of("max_score.png", "series_1.png", "series_2.png", "series_3.png", "series_4.png",
                "series_5.png"));
        checkPng(out.resolve("report/max_score.png"));
        // series_1 is the one with the highest max_score: the added spike, flagged and drawn in red
        String html = Files.readString(out.resolve("report/index.html"));
        Matcher m = Pattern.compile("<img src=\"series_1.png\" alt=\"Series ([^:]+):").matcher(html);
        assertTrue(m.find(), html);
        assertEquals("demo3_frequency_change", m.group(1));
        assertTrue(count(checkPng(out.resolve("report/series_1.png")), FLAG) > 20, "flagged steps marked in red");
    }

    @Test
    void scoreWavHasNoDefaultModel() {
        Path out = tmp.resolve("score-wav");
        Path wav = StandaloneClusterTest.repoRoot().resolve("samples/audio/utt1_A.wav");
        assertNotEquals(0, Main.run("score", "--input", wav.toString(), "--output", out.toString(), "--master", "local[1]"));
        assertFalse(Files.exists(out));
    }

    /** index.html exists, links exactly the PNGs of report/ and these are the expected ones. */
    static String checkReport(Path out, Set<String> expected) throws IOException {
        Path dir = out.resolve("report");
        String html = Files.readString(dir.resolve("index.html"), StandardCharsets.UTF_8);
        Set<String> linked = new TreeSet<>();
        Matcher m = Pattern.compile("src=\"([^\"]*)\"").matcher(html);
        while (m.find()) {
            linked.add(m.group(1));
        }
        Set<String> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".png"))
                    .collect(Collectors.toCollection(TreeSet::new));
        }
        assertEquals(files, linked, "index.html links exactly the PNGs that exist\n" + html);
        assertEquals(new TreeSet<>(expected), files, html);
        assertTrue(html.contains("throughput") && html.contains("steps/s"), html);
        assertFalse(html.contains("could not be drawn"), html);
        return html;
    }

    /** A real PNG of the report size with varied content. */
    static BufferedImage checkPng(Path png) throws IOException {
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img, png + " is not an image ImageIO can read");
        assertEquals(Plots.WIDTH, img.getWidth(), png.toString());
        assertEquals(Plots.HEIGHT, img.getHeight(), png.toString());
        Map<Integer, Integer> hist = new LinkedHashMap<>();
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                hist.merge(img.getRGB(x, y) & 0xFFFFFF, 1, Integer::sum);
            }
        }
        int most = hist.values().stream().max(Integer::compare).orElse(0);
        assertTrue(hist.size() > 30, png + ": only " + hist.size() + " distinct colours");
        assertTrue(most < 0.97 * img.getWidth() * img.getHeight(), png + ": almost all one colour");
        return img;
    }

    static int count(BufferedImage img, int rgb) {
        int n = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                n += (img.getRGB(x, y) & 0xFFFFFF) == rgb ? 1 : 0;
            }
        }
        return n;
    }

    /** Each record's id (header up to the first blank) and its first {@code n} bases. */
    static Map<String, String> firstBases(Path fa, int n) throws IOException {
        Map<String, String> recs = new LinkedHashMap<>();
        String id = null;
        StringBuilder sb = new StringBuilder();
        for (String line : Files.readAllLines(fa)) {
            if (line.startsWith(">")) {
                if (id != null) {
                    recs.put(id, sb.substring(0, Math.min(n, sb.length())));
                }
                id = line.substring(1).split("\\s+")[0];
                sb.setLength(0);
            } else if (sb.length() < n) {
                sb.append(line.trim());
            }
        }
        if (id != null) {
            recs.put(id, sb.substring(0, Math.min(n, sb.length())));
        }
        return recs;
    }
}
