package dev.mamba.pipeline.io.fasta;

import dev.mamba.pipeline.io.fasta.Records.Rec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The bowtie2 example data (Debian package {@code bowtie2-examples}): the lambda phage genome and
 * simulated reads whose quality lines often start with '@' or '+'. Skipped when not installed.
 */
class RealDataTest {
    static final Path EXAMPLES = Path.of("/usr/share/doc/bowtie2/examples");
    static final Path LAMBDA = EXAMPLES.resolve("reference/lambda_virus.fa.gz");
    static final Path READS_1 = EXAMPLES.resolve("reads/reads_1.fq.gz");
    static final Path LONG_READS = EXAMPLES.resolve("reads/longreads.fq.gz");

    @TempDir
    Path dir;

    @Test
    void lambdaPhageGenomeHas48502Bases() throws IOException {
        assumeTrue(Files.isRegularFile(LAMBDA), "needs " + LAMBDA + " (apt-get install bowtie2-examples)");
        List<Rec> recs = Records.readAll(new FastaReader(LAMBDA), 4096, LAMBDA.toString());
        assertEquals(1, recs.size());
        assertEquals("gi|9626243|ref|NC_001416.1|", recs.get(0).id());
        assertEquals(48_502, recs.get(0).seq().length());
        assertTrue(recs.get(0).seq().startsWith("GGGCGGCGACCTCGCGGGTTTTCGCTATTTATGAAAATTTTCCGG"));
        assertTrue(recs.get(0).seq().endsWith("GTGATCCGACAGGTTACG"));
        assertEquals(SequenceFormat.FASTA, Fastx.detect(LAMBDA));
    }

    @Test
    void bowtie2ReadsCountsAndBases() throws IOException {
        assumeTrue(Files.isRegularFile(READS_1) && Files.isRegularFile(LONG_READS),
                "needs " + READS_1 + " (apt-get install bowtie2-examples)");
        // reference numbers from: zcat F | awk 'NR%4==2{n++; s+=length($0)} END{print n, s}'
        checkCounts(READS_1, 10_000, 1_088_399, 100);
        checkCounts(LONG_READS, 6_000, 2_056_551, 1000);
    }

    private static void checkCounts(Path p, int reads, long bases, int chunkLen) throws IOException {
        List<Rec> recs = Records.readAll(new FastqReader(p, chunkLen), chunkLen, p.toString());
        assertEquals(reads, recs.size(), p.toString());
        assertEquals(bases, recs.stream().mapToLong(r -> r.seq().length()).sum(), p.toString());
        assertEquals("r1", recs.get(0).id());
    }

    @Test
    void realReadsSplitAtRandomOffsets() throws IOException {
        assumeTrue(Files.isRegularFile(READS_1), "needs " + READS_1 + " (apt-get install bowtie2-examples)");
        Path plain = dir.resolve("reads_1.fq");
        try (InputStream in = new GZIPInputStream(Files.newInputStream(READS_1))) {
            Files.copy(in, plain);
        }
        List<Rec> expected = Records.readAll(new FastqReader(plain, 4096), 4096, plain.toString());
        assertEquals(10_000, expected.size());
        Random rnd = new Random(12);
        long size = Files.size(plain);
        for (int k = 0; k < 4; k++) {
            TreeSet<Long> cuts = new TreeSet<>();
            for (int i = 0; i < 25; i++) {
                cuts.add((long) (rnd.nextDouble() * size));
            }
            FastaReaderTest.checkSplits(plain, cuts, expected, 4096);
        }
    }
}
