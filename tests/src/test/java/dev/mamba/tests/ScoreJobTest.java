package dev.mamba.tests;

import dev.mamba.jobs.cli.Main;
import dev.mamba.jobs.spark.ExecutorRuntime;
import dev.mamba.kernels.cpu.CpuBackend;
import dev.mamba.pipeline.checkpoint.RandomCheckpoint;
import dev.mamba.pipeline.config.MambaConfig;
import dev.mamba.pipeline.config.ModelFamily;
import dev.mamba.pipeline.model.ForwardBatch;
import dev.mamba.pipeline.model.ForwardResult;
import dev.mamba.pipeline.model.MambaModel;
import dev.mamba.pipeline.model.Output;
import dev.mamba.pipeline.model.Runner;
import dev.mamba.pipeline.score.CausalNormalizer;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The score job equals the in-process forward pass over each whole sequence. */
class ScoreJobTest {
    @TempDir
    static Path tmp;

    @AfterAll
    static void leaks() {
        assertEquals(List.of(), ExecutorRuntime.closeAll());
    }

    @Test
    void tokenNllMatchesInProcess() throws Exception {
        Path model = JobFixtures.dnaModel(Files.createDirectories(tmp.resolve("dna")));
        Random rnd = new Random(9);
        Map<String, String> recs = JobFixtures.randomRecords(rnd, "r", 6, 700);
        recs.put("one", "A");
        Path in = tmp.resolve("seqs.fa");
        JobFixtures.writeFasta(in, recs);
        Path out = tmp.resolve("score-dna");
        assertEquals(0, Main.run("score", "--model", model.toString(), "--input", in.toString(), "--output", out.toString(),
                "--master", "local[2]", "--chunk-length", "50", "--lanes", "4", "--backend", "cpu"));
        Map<String, Map<Long, Row>> pos = new HashMap<>();
        for (Row r : JobOutputs.rows(out, "positions")) {
            pos.computeIfAbsent(r.getString(0), k -> new HashMap<>()).put(r.getLong(2), r);
        }
        Map<String, Row> seqs = new HashMap<>();
        for (Row r : JobOutputs.rows(out, "sequences")) {
            seqs.put(r.getString(0), r);
        }
        try (CpuBackend be = new CpuBackend(2); MambaModel m = MambaModel.load(model, be); Runner run = m.newRunner(1, 700)) {
            for (Map.Entry<String, String> e : recs.entrySet()) {
                String s = e.getValue();
                int[] ids = JobFixtures.ids(s);
                ForwardBatch b = new ForwardBatch(1, s.length());
                b.lens[0] = s.length();
                b.tokens = ids;
                b.targets = new int[s.length()];
                for (int t = 0; t < s.length(); t++) {
                    b.targets[t] = t + 1 < s.length() ? ids[t + 1] : -1;
                }
                run.reset(0);
                ForwardResult r = run.forward(b, EnumSet.of(Output.NLL));
                double sum = 0;
                for (int t = 0; t < s.length(); t++) {
                    Row row = pos.get(e.getKey()).get((long) t);
                    assertEquals(String.valueOf(s.charAt(t)), row.getString(3));
                    if (t + 1 < s.length()) {
                        assertEquals(r.nll[t], row.getFloat(4), 1e-5 * Math.max(1, Math.abs(r.nll[t])), e.getKey() + " " + t);
                        sum += r.nll[t];
                    } else {
                        assertTrue(row.isNullAt(4));
                    }
                }
                Row sr = seqs.get(e.getKey());
                assertEquals(s.length(), sr.getLong(2));
                if (s.length() > 1) {
                    assertEquals(sum / (s.length() - 1), sr.getDouble(3), 1e-5);
                } else {
                    assertTrue(sr.isNullAt(3));
                }
            }
        }
    }

