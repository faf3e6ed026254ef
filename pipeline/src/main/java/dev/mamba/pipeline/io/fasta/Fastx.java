package dev.mamba.pipeline.io.fasta;

import dev.mamba.pipeline.io.ByteRange;
import dev.mamba.pipeline.io.ChunkReader;
import dev.mamba.pipeline.io.InputFormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Entry points for a data source: format detection, split planning, opening a reader for a split. */
public final class Fastx {
    private Fastx() {
    }

    /** Whether the file starts with the gzip magic bytes 1f 8b (extension not consulted). */
    public static boolean isGzip(Path file) throws IOException {
        return ByteInput.isGzip(file);
    }

    /** Whether the file can be read in byte-range splits (plain, not gzip). */
    public static boolean isSplittable(Path file) throws IOException {
        return !ByteInput.isGzip(file);
    }

    /**
     * FASTA or FASTQ, from the first non-blank byte ('>' or '@'), decompressing gzip if needed.
     *
     * @throws InputFormatException when the file is empty or starts with anything else
     */
    public static SequenceFormat detect(Path file) throws IOException {
        try (ByteInput in = ByteInput.isGzip(file) ? ByteInput.gzip(file) : ByteInput.plain(file, 0)) {
            int b;
            while ((b = in.peek()) >= 0) {
                if (b == '>') {
                    return SequenceFormat.FASTA;
                }
                if (b == '@') {
                    return SequenceFormat.FASTQ;
                }
                if (b != ' ' && b != '\t' && b != '\r' && b != '\n') {
                    throw new InputFormatException(file + ": neither FASTA nor FASTQ: first non-blank byte is "
                            + InputFormatException.describeByte(b) + ", expected '>' or '@'");
                }
                in.pos++;
            }
        }
        throw new InputFormatException(file + ": neither FASTA nor FASTQ: the file is empty or blank");
    }

    /** A reader of the detected format for the split {@code [splitStart, splitEnd)}. */
    public static ChunkReader open(Path file, long splitStart, long splitEnd, int chunkLen) throws IOException {
        return detect(file) == SequenceFormat.FASTA
                ? new FastaReader(file, splitStart, splitEnd, chunkLen)
                : new FastqReader(file, splitStart, splitEnd, chunkLen);
    }

    /**
     * Byte-range splits of about {@code targetBytes} covering the whole file; one split for gzip or for an
     * empty file. Any split points work (readers find record starts), so this just cuts evenly.
     */
    public static List<ByteRange> planSplits(Path file, long targetBytes) throws IOException {
        if (targetBytes <= 0) {
            throw new IllegalArgumentException("targetBytes must be > 0, is " + targetBytes);
        }
        long size = Files.size(file);
        List<ByteRange> splits = new ArrayList<>();
        if (size == 0 || ByteInput.isGzip(file)) {
            splits.add(new ByteRange(0, size));
            return splits;
        }
        long n = Math.max(1, (size + targetBytes - 1) / targetBytes);
        long prev = 0;
        for (long i = 1; i <= n; i++) {
            long end = i == n ? size : size / n * i + Math.min(i, size % n);
            splits.add(new ByteRange(prev, end));
            prev = end;
        }
        return splits;
    }
}
