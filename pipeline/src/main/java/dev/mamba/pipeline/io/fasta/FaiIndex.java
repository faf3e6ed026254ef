package dev.mamba.pipeline.io.fasta;

import dev.mamba.pipeline.io.InputFormatException;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A samtools faidx index ({@code .fai}): per sequence its name, length, byte offset of the first base,
 * bases per line and bytes per line (including the line end). FASTQ indexes (6 columns) are accepted too;
 * the quality offset is ignored. Useful for planning (sequence lengths without reading the FASTA).
 */
public final class FaiIndex {

    /** One line of a .fai file. */
    public record Entry(String name, long length, long offset, int lineBases, int lineWidth) {
        /** File offset of base {@code pos} (0-based) of this sequence. */
        public long offsetOf(long pos) {
            if (pos < 0 || pos > length) {
                throw new IndexOutOfBoundsException("position " + pos + " outside " + name + " of length " + length);
            }
            return lineBases == 0 ? offset : offset + pos / lineBases * lineWidth + pos % lineBases;
        }
    }

    private final List<Entry> entries;
    private final Map<String, Entry> byName;

    private FaiIndex(List<Entry> entries) {
        this.entries = Collections.unmodifiableList(entries);
        Map<String, Entry> m = new LinkedHashMap<>();
        for (Entry e : entries) {
            m.put(e.name(), e);
        }
        this.byName = Collections.unmodifiableMap(m);
    }

    /** Parses a .fai file. */
    public static FaiIndex read(Path fai) throws IOException {
        String file = fai.toString();
        List<Entry> entries = new ArrayList<>();
        Map<String, Long> seen = new LinkedHashMap<>();
        try (BufferedReader r = Files.newBufferedReader(fai, StandardCharsets.UTF_8)) {
            String s;
            long lineNo = 0;
            while ((s = r.readLine()) != null) {
                lineNo++;
                if (s.isBlank()) {
                    continue;
                }
                String[] f = s.split("\t", -1);
                if (f.length != 5 && f.length != 6) {
                    throw InputFormatException.atLine(file, lineNo, f.length + " tab-separated fields, expected 5 "
                            + "(name, length, offset, linebases, linewidth) or 6 (FASTQ: + qualoffset)");
                }
                String name = f[0];
                if (name.isEmpty()) {
                    throw InputFormatException.atLine(file, lineNo, "empty sequence name");
                }
                long length = number(file, lineNo, "length", f[1]);
                long offset = number(file, lineNo, "offset", f[2]);
                long lineBases = number(file, lineNo, "linebases", f[3]);
                long lineWidth = number(file, lineNo, "linewidth", f[4]);
                if (lineBases > Integer.MAX_VALUE || lineWidth > Integer.MAX_VALUE) {
                    throw InputFormatException.atLine(file, lineNo, "line length too large: " + lineBases + "/" + lineWidth);
                }
                if (lineWidth < lineBases) {
                    throw InputFormatException.atLine(file, lineNo, "linewidth " + lineWidth + " < linebases "
                            + lineBases + " (linewidth counts the line end too)");
                }
                if (lineBases == 0 && length > 0) {
                    throw InputFormatException.atLine(file, lineNo, "linebases 0 for a sequence of length " + length);
                }
                Long prev = seen.put(name, lineNo);
                if (prev != null) {
                    throw InputFormatException.atLine(file, lineNo, "sequence " + name + " listed twice (lines "
                            + prev + " and " + lineNo + ")");
                }
                entries.add(new Entry(name, length, offset, (int) lineBases, (int) lineWidth));
            }
        }
        return new FaiIndex(entries);
    }

    /** The index next to a FASTA file ({@code <file>.fai}), if there is one. */
    public static Optional<FaiIndex> forFasta(Path fasta) throws IOException {
        Path fai = fasta.resolveSibling(fasta.getFileName() + ".fai");
        return Files.isRegularFile(fai) ? Optional.of(read(fai)) : Optional.empty();
    }

    private static long number(String file, long lineNo, String column, String text) throws InputFormatException {
        try {
            long v = Long.parseLong(text.trim());
            if (v < 0) {
                throw InputFormatException.atLine(file, lineNo, column + " " + v + " is negative");
            }
            return v;
        } catch (NumberFormatException e) {
            throw InputFormatException.atLine(file, lineNo, column + " '" + text + "' is not an integer");
        }
    }

    /** Entries in file order. */
    public List<Entry> entries() {
        return entries;
    }

    /** The entry for a sequence name, if indexed. */
    public Optional<Entry> entry(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    /** Sum of all sequence lengths. */
    public long totalLength() {
        long t = 0;
        for (Entry e : entries) {
            t += e.length();
        }
        return t;
    }
}