    @Test
    void timeSeriesScoresMatchInProcessAndBadRowsGoToErrors() throws Exception {
        Path model = continuousModel("ts", 2, 5);
        Random rnd = new Random(2);
        Map<String, float[][]> series = new LinkedHashMap<>();
        List<String> lines = new ArrayList<>();
        for (int sIdx = 0; sIdx < 5; sIdx++) {
            int n = 30 + rnd.nextInt(300);
            float[][] v = new float[n][2];
            for (int t = 0; t < n; t++) {
                v[t][0] = (float) (10 * Math.sin(t / 7.0) + rnd.nextGaussian());
                v[t][1] = (float) (100 + t * 0.5 + rnd.nextGaussian() * 3);
                lines.add("s" + sIdx + "," + (1000 + t * 60) + "," + v[t][0] + "," + v[t][1]);
            }
            series.put("s" + sIdx, v);
        }
        lines.add("bad1,5,1.0,2.0");
        lines.add("bad1,6,abc,2.0");
        lines.add("bad2,5,1.0,2.0");
        lines.add("bad2,5,1.5,2.0");
        Collections.shuffle(lines, rnd); // the job sorts per series by time
        lines.add(0, "sensor,time,a,b");
        Path csv = tmp.resolve("series.csv");
        Files.write(csv, lines);
        Path out = tmp.resolve("score-ts");
        assertEquals(0, Main.run("score", "--model", model.toString(), "--input", csv.toString(), "--output",
                out.toString(), "--master", "local[2]", "--id-column", "sensor", "--chunk-length", "40", "--lanes", "2",
                "--norm-half-life", "100", "--backend", "cpu"));
        Map<String, Map<Long, Row>> steps = stepsBySeries(out);
        try (CpuBackend be = new CpuBackend(2); MambaModel m = MambaModel.load(model, be); Runner run = m.newRunner(1, 400)) {
            for (Map.Entry<String, float[][]> e : series.entrySet()) {
                float[][] v = e.getValue();
                int n = v.length;
                CausalNormalizer norm = new CausalNormalizer(2, 100);
                float[] z = new float[n * 2], flat = new float[n * 2];
                double[][] mean = new double[n][2], scale = new double[n][2];
                for (int t = 0; t < n; t++) {
                    flat[2 * t] = v[t][0];
                    flat[2 * t + 1] = v[t][1];
                    for (int f = 0; f < 2; f++) {
                        mean[t][f] = norm.mean(f);
                        scale[t][f] = norm.scale(f);
                    }
                    norm.step(flat, 2 * t, z, 2 * t);
                }
                ForwardBatch b = new ForwardBatch(1, n);
                b.lens[0] = n;
                b.features = z;
                run.reset(0);
                ForwardResult r = run.forward(b, EnumSet.of(Output.PREDICTION));
                Map<Long, Row> got = steps.get(e.getKey());
                assertEquals(n, got.size(), e.getKey());
                assertNull(got.get(0L).get(4), "no prediction for the first step");
                for (int t = 1; t < n; t++) {
                    Row row = got.get((long) t);
                    assertEquals(1000 + t * 60, row.getDouble(2), 0, "time");
                    List<Float> pred = row.getList(4);
                    for (int f = 0; f < 2; f++) {
                        double want = mean[t][f] + scale[t][f] * r.prediction[(t - 1) * 2 + f];
                        assertEquals(want, pred.get(f), 1e-5 * Math.max(1, Math.abs(want)), e.getKey() + " t" + t + " f" + f);
                    }
                }
            }
        }
        Map<String, String> errors = new HashMap<>();
        for (Row r : JobOutputs.rows(out, "errors")) {
            errors.put(r.getString(0), r.getString(3));
        }
        assertTrue(errors.get("bad1").contains("column 'a' = 'abc' is not a number"), errors.toString());
        assertTrue(errors.get("bad2").contains("duplicate time 5"), errors.toString());
        assertEquals(2, errors.size(), errors.toString());
        assertEquals(5, JobOutputs.rows(out, "series").size());
    }

