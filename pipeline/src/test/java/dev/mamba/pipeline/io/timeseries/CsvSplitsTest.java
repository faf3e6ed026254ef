package dev.mamba.pipeline.io.timeseries;

import dev.mamba.pipeline.io.InputFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A CSV file read as ranges ({@link CsvSplits}) gives the rows, lines and errors of one read of the whole file,
 * wherever the cuts fall: inside quoted fields with line breaks and doubled quotes, inside CRLF pairs and
 * multi-byte characters, on blank lines, and in the header.
 */
class CsvSplitsTest {
    @TempDir
    Path dir;

    /** A row as the reader hands it on: series, time and values as written, the line, and the parsed time. */
    private static String describe(TimeSeriesCells c, String time) {
        return c.seriesId() + "|" + c.timeText() + "|" + Arrays.toString(c.values()) + "|" + c.line() + "|" + time;
    }

    /** Rows of one reader until its end, or the structural error that stopped it (as the last element). */
    private static List<String> read(TimeSeriesCsvReader r) throws IOException {
        List<String> out = new ArrayList<>();
        try (r) {
            TimeSeriesCells c;
            while ((c = r.nextCells()) != null) {
                String time;
                try {
                    time = String.valueOf(r.time(c));
                } catch (InputFormatException e) {
                    time = "error " + e.getMessage();
                }
                out.add(describe(c, time));
            }
        } catch (InputFormatException e) {
            out.add("stopped " + e.getMessage());
        }
        return out;
    }

    private static List<String> whole(Path f) throws IOException {
        return read(new TimeSeriesCsvReader(f, "id", null, "time", List.of("v"), (char) 0));
    }

    /** Every range's rows in order, as a read of the whole file would give them up to its first error. */
    private static List<String> split(Path f, long splitBytes) throws IOException {
        List<CsvSplits.Scan> scans = new ArrayList<>();
        for (long[] c : CsvSplits.cuts(Files.size(f), splitBytes)) {
            scans.add(CsvSplits.scan(f, c[0], c[1]));
        }
        List<CsvSplits.Range> ranges = CsvSplits.ranges(scans);
        TimeKind kind = firstKind(f);
        List<String> out = new ArrayList<>();
        for (CsvSplits.Range r : ranges) {
            List<String> part = read(TimeSeriesCsvReader.range(f, "id", null, "time", List.of("v"), r, kind));
            out.addAll(part);
            if (!part.isEmpty() && part.get(part.size() - 1).startsWith("stopped ")) {
                break;  // a structural error: the ranges after it may be cut wrongly, and are not used
            }
        }
        return out;
    }

    private static TimeKind firstKind(Path f) throws IOException {
        try (TimeSeriesCsvReader r = new TimeSeriesCsvReader(f, "id", null, "time", List.of("v"), (char) 0)) {
            return CsvSplits.firstTimeKind(r);
        } catch (InputFormatException e) {
            return null;
        }
    }

    private static String field(Random rnd, String plain) {
        return switch (rnd.nextInt(6)) {
            case 0 -> "\"" + plain + "\"";
            case 1 -> "\"" + plain + "\n\"\"x\"\"\r\n;\"";       // line breaks and doubled quotes inside quotes
            case 2 -> "\"é" + plain + "€\"";                     // multi-byte characters
            default -> plain;
        };
    }

    private Path randomCsv(Random rnd, int rows, boolean timestamps) throws IOException {
        // the header too may hold a line break inside quotes
        StringBuilder sb = new StringBuilder(rnd.nextBoolean() ? "\"id\",\"time\",v,\"no\nte\"\n" : "id,time,v,note\n");
        for (int i = 0; i < rows; i++) {
            String id = "s" + rnd.nextInt(3);
            String time = timestamps ? "2024-01-01T00:00:" + String.format("%02d", i % 60) : String.valueOf(i);
            if (rnd.nextInt(15) == 0) {
                time = "soon";  // a row error, not a structural one
            }
            String v = rnd.nextInt(20) == 0 ? "x" : String.valueOf(rnd.nextGaussian());
            sb.append(field(rnd, id)).append(',').append(field(rnd, time)).append(',').append(field(rnd, v)).append(',')
                    .append(field(rnd, "n" + i)).append(rnd.nextInt(4) == 0 ? "\r\n" : "\n");
            if (rnd.nextInt(10) == 0) {
                sb.append(rnd.nextBoolean() ? "\n" : "\r\n");  // blank line
            }
        }
        Path f = dir.resolve("r" + rnd.nextInt(1 << 20) + ".csv");
        Files.writeString(f, sb.toString(), StandardCharsets.UTF_8);
        return f;
    }

