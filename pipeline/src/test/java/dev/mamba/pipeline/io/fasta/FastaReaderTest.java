package dev.mamba.pipeline.io.fasta;

import dev.mamba.pipeline.io.ByteRange;
import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.InputFormatException;
import dev.mamba.pipeline.io.fasta.Records.Rec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FastaReaderTest {
    @TempDir
    Path dir;

    private Path write(String name, String text) throws IOException {
        return write(name, text.getBytes(StandardCharsets.ISO_8859_1));
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bos)) {
            gz.write(data);
        }
        return bos.toByteArray();
    }

    private static List<Rec> read(Path p, int chunkLen) throws IOException {
        return Records.readAll(new FastaReader(p, chunkLen), chunkLen, p.toString());
    }

    @Test
    void parsesMessyFormattingExactly() throws IOException {
        String text = "\n  \r\n>chr1 Homo sapiens, chromosome 1\r\nACGTacgtNN\r\nRYKM  \r\n\r\n"
                + ">chr2\tdescription\nnnnnACGT-*\n\n\n>chr3\n  AC GT \t\n";
        Path p = write("messy.fa", text);
        for (int chunkLen : new int[] {1, 3, 7, 14, 4096}) {
            List<Rec> got = read(p, chunkLen);
            Records.assertSameRecords(List.of(new Rec("chr1", "ACGTacgtNNRYKM"), new Rec("chr2", "nnnnACGT-*"),
                    new Rec("chr3", "ACGT")), got);
        }
    }

    @Test
    void chunksOfFirstRecordHaveExactFields() throws IOException {
        Path p = write("a.fa", ">s1\nACGTA\nCG\n>s2\nTT\n");
        try (FastaReader r = new FastaReader(p, 3)) {
            Chunk c0 = r.next();
            assertEquals("s1", c0.sequenceId());
            assertEquals(0, c0.chunkIndex());
            assertEquals(0, c0.start());
            assertEquals("ACG", new String(c0.symbols(), StandardCharsets.US_ASCII));
            assertFalse(c0.last());
            Chunk c1 = r.next();
            assertEquals(1, c1.chunkIndex());
            assertEquals(3, c1.start());
            assertEquals("TAC", new String(c1.symbols(), StandardCharsets.US_ASCII));
            assertFalse(c1.last());
            Chunk c2 = r.next();
            assertEquals("G", new String(c2.symbols(), StandardCharsets.US_ASCII));
            assertEquals(6, c2.start());
            assertTrue(c2.last());
            Chunk d = r.next();
            assertEquals("s2", d.sequenceId());
            assertEquals(0, d.chunkIndex());
            assertTrue(d.last());
            assertEquals(null, r.next());
        }
    }

    @Test
    void recordLongerThanChunkOnOneLineAndAcrossLines() throws IOException {
        Random rnd = new Random(1);
        String seq = randomSeq(rnd, 100_003);
        Path oneLine = write("one.fa", ">big\n" + seq + "\n>after\nAC\n");
        StringBuilder wrapped = new StringBuilder(">big\n");
        for (int i = 0; i < seq.length(); i += 61) {
            wrapped.append(seq, i, Math.min(seq.length(), i + 61)).append("\r\n");
        }
        wrapped.append(">after\nAC");
        Path multi = write("multi.fa", wrapped.toString());
        for (Path p : List.of(oneLine, multi)) {
            for (int chunkLen : new int[] {1000, 4096, 100_003, 100_004}) {
                List<Rec> got = read(p, chunkLen);
                Records.assertSameRecords(List.of(new Rec("big", seq), new Rec("after", "AC")), got);
            }
        }
        // chunk count: a length that is an exact multiple gives no empty trailing chunk
        Path exact = write("exact.fa", ">x\n" + seq.substring(0, 8192) + "\n");
        try (FastaReader r = new FastaReader(exact, 4096)) {
            Chunk a = r.next();
            Chunk b = r.next();
            assertFalse(a.last());
            assertTrue(b.last());
            assertEquals(4096, b.length());
            assertEquals(null, r.next());
        }
    }

    @Test
    void emptyRecordsYieldOneZeroLengthLastChunk() throws IOException {
        Path p = write("empty.fa", ">a desc\n>b\nACGT\n>c\n\n  \n>d");
        List<Chunk> chunks = new ArrayList<>();
        try (FastaReader r = new FastaReader(p, 2)) {
            Chunk c;
            while ((c = r.next()) != null) {
                chunks.add(c);
            }
        }
        assertEquals(5, chunks.size());
        assertEquals("a", chunks.get(0).sequenceId());
        assertEquals(0, chunks.get(0).length());
        assertTrue(chunks.get(0).last());
        assertEquals("c", chunks.get(3).sequenceId());
        assertEquals(0, chunks.get(3).length());
        assertTrue(chunks.get(3).last());
        assertEquals("d", chunks.get(4).sequenceId());
        assertEquals(0, chunks.get(4).length());
    }

    @Test
    void gzipDetectedByMagicBytesAndMultiMemberWorks() throws IOException {
        Random rnd = new Random(2);
        List<Rec> expected = new ArrayList<>();
        ByteArrayOutputStream multi = new ByteArrayOutputStream();
        StringBuilder all = new StringBuilder();
        for (int i = 0; i < 30; i++) {
            String seq = randomSeq(rnd, rnd.nextInt(5000));
            expected.add(new Rec("r" + i, seq));
            String rec = ">r" + i + "\n" + wrap(seq, 70) + "\n";
            all.append(rec);
            // one gzip member per record, like bgzip blocks (members end mid-record too: see below)
            multi.write(gzip(rec.getBytes(StandardCharsets.US_ASCII)));
        }
        byte[] allBytes = all.toString().getBytes(StandardCharsets.US_ASCII);
        // members split at arbitrary byte positions, not at record boundaries
        ByteArrayOutputStream ragged = new ByteArrayOutputStream();
        for (int off = 0; off < allBytes.length; off += 777) {
            ragged.write(gzip(Arrays.copyOfRange(allBytes, off, Math.min(allBytes.length, off + 777))));
        }
        ragged.write(gzip(new byte[0])); // bgzip's empty EOF member
        Path single = write("single.fa", gzip(allBytes)); // no .gz extension on purpose
        Path members = write("members.fa.gz", multi.toByteArray());
        Path raggedMembers = write("ragged.fasta.bgz", ragged.toByteArray());
        Path plainNamedGz = write("plain.fa.gz", allBytes);
        for (Path p : List.of(single, members, raggedMembers, plainNamedGz)) {
            Records.assertSameRecords(expected, read(p, 1024));
        }
        assertTrue(Fastx.isGzip(raggedMembers));
        assertFalse(Fastx.isGzip(plainNamedGz));
        assertFalse(Fastx.isSplittable(single));
        // gzip is not splittable: the split at 0 reads everything, other splits nothing
        Records.assertSameRecords(expected,
                Records.readAll(new FastaReader(members, 0, 10, 1024), 1024, members.toString()));
        assertEquals(0, Records.readAll(new FastaReader(members, 10, 1 << 20, 1024), 1024, members.toString()).size());
        assertEquals(List.of(new ByteRange(0, Files.size(members))), Fastx.planSplits(members, 100));
    }

    @Test
    void randomSplitsYieldEveryRecordExactlyOnceInOrder() throws IOException {
        Random rnd = new Random(3);
        for (int trial = 0; trial < 6; trial++) {
            List<Rec> expected = new ArrayList<>();
            StringBuilder sb = new StringBuilder();
            int records = 1 + rnd.nextInt(60);
            for (int i = 0; i < records; i++) {
                String seq = randomSeq(rnd, rnd.nextInt(4) == 0 ? 0 : rnd.nextInt(3000));
                expected.add(new Rec("rec" + trial + "_" + i, seq));
                String eol = rnd.nextBoolean() ? "\n" : "\r\n";
                sb.append('>').append("rec").append(trial).append('_').append(i).append(" some description")
                        .append(eol);
                int width = rnd.nextInt(3) == 0 ? Integer.MAX_VALUE : 1 + rnd.nextInt(120);
                sb.append(wrap(seq, width).replace("\n", eol));
                if (!seq.isEmpty() || rnd.nextBoolean()) {
                    sb.append(eol);
                }
                if (rnd.nextInt(5) == 0) {
                    sb.append(eol); // blank line between records
                }
            }
            Path p = write("split" + trial + ".fa", sb.toString());
            long size = Files.size(p);
            Records.assertSameRecords(expected, read(p, 500));
            for (int k = 0; k < 40; k++) {
                TreeSet<Long> cuts = new TreeSet<>();
                int n = rnd.nextInt(12);
                for (int i = 0; i < n; i++) {
                    cuts.add((long) rnd.nextInt((int) size + 1));
                }
                checkSplits(p, cuts, expected, 1 + rnd.nextInt(700));
            }
        }
    }

    @Test
    void everyTwoWaySplitPointOfASmallFile() throws IOException {
        String text = ">a x\r\nAC\r\nGT\r\n\r\n>b\n>c\nTTTT\n>d\n>>>\n>e\nG";
        Path p = write("small.fa", text);
        List<Rec> expected = List.of(new Rec("a", "ACGT"), new Rec("b", ""), new Rec("c", "TTTT"),
                new Rec("d", ""), new Rec(">>", ""), new Rec("e", "G")); // a line-start '>' is always a header
        Records.assertSameRecords(expected, read(p, 2));
        for (long k = 0; k <= text.length() + 1; k++) {
            checkSplits(p, new TreeSet<>(List.of(k)), expected, 3);
        }
    }

    @Test
    void planSplitsCoversTheFileAndEachSplitReadsItsShare() throws IOException {
        Random rnd = new Random(4);
        List<Rec> expected = new ArrayList<>();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 200; i++) {
            String seq = randomSeq(rnd, rnd.nextInt(2000));
            expected.add(new Rec("s" + i, seq));
            sb.append(">s").append(i).append('\n').append(wrap(seq, 60)).append('\n');
        }
        Path p = write("plan.fa", sb.toString());
        List<ByteRange> splits = Fastx.planSplits(p, 10_000);
        long size = Files.size(p);
        assertEquals((size + 9_999) / 10_000, splits.size());
        assertEquals(0, splits.get(0).start());
        assertEquals(size, splits.get(splits.size() - 1).end());
        List<Rec> got = new ArrayList<>();
        for (int i = 0; i < splits.size(); i++) {
            if (i > 0) {
                assertEquals(splits.get(i - 1).end(), splits.get(i).start());
            }
            got.addAll(Records.readAll(new FastaReader(p, splits.get(i).start(), splits.get(i).end(), 512), 512,
                    p.toString()));
        }
        Records.assertSameRecords(expected, got);
    }

    static void checkSplits(Path p, TreeSet<Long> cuts, List<Rec> expected, int chunkLen) throws IOException {
        List<Long> bounds = new ArrayList<>();
        bounds.add(0L);
        bounds.addAll(cuts);
        bounds.add(Long.MAX_VALUE);
        List<Rec> got = new ArrayList<>();
        for (int i = 0; i + 1 < bounds.size(); i++) {
            got.addAll(Records.readAll(p.getFileName().toString().contains("fq")
                            ? new FastqReader(p, bounds.get(i), bounds.get(i + 1), chunkLen)
                            : new FastaReader(p, bounds.get(i), bounds.get(i + 1), chunkLen),
                    chunkLen, p.toString()));
        }
        try {
            Records.assertSameRecords(expected, got);
        } catch (AssertionError e) {
            throw new AssertionError("splits at " + cuts + " of " + p + ": " + e.getMessage(), e);
        }
    }

    @Test
    void detectOpenIteratorAndIdempotentClose() throws IOException {
        Path fa = write("x.txt", "\n\n>a\nAC\n");
        Path fq = write("y.txt", "@a\nAC\n+\nII\n");
        assertEquals(SequenceFormat.FASTA, Fastx.detect(fa));
        assertEquals(SequenceFormat.FASTQ, Fastx.detect(fq));
        InputFormatException e = assertThrows(InputFormatException.class, () -> Fastx.detect(write("z.txt", "  ACGT")));
        assertEquals(dir.resolve("z.txt") + ": neither FASTA nor FASTQ: first non-blank byte is 'A' (0x41), expected "
                + "'>' or '@'", e.getMessage());
        e = assertThrows(InputFormatException.class, () -> Fastx.detect(write("e.txt", "")));
        assertEquals(dir.resolve("e.txt") + ": neither FASTA nor FASTQ: the file is empty or blank", e.getMessage());
        for (Path p : List.of(fa, fq)) {
            dev.mamba.pipeline.io.ChunkReader r = Fastx.open(p, 0, Long.MAX_VALUE, 10);
            java.util.Iterator<Chunk> it = r.asIterator();
            assertTrue(it.hasNext());
            assertEquals("AC", new String(it.next().symbols(), StandardCharsets.US_ASCII));
            assertFalse(it.hasNext());
            r.close();
            r.close();
            assertEquals(null, r.next());
        }
    }

    // ---- errors ----

    @Test
    void dataBeforeTheFirstHeaderIsNoHeaderError() throws IOException {
        Path p = write("nohdr.fa", "\nACGT\n>a\nAC\n");
        InputFormatException e = assertThrows(InputFormatException.class, () -> read(p, 10));
        assertEquals(p + ":2: sequence data before the first header (no header): found 'A' (0x41); "
                + "a FASTA record starts with a '>' line", e.getMessage());
    }

    @Test
    void binaryBytesInSequenceLinesNameLineColumnAndByte() throws IOException {
        byte[] nul = ">a\nACGT\nAC\0T\n".getBytes(StandardCharsets.ISO_8859_1);
        InputFormatException e = assertThrows(InputFormatException.class, () -> read(write("nul.fa", nul), 100));
        assertEquals(dir.resolve("nul.fa") + ":3: byte 0x00 (NUL) at column 3 in sequence line of record a (binary data?)",
                e.getMessage());
        byte[] high = ">a\nAC\n>b\nAAA\u00e9\n".getBytes(StandardCharsets.ISO_8859_1);
        e = assertThrows(InputFormatException.class, () -> read(write("high.fa", high), 100));
        assertTrue(e.getMessage().endsWith("high.fa:4: byte 0xe9 (non-ASCII) at column 4 in sequence line of record b"
                + " (binary data?)"), e.getMessage());
        byte[] ctl = ">a\nAC\u0001\n".getBytes(StandardCharsets.ISO_8859_1);
        e = assertThrows(InputFormatException.class, () -> read(write("ctl.fa", ctl), 100));
        assertTrue(e.getMessage().contains("ctl.fa:2: byte 0x01 (control) at column 3"), e.getMessage());
        // reported with the right line number from a split that starts mid-file, too
        byte[] late = ">a\nAC\nGT\n>b\nAC\n\u0007\n".getBytes(StandardCharsets.ISO_8859_1);
        Path lp = write("late.fa", late);
        e = assertThrows(InputFormatException.class,
                () -> Records.readAll(new FastaReader(lp, 5, 100, 10), 10, lp.toString()));
        assertTrue(e.getMessage().contains("late.fa:6: byte 0x07 (control) at column 1"), e.getMessage());
    }

    @Test
    void fileWithoutRecordsIsAnErrorOfTheSplitAtZeroOnly() throws IOException {
        Path zero = write("zero.fa", "");
        InputFormatException e = assertThrows(InputFormatException.class, () -> read(zero, 10));
        assertEquals(zero + ": empty file: expected a FASTA record starting with '>'", e.getMessage());
        e = assertThrows(InputFormatException.class, () -> new FastaReader(zero, 0, 0, 10));
        assertEquals(zero + ": empty file: expected a FASTA record starting with '>'", e.getMessage());
        Path gz = write("zero.fa.gz", gzip(new byte[0]));
        e = assertThrows(InputFormatException.class, () -> read(gz, 10));
        assertEquals(gz + ": empty file: expected a FASTA record starting with '>'", e.getMessage());
        Path fq = write("blank.fq", " \n\r\n\t\n");
        e = assertThrows(InputFormatException.class, () -> Records.readAll(new FastqReader(fq, 10), 10, fq.toString()));
        assertEquals(fq + ": empty file: expected a FASTQ record starting with '@'", e.getMessage());
        // a blank file in many splits: the split at 0 reports it (even though it stops at its end), no other does
        Path blank = write("blank.fa", "\n".repeat(1000));
        e = assertThrows(InputFormatException.class,
                () -> Records.readAll(new FastaReader(blank, 0, 100, 10), 10, blank.toString()));
        assertEquals(blank + ": empty file: expected a FASTA record starting with '>'", e.getMessage());
        for (long at = 100; at < 1000; at += 100) {
            assertEquals(0, Records.readAll(new FastaReader(blank, at, at + 100, 10), 10, blank.toString()).size());
        }
        // blanks past the first split, then a record: the first split is empty but the file is not
        Path late = write("late-record.fa", "\n".repeat(500) + ">a\nACGT\n");
        assertEquals(0, Records.readAll(new FastaReader(late, 0, 100, 10), 10, late.toString()).size());
        assertEquals(List.of(new Rec("a", "ACGT")),
                Records.readAll(new FastaReader(late, 400, 600, 10), 10, late.toString()));
        // a split past the end of a non-empty file has nothing and is no error
        assertEquals(0, Records.readAll(new FastaReader(late, 1000, 2000, 10), 10, late.toString()).size());
        // data instead of a header after the blanks is the "no header" error, also past the first split
        Path junk = write("late-junk.fa", "\n".repeat(500) + "ACGT\n");
        e = assertThrows(InputFormatException.class,
                () -> Records.readAll(new FastaReader(junk, 0, 100, 10), 10, junk.toString()));
        assertEquals(junk + ":501: expected a FASTA record starting with '>', found 'A' (0x41)", e.getMessage());
    }

    @Test
    void emptyIdIsAnError() throws IOException {
        Path p = write("noid.fa", ">a\nAC\n> desc\nAC\n");
        InputFormatException e = assertThrows(InputFormatException.class, () -> read(p, 10));
        assertEquals(p + ":3: empty sequence id in header line", e.getMessage());
    }

    @Test
    void corruptAndTruncatedGzipNameTheFile() throws IOException {
        Random rnd = new Random(5);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 50; i++) {
            sb.append(">r").append(i).append('\n').append(wrap(randomSeq(rnd, 3000), 60)).append('\n');
        }
        byte[] gz = gzip(sb.toString().getBytes(StandardCharsets.US_ASCII));
        Path truncated = write("trunc.fa.gz", Arrays.copyOf(gz, gz.length / 2));
        InputFormatException e = assertThrows(InputFormatException.class, () -> read(truncated, 4096));
        assertEquals(truncated + ": gzip member at byte 0 is truncated: the file ends at byte " + gz.length / 2,
                e.getMessage());
        byte[] bad = gz.clone();
        for (int i = 100; i < 140; i++) {
            bad[i] ^= (byte) 0x5A;
        }
        Path corrupt = write("corrupt.fa.gz", bad);
        e = assertThrows(InputFormatException.class, () -> read(corrupt, 4096));
        assertTrue(e.getMessage().startsWith(corrupt + ": gzip member at byte 0 is corrupt: "), e.getMessage());
        // a broken trailer (CRC) is corruption too
        byte[] crc = gz.clone();
        crc[crc.length - 6] ^= 1;
        Path badCrc = write("crc.fa.gz", crc);
        e = assertThrows(InputFormatException.class, () -> read(badCrc, 4096));
        assertTrue(e.getMessage().startsWith(badCrc + ": gzip member at byte 0 is corrupt: CRC-32 "), e.getMessage());
    }

    @Test
    void brokenLastGzipMemberAndTrailingBytesAreErrors() throws IOException {
        byte[] first = gzip(">a\nACGT\n".getBytes(StandardCharsets.US_ASCII));
        byte[] second = gzip(">b\nGGCC\n".getBytes(StandardCharsets.US_ASCII));
        ByteArrayOutputStream both = new ByteArrayOutputStream();
        both.write(first);
        both.write(second);
        byte[] whole = both.toByteArray();
        assertEquals(2, read(write("both.fa.gz", whole), 100).size());
        // GZIPInputStream took each of these for the end of the data and returned record a alone
        for (int cut : new int[] {first.length + 1, first.length + 5, first.length + 12, whole.length - 1}) {
            Path p = write("cut" + cut + ".fa.gz", Arrays.copyOf(whole, cut));
            InputFormatException e = assertThrows(InputFormatException.class, () -> read(p, 100));
            assertEquals(p + ": gzip member at byte " + first.length + " is truncated: the file ends at byte " + cut,
                    e.getMessage());
        }
        for (byte[] junk : new byte[][] {{0}, {'x', 'y', 'z'}, new byte[600]}) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.write(first);
            out.write(junk);
            Path p = write("junk" + junk.length + ".fa.gz", out.toByteArray());
            InputFormatException e = assertThrows(InputFormatException.class, () -> read(p, 100));
            assertEquals(p + ": trailing bytes after the last gzip member: byte " + first.length
                    + " is not the start of a gzip member", e.getMessage());
        }
    }

    // ---- helpers ----

    static String randomSeq(Random rnd, int n) {
        String alphabet = "ACGTACGTACGTNacgtnRYKMSW";
        char[] c = new char[n];
        for (int i = 0; i < n; i++) {
            c[i] = alphabet.charAt(rnd.nextInt(alphabet.length()));
        }
        return new String(c);
    }

    static String wrap(String seq, int width) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < seq.length(); i += width) {
            if (i > 0) {
                sb.append('\n');
            }
            sb.append(seq, i, (int) Math.min(seq.length(), (long) i + width));
        }
        return sb.toString();
    }
}
