package dev.mamba.tests;

import dev.mamba.jobs.spark.ExecutorRuntime;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input through the jobs: a clear error naming the file and line or record, a non-zero exit and no
 * output directory for fatal cases; an errors row (and the rest of the job) with --on-error report.
 */
class BadInputJobTest {
    @TempDir
    static Path tmp;
    static Path dna;
    static Path audio;

    @BeforeAll
    static void models() throws Exception {
        dna = JobFixtures.dnaModel(Files.createDirectories(tmp.resolve("dna")));
        audio = Path.of("..", "models", "audio").toAbsolutePath().normalize();
    }

    @AfterAll
    static void leaks() {
        assertEquals(List.of(), ExecutorRuntime.closeAll());
    }

    static CliRunner embed(Path model, Path input, Path out, String... extra) {
        String[] base = {"embed", "--model", model.toString(), "--input", input.toString(), "--output", out.toString(),
                "--master", "local[1]", "--backend", "cpu"};
        String[] all = java.util.Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return CliRunner.run(all);
    }

    @Test
    void malformedFastaFailsTheJobWithFileAndLineAndLeavesNoOutput() throws Exception {
        Path in = Files.createDirectories(tmp.resolve("fa"));
        Files.writeString(in.resolve("good.fa"), ">ok\nACGTACGT\n");
        Files.writeString(in.resolve("bad.fa"), "ACGT\n>late header\nACGT\n");
        Path out = tmp.resolve("out-fa");
        CliRunner r = embed(dna, in, out);
        assertEquals(2, r.exit);
        assertTrue(r.err.contains("bad.fa:1") && r.err.contains("header"), r.err);
        assertFalse(Files.exists(out), "a failed job leaves no output");
        try (var l = Files.list(tmp)) {
            assertTrue(l.noneMatch(p -> p.getFileName().toString().startsWith(".out-fa")), "no staging left behind");
        }
        // with --on-error report the file becomes an errors row and the good file is embedded
        Path out2 = tmp.resolve("out-fa-report");
        assertEquals(0, embed(dna, in, out2, "--on-error", "report").exit);
        List<Row> errors = JobOutputs.rows(out2, "errors");
        assertEquals(1, errors.size());
        assertTrue(errors.get(0).getString(1).endsWith("bad.fa") && errors.get(0).getString(3).contains("bad.fa:1"),
                errors.toString());
        // the well-formed record after the bad start ("late") is still read by the split that owns its header
        assertEquals(java.util.Set.of("ok", "late"), JobOutputs.byId(out2, "embeddings").keySet());
    }

    /** A record that turns out malformed before its first chunk is still named in its errors row, not left blank. */
    @Test
    void aRecordMalformedBeforeItsFirstChunkIsNamed() throws Exception {
        Path in = Files.createDirectories(tmp.resolve("named"));
        Path fq = Files.writeString(in.resolve("reads.fq"), "@r1\nACGT\n+\nIIII\n@r2\nACGT\nIIII\n@r3\nAC\n+\nII\n");
        Path fa = Files.writeString(in.resolve("g.fa"), ">s1\nACGT\n>s2\nAC\u0001GT\n");
        String[][] cases = {{fq.toString(), "r2", "reads.fq:7", "r1"}, {fa.toString(), "s2", "g.fa:4", "s1"}};
        for (String[] c : cases) {
            Path out = tmp.resolve("out-named-" + c[1]);
            assertEquals(0, embed(dna, Path.of(c[0]), out, "--on-error", "report").exit);
            java.util.Map<String, Row> errors = JobOutputs.byId(out, "errors");
            assertEquals(java.util.Set.of(c[1]), errors.keySet(), errors.toString());
            assertTrue(errors.get(c[1]).getString(3).contains(c[2]), errors.toString());
            java.util.Set<String> embedded = JobOutputs.byId(out, "embeddings").keySet();
            assertTrue(embedded.contains(c[3]) && !embedded.contains(c[1]), embedded + " " + errors);
        }
    }