    /**
     * CSV files are read by their own headers (a column order or delimiter that differs from the first file's
     * must not swap columns), each file without --id-column is its own series, ISO-8601 times work, and with
     * --on-error report a ragged file is one error row and none of its rows are scored.
     */
    @Test
    void csvFilesAreReadByTheirOwnHeaders() throws Exception {
        Path model = continuousModel("ts1", 1, 6);
        Path in = Files.createDirectories(tmp.resolve("csvs"));
        List<String> a = new ArrayList<>(List.of("time,value")), b = new ArrayList<>(List.of("value;time"));
        for (int t = 0; t < 60; t++) {
            a.add(t + "," + (t % 7));
            b.add((100 + t) + ";2024-01-01T00:00:" + String.format("%02d", t));
        }
        Files.write(in.resolve("a.csv"), a);
        Files.write(in.resolve("b.csv"), b);
        Files.write(in.resolve("_SUCCESS"), List.of());  // bookkeeping of a directory Spark wrote: not an input
        Path out = tmp.resolve("score-csvs");
        assertEquals(0, Main.run("score", "--model", model.toString(), "--input", in.toString(), "--output",
                out.toString(), "--master", "local[2]", "--chunk-length", "16", "--value-columns", "value",
                "--backend", "cpu"));
        Map<String, Map<Long, Row>> steps = stepsBySeries(out);
        assertEquals(java.util.Set.of("a", "b"), steps.keySet(), "one series per file, named after it");
        for (long t = 0; t < 60; t++) {
            Row ra = steps.get("a").get(t), rb = steps.get("b").get(t);
            assertEquals(t, ra.getDouble(2), 0);
            assertEquals(t % 7, ((Number) ra.getList(3).get(0)).doubleValue(), 0);
            assertEquals(java.time.Instant.parse("2024-01-01T00:00:00Z").toEpochMilli() + 1000 * t, rb.getDouble(2), 0);
            assertEquals(100 + t, ((Number) rb.getList(3).get(0)).doubleValue(), 0, "b's value column by name");
        }

        Files.write(in.resolve("0.csv"), List.of());  // unreadable first file: report mode asks the next one
        Files.write(in.resolve("c.csv"), List.of("time,value", "0,1", "1,2,3", "2,3"));
        Files.write(in.resolve("d.csv"), List.of("time,value", "0,1", "NaN,2"));
        Path rep = tmp.resolve("score-csvs-report");
        assertEquals(0, Main.run("score", "--model", model.toString(), "--input", in.toString(), "--output",
                rep.toString(), "--master", "local[2]", "--chunk-length", "16", "--value-columns", "value",
                "--backend", "cpu", "--on-error", "report", "--format", "csv"));
        Map<String, String> errors = new HashMap<>();
        for (Row r : JobOutputs.rows(rep, "errors")) {
            errors.put(r.getString(0), r.getString(3));
        }
        assertEquals(in.resolve("c.csv") + ":3: 3 fields, the header has 2", errors.get(in.resolve("c.csv").toString()),
                errors.toString());
        assertTrue(errors.get("d").contains("d.csv:3: column 'time' = 'NaN' is NaN"), errors.toString());
        assertTrue(errors.get(in.resolve("0.csv").toString()).contains("empty file"), errors.toString());
        assertEquals(3, errors.size(), errors.toString());
        java.util.Set<String> scored = new java.util.HashSet<>();
        JobOutputs.rows(rep, "series").forEach(r -> scored.add(r.getString(0)));
        assertEquals(java.util.Set.of("a", "b"), scored, "nothing of the ragged file is scored");

        assertTrue(Main.run("score", "--model", model.toString(), "--input", in.resolve("c.csv").toString(),
                "--output", tmp.resolve("never").toString(), "--master", "local[1]", "--value-columns", "value",
                "--backend", "cpu") != 0);
        assertTrue(!Files.exists(tmp.resolve("never")));
    }

