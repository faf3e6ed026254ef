package dev.mamba.pipeline.io.fasta;

import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.ChunkReader;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reassembles chunks into whole records while checking every chunk invariant on the way. */
final class Records {
    private Records() {
    }

    /** A whole record: id and the concatenated bytes of its chunks. */
    record Rec(String id, String seq) {
    }

    /** Drains the reader, checks chunk order/flags/lengths, closes it. */
    static List<Rec> readAll(ChunkReader r, int chunkLen, String file) throws IOException {
        List<Rec> out = new ArrayList<>();
        try (r) {
            String id = null;
            ByteArrayOutputStream seq = new ByteArrayOutputStream();
            long expectIndex = 0;
            long expectStart = 0;
            Chunk c;
            while ((c = r.next()) != null) {
                assertTrue(c.isText());
                assertNull(c.values());
                assertEquals(0, c.features());
                assertEquals(file, c.file());
                assertNotNull(c.symbols());
                assertEquals(c.length(), c.symbols().length);
                assertTrue(c.length() <= chunkLen, "chunk longer than chunkLen: " + c);
                if (id == null) {
                    id = c.sequenceId();
                    expectIndex = 0;
                    expectStart = 0;
                }
                assertEquals(id, c.sequenceId());
                assertEquals(expectIndex, c.chunkIndex(), "chunk index of " + c);
                assertEquals(expectStart, c.start(), "start of " + c);
                if (!c.last()) {
                    assertEquals(chunkLen, c.length(), "a non-final chunk must be full: " + c);
                } else if (c.length() == 0) {
                    assertEquals(0, c.chunkIndex(), "a 0-length chunk only for an empty record: " + c);
                }
                seq.write(c.symbols());
                expectIndex++;
                expectStart += c.length();
                if (c.last()) {
                    out.add(new Rec(id, seq.toString(StandardCharsets.ISO_8859_1)));
                    seq.reset();
                    id = null;
                }
            }
            assertNull(id, "reader ended inside record " + id);
            assertNull(r.next(), "next() after the end must stay null");
        }
        return out;
    }

    static void assertSameRecords(List<Rec> expected, List<Rec> actual) {
        assertEquals(expected.size(), actual.size(), "record count");
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i).id(), actual.get(i).id(), "id of record " + i);
            assertArrayEquals(expected.get(i).seq().getBytes(StandardCharsets.ISO_8859_1),
                    actual.get(i).seq().getBytes(StandardCharsets.ISO_8859_1), "sequence of record " + expected.get(i).id());
        }
    }
}