    /** A duplicate record that is malformed before its first chunk is an errors row; the kept record goes on. */
    @Test
    void aMalformedDuplicateDoesNotStopTheKeptRecord() throws Exception {
        Path fq = Files.writeString(tmp.resolve("dup-bad.fq"), "@x\nACGT\n+\nIIII\n@x\nACGT\nIIII\n");
        Path out = tmp.resolve("out-dup-bad");
        assertEquals(0, embed(dna, fq, out, "--on-error", "report").exit);
        List<Row> errors = JobOutputs.rows(out, "errors");
        assertEquals(java.util.Set.of("x"), JobOutputs.byId(out, "embeddings").keySet(), errors.toString());
        assertEquals(1, errors.size(), errors.toString());
        assertTrue(errors.get(0).getString(3).contains("missing '+' line"), errors.toString());
    }

    /** samtools faidx leaves g.fa.fai next to g.fa; Spark leaves _SUCCESS: neither is input. */
    @Test
    void anIndexBesideTheFastaIsNotReadAsInput() throws Exception {
        Path in = Files.createDirectories(tmp.resolve("indexed"));
        Files.writeString(in.resolve("g.fa"), ">s1\nACGTACGTAC\nACG\n>s2\nGGGG\n");
        Files.writeString(in.resolve("g.fa.fai"), "s1\t13\t4\t10\t11\ns2\t4\t23\t4\t5\n");
        Files.writeString(in.resolve("_SUCCESS"), "");
        Path out = tmp.resolve("out-indexed");
        CliRunner r = embed(dna, in, out);
        assertEquals(0, r.exit, r.err);
        assertEquals(java.util.Set.of("s1", "s2"), JobOutputs.byId(out, "embeddings").keySet());
    }

    /** The index only sizes the progress line, so a broken one is a warning, not a failed job. */
    @Test
    void aMalformedIndexDoesNotFailTheJob() throws Exception {
        Path in = Files.createDirectories(tmp.resolve("bad-index"));
        Path fa = Files.writeString(in.resolve("g.fa"), ">s1\nACGTACGTAC\nACG\n>s2\nGGGG\n");
        Files.writeString(in.resolve("g.fa.fai"), "s1\tx\t4\t10\t11\n");
        Path out = tmp.resolve("out-bad-index");
        CliRunner r = embed(dna, fa, out);
        assertEquals(0, r.exit, r.err);
        assertEquals(2, JobOutputs.rows(out, "embeddings").size());
        assertEquals(0, JobOutputs.rows(out, "errors").size());
    }

    @Test
    void emptyFilesAreMalformedFiles() throws Exception {
        Path in = Files.createDirectories(tmp.resolve("empty"));
        Files.writeString(in.resolve("good.fa"), ">ok\nACGTACGT\n");
        Files.writeString(in.resolve("empty.fa"), "");
        Files.writeString(in.resolve("blank.fa"), "\n  \n\n");
        CliRunner r = embed(dna, in, tmp.resolve("out-empty"));
        assertEquals(2, r.exit);
        assertTrue(r.err.contains("empty file: expected a FASTA record starting with '>'"), r.err);
        assertFalse(Files.exists(tmp.resolve("out-empty")));
        Path out = tmp.resolve("out-empty-report");
        assertEquals(0, embed(dna, in, out, "--on-error", "report").exit);
        assertEquals(java.util.Set.of("blank.fa", "empty.fa"), JobOutputs.rows(out, "errors").stream()
                .peek(e -> assertTrue(e.getString(3).contains("empty file"), e.toString()))
                .map(e -> Path.of(e.getString(1)).getFileName().toString()).collect(java.util.stream.Collectors.toSet()));
        assertEquals(List.of("ok"), JobOutputs.rows(out, "embeddings").stream().map(x -> x.getString(0)).toList());
    }

