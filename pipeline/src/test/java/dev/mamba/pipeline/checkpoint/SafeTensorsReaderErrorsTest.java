package dev.mamba.pipeline.checkpoint;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafeTensorsReaderErrorsTest {
    @TempDir
    Path tmp;

    private String openError(String header, byte[] data) throws Exception {
        Path f = TestCheckpoints.rawFile(tmp.resolve("model.safetensors"), header, data);
        return assertThrows(CheckpointException.class, () -> SafeTensorsReader.open(f).close()).getMessage();
    }

    private static void assertContains(String message, String... parts) {
        for (String p : parts) {
            assertTrue(message.contains(p), "expected \"" + p + "\" in: " + message);
        }
    }

    @Test
    void missingFile() {
        Path f = tmp.resolve("nope.safetensors");
        String m = assertThrows(CheckpointException.class, () -> SafeTensorsReader.open(f)).getMessage();
        assertEquals(f + ": no such file", m);
    }

    @Test
    void tooShortForTheLength() throws Exception {
        Path f = tmp.resolve("model.safetensors");
        Files.write(f, new byte[] {1, 2, 3});
        String m = assertThrows(CheckpointException.class, () -> SafeTensorsReader.open(f)).getMessage();
        assertEquals("model.safetensors: file has 3 bytes, too short for the 8-byte header length (not a safetensors file?)", m);
    }

    @Test
    void oversizedHeader() throws Exception {
        Path f = tmp.resolve("model.safetensors");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(200_000_000L).putLong(0);
        Files.write(f, b.array());
        String m = assertThrows(CheckpointException.class, () -> SafeTensorsReader.open(f)).getMessage();
        assertContains(m, "model.safetensors: oversized header", "200000000", "limit is 100000000");

        b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).putLong(0); // u64 max
        Files.write(f, b.array());
        m = assertThrows(CheckpointException.class, () -> SafeTensorsReader.open(f)).getMessage();
        assertContains(m, "oversized header", "18446744073709551615");

        b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).putLong(0);
        Files.write(f, b.array());
        m = assertThrows(CheckpointException.class, () -> SafeTensorsReader.open(f)).getMessage();
        assertEquals("model.safetensors: oversized header: length field says 1000 bytes but the file has only 8 bytes "
                + "after it (truncated file?)", m);
    }

    @Test
    void headerNotJson() throws Exception {
        assertContains(openError("{\"a\": {\"dtype\": ", new byte[0]), "model.safetensors: header is not valid JSON");
        assertContains(openError("[1, 2]", new byte[0]), "model.safetensors: header is not a JSON object");
        assertContains(openError("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]),
                "header is not valid JSON", "Duplicate field 'a'");
        Path f = tmp.resolve("model.safetensors");
        ByteBuffer b = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN).putLong(2).put((byte) 0xff).put((byte) 0xfe);
        Files.write(f, b.array());
        assertContains(assertThrows(CheckpointException.class, () -> SafeTensorsReader.open(f)).getMessage(),
                "model.safetensors: header is not valid UTF-8");
    }

    @Test
    void missingKeys() throws Exception {
        assertEquals("model.safetensors: tensor w: header entry has no dtype (needs dtype, shape and data_offsets)",
                openError("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]));
        assertEquals("model.safetensors: tensor w: header entry has no shape (needs dtype, shape and data_offsets)",
                openError("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", new byte[4]));
        assertEquals("model.safetensors: tensor w: header entry has no data_offsets (needs dtype, shape and data_offsets)",
                openError("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", new byte[4]));
        assertEquals("model.safetensors: tensor w: header entry must be a JSON object, found NUMBER",
                openError("{\"w\":3}", new byte[4]));
    }

    @Test
    void malformedValues() throws Exception {
        assertEquals("model.safetensors: tensor w: shape must hold non-negative integers, found [2,-1]",
                openError("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,4]}}", new byte[4]));
        assertEquals("model.safetensors: tensor w: shape must hold non-negative integers, found [\"2\"]",
                openError("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,4]}}", new byte[4]));
        assertEquals("model.safetensors: tensor w: data_offsets must be an array [begin, end], found [0]",
                openError("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", new byte[4]));
        assertEquals("model.safetensors: tensor w: data_offsets [4, 0) end before they begin",
                openError("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", new byte[4]));
        assertEquals("model.safetensors: tensor w: dtype must be a string, found 4",
                openError("{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]));
        assertEquals("model.safetensors: __metadata__ must be a JSON object, found ARRAY",
                openError("{\"__metadata__\":[]}", new byte[0]));
    }

    @Test
    void unknownAndUnsupportedDtypes() throws Exception {
        assertEquals("model.safetensors: tensor w has unknown dtype \"F128\"; supported dtypes are F32, BF16, F16",
                openError("{\"w\":{\"dtype\":\"F128\",\"shape\":[1],\"data_offsets\":[0,16]}}", new byte[16]));
        for (String[] dt : new String[][] {{"F64", "8"}, {"I8", "1"}, {"I64", "8"}}) {
            int n = Integer.parseInt(dt[1]) * 3;
            Path f = TestCheckpoints.rawFile(tmp.resolve("model.safetensors"),
                    "{\"w.weight\":{\"dtype\":\"" + dt[0] + "\",\"shape\":[3],\"data_offsets\":[0," + n + "]}}", new byte[n]);
            try (SafeTensorsReader r = SafeTensorsReader.open(f)) {
                String m = assertThrows(CheckpointException.class, () -> r.read("w.weight")).getMessage();
                assertEquals("model.safetensors: tensor w.weight has dtype " + dt[0]
                        + ", which cannot be read as floats; supported dtypes are F32, BF16, F16", m);
            }
        }
    }

    @Test
    void truncatedData() throws Exception {
        String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"backbone.layers.0.mixer.A_log\":{\"dtype\":\"F32\",\"shape\":[4,4],\"data_offsets\":[8,72]}}";
        assertEquals("model.safetensors: tensor backbone.layers.0.mixer.A_log needs bytes [8, 72) of the data section "
                + "but the file has only 40 (truncated file?)", openError(header, new byte[40]));
        // truncate a real file written by the writer
        Path f = tmp.resolve("model.safetensors");
        SafeTensorsWriter.write(f, java.util.Map.of("x", new HostTensor("x", new long[] {10}, new float[10])));
        byte[] all = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(all, all.length - 1));
        assertContains(assertThrows(CheckpointException.class, () -> SafeTensorsReader.open(f)).getMessage(),
                "model.safetensors: tensor x needs bytes [0, 40) of the data section but the file has only 39");
    }

    @Test
    void offsetsInconsistentWithShape() throws Exception {
        assertEquals("model.safetensors: tensor w: data_offsets [0, 12) hold 12 bytes, but shape [2, 2] of BF16 "
                        + "(2 bytes each) needs 8",
                openError("{\"w\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", new byte[12]));
        assertContains(openError("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}",
                new byte[4]), "tensor w", "more elements than a long holds");
    }

    /** Offsets that would load as wrong weights (shared bytes) or do not cover the data exactly. */
    @Test
    void offsetsMustTileTheDataSection() throws Exception {
        String a = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
        assertEquals("model.safetensors: tensor D (data_offsets [4, 12)) overlaps tensor a ([0, 8)): each tensor must "
                        + "have bytes of its own",
                openError("{" + a + ",\"D\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]));
        assertContains(openError("{" + a + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                new byte[8]), "overlaps tensor");
        assertEquals("model.safetensors: bytes [8, 12) of the data section belong to no tensor (before tensor b): the "
                        + "offsets must be contiguous",
                openError("{" + a + ",\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}", new byte[16]));
        assertEquals("model.safetensors: the data section has 12 bytes but the tensors end at 8 (4 bytes after the last "
                + "tensor): header and data do not match", openError("{" + a + "}", new byte[12]));
        // listed out of order, empty tensors anywhere: fine
        Path f = TestCheckpoints.rawFile(tmp.resolve("model.safetensors"), "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],"
                + "\"data_offsets\":[8,12]},\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}," + a + "}",
                new byte[12]);
        SafeTensorsReader.open(f).close();
    }

    @Test
    void unknownTensorName() throws Exception {
        Path f = TestCheckpoints.rawFile(tmp.resolve("model.safetensors"), "{}", new byte[0]);
        try (SafeTensorsReader r = SafeTensorsReader.open(f)) {
            assertEquals("model.safetensors: no tensor q", assertThrows(CheckpointException.class, () -> r.read("q")).getMessage());
        }
    }

    @Test
    void readAfterCloseIsAnIllegalState() throws Exception {
        Path f = TestCheckpoints.rawFile(tmp.resolve("model.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]);
        SafeTensorsReader r = SafeTensorsReader.open(f);
        r.close();
        assertThrows(IllegalStateException.class, () -> r.read("w"));
    }
}
