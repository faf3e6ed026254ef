package dev.mamba.pipeline.io.vocab;

import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.InputFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VocabTest {
    @TempDir
    Path dir;

    private Path json(String text) throws IOException {
        Path p = dir.resolve("vocab.json");
        Files.writeString(p, text, StandardCharsets.UTF_8);
        return p;
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    @Test
    void loadsAndEncodesWithCaseFolding() throws IOException {
        Path p = json("{\"A\": 7, \"C\": 8, \"G\": 9, \"T\": 10, \"N\": 11, \"n\": 12, \"<pad>\": 4, \"[CLS]\": 0}");
        Vocab v = Vocab.load(p);
        assertEquals(UnknownPolicy.FAIL, v.policy());
        assertTrue(v.caseInsensitive());
        assertEquals(13, v.size());
        assertEquals(7, v.id((byte) 'A'));
        assertEquals(7, v.id((byte) 'a'));      // folded to upper
        assertEquals(12, v.id((byte) 'n'));     // own id wins over folding
        assertEquals(11, v.id((byte) 'N'));
        assertEquals(-1, v.id((byte) 'X'));
        assertEquals(-1, v.id((byte) 0xC3));
        assertEquals(4, v.specialId("<pad>").getAsInt());
        assertEquals(0, v.specialId("[CLS]").getAsInt());
        assertFalse(v.unknownId().isPresent());
        int[] out = new int[8];
        v.encode(b("xxACGTacgtNnxx"), 2, 10 - 4, out, 1, "chr1", 0);
        assertArrayEquals(new int[] {0, 7, 8, 9, 10, 7, 8, 0}, out);
    }

    @Test
    void caseFoldingCanBeOff() throws IOException {
        Vocab v = Vocab.load(json("{\"A\": 0, \"c\": 1}"), UnknownPolicy.FAIL, false);
        assertEquals(-1, v.id((byte) 'a'));
        assertEquals(-1, v.id((byte) 'C'));
        Vocab folded = Vocab.load(json("{\"A\": 0, \"c\": 1}"), UnknownPolicy.FAIL, true);
        assertEquals(0, folded.id((byte) 'a'));
        assertEquals(1, folded.id((byte) 'C')); // lower-case vocab, upper-case data
    }

    @Test
    void failPolicyNamesSymbolSequenceAndPosition() throws IOException {
        Vocab v = Vocab.load(json("{\"A\": 0, \"C\": 1, \"G\": 2, \"T\": 3}"));
        int[] out = new int[10];
        UnknownSymbolException e = assertThrows(UnknownSymbolException.class,
                () -> v.encode(b("ACGTRACGT"), 1, 8, out, 0, "chr7", 1000));
        assertEquals("record chr7, position 1003: symbol 'R' (0x52) is not in the vocabulary " + dir.resolve("vocab.json")
                + " (keys: A C G T; case folding on, policy FAIL)", e.getMessage());
        assertEquals("chr7", e.sequenceId());
        assertEquals(1003, e.position()); // symbols[4], and symbols[1] is position 1000
        assertEquals('R', e.symbol());
        Chunk c = Chunk.text("read9", "reads.fq", 2, 8192, 3, true, new byte[] {'A', 0, 'C'});
        e = assertThrows(UnknownSymbolException.class, () -> v.encode(c));
        assertTrue(e.getMessage().startsWith("reads.fq:record read9, position 8193: symbol 0x00 (NUL) is not in"),
                e.getMessage());
    }

    @Test
    void mapToUnknownUsesTheUnkKey() throws IOException {
        Vocab v = Vocab.load(json("{\"A\": 0, \"C\": 1, \"<unk>\": 5}"), UnknownPolicy.MAP_TO_UNKNOWN, true);
        assertEquals(5, v.unknownId().getAsInt());
        assertArrayEquals(new int[] {0, 5, 1, 5, 0, 5}, v.encode(Chunk.text("s", "f", 0, 0, 6, true,
                new byte[] {'A', 'N', 'c', (byte) 0xFF, 'a', '-'})));
        InputFormatException e = assertThrows(InputFormatException.class,
                () -> Vocab.load(json("{\"A\": 0, \"N\": 1}"), UnknownPolicy.MAP_TO_UNKNOWN, true));
        assertEquals(dir.resolve("vocab.json") + ": policy MAP_TO_UNKNOWN needs a '<unk>' key; keys are [A, N]",
                e.getMessage());
    }

    @Test
    void rejectsBadVocabularies() throws IOException {
        String f = dir.resolve("vocab.json").toString();
        assertLoadError("{\"AC\": 0}", f + ": key 'AC' is neither a single ASCII character nor a special token like "
                + "<pad> or [CLS]");
        assertLoadError("{\"\u00e9\": 0}", f + ": key '\u00e9' (U+00E9) is neither a single ASCII character nor a "
                + "special token like <pad> or [CLS]");
        assertLoadError("{\"A\": 1.5}", f + ": key 'A' (U+0041) has value 1.5, expected an integer id");
        assertLoadError("{\"A\": \"0\"}", f + ": key 'A' (U+0041) has value \"0\", expected an integer id");
        assertLoadError("{\"A\": -1}", f + ": key 'A' (U+0041) has negative id -1");
        assertLoadError("[\"A\"]", f + ": expected a JSON object of symbol → id, found array");
        assertLoadError("{}", f + ": the vocabulary is empty");
        InputFormatException e = assertThrows(InputFormatException.class, () -> Vocab.load(json("{\"A\": 0, \"A\": 1}")));
        assertTrue(e.getMessage().startsWith(f + ": not valid JSON: Duplicate field 'A'"), e.getMessage());
        e = assertThrows(InputFormatException.class, () -> Vocab.load(json("{\"A\": 0,")));
        assertTrue(e.getMessage().startsWith(f + ": not valid JSON"), e.getMessage());
    }

    private void assertLoadError(String text, String expected) throws IOException {
        Path p = json(text);
        InputFormatException e = assertThrows(InputFormatException.class, () -> Vocab.load(p));
        assertEquals(expected, e.getMessage());
    }

    @Test
    void ofMapMatchesLoad() throws IOException {
        Vocab a = Vocab.of("inline", Map.of("A", 0, "C", 1, "G", 2, "T", 3), UnknownPolicy.FAIL, true);
        Vocab b = Vocab.load(json("{\"A\": 0, \"C\": 1, \"G\": 2, \"T\": 3}"));
        for (int i = 0; i < 256; i++) {
            assertEquals(b.id((byte) i), a.id((byte) i), "byte " + i);
        }
    }
}