    @Test
    void duplicateIdsAreSequenceErrors() throws Exception {
        // a duplicate next to its first record and one 30 records later, read by two lanes: each is an errors
        // row, the first record of each id is embedded (even without --on-error report: per-sequence errors)
        StringBuilder dup = new StringBuilder(">a\nACGT\n>a\nAC\n>b\nACGTA\n");
        for (int i = 0; i < 30; i++) {
            dup.append(">r").append(i).append("\nACGTAC\n");
        }
        dup.append(">b\nGG\n>c\nAC\n");
        Path dupFile = Files.writeString(tmp.resolve("dup.fa"), dup.toString());
        Path dupOut = tmp.resolve("out-dup");
        CliRunner d = embed(dna, dupFile, dupOut, "--lanes", "2");
        assertEquals(0, d.exit, d.err);
        java.util.Map<String, Row> embedded = JobOutputs.byId(dupOut, "embeddings");
        assertEquals(33, JobOutputs.rows(dupOut, "embeddings").size());
        assertEquals(4L, embedded.get("a").getLong(2));
        assertEquals(5L, embedded.get("b").getLong(2));
        List<Row> errors = JobOutputs.rows(dupOut, "errors");
        assertEquals(java.util.Set.of("a", "b"), errors.stream().map(e -> e.getString(0))
                .collect(java.util.stream.Collectors.toSet()));
        for (Row e : errors) {
            assertTrue(e.getString(1).endsWith("dup.fa") && e.getString(3).contains("duplicate sequence id"),
                    e.toString());
        }
    }

    /**
     * The record kept for a duplicate id is the file's first, whatever the splits: a second "a" at the start of the
     * second half is read (as a lane's first chunk) long before the first "a", which follows a 400-base record in
     * the first half; with small splits the two are in different tasks. Before the pre-scan, the first kept the
     * later "a" and the second embedded both.
     */
    @Test
    void theFirstRecordOfTheFileIsKeptWhateverTheSplits() throws Exception {
        String first = ">long\n" + "ACGT".repeat(100) + "\n>a\nACGT\n>b\nACGTA\n";
        StringBuilder second = new StringBuilder(">a\nAC\n>b\nGG\n");
        for (int i = 0; second.length() < first.length() - 6; i++) {
            second.append(">r").append(i).append("\nACGTACGTAC\n");
        }
        // the half point falls in the first half's last record or just after it: the second half's first
        // record is the duplicate "a"
        second.setLength(first.length() - 6);
        second.append("\nACG\n");
        Path fa = Files.writeString(tmp.resolve("dup-halves.fa"), first + second);
        java.util.Set<String> expectedIds = new java.util.TreeSet<>();
        for (String line : Files.readAllLines(fa)) {
            if (line.startsWith(">")) {
                expectedIds.add(line.substring(1));
            }
        }
        String[][] settings = {{"--lanes", "2", "--chunk-length", "16"}, {"--lanes", "2", "--split-size", "150"},
                {"--lanes", "1", "--split-size", "64", "--chunk-length", "16"}};
        for (String[] extra : settings) {
            String label = String.join(" ", extra);
            Path out = tmp.resolve("out-dup-halves-" + label.replaceAll("[^0-9a-z]+", "-"));
            CliRunner r = embed(dna, fa, out, extra);
            assertEquals(0, r.exit, label + ": " + r.err);
            List<Row> rows = JobOutputs.rows(out, "embeddings");
            java.util.Map<String, Row> byId = JobOutputs.byId(out, "embeddings");
            assertEquals(rows.size(), byId.size(), label + ": one row per id");
            assertEquals(expectedIds, new java.util.TreeSet<>(byId.keySet()), label);
            assertEquals(4L, byId.get("a").getLong(2), label + ": the file's first a");
            assertEquals(5L, byId.get("b").getLong(2), label + ": the file's first b");
            assertEquals(400L, byId.get("long").getLong(2), label);
            List<Row> errors = JobOutputs.rows(out, "errors");
            assertEquals(List.of("a", "b"), errors.stream().map(e -> e.getString(0)).sorted().toList(), label + ": " + errors);
            for (Row e : errors) {
                assertTrue(e.getString(3).contains("duplicate sequence id"), label + ": " + e);
            }
        }
    }

