package dev.mamba.pipeline.io.fasta;

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
import java.util.List;
import java.util.Random;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FastqReaderTest {
    @TempDir
    Path dir;

    private Path write(String name, String text) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, text.getBytes(StandardCharsets.ISO_8859_1));
        return p;
    }

    private static List<Rec> read(Path p, int chunkLen) throws IOException {
        return Records.readAll(new FastqReader(p, chunkLen), chunkLen, p.toString());
    }

    @Test
    void parsesRecordsExactly() throws IOException {
        String text = "@r1 desc\nACGTN\n+\n@@@@@\n"          // quality starting with '@'
                + "\n"                                         // blank line between records
                + "@r2\r\nacgt  \r\n+r2\r\n+!~I\r\n"          // CRLF, '+' repeats id, quality starts with '+'
                + "@r3\n\n+\n\n"                               // empty read
                + "@r4\nGG\n+\nII";                            // no final newline
        Path p = write("a.fq", text);
        for (int chunkLen : new int[] {1, 2, 4, 5, 4096}) {
            Records.assertSameRecords(List.of(new Rec("r1", "ACGTN"), new Rec("r2", "acgt"), new Rec("r3", ""),
                    new Rec("r4", "GG")), read(p, chunkLen));
        }
        assertEquals(SequenceFormat.FASTQ, Fastx.detect(p));
    }

    @Test
    void longReadIsChunkedWithoutHoldingIt() throws IOException {
        Random rnd = new Random(7);
        String seq = FastaReaderTest.randomSeq(rnd, 250_001);
        String qual = randomQual(rnd, seq.length(), '@');
        Path p = write("long.fq", "@long\n" + seq + "\n+\n" + qual + "\n@short\nA\n+\n+\n");
        Records.assertSameRecords(List.of(new Rec("long", seq), new Rec("short", "A")), read(p, 4096));
    }

    @Test
    void qualityLengthMismatchNamesTheQualityLine() throws IOException {
        Path p = write("reads.fq", "@a\nACGT\n+\nIIII\n@b\nACGT\n+\nIII\n");
        InputFormatException e = assertThrows(InputFormatException.class, () -> read(p, 100));
        assertEquals(p + ":8: quality length 3 != sequence length 4 (record b)", e.getMessage());
        // also when the read spans chunks, and the error comes before the read's last chunk
        Path q = write("reads2.fq", "@a\nACGTACGT\n+\nIIIIIIIII\n");
        e = assertThrows(InputFormatException.class, () -> read(q, 3));
        assertEquals(q + ":4: quality length 9 != sequence length 8 (record a)", e.getMessage());
    }

    @Test
    void missingPlusLine() throws IOException {
        Path p = write("noplus.fq", "@a\nACGT\n+\nIIII\n@b\nACGT\nIIII\n");
        InputFormatException e = assertThrows(InputFormatException.class, () -> read(p, 100));
        assertEquals(p + ":7: missing '+' line after the sequence of record b: found 'I' (0x49)", e.getMessage());
        Path wrapped = write("wrapped.fq", "@a\nACGT\nACGT\n+\nIIIIIIII\n");
        e = assertThrows(InputFormatException.class, () -> read(wrapped, 100));
        assertEquals(wrapped + ":3: missing '+' line after the sequence of record a: found 'A' (0x41) "
                + "(multi-line FASTQ sequences are not supported)", e.getMessage());
    }

    @Test
    void truncatedRecordAtEndOfFile() throws IOException {
        Path a = write("t1.fq", "@a\nAC\n+\nII\n@b\nACGT\n");
        InputFormatException e = assertThrows(InputFormatException.class, () -> read(a, 100));
        assertEquals(a + ":7: truncated record b at end of file: no '+' line after the sequence", e.getMessage());
        Path b = write("t2.fq", "@a\nAC\n+\nII\n@b\nACGT\n+\n");
        e = assertThrows(InputFormatException.class, () -> read(b, 100));
        assertEquals(b + ":8: truncated record b at end of file: no quality line", e.getMessage());
        Path c = write("t3.fq", "@a\nAC\n+\nII\n@b");
        e = assertThrows(InputFormatException.class, () -> read(c, 100));
        assertEquals(c + ":5: truncated record b at end of file: no '+' line after the sequence", e.getMessage());
    }

    @Test
    void binaryJunkAndWrongFormat() throws IOException {
        Path a = write("bin.fq", "@a\nAC\0T\n+\nIIII\n");
        InputFormatException e = assertThrows(InputFormatException.class, () -> read(a, 100));
        assertEquals(a + ":2: byte 0x00 (NUL) at column 3 in sequence line of record a (binary data?)", e.getMessage());
        Path b = write("binq.fq", "@a\nACGT\n+\nII\u0090I\n");
        e = assertThrows(InputFormatException.class, () -> read(b, 100));
        assertEquals(b + ":4: byte 0x90 (non-ASCII) at column 3 in quality line of record a (binary data?)",
                e.getMessage());
        Path c = write("fasta.fq", ">a\nACGT\n");
        e = assertThrows(InputFormatException.class, () -> read(c, 100));
        assertEquals(c + ":1: expected a FASTQ header line starting with '@', found '>' (0x3e) (this looks like FASTA)",
                e.getMessage());
    }

    @Test
    void gzipFastq() throws IOException {
        Random rnd = new Random(8);
        List<Rec> expected = new ArrayList<>();
        String text = randomFastq(rnd, 300, expected);
        byte[] raw = text.getBytes(StandardCharsets.US_ASCII);
        ByteArrayOutputStream two = new ByteArrayOutputStream();
        two.write(FastaReaderTest.gzip(java.util.Arrays.copyOf(raw, raw.length / 3)));
        two.write(FastaReaderTest.gzip(java.util.Arrays.copyOfRange(raw, raw.length / 3, raw.length)));
        Path p = dir.resolve("reads.fq.gz");
        Files.write(p, two.toByteArray());
        Records.assertSameRecords(expected, read(p, 64));
    }

    @Test
    void randomSplitsWithAdversarialQualityLines() throws IOException {
        Random rnd = new Random(9);
        for (int trial = 0; trial < 6; trial++) {
            List<Rec> expected = new ArrayList<>();
            Path p = write("split" + trial + ".fq", randomFastq(rnd, 1 + rnd.nextInt(150), expected));
            long size = Files.size(p);
            Records.assertSameRecords(expected, read(p, 100));
            for (int k = 0; k < 40; k++) {
                TreeSet<Long> cuts = new TreeSet<>();
                int n = rnd.nextInt(12);
                for (int i = 0; i < n; i++) {
                    cuts.add((long) rnd.nextInt((int) size + 1));
                }
                FastaReaderTest.checkSplits(p, cuts, expected, 1 + rnd.nextInt(300));
            }
        }
    }

    @Test
    void everyTwoWaySplitPointOfASmallFile() throws IOException {
        // quality lines that start with '@' and '+', '+' lines that repeat the id, an empty read, blank lines
        String text = "@a\nACG\n+\n@@@\n@b x\nTT\n+b x\n+@\n\n@c\n\n+\n\n@d\r\nGATTACA\r\n+\r\n@+@+@+@\r\n@e\nA\n+\n+";
        Path p = write("small.fq", text);
        List<Rec> expected = List.of(new Rec("a", "ACG"), new Rec("b", "TT"), new Rec("c", ""),
                new Rec("d", "GATTACA"), new Rec("e", "A"));
        Records.assertSameRecords(expected, read(p, 2));
        for (long k = 0; k <= text.length() + 1; k++) {
            for (long k2 = k; k2 <= text.length() + 1; k2 += 7) {
                FastaReaderTest.checkSplits(p, new TreeSet<>(List.of(k, k2)), expected, 3);
            }
        }
    }

    /** Random FASTQ where many quality lines start with '@' or '+' (the hard case for splitting). */
    static String randomFastq(Random rnd, int records, List<Rec> expected) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < records; i++) {
            int len = rnd.nextInt(10) == 0 ? 0 : 1 + rnd.nextInt(rnd.nextBoolean() ? 20 : 400);
            String seq = FastaReaderTest.randomSeq(rnd, len);
            String id = "read" + i;
            expected.add(new Rec(id, seq));
            String eol = rnd.nextInt(4) == 0 ? "\r\n" : "\n";
            char first = "@+I!".charAt(rnd.nextInt(4));
            sb.append('@').append(id).append(rnd.nextBoolean() ? " 1:N:0:ACGT" : "").append(eol)
                    .append(seq).append(eol)
                    .append(rnd.nextBoolean() ? "+" : "+" + id).append(eol)
                    .append(randomQual(rnd, len, first)).append(eol);
            if (rnd.nextInt(8) == 0) {
                sb.append(eol);
            }
        }
        return sb.toString();
    }

    static String randomQual(Random rnd, int n, char first) {
        char[] c = new char[n];
        for (int i = 0; i < n; i++) {
            c[i] = i == 0 ? first : (char) (0x21 + rnd.nextInt(0x7E - 0x21 + 1));
        }
        return new String(c);
    }
}
