package dev.mamba.jobs.source;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A directory input reads its data files, not the indexes and bookkeeping that tools leave next to them. */
class InputFilesTest {
    @TempDir
    Path tmp;

    @Test
    void indexesHiddenFilesAndSparkBookkeepingAreNotInput() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("in"));
        Path fa = Files.writeString(dir.resolve("g.fa"), ">a\nACGT\n");
        Path gz = Files.write(dir.resolve("h.fa.gz"), new byte[0]);
        Path fq = Files.writeString(dir.resolve("r.fq"), "@r\nAC\n+\nII\n");
        for (String n : new String[]{"g.fa.fai", "h.fa.gz.fai", "h.fa.gz.gzi", "x.bai", "x.CSI", "x.tbi", "x.crai",
                "x.idx", "part-0.crc", ".part-0.crc", ".DS_Store", "_SUCCESS"}) {
            Files.writeString(dir.resolve(n), "1\t2\n");
        }
        Files.createDirectories(dir.resolve("_temporary"));
        assertEquals(List.of(fa, gz, fq), ChunkScan.files(List.of(dir.toString())));
        InputFiles.Listing l = ChunkScan.expand(List.of(dir.toString()));
        assertEquals(12, l.skipped().size(), l.skipped().toString());
        // a file named on the command line is read whatever its name: only directory listings are filtered
        Path fai = dir.resolve("g.fa.fai");
        assertEquals(List.of(fai), ChunkScan.files(List.of(fai.toString())));
    }

    @Test
    void otherFilesStayInputSoTheyFailNamingTheFile() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("in"));
        Path notes = Files.writeString(dir.resolve("notes.json"), "{}");
        Path fa = Files.writeString(dir.resolve("g.fa"), ">a\nACGT\n");
        assertEquals(List.of(fa, notes), ChunkScan.files(List.of(dir.toString())));
    }

    @Test
    void aDirectoryOfOnlyIndexesSaysSo() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("in"));
        Files.writeString(dir.resolve("g.fa.fai"), "a\t4\t3\t4\t5\n");
        String m = assertThrows(IllegalArgumentException.class, () -> ChunkScan.files(List.of(dir.toString())))
                .getMessage();
        assertTrue(m.contains("no input files under") && m.contains("g.fa.fai"), m);
    }

    /** Read twice, every record of a file would repeat an id of it: a file named again is listed once. */
    @Test
    void aFileNamedTwiceIsListedOnce() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("in"));
        Path a = Files.writeString(dir.resolve("a.fa"), ">a\nACGT\n");
        Path b = Files.writeString(dir.resolve("b.fa"), ">b\nACGT\n");
        Path link = Files.createSymbolicLink(tmp.resolve("link.fa"), a);
        assertEquals(List.of(b, a), ChunkScan.files(List.of(b.toString(), dir.toString(), link.toString(), a.toString())));
        assertEquals(List.of(link, b), ChunkScan.files(List.of(link.toString(), dir.toString())));
    }
}