    /**
     * A CSV file larger than --split-size is read as ranges by several tasks: the same steps and errors as one read
     * of the whole file, with quoted fields holding line breaks, CRLF and row errors; a malformed large file is its
     * first fault, as in one read: one error row with --on-error report, else a failed job naming file and line.
     */
    @Test
    void largeCsvFilesAreReadInRangesAsIfWhole() throws Exception {
        Path model = continuousModel("ts3", 1, 8);
        Path in = Files.createDirectories(tmp.resolve("csv-large"));
        Random rnd = new Random(5);
        StringBuilder a = new StringBuilder("sensor,note,time,value\r\n");
        for (int t = 0; t < 400; t++) {
            String note = rnd.nextInt(5) == 0 ? "\"line\nbreak, \"\"quoted\"\"\"" : "n" + t;
            String value = t == 123 ? "abc" : String.format(java.util.Locale.ROOT, "%.4f", rnd.nextGaussian());
            a.append("s").append(t % 3).append(',').append(note).append(',').append(1000 + t).append(',').append(value)
                    .append(t % 4 == 0 ? "\r\n" : "\n");
        }
        Files.writeString(in.resolve("a.csv"), a);
        Files.writeString(in.resolve("b.csv"), "sensor,time,value,note\nq,1,2.5,x\nq,2,3.5,y\n");
        List<String> base = List.of("score", "--model", model.toString(), "--input", in.toString(), "--master", "local[2]",
                "--chunk-length", "16", "--id-column", "sensor", "--value-columns", "value", "--backend", "cpu",
                "--format", "csv");
        java.util.function.BiFunction<String, List<String>, CliRunner> score = (name, extra) -> {
            List<String> args = new ArrayList<>(base);
            args.addAll(List.of("--output", tmp.resolve(name).toString()));
            args.addAll(extra);
            return CliRunner.run(args.toArray(new String[0]));
        };
        assertEquals(0, score.apply("csv-whole", List.of()).exit);
        assertEquals(0, score.apply("csv-ranges", List.of("--split-size", "300")).exit);
        for (String part : List.of("steps", "errors", "series")) {
            assertEquals(sortedRows(tmp.resolve("csv-whole"), part), sortedRows(tmp.resolve("csv-ranges"), part), part);
        }
        assertEquals(4, stepsBySeries(tmp.resolve("csv-ranges")).size());
        assertTrue(sortedRows(tmp.resolve("csv-ranges"), "errors").toString().contains("a.csv:"),
                "the row error names its file and line");

        // a short row (record 301; the quoted line breaks before it put it further down in lines)
        String broken = a.toString().replace(",1300,", ",1300\n");
        Files.writeString(in.resolve("a.csv"), broken);
        assertEquals(0, score.apply("csv-whole-bad", List.of("--on-error", "report")).exit);
        assertEquals(0, score.apply("csv-ranges-bad", List.of("--on-error", "report", "--split-size", "300")).exit);
        List<String> errors = sortedRows(tmp.resolve("csv-ranges-bad"), "errors");
        assertEquals(sortedRows(tmp.resolve("csv-whole-bad"), "errors"), errors);
        assertEquals(1, errors.size(), errors.toString());
        assertTrue(errors.get(0).contains("fields, the header has 4"), errors.toString());
        assertEquals(java.util.Set.of("q"), stepsBySeries(tmp.resolve("csv-ranges-bad")).keySet(),
                "nothing of the malformed file is scored");
        CliRunner failed = score.apply("csv-ranges-fail", List.of("--split-size", "300"));
        assertEquals(2, failed.exit);
        String where = errors.get(0).replaceAll(".*(a\\.csv:\\d+):.*", "$1");
        assertTrue(failed.err.contains(where) && failed.err.contains("fields, the header has 4"), failed.err);
        assertTrue(!Files.exists(tmp.resolve("csv-ranges-fail")));
    }

    /**
     * Bytes damaged inside a Parquet input's data pages fail the job naming the file: parquet-mr writes a CRC per
     * page but does not check it on reads unless asked, and without Hadoop's .crc sidecar files damaged
     * uncompressed values were read as other numbers.
     */
    @Test
    void aDamagedParquetInputFailsTheJob() throws Exception {
        Path model = continuousModel("ts4", 1, 9);
        Path table = tmp.resolve("damaged.parquet");
        withSpark(spark -> {
            List<Row> rows = new ArrayList<>();
            for (int t = 0; t < 20000; t++) {
                rows.add(org.apache.spark.sql.RowFactory.create((long) t, Math.sin(t / 9.0)));
            }
            var schema = new org.apache.spark.sql.types.StructType().add("time", "long").add("value", "double");
            spark.createDataFrame(rows, schema).coalesce(1).write().option("compression", "none").parquet(table.toString());
        });
        Path data;
        try (var l = Files.list(table)) {
            data = l.filter(f -> f.getFileName().toString().endsWith(".parquet")).findFirst().orElseThrow();
        }
        byte[] b = Files.readAllBytes(data);
        for (int i = b.length * 3 / 4; i < b.length * 3 / 4 + 64; i++) {
            b[i] ^= 0x5a;  // inside the value column's page: doubles that still decode, as other numbers
        }
        Files.write(data, b);
        // without Hadoop's .crc sidecars (a table copied, or written by another tool), only the page CRCs tell
        try (var l = Files.list(table)) {
            for (Path crc : l.filter(f -> f.getFileName().toString().endsWith(".crc")).toList()) {
                Files.delete(crc);
            }
        }
        CliRunner r = CliRunner.run("score", "--model", model.toString(), "--input", table.toString(), "--output",
                tmp.resolve("score-damaged").toString(), "--master", "local[1]", "--value-columns", "value",
                "--backend", "cpu", "--format", "parquet");
        assertEquals(2, r.exit, r.err);
        assertTrue(r.err.contains(data.getFileName().toString()) && r.err.toLowerCase().contains("checksum"), r.err);
        assertTrue(!Files.exists(tmp.resolve("score-damaged")));
    }

