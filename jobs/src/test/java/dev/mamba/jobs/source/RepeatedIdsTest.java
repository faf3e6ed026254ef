package dev.mamba.jobs.source;

import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.ChunkReader;
import dev.mamba.pipeline.io.DuplicateIdFilter;
import dev.mamba.pipeline.io.fasta.FastaReader;
import dev.mamba.pipeline.io.fasta.FastqReader;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.connector.read.InputPartition;
import org.apache.spark.sql.connector.read.PartitionReader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The chunk source's duplicate-id rule, whatever the splits and lanes: what a task reads (every partition through
 * the reader factory, after planning with the pre-scan of {@link RepeatedIds}) equals one sequential read of the
 * whole file through {@code DuplicateIdFilter}, which keeps the file's first record of each id. Split sizes both
 * below and above the scanned bytes take the driver's scan and the Spark job's.
 */
class RepeatedIdsTest {
    @TempDir
    static Path tmp;
    static SparkSession spark;

    @BeforeAll
    static void start() {
        spark = SparkSession.builder().master("local[2]").appName("repeated-ids").config("spark.ui.enabled", "false")
                .getOrCreate();
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    /** id -> payload of the kept record; plus sorted skipped ids. */
    record Result(Map<String, String> kept, List<String> skipped) {
    }

    /** Collects a read: each kept record's chunks as text ("|" after a chunk, "$" after the last), the skipped ids. */
    static final class Reading {
        final Map<String, StringBuilder> kept = new TreeMap<>();
        final List<String> skipped = new ArrayList<>();

        void chunk(String id, byte[] symbols, boolean last) {
            kept.computeIfAbsent(id, k -> new StringBuilder()).append(new String(symbols, StandardCharsets.US_ASCII))
                    .append(last ? "$" : "|");
        }

        Result result() {
            Map<String, String> out = new TreeMap<>();
            kept.forEach((k, v) -> out.put(k, v.toString()));
            skipped.sort(null);
            return new Result(out, skipped);
        }
    }

    static Result reference(Path f, boolean fastq, int chunkLen) throws Exception {
        Reading got = new Reading();
        ChunkReader r0 = fastq ? new FastqReader(f, chunkLen) : new FastaReader(f, chunkLen);
        try (ChunkReader r = new DuplicateIdFilter(r0, new DuplicateIdFilter.SeenIds(), (id, file, why) -> got.skipped.add(id))) {
            Chunk c;
            while ((c = r.next()) != null) {
                got.chunk(c.sequenceId(), c.symbols(), c.last());
            }
        }
        return got.result();
    }

    static Map<String, String> options(int chunkLen, long split, int lanes) {
        Map<String, String> raw = new HashMap<>();
        raw.put("chunkLength", "" + chunkLen);
        raw.put("splitSize", "" + split);
        raw.put("lanes", "" + lanes);
        return raw;
    }

    /** Plans the read as Spark does (the pre-scan included) and reads every partition through the reader factory. */
    static List<InternalRow> read(ChunkFormat format, Map<String, String> raw) throws Exception {
        ChunkScan scan = new ChunkScan(format, new SourceOptions(raw), raw);
        ChunkReaderFactory fac = (ChunkReaderFactory) scan.createReaderFactory();
        List<InternalRow> rows = new ArrayList<>();
        for (InputPartition p : scan.planInputPartitions()) {
            try (PartitionReader<InternalRow> r = fac.createReader(p)) {
                while (r.next()) {
                    rows.add(r.get());  // a new row each time
                }
            }
        }
        return rows;
    }

    static Result viaSource(List<Path> files, boolean fastq, int chunkLen, long split, int lanes) throws Exception {
        Map<String, String> raw = options(chunkLen, split, lanes);
        StringBuilder js = new StringBuilder("[");
        for (Path p : files) {
            js.append(js.length() > 1 ? "," : "").append('"').append(p).append('"');
        }
        raw.put("paths", js + "]");
        Reading got = new Reading();
        for (InternalRow row : read(fastq ? ChunkFormat.FASTQ : ChunkFormat.FASTA, raw)) {
            String id = row.getUTF8String(ChunkSchema.SEQUENCE_ID).toString();
            if (!row.isNullAt(ChunkSchema.ERROR)) {
                got.skipped.add(id);
            } else {
                got.chunk(id, row.getBinary(ChunkSchema.PAYLOAD), row.getBoolean(ChunkSchema.LAST));
            }
        }
        return got.result();
    }

    static String randomFile(Random rnd, boolean fastq, int records) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < records; i++) {
            String id = "r" + rnd.nextInt(records / 2 + 1);
            int len = rnd.nextInt(6) == 0 ? 0 : rnd.nextInt(40);
            StringBuilder seq = new StringBuilder();
            for (int j = 0; j < len; j++) {
                seq.append("ACGT".charAt(rnd.nextInt(4)));
            }
            if (fastq) {
                sb.append('@').append(id).append(" desc\n").append(seq).append("\n+\n");
                for (int j = 0; j < len; j++) {
                    sb.append(j == 0 && rnd.nextBoolean() ? '@' : "I+@#".charAt(rnd.nextInt(4)));
                }
                sb.append('\n');
            } else {
                sb.append('>').append(id).append('\n');
                for (int j = 0; j < len; j += 7) {
                    sb.append(seq, j, Math.min(len, j + 7)).append('\n');
                }
                if (rnd.nextInt(5) == 0) {
                    sb.append('\n');
                }
            }
        }
        return sb.toString();
    }

    /** Random FASTA/FASTQ files with repeated ids, empty records, blank lines and '@' starting quality lines. */
    @Test
    void randomFilesMatchTheSequentialReference() throws Exception {
        Random rnd = new Random(7);
        for (int t = 0; t < 20; t++) {
            boolean fastq = t % 2 == 1;
            Path f = Files.writeString(tmp.resolve("rand" + t + (fastq ? ".fq" : ".fa")), randomFile(rnd, fastq, 30 + rnd.nextInt(60)));
            int chunkLen = 1 + rnd.nextInt(12);
            Result ref = reference(f, fastq, chunkLen);
            long size = Files.size(f);
            // one split (the driver scans) and many (a Spark job scans), each with random lanes (a Spark job per
            // setting: ~0.4 s here, so not every combination)
            for (long s : new long[]{size + 10, 7 + rnd.nextInt((int) (size / 2))}) {
                for (int l : new int[]{1 + rnd.nextInt(8)}) {
                    Result got = viaSource(List.of(f), fastq, chunkLen, s, l);
                    String label = f + " chunk " + chunkLen + " split " + s + " lanes " + l;
                    assertEquals(ref.kept(), got.kept(), label);
                    assertEquals(ref.skipped(), got.skipped(), label);
                }
            }
        }
    }

    /** The same file given twice (e.g. --input f.fa f.fa, or a directory and a file in it). */
    @Test
    void aFileListedTwiceKeepsItsRecords() throws Exception {
        Path f = Files.writeString(tmp.resolve("twice.fa"), ">a\nACGT\n>b\nGGGG\n>c\nTTTT\n");
        Result once = viaSource(List.of(f), false, 16, 1000, 2);
        assertEquals(List.of("a", "b", "c"), List.copyOf(once.kept().keySet()), "once");
        Result twice = viaSource(List.of(f, f), false, 16, 1000, 2);
        assertEquals(List.of("a", "b", "c"), List.copyOf(twice.kept().keySet()), "twice: " + twice);
    }

    /** A gzip file given twice: two whole-file streams of one path, so it is "pre-scanned" too. */
    @Test
    void aGzipFileListedTwiceKeepsItsRecords() throws Exception {
        Path f = tmp.resolve("twice.fa.gz");
        try (var out = new java.util.zip.GZIPOutputStream(Files.newOutputStream(f))) {
            out.write(">a\nACGT\n>b\nGGGG\n>c\nTTTT\n".getBytes(StandardCharsets.US_ASCII));
        }
        Result twice = viaSource(List.of(f, f), false, 16, 1000, 1);
        assertEquals(List.of("a", "b", "c"), List.copyOf(twice.kept().keySet()), "twice: " + twice);
    }

    /** Report mode, corrupted files: every skipped duplicate has a record of its id that was read (kept or stopped). */
    @Test
    void reportModeInvariants() throws Exception {
        Random rnd = new Random(11);
        int problems = 0;
        StringBuilder msgs = new StringBuilder();
        for (int t = 0; t < 20; t++) {
            boolean fastq = t % 2 == 1;
            byte[] b = randomFile(rnd, fastq, 30 + rnd.nextInt(60)).getBytes(StandardCharsets.US_ASCII);
            for (int k = 0; k < 1 + rnd.nextInt(2); k++) {
                int at = rnd.nextInt(b.length);
                b[at] = (byte) new int[]{1, '\n', '@', '+', '>', 'A'}[rnd.nextInt(6)];
            }
            Path f = Files.write(tmp.resolve("bad" + t + (fastq ? ".fq" : ".fa")), b);
            int chunkLen = 1 + rnd.nextInt(12);
            long size = Files.size(f);
            for (long split : new long[]{size + 10, 7 + rnd.nextInt((int) (size / 2))}) {
                for (int lanes : new int[]{1 + rnd.nextInt(8)}) {
                    Map<String, String> raw = options(chunkLen, split, lanes);
                    raw.put("path", f.toString());
                    raw.put("onError", "report");
                    Map<String, Integer> starts = new HashMap<>();
                    java.util.Set<String> skipped = new java.util.HashSet<>(), named = new java.util.HashSet<>();
                    for (InternalRow row : read(fastq ? ChunkFormat.FASTQ : ChunkFormat.FASTA, raw)) {
                        String id = row.getUTF8String(ChunkSchema.SEQUENCE_ID).toString();
                        if (!row.isNullAt(ChunkSchema.ERROR)) {
                            String e = row.getUTF8String(ChunkSchema.ERROR).toString();
                            (e.contains("duplicate sequence id") ? skipped : named).add(id);
                        } else if (row.getLong(ChunkSchema.CHUNK_INDEX) == 0) {
                            starts.merge(id, 1, Integer::sum);
                        }
                    }
                    String label = f + " chunk " + chunkLen + " split " + split + " lanes " + lanes;
                    for (var e : starts.entrySet()) {
                        if (e.getValue() > 1) {
                            problems++;
                            msgs.append(label).append(": kept twice ").append(e.getKey()).append('\n');
                        }
                    }
                    for (String id : skipped) {
                        if (!starts.containsKey(id) && !named.contains(id)) {
                            problems++;
                            msgs.append(label).append(": skipped with no read record ").append(id).append('\n');
                        }
                    }
                }
            }
        }
        assertEquals(0, problems, msgs.toString());
    }
}
