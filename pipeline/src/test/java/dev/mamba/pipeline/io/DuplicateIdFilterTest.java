package dev.mamba.pipeline.io;

import dev.mamba.pipeline.io.fasta.FastaReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class DuplicateIdFilterTest {
    @TempDir
    Path dir;

    /** Reads {@code file} as {@code lanes} byte-range sub-splits side by side, as a job's partition does. */
    private static List<String> read(Path file, int lanes, List<String> reported) throws IOException {
        long size = Files.size(file);
        DuplicateIdFilter.SeenIds seen = new DuplicateIdFilter.SeenIds();
        List<InterleavedReader.Opener> openers = new ArrayList<>();
        for (int i = 0; i < lanes; i++) {
            long a = size * i / lanes, b = size * (i + 1) / lanes;
            openers.add(() -> new DuplicateIdFilter(new FastaReader(file, a, b, 3), seen,
                    (id, f, reason) -> reported.add(id + "|" + reason)));
        }
        List<String> out = new ArrayList<>();
        try (InterleavedReader r = new InterleavedReader(openers, lanes)) {
            Chunk c;
            while ((c = r.next()) != null) {
                if (c.last()) {
                    out.add(c.sequenceId());
                }
            }
        }
        return out;
    }

    @Test
    void aDuplicateIdIsReportedAndSkippedAtAnyDistanceAndLaneCount() throws IOException {
        StringBuilder far = new StringBuilder(">a\nACGTACGTAC\n");
        for (int i = 0; i < 30; i++) {
            far.append(">r").append(i).append("\nACGTACGT\n");
        }
        far.append(">a\nGGGG\n>z\nTT\n");
        Path farFile = Files.writeString(dir.resolve("far.fa"), far.toString());
        Path nearFile = Files.writeString(dir.resolve("near.fa"), ">a\nACGTACGTAC\n>a\nGG\n>b\nTT\n");
        String reason = ":record a: duplicate sequence id: an earlier record of this file has the same id; this "
                + "record is skipped";
        for (int lanes : new int[] {1, 2, 3}) {
            List<String> reported = new ArrayList<>();
            List<String> ids = read(farFile, lanes, reported);
            assertEquals(32, ids.size(), "lanes " + lanes + ": " + ids);
            assertEquals(1, ids.stream().filter("a"::equals).count(), "lanes " + lanes);
            assertEquals(List.of("a|" + farFile + reason), reported, "lanes " + lanes);
            reported.clear();
            ids = read(nearFile, lanes, reported);
            assertEquals(List.of("a", "b"), ids.stream().sorted().toList(), "lanes " + lanes);
            assertEquals(List.of("a|" + nearFile + reason), reported, "lanes " + lanes);
        }
        // the same id in two files is no duplicate
        List<String> reported = new ArrayList<>();
        DuplicateIdFilter.SeenIds seen = new DuplicateIdFilter.SeenIds();
        Path other = Files.writeString(dir.resolve("other.fa"), ">a\nAC\n");
        for (Path p : List.of(nearFile, other)) {
            try (ChunkReader r = new DuplicateIdFilter(new FastaReader(p, 4), seen, (id, f, why) -> reported.add(f))) {
                while (r.next() != null) {
                    // drain
                }
            }
        }
        assertEquals(List.of(nearFile.toString()), reported);
    }

    /** Pre-scanned ordinals decide alone: those records are skipped and reported, other repeats pass. */
    @Test
    void preScannedOrdinalsAreSkippedAndNothingElse() throws IOException {
        Path f = Files.writeString(dir.resolve("scanned.fa"), ">a\nACGTAC\n>b\nAC\n>a\nGG\n>c\nT\n>b\nTTTT\n");
        for (long[] repeated : new long[][] {{2, 4}, {}, {0}}) {
            List<String> reported = new ArrayList<>();
            List<String> kept = new ArrayList<>();
            try (ChunkReader r = new DuplicateIdFilter(new FastaReader(f, 2), new DuplicateIdFilter.SeenIds(),
                    (id, file, why) -> reported.add(id), repeated)) {
                Chunk c;
                while ((c = r.next()) != null) {
                    if (c.last()) {
                        kept.add(c.sequenceId() + (c.start() + c.length()));
                    }
                }
            }
            String label = java.util.Arrays.toString(repeated);
            if (repeated.length == 2) {
                assertEquals(List.of("a6", "b2", "c1"), kept, label);
                assertEquals(List.of("a", "b"), reported, label);
            } else if (repeated.length == 0) {
                assertEquals(List.of("a6", "b2", "a2", "c1", "b4"), kept, label);
                assertEquals(List.of(), reported, label);
            } else {
                assertEquals(List.of("b2", "a2", "c1", "b4"), kept, label);
                assertEquals(List.of("a"), reported, label);
            }
        }
    }
}
