package dev.mamba.pipeline.io.fasta;

import dev.mamba.pipeline.io.InputFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FaiIndexTest {
    @TempDir
    Path dir;

    @Test
    void parsesSamtoolsIndexAndItsOffsetsPointAtTheBases() throws IOException {
        Random rnd = new Random(11);
        Map<String, String> seqs = new LinkedHashMap<>();
        seqs.put("chr1", FastaReaderTest.randomSeq(rnd, 1000));
        seqs.put("chrM", FastaReaderTest.randomSeq(rnd, 60));
        seqs.put("scaffold_7", FastaReaderTest.randomSeq(rnd, 1));
        StringBuilder fasta = new StringBuilder();
        StringBuilder fai = new StringBuilder();
        for (Map.Entry<String, String> e : seqs.entrySet()) {
            fasta.append('>').append(e.getKey()).append(" description\n");
            // samtools faidx: name, length, offset of first base, bases per line, bytes per line
            fai.append(e.getKey()).append('\t').append(e.getValue().length()).append('\t').append(fasta.length())
                    .append("\t60\t61\n");
            fasta.append(FastaReaderTest.wrap(e.getValue(), 60)).append('\n');
        }
        Path fa = dir.resolve("g.fa");
        Files.writeString(fa, fasta, StandardCharsets.US_ASCII);
        Files.writeString(dir.resolve("g.fa.fai"), fai, StandardCharsets.US_ASCII);
        FaiIndex index = FaiIndex.forFasta(fa).orElseThrow();
        assertEquals(3, index.entries().size());
        assertEquals(1061, index.totalLength());
        FaiIndex.Entry chr1 = index.entry("chr1").orElseThrow();
        assertEquals(1000, chr1.length());
        assertEquals(60, chr1.lineBases());
        assertEquals(61, chr1.lineWidth());
        try (RandomAccessFile raf = new RandomAccessFile(fa.toFile(), "r")) {
            for (FaiIndex.Entry e : index.entries()) {
                String seq = seqs.get(e.name());
                for (long pos : new long[] {0, e.length() / 2, 59, 60, 61, e.length() - 1}) {
                    if (pos >= e.length()) {
                        continue;
                    }
                    raf.seek(e.offsetOf(pos));
                    assertEquals(seq.charAt((int) pos), (char) raf.read(), e.name() + " at " + pos);
                }
            }
        }
        assertTrue(FaiIndex.forFasta(dir.resolve("other.fa")).isEmpty());
    }

    @Test
    void rejectsMalformedLines() throws IOException {
        Path p = dir.resolve("bad.fai");
        Files.writeString(p, "chr1\t100\t6\t60\t61\nchr2\t10\tx\t60\t61\n");
        InputFormatException e = assertThrows(InputFormatException.class, () -> FaiIndex.read(p));
        assertEquals(p + ":2: offset 'x' is not an integer", e.getMessage());
        Files.writeString(p, "chr1\t100\t6\t60\n");
        e = assertThrows(InputFormatException.class, () -> FaiIndex.read(p));
        assertTrue(e.getMessage().startsWith(p + ":1: 4 tab-separated fields, expected 5"), e.getMessage());
        Files.writeString(p, "chr1\t100\t6\t60\t59\n");
        e = assertThrows(InputFormatException.class, () -> FaiIndex.read(p));
        assertTrue(e.getMessage().contains("linewidth 59 < linebases 60"), e.getMessage());
        Files.writeString(p, "chr1\t100\t6\t60\t61\nchr1\t100\t200\t60\t61\n");
        e = assertThrows(InputFormatException.class, () -> FaiIndex.read(p));
        assertEquals(p + ":2: sequence chr1 listed twice (lines 1 and 2)", e.getMessage());
    }
}
