package dev.mamba.pipeline.io.timeseries;

import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.ChunkReader;
import dev.mamba.pipeline.io.InputFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TimeSeriesCsvReaderTest {
    @TempDir
    Path dir;

    private Path write(String name, String text) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, text, StandardCharsets.UTF_8);
        return p;
    }

    private List<TimeSeriesRow> rows(Path p, String id, String time, String... values) throws IOException {
        try (TimeSeriesCsvReader r = new TimeSeriesCsvReader(p, id, time, List.of(values))) {
            return r.readAll();
        }
    }

    @Test
    void readsRowsWithQuotedFieldsAndNumericTime() throws IOException {
        Path p = write("a.csv", "\uFEFFid, t ,x,note,y\r\n"
                + "s1,2,1.5,\"hello, \"\"world\"\"\",-2\r\n"
                + "\r\n"
                + "\"s,2\",0.5,+3e2,\"multi\nline\",.25\r\n"
                + "s1,1,-0,plain,1E-3\n");
        try (TimeSeriesCsvReader r = new TimeSeriesCsvReader(p, "id", "t", List.of("y", "x"))) {
            assertEquals(',', r.delimiter());
            assertEquals(List.of("id", "t", "x", "note", "y"), r.header());
            TimeSeriesRow a = r.next();
            assertEquals("s1", a.seriesId());
            assertEquals(2.0, a.time());
            assertArrayEquals(new float[] {-2f, 1.5f}, a.values());
            assertEquals(2, a.line());
            TimeSeriesRow b = r.next();
            assertEquals("s,2", b.seriesId());
            assertEquals(0.5, b.time());
            assertArrayEquals(new float[] {0.25f, 300f}, b.values());
            assertEquals(4, b.line());
            TimeSeriesRow c = r.next();
            assertEquals(6, c.line()); // the quoted line break counts
            assertArrayEquals(new float[] {1e-3f, -0f}, c.values());
            assertEquals(TimeKind.NUMBER, r.timeKind());
            assertNull(r.next());
        }
    }

    @Test
    void detectsSemicolonAndTab() throws IOException {
        Path semi = write("semi.csv", "id;time;v\na;1;2.5\n");
        Path tab = write("tab.tsv", "id\ttime\tv\na\t1\t2.5\n");
        for (Path p : List.of(semi, tab)) {
            List<TimeSeriesRow> r = rows(p, "id", "time", "v");
            assertEquals(1, r.size());
            assertArrayEquals(new float[] {2.5f}, r.get(0).values());
        }
        // a given delimiter wins over detection
        Path given = write("given.csv", "id|time|v,w\na|1|2\n");
        try (TimeSeriesCsvReader r = new TimeSeriesCsvReader(given, "id", "time", List.of("v,w"), '|')) {
            assertArrayEquals(new float[] {2f}, r.next().values());
        }
    }

    @Test
    void isoTimestampsBecomeEpochMillis() throws IOException {
        Path p = write("ts.csv", "time,v\n"
                + "2024-01-01,1\n"
                + "2024-01-01T00:00:01Z,2\n"
                + "2024-01-01 00:00:02,3\n"
                + "2024-01-01T02:00:03+02:00,4\n"
                + "2024-01-01T00:00:04.250,5\n"
                + "1970-01-01T00:00:00.000500Z,6\n");
        List<TimeSeriesRow> r = rows(p, null, "time", "v");
        double base = 1_704_067_200_000.0; // 2024-01-01T00:00:00Z
        assertEquals(base, r.get(0).time());
        assertEquals(base + 1000, r.get(1).time());
        assertEquals(base + 2000, r.get(2).time());
        assertEquals(base + 3000, r.get(3).time());
        assertEquals(base + 4250, r.get(4).time());
        assertEquals(0.5, r.get(5).time());
        assertEquals("ts", r.get(0).seriesId()); // no id column: the file name
        assertEquals("2024-01-01T00:00:04.250Z", TimeSeries.formatMillis(base + 4250));
    }

    @Test
    void groupsSortsAndChunks() throws IOException {
        Random rnd = new Random(21);
        // three series, 37, 1 and 64 steps, rows shuffled; value columns v0, v1
        int[] lengths = {37, 1, 64};
        List<String> lines = new ArrayList<>();
        for (int s = 0; s < lengths.length; s++) {
            for (int i = 0; i < lengths[s]; i++) {
                lines.add("s" + s + "," + (i * 10) + "," + (s * 1000 + i) + "," + (-i) + ".5");
            }
        }
        Collections.shuffle(lines, rnd);
        Path p = write("many.csv", "series,time,v0,v1\n" + String.join("\n", lines) + "\n");
        List<TimeSeries> series;
        try (TimeSeriesCsvReader r = new TimeSeriesCsvReader(p, "series", "time", List.of("v0", "v1"))) {
            series = r.readSeries();
        }
        assertEquals(3, series.size());
        for (TimeSeries t : series) {
            int s = t.id().charAt(1) - '0';
            assertEquals(lengths[s], t.length());
            assertEquals(2, t.features());
            for (int i = 0; i < t.length(); i++) {
                assertEquals(i * 10.0, t.times()[i]);
                assertEquals(s * 1000 + i, t.values()[2 * i]);
                assertEquals(-i - 0.5f + (i == 0 ? 1f : 0f), t.values()[2 * i + 1]); // written "0.5" for i = 0
            }
        }
        List<Chunk> chunks = new ArrayList<>();
        try (TimeSeriesCsvReader r = new TimeSeriesCsvReader(p, "series", "time", List.of("v0", "v1"));
             ChunkReader cr = r.chunks(16)) {
            Chunk c;
            while ((c = cr.next()) != null) {
                chunks.add(c);
            }
        }
        // 37 → 16+16+5, 1 → 1, 64 → 16×4
        assertEquals(3 + 1 + 4, chunks.size());
        int k = 0;
        for (TimeSeries t : series) {
            int pos = 0;
            for (int ci = 0; pos < t.length(); ci++) {
                Chunk c = chunks.get(k++);
                assertEquals(t.id(), c.sequenceId());
                assertEquals(ci, c.chunkIndex());
                assertEquals(pos, c.start());
                assertEquals(2, c.features());
                int n = Math.min(16, t.length() - pos);
                assertEquals(n, c.length());
                assertEquals(pos + n == t.length(), c.last());
                for (int i = 0; i < n; i++) {
                    assertEquals(t.values()[2 * (pos + i)], c.values()[2 * i]);
                    assertEquals(t.values()[2 * (pos + i) + 1], c.values()[2 * i + 1]);
                }
                pos += n;
            }
        }
    }

    // ---- errors ----

    @Test
    void duplicateTimeWithinASeries() throws IOException {
        StringBuilder sb = new StringBuilder("id,time,value\n");
        for (int i = 2; i <= 40; i++) {
            String t = i == 17 || i == 40 ? "2024-01-01T00:00:00Z" : "2024-01-0" + (1 + i % 5) + "T00:00:" + (10 + i) + "Z";
            sb.append(i == 17 || i == 40 ? "s3" : "s" + (i % 3)).append(',').append(t).append(",1\n");
        }
        Path p = write("file.csv", sb.toString());
        InputFormatException e = assertThrows(InputFormatException.class, () -> {
            try (TimeSeriesCsvReader r = new TimeSeriesCsvReader(p, "id", "time", List.of("value"))) {
                r.readSeries();
            }
        });
        assertEquals(p + ": series s3: duplicate time 2024-01-01T00:00:00Z at lines 17 and 40", e.getMessage());
        // the same instant written two ways is a duplicate too
        Path q = write("two.csv", "id,time,value\na,2024-01-01,1\na,2024-01-01T00:00:00Z,2\n");
        e = assertThrows(InputFormatException.class, () -> {
            try (TimeSeriesCsvReader r = new TimeSeriesCsvReader(q, "id", "time", List.of("value"))) {
                r.readSeries();
            }
        });
        assertEquals(q + ": series a: duplicate time 2024-01-01 at lines 2 and 3 (written '2024-01-01T00:00:00Z' there)",
                e.getMessage());
    }

    @Test
    void badValues() throws IOException {
        assertRowError("id,time,value\na,1,2\na,2,abc\n", "file.csv:3: column 'value' = 'abc' is not a number");
        assertRowError("id,time,value\na,1,NaN\n", "file.csv:2: column 'value' = 'NaN' is NaN");
        assertRowError("id,time,value\na,1,-Infinity\n", "file.csv:2: column 'value' = '-Infinity' is infinite");
        assertRowError("id,time,value\na,1,1e39\n", "file.csv:2: column 'value' = '1e39' is out of float range");
        assertRowError("id,time,value\na,1,1f\n", "file.csv:2: column 'value' = '1f' is not a number");
        assertRowError("id,time,value\na,1,0x10\n", "file.csv:2: column 'value' = '0x10' is not a number");
        assertRowError("id,time,value\na,1,\n", "file.csv:2: column 'value' is empty");
        assertRowError("id,time,value\n,1,1\n", "file.csv:2: column 'id' (series id) is empty");
        assertRowError("id,time,value\na,yesterday,1\n",
                "file.csv:2: column 'time' = 'yesterday' is neither a number nor an ISO-8601 date or timestamp");
        assertRowError("id,time,value\na,NaN,1\n", "file.csv:2: column 'time' = 'NaN' is NaN");
        assertRowError("id,time,value\na,2024-01-01,1\na,5,1\n",
                "file.csv:3: column 'time' = '5' is a number but earlier rows hold timestamps");
    }

    @Test
    void raggedRowsAndCsvSyntax() throws IOException {
        assertRowError("id,time,value\na,1,2\na,2\n", "file.csv:3: 2 fields, the header has 3");
        assertRowError("id,time,value\na,1,2,3\n", "file.csv:2: 4 fields, the header has 3");
        assertRowError("id,time,value\na,1,\"2\n", "file.csv:2: unterminated quoted field 3");
        assertRowError("id,time,value\na,1,\"2\"x\n", "file.csv:2: text after the closing quote of field 3 (\"2\" then 'x')");
        assertRowError("id,time,value\na,1,2\"\n",
                "file.csv:2: quote inside unquoted field 3 ('2\"…'); quote the whole field and double the quote");
    }

    @Test
    void missingColumns() throws IOException {
        Path p = write("file.csv", "id,time,val\na,1,2\n");
        InputFormatException e = assertThrows(InputFormatException.class,
                () -> new TimeSeriesCsvReader(p, "id", "time", List.of("value")));
        assertEquals(p + ": no column 'value'; columns are [id, time, val]", e.getMessage());
        Path twice = write("twice.csv", "id,time,v,v\na,1,2,3\n");
        e = assertThrows(InputFormatException.class, () -> new TimeSeriesCsvReader(twice, "id", "time", List.of("v")));
        assertEquals(twice + ": column 'v' appears twice in the header (fields 3 and 4)", e.getMessage());
        Path empty = write("empty.csv", "\n\n");
        e = assertThrows(InputFormatException.class, () -> new TimeSeriesCsvReader(empty, "id", "time", List.of("v")));
        assertEquals(empty + ": empty file, expected a header row", e.getMessage());
    }

    private void assertRowError(String csv, String expected) throws IOException {
        Path p = write("file.csv", csv);
        InputFormatException e = assertThrows(InputFormatException.class, () -> rows(p, "id", "time", "value"));
        assertEquals(dir + "/" + expected, e.getMessage());
        assertTrue(e.getMessage().startsWith(p.toString()));
        assertFalse(e.getMessage().isEmpty());
    }
}