    @Test
    void rangesReadAsTheWholeFileWhereverTheCutsFall() throws IOException {
        Random rnd = new Random(11);
        for (int round = 0; round < 30; round++) {
            Path f = randomCsv(rnd, 1 + rnd.nextInt(40), rnd.nextInt(3) == 0);
            List<String> want = whole(f);
            long size = Files.size(f);
            for (long split : new long[]{1, 2, 3, 7, 13, 64, 1 + rnd.nextInt((int) size), size, size + 5}) {
                assertEquals(want, split(f, split), f + " cut every " + split + " bytes");
            }
        }
    }

    @Test
    void structuralErrorsAreTheWholeFilesFirst() throws IOException {
        Random rnd = new Random(12);
        int stopped = 0;
        for (int round = 0; round < 40; round++) {
            Path f = randomCsv(rnd, 5 + rnd.nextInt(30), false);
            byte[] b = Files.readAllBytes(f);
            // break the structure at a random ASCII byte after the header: a stray quote, a short row, or a quote
            // that is never closed
            int at;
            do {
                at = 25 + rnd.nextInt(b.length - 25);
            } while (b[at] < 0 || b[at - 1] < 0);
            String text = new String(b, StandardCharsets.ISO_8859_1);
            String broken = switch (round % 4) {
                case 0 -> text.substring(0, at) + "\"" + text.substring(at);
                case 1 -> text.substring(0, at) + "\n1,2\n" + text.substring(at);
                case 2 -> text.substring(0, at) + "\u00ff" + text.substring(at);  // a byte that is not UTF-8
                default -> text.substring(0, at) + ",\"open" + text.substring(at).replace("\"", "");
            };
            Files.write(f, broken.getBytes(StandardCharsets.ISO_8859_1));
            List<String> want = whole(f);
            stopped += want.get(want.size() - 1).startsWith("stopped ") ? 1 : 0;
            for (long split : new long[]{1, 5, 17, 1 + rnd.nextInt(broken.length())}) {
                assertEquals(want, split(f, split), f + " cut every " + split + " bytes");
            }
        }
        assertTrue(stopped >= 20, stopped + " of 40 broken files stop with a structural error");
    }

    /**
     * A byte that is not UTF-8 is an error at its own line, after the file's earlier faults: a decoder that throws
     * failed a whole buffer ahead of the parser, before an earlier ragged row, and without a line.
     */
    @Test
    void aByteThatIsNotUtf8IsAnErrorAtItsLine() throws IOException {
        Path f = dir.resolve("latin.csv");
        for (boolean ragged : new boolean[]{true, false}) {
            StringBuilder sb = new StringBuilder("id,time,v\n");
            for (int t = 0; t < 20000; t++) {
                sb.append(t == 2 && ragged ? "a,2\n" : "a," + t + "," + (t % 7) + "\n");
            }
            byte[] b = sb.toString().getBytes(StandardCharsets.US_ASCII);
            b[sb.indexOf("\na,18000,") + 3] = (byte) 0xff;  // inside line 18002
            Files.write(f, b);
            List<String> want = whole(f);
            assertEquals("stopped " + f + (ragged ? ":4: 2 fields, the header has 3"
                    : ":18002: bytes that are not UTF-8 text, or the character U+FFFF (the file must be UTF-8)"), want.get(want.size() - 1));
            assertEquals(want, split(f, 50000));
        }
    }

    @Test
    void theTimeKindOfTheFileHoldsInEveryRange() throws IOException {
        Path f = dir.resolve("kinds.csv");
        Files.writeString(f, "id,time,v\na,bad,1\na,5,1\na,2024-01-01,2\na,7,3\n");
        List<String> want = whole(f);
        assertEquals(4, want.size());
        assertEquals(want, split(f, 12));
        assertEquals(want, split(f, 1));
    }

    @Test
    void scansMustFollowEachOther() throws IOException {
        Path f = dir.resolve("a.csv");
        Files.writeString(f, "id,time,v\na,1,2\n");
        CsvSplits.Scan a = CsvSplits.scan(f, 0, 5), c = CsvSplits.scan(f, 8, 16);
        assertNotNull(assertThrows(IllegalArgumentException.class, () -> CsvSplits.ranges(List.of(a, c))).getMessage());
        assertThrows(IllegalArgumentException.class, () -> CsvSplits.cuts(10, 0));
    }
}