    @Test
    void fastqQualityMismatchAndBinaryJunkNameTheLine() throws Exception {
        Path fq = tmp.resolve("reads.fq");
        Files.writeString(fq, "@r1\nACGT\n+\nIIII\n@r2\nACGTA\n+\nIII\n");
        CliRunner r = embed(dna, fq, tmp.resolve("out-fq"));
        assertEquals(2, r.exit);
        assertTrue(r.err.contains("reads.fq:8") && r.err.contains("quality length 3 != sequence length 5"), r.err);
        Path junk = tmp.resolve("junk.fa");
        Files.write(junk, new byte[]{'>', 'x', '\n', 'A', 'C', 0, 'G', '\n'});
        CliRunner j = embed(dna, junk, tmp.resolve("out-junk"));
        assertEquals(2, j.exit);
        assertTrue(j.err.contains("junk.fa:2") && j.err.contains("NUL"), j.err);
        assertFalse(Files.exists(tmp.resolve("out-junk")));
    }

    static byte[] wav(int format, int bits, int channels, int rate, int frames, boolean truncate) {
        int block = channels * bits / 8;
        int data = frames * block;
        ByteBuffer b = ByteBuffer.allocate(44 + data).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes()).putInt(36 + data).put("WAVE".getBytes()).put("fmt ".getBytes()).putInt(16)
                .putShort((short) format).putShort((short) channels).putInt(rate).putInt(rate * block)
                .putShort((short) block).putShort((short) bits).put("data".getBytes()).putInt(data);
        for (int i = 0; i < frames * channels; i++) {
            b.putShort((short) (Math.sin(i / 10.0) * 8000));
        }
        byte[] all = b.array();
        return truncate ? java.util.Arrays.copyOf(all, all.length - data / 2 - 1) : all;
    }

    @Test
    void badWavFilesAndMismatchedModels() throws Exception {
        Path trunc = tmp.resolve("cut.wav");
        Files.write(trunc, wav(1, 16, 1, 16000, 4000, true));
        CliRunner r = embed(audio, trunc, tmp.resolve("out-cut"));
        assertEquals(2, r.exit);
        assertTrue(r.err.contains("cut.wav") && r.err.toLowerCase().contains("truncat"), r.err);
        Path alaw = tmp.resolve("alaw.wav");
        Files.write(alaw, wav(6, 16, 1, 16000, 100, false));
        CliRunner a = embed(audio, alaw, tmp.resolve("out-alaw"));
        assertEquals(2, a.exit);
        assertTrue(a.err.contains("alaw.wav") && a.err.contains("A-law"), a.err);
        Path ok = tmp.resolve("ok.wav");
        Files.write(ok, wav(1, 16, 1, 16000, 4000, false));
        CliRunner m = embed(dna, ok, tmp.resolve("out-mismatch"));
        assertEquals(2, m.exit);
        assertTrue(m.err.contains("is a token model") && m.err.contains("wav"), m.err);
        Path stereo = tmp.resolve("stereo.wav");
        Files.write(stereo, wav(1, 16, 2, 16000, 4000, false));
        CliRunner s = embed(audio, stereo, tmp.resolve("out-stereo"));
        assertEquals(2, s.exit);
        assertTrue(s.err.contains("stereo.wav") && s.err.contains("800 features"), s.err);
        for (String o : new String[]{"out-cut", "out-alaw", "out-mismatch", "out-stereo"}) {
            assertFalse(Files.exists(tmp.resolve(o)), o);
        }
    }
}
