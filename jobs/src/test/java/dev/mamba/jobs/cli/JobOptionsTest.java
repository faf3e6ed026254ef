package dev.mamba.jobs.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The input format from the names of the files the job will read. */
class JobOptionsTest {
    @TempDir
    Path tmp;

    private static String format(Path input) {
        JobOptions o = new JobOptions();
        o.inputs = List.of(input.toString());
        return o.format();
    }

    @Test
    void sparkParquetOutputIsParquet() throws IOException {
        // what df.write().parquet(dir) leaves: bookkeeping first in name order
        Path dir = Files.createDirectories(tmp.resolve("series"));
        Files.writeString(dir.resolve("_SUCCESS"), "");
        Files.writeString(dir.resolve("._SUCCESS.crc"), "");
        Files.writeString(dir.resolve(".part-00000-abc.snappy.parquet.crc"), "");
        Files.writeString(dir.resolve("part-00000-abc.snappy.parquet"), "PAR1");
        assertEquals("parquet", format(dir));
    }

    @Test
    void anIndexNextToTheFastaIsNotWhatTheFormatIsTakenFrom() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("fa"));
        Files.writeString(dir.resolve("a.fa.fai"), "");  // sorts before the FASTA
        Files.writeString(dir.resolve("b.fa"), ">x\nA\n");
        assertEquals("fasta", format(dir));
    }

    @Test
    void anEmptyDirectorySaysItHasNoInputFiles() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("empty"));
        String m = assertThrows(UserError.class, () -> format(dir)).getMessage();
        assertEquals("no input files in " + dir, m);
        Files.writeString(dir.resolve("_SUCCESS"), "");
        m = assertThrows(UserError.class, () -> format(dir)).getMessage();
        assertTrue(m.startsWith("no input files in " + dir) && m.contains("_SUCCESS"), m);
    }
}