    /** The score job over Parquet {@code inputs} (value column "value", chunks of 16) into {@code out}: its exit code. */
    private static int scoreParquet(Path model, List<String> inputs, Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("score", "--model", model.toString(), "--input"));
        args.addAll(inputs);
        args.addAll(List.of("--output", out.toString(), "--master", "local[2]", "--chunk-length", "16",
                "--value-columns", "value", "--backend", "cpu", "--format", "parquet"));
        args.addAll(List.of(extra));
        return Main.run(args.toArray(new String[0]));
    }

    /** Runs {@code body} with a short-lived local Spark session (to write the tests' Parquet inputs). */
    private static void withSpark(java.util.function.Consumer<org.apache.spark.sql.SparkSession> body) {
        org.apache.spark.sql.SparkSession spark = org.apache.spark.sql.SparkSession.builder().master("local[1]")
                .config("spark.ui.enabled", "false").getOrCreate();
        try {
            body.accept(spark);
        } finally {
            spark.stop();
        }
    }

    /** Every row of a part as text, sorted: two outputs with the same rows compare equal. */
    private static List<String> sortedRows(Path out, String part) {
        List<String> rows = new ArrayList<>();
        for (Row r : JobOutputs.rows(out, part)) {
            rows.add(r.toString());
        }
        Collections.sort(rows);
        return rows;
    }

    /**
     * Parquet inputs: columns by name in each input, and without --id-column each input is its own series. A table
     * named twice, or through a link, or a data file of a table that is named too, is read once; a table inside
     * another's directory that Spark does not read with it is read for itself.
     */
    @Test
    void parquetInputsAreSeriesOfTheirOwn() throws Exception {
        Path model = continuousModel("ts2", 1, 7);
        Path p1 = tmp.resolve("p1.parquet"), p2 = tmp.resolve("p2.parquet");
        withSpark(spark -> {
            List<Row> r1 = new ArrayList<>(), r2 = new ArrayList<>();
            for (int t = 0; t < 40; t++) {
                r1.add(org.apache.spark.sql.RowFactory.create((long) t, (double) (t % 5)));
                r2.add(org.apache.spark.sql.RowFactory.create(200.0 + t, 1000L + t));
            }
            var s1 = new org.apache.spark.sql.types.StructType().add("time", "long").add("value", "double");
            var s2 = new org.apache.spark.sql.types.StructType().add("value", "double").add("time", "long");
            spark.createDataFrame(r1, s1).repartition(2).write().parquet(p1.toString());  // two data files
            spark.createDataFrame(r2, s2).write().parquet(p2.toString());
            // a table inside p1's directory, but not one of its partitions: a read of p1 does not read it
            spark.createDataFrame(r1, s1).write().parquet(p1.resolve("sub").toString());
        });
        // the second run names p1 again, and its data file on its own, and p2 through a link: each is read once;
        // p1/sub is read, for itself
        Path part;
        try (var l = Files.list(p1)) {
            part = l.filter(f -> f.getFileName().toString().endsWith(".parquet")).findFirst().orElseThrow();
        }
        Path link = Files.createSymbolicLink(tmp.resolve("p2-link.parquet"), p2);
        String sub = p1.resolve("sub").toString();
        List<List<String>> inputs = List.of(List.of(p1.toString(), p2.toString()),
                List.of(part.toString(), p1.toString(), p2.toString(), p1.toString(), link.toString(), sub));
        for (int run = 0; run < inputs.size(); run++) {
            Path out = tmp.resolve("score-parquet-" + run);
            assertEquals(0, scoreParquet(model, inputs.get(run), out));
            Map<String, Map<Long, Row>> steps = stepsBySeries(out);
            java.util.Set<String> series = run == 0 ? java.util.Set.of(p1.toString(), p2.toString())
                    : java.util.Set.of(p1.toString(), p2.toString(), sub);
            assertEquals(series, steps.keySet());
            for (long t = 0; t < 40; t++) {
                assertEquals(t % 5, ((Number) steps.get(p1.toString()).get(t).getList(3).get(0)).doubleValue(), 0);
                assertEquals(1000 + t, steps.get(p2.toString()).get(t).getDouble(2), 0);
                assertEquals(200 + t, ((Number) steps.get(p2.toString()).get(t).getList(3).get(0)).doubleValue(), 0);
            }
            assertEquals(40 * series.size(), steps.values().stream().mapToInt(Map::size).sum());
            assertEquals(List.of(), JobOutputs.rows(out, "errors"), "run " + run);
        }
    }

    /**
     * A table named with its only data file, or with its only partition directory, is read as the table whichever
     * comes first: its name is the series (without --id-column), its partition column is there (with one).
     */
    @Test
    void aTableIsReadRatherThanItsOwnFilesWhateverTheOrder() throws Exception {
        Path model = continuousModel("ts5", 1, 10);
        Path one = tmp.resolve("one.parquet"), parted = tmp.resolve("parted.parquet");
        withSpark(spark -> {
            List<Row> rows = new ArrayList<>();
            for (int t = 0; t < 30; t++) {
                rows.add(org.apache.spark.sql.RowFactory.create((long) t, (double) t, 1));
            }
            var schema = new org.apache.spark.sql.types.StructType().add("time", "long").add("value", "double")
                    .add("k", "int");
            spark.createDataFrame(rows, schema).coalesce(1).write().parquet(one.toString());
            spark.createDataFrame(rows, schema).coalesce(1).write().partitionBy("k").parquet(parted.toString());
        });
        Path part;
        try (var l = Files.list(one)) {
            part = l.filter(f -> f.getFileName().toString().endsWith(".parquet")).findFirst().orElseThrow();
        }
        String k1 = parted.resolve("k=1").toString();
        List<List<String>> orders = List.of(List.of(part.toString(), one.toString()), List.of(one.toString(), part.toString()),
                List.of(k1, parted.toString()), List.of(parted.toString(), k1));
        for (int run = 0; run < orders.size(); run++) {
            Path out = tmp.resolve("score-table-" + run);
            assertEquals(0, scoreParquet(model, orders.get(run), out, run >= 2 ? new String[]{"--id-column", "k"}
                    : new String[0]), "run " + run);
            Map<String, Map<Long, Row>> steps = stepsBySeries(out);
            assertEquals(java.util.Set.of(run < 2 ? one.toString() : "1"), steps.keySet(), "run " + run);
            assertEquals(30, steps.values().iterator().next().size(), "run " + run);
        }
    }

    /**
     * A symbol the vocabulary lacks stops its sequence there, but every step before it is scored, whatever the
     * chunk length (before, only the chunks before the failing one were: nothing at all with long chunks).
     */
    @Test
    void tokenStepsBeforeABadSymbolAreScoredWhateverTheChunkLength() throws Exception {
        Path model = JobFixtures.dnaModel(Files.createDirectories(tmp.resolve("dna-bad")));
        Map<String, String> recs = JobFixtures.randomRecords(new Random(4), "g", 2, 300);
        String prefix = JobFixtures.randomRecords(new Random(5), "p", 1, 150).values().iterator().next();
        int n = prefix.length();  // the bad symbol's position
        recs.put("bad", prefix + "X" + prefix);
        Path in = tmp.resolve("bad-symbol.fa");
        JobFixtures.writeFasta(in, recs);
        Map<Long, Float> first = null;
        for (String chunk : new String[] {"1000", "100", "37"}) {
            Path out = tmp.resolve("score-bad-" + chunk);
            assertEquals(0, Main.run("score", "--model", model.toString(), "--input", in.toString(), "--output",
                    out.toString(), "--master", "local[2]", "--chunk-length", chunk, "--lanes", "2", "--backend", "cpu"));
            Map<Long, Float> nll = new HashMap<>();
            for (Row r : JobOutputs.rows(out, "positions")) {
                if (r.getString(0).equals("bad")) {
                    nll.put(r.getLong(2), r.isNullAt(4) ? null : r.getFloat(4));
                }
            }
            assertEquals(n, nll.size(), "chunk " + chunk + ": every step before the bad symbol scored");
            assertTrue(nll.keySet().stream().allMatch(p -> p < n), "chunk " + chunk);
            assertNull(nll.get(n - 1L), "the step before the bad symbol has no target");
            Row err = JobOutputs.byId(out, "errors").get("bad");
            assertEquals(n, err.getLong(2), "chunk " + chunk + ": error position");
            assertTrue(!JobOutputs.byId(out, "sequences").containsKey("bad"));
            if (first == null) {
                first = nll;
            } else {
                for (long t = 0; t < n - 1; t++) {
                    assertEquals(first.get(t), nll.get(t), 1e-5f * Math.max(1, Math.abs(first.get(t))), "chunk " + chunk + " t" + t);
                }
            }
        }
    }

    /**
     * A series stopped by a bad value keeps a steps/ row for every step before it, with the same values whatever
     * the chunk length (the chunk holding the bad row runs up to it; the lanes' progress does not matter).
     */
    @Test
    void seriesStepsBeforeABadValueAreScoredWhateverTheChunkLength() throws Exception {
        Path model = continuousModel("ts-bad", 1, 6);
        Random rnd = new Random(6);
        int n = 150;  // the bad value's step
        List<String> lines = new ArrayList<>(List.of("sensor,time,a"));
        for (int s = 0; s < 3; s++) {
            for (int t = 0; t < 300; t++) {
                String v = s == 1 && t == n ? "oops" : String.valueOf((float) (Math.sin(t / 5.0 + s) + 0.1 * rnd.nextGaussian()));
                lines.add("s" + s + "," + t + "," + v);
            }
        }
        Path csv = tmp.resolve("bad-value.csv");
        Files.write(csv, lines);
        Map<Long, Row> first = null;
        for (String chunk : new String[] {"1000", "100", "37"}) {
            Path out = tmp.resolve("score-bad-value-" + chunk);
            assertEquals(0, Main.run("score", "--model", model.toString(), "--input", csv.toString(), "--output",
                    out.toString(), "--master", "local[2]", "--id-column", "sensor", "--chunk-length", chunk, "--lanes", "2",
                    "--backend", "cpu"));
            Map<Long, Row> pred = stepsBySeries(out).get("s1");
            assertEquals(n, pred.size(), "chunk " + chunk + ": every step before the bad value scored");
            assertTrue(pred.keySet().stream().allMatch(t -> t < n), "chunk " + chunk);
            Row err = JobOutputs.byId(out, "errors").get("s1");
            assertEquals(n, err.getLong(2), "chunk " + chunk + ": error position");
            assertTrue(err.getString(3).contains("'oops' is not a number"), err.getString(3));
            assertEquals(2, JobOutputs.rows(out, "series").size(), "chunk " + chunk + ": s0 and s2 finish");
            if (first == null) {
                first = pred;
            } else {
                for (long t = 1; t < n; t++) {
                    float want = first.get(t).<Float>getList(4).get(0);
                    assertEquals(want, pred.get(t).<Float>getList(4).get(0), 1e-5f * Math.max(1, Math.abs(want)),
                            "chunk " + chunk + " t" + t);
                }
            }
        }
    }

    /** The steps/ rows of a score output, by series and step. */
    private static Map<String, Map<Long, Row>> stepsBySeries(Path out) {
        Map<String, Map<Long, Row>> steps = new HashMap<>();
        for (Row r : JobOutputs.rows(out, "steps")) {
            steps.computeIfAbsent(r.getString(0), k -> new HashMap<>()).put(r.getLong(1), r);
        }
        return steps;
    }

    /** A random continuous-input model (hidden 16, 2 layers) with {@code features} inputs and outputs. */
    private static Path continuousModel(String dir, int features, long seed) throws Exception {
        MambaConfig cfg = new MambaConfig(ModelFamily.CONTINUOUS, 16, 2, 0, 8, 4, 32, 1, true, false, 1e-5f, true,
                false, features, features);
        Path model = Files.createDirectories(tmp.resolve(dir));
        RandomCheckpoint.writeRandom(model, cfg, seed, false, "F32");
        return model;
    }
}
