package dev.mamba.pipeline.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafeTensorsRoundTripTest {
    @TempDir
    Path tmp;

    /** Values that exercise every rounding path: normals, F16 subnormals and overflow, signed zeros, inf, NaN. */
    private static float[] awkwardValues(int n, long seed) {
        float[] v = new float[n];
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] specials = {0f, -0f, 1f, -1f, 0x1p-24f, 0x3ffp-24f, 0x1p-14f, 0x1p-25f, 65504f, 70000f, -1e6f,
                Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 3.14159265f, 1e-30f, 0x1.0p-20f};
        for (int i = 0; i < n; i++) {
            v[i] = i < specials.length ? specials[i]
                    : (float) (Math.scalb(rnd.nextDouble() - 0.5, rnd.nextInt(-28, 18)));
        }
        return v;
    }

    private static void assertSameFloats(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            // bit equality (NaN == NaN, -0 != +0)
            assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(actual[i]),
                    what + "[" + i + "]: " + expected[i] + " vs " + actual[i]);
        }
    }

    @Test
    void roundTripsEveryDtype() throws Exception {
        for (SafeTensorsDType dt : new SafeTensorsDType[] {SafeTensorsDType.F32, SafeTensorsDType.BF16, SafeTensorsDType.F16}) {
            Map<String, HostTensor> m = new LinkedHashMap<>();
            m.put("b.weight", new HostTensor("b.weight", new long[] {3, 7}, awkwardValues(21, 1)));
            m.put("a", new HostTensor("a", new long[] {5}, awkwardValues(5, 2)));
            m.put("scalar", new HostTensor("scalar", new long[] {}, new float[] {-2.5f}));
            m.put("empty", new HostTensor("empty", new long[] {0, 4}, new float[0]));
            m.put("c", new HostTensor("c", new long[] {2, 1, 3}, awkwardValues(6, 3)));
            Path f = tmp.resolve("rt-" + dt + ".safetensors");
            SafeTensorsWriter.write(f, m, dt);
            assertFalse(Files.exists(tmp.resolve("rt-" + dt + ".safetensors.tmp")));
            try (SafeTensorsReader r = SafeTensorsReader.open(f)) {
                assertEquals(List.of("b.weight", "a", "scalar", "empty", "c"), r.names(), "order as given");
                for (HostTensor t : m.values()) {
                    HostTensor got = r.read(t.name);
                    assertArrayEquals(t.shape, got.shape);
                    assertEquals(dt, r.info(t.name).dtype);
                    float[] want = t.data.clone();
                    for (int i = 0; i < want.length; i++) {
                        want[i] = dt.round(want[i]);
                    }
                    assertSameFloats(want, got.data, dt + " " + t.name);
                }
            }
        }
    }

    @Test
    void halfPrecisionValuesAreTheExpectedOnes() throws Exception {
        // independent of round(): spell out what F16/BF16 storage must give back
        float[] in = {0x1p-24f, 0x1p-25f, 0x3ffp-24f, 70000f, 1f + 0x1p-11f, -0f, 1f + 0x1p-8f, 3.14159265f};
        Path f16 = tmp.resolve("h.safetensors");
        SafeTensorsWriter.write(f16, Map.of("x", new HostTensor("x", new long[] {8}, in)), SafeTensorsDType.F16);
        try (SafeTensorsReader r = SafeTensorsReader.open(f16)) {
            float[] got = r.read("x").data;
            assertSameFloats(new float[] {0x1p-24f, 0f, 0x3ffp-24f, Float.POSITIVE_INFINITY, 1f, -0f, 1f + 0x1p-8f,
                    3.140625f}, got, "F16");
        }
        Path bf = tmp.resolve("b.safetensors");
        SafeTensorsWriter.write(bf, Map.of("x", new HostTensor("x", new long[] {8}, in)), SafeTensorsDType.BF16);
        try (SafeTensorsReader r = SafeTensorsReader.open(bf)) {
            float[] got = r.read("x").data;
            assertSameFloats(new float[] {0x1p-24f, 0x1p-25f, 0x1p-14f, 70144f, 1f, -0f, 1f, 3.140625f}, got, "BF16");
        }
    }

    @Test
    void readsAHandBuiltFile() throws Exception {
        // bytes laid out by hand, so the reader is checked independently of the writer
        String header = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"h\":{\"dtype\":\"F16\",\"shape\":[2,4],\"data_offsets\":[0,16]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[16,20]},"
                + "\"f\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[20,28]}}";
        ByteBuffer data = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
        data.put(TestCheckpoints.le16(0x0001, 0x03ff, 0x7c00, 0xfc00, 0x7e00, 0x8000, 0x3c00, 0x7bff));
        data.put(TestCheckpoints.le16(0x3f80, 0xc049));
        data.put(TestCheckpoints.le32(1.5f, -2e-3f));
        Path f = TestCheckpoints.rawFile(tmp.resolve("hand.safetensors"), header, data.array());
        try (SafeTensorsReader r = SafeTensorsReader.open(f)) {
            assertEquals(Map.of("format", "pt"), r.metadata());
            assertSameFloats(new float[] {0x1p-24f, 0x3ffp-24f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
                    Float.NaN, -0f, 1f, 65504f}, r.read("h").data, "F16");
            assertArrayEquals(new long[] {2, 4}, r.read("h").shape);
            assertSameFloats(new float[] {1f, -3.140625f}, r.read("b").data, "BF16");
            assertSameFloats(new float[] {1.5f, -2e-3f}, r.read("f").data, "F32");
        }
    }

    @Test
    void readsAcrossMapWindows() throws Exception {
        float[] v = awkwardValues(1001, 9);
        for (SafeTensorsDType dt : new SafeTensorsDType[] {SafeTensorsDType.F32, SafeTensorsDType.BF16, SafeTensorsDType.F16}) {
            Path f = tmp.resolve("w" + dt + ".safetensors");
            Map<String, HostTensor> m = new LinkedHashMap<>();
            m.put("pad", new HostTensor("pad", new long[] {3}, new float[] {1, 2, 3})); // misaligns the next tensor
            m.put("v", new HostTensor("v", new long[] {1001}, v));
            SafeTensorsWriter.write(f, m, dt);
            float[] whole;
            try (SafeTensorsReader r = SafeTensorsReader.open(f)) {
                whole = r.read("v").data;
            }
            for (int window : new int[] {8, 12, 64, 4004}) {
                try (SafeTensorsReader r = SafeTensorsReader.open(f, window)) {
                    assertSameFloats(whole, r.read("v").data, dt + " window " + window);
                }
            }
        }
    }

    @Test
    void headerIsAlignedSpacePaddedAndInOrder() throws Exception {
        List<SafeTensorsWriter.Spec> specs = List.of(
                new SafeTensorsWriter.Spec("zeta", new long[] {2}),
                new SafeTensorsWriter.Spec("alpha", new long[] {1, 3}, SafeTensorsDType.BF16));
        Path f = tmp.resolve("h.safetensors");
        try (SafeTensorsWriter w = new SafeTensorsWriter(f, specs, Map.of("format", "pt"))) {
            w.write("zeta", new float[] {1, 2});
            w.write("alpha", new float[] {9, 9, 3, 4, 5}, 2, 3);
        }
        byte[] all = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, (8 + n) % 8, "data section 8-byte aligned");
        String header = new String(all, 8, (int) n, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{"));
        String trimmed = header.stripTrailing();
        assertTrue(header.substring(trimmed.length()).chars().allMatch(c -> c == ' '), "padding is spaces");
        JsonNode root = new ObjectMapper().readTree(trimmed);
        List<String> keys = new ArrayList<>();
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            keys.add(it.next());
        }
        assertEquals(List.of("__metadata__", "zeta", "alpha"), keys);
        assertEquals("[0,8]", root.get("zeta").get("data_offsets").toString());
        assertEquals("[8,14]", root.get("alpha").get("data_offsets").toString());
        assertEquals("BF16", root.get("alpha").get("dtype").asText());
        assertEquals(8 + n + 14, all.length);
        try (SafeTensorsReader r = SafeTensorsReader.open(f)) {
            assertSameFloats(new float[] {3, 4, 5}, r.read("alpha").data, "alpha");
        }
    }

    @Test
    void streamsATensorInPieces() throws Exception {
        float[] v = awkwardValues(3000, 5);
        Path f = tmp.resolve("p.safetensors");
        // 3000 floats is larger than nothing but smaller than the 1 MB buffer; use pieces of odd sizes anyway
        try (SafeTensorsWriter w = new SafeTensorsWriter(f, List.of(new SafeTensorsWriter.Spec("v", new long[] {3, 1000}),
                new SafeTensorsWriter.Spec("e", new long[] {0}), new SafeTensorsWriter.Spec("t", new long[] {1})))) {
            int off = 0;
            for (int piece : new int[] {1, 0, 999, 1000, 1000}) {
                assertEquals("v", w.nextTensor());
                w.write("v", v, off, piece);
                off += piece;
            }
            assertEquals("t", w.nextTensor(), "empty tensor needs no write");
            w.write("t", new float[] {7});
            assertEquals(null, w.nextTensor());
        }
        try (SafeTensorsReader r = SafeTensorsReader.open(f)) {
            assertSameFloats(v, r.read("v").data, "v");
            assertEquals(0, r.read("e").data.length);
        }
    }

    @Test
    void streamsMoreThanTheBufferHolds() throws Exception {
        float[] v = awkwardValues(700_001, 11); // 2.8 MB: crosses the 1 MB write buffer several times
        Path f = tmp.resolve("big.safetensors");
        SafeTensorsWriter.write(f, Map.of("v", new HostTensor("v", new long[] {700_001}, v)));
        try (SafeTensorsReader r = SafeTensorsReader.open(f)) {
            assertSameFloats(v, r.read("v").data, "v");
        }
    }

    @Test
    void incompleteWriteLeavesNoFile() throws Exception {
        Path f = tmp.resolve("part.safetensors");
        SafeTensorsWriter w = new SafeTensorsWriter(f, List.of(new SafeTensorsWriter.Spec("a", new long[] {4}),
                new SafeTensorsWriter.Spec("b", new long[] {2}), new SafeTensorsWriter.Spec("c", new long[] {2})));
        w.write("a", new float[] {1, 2, 3, 4});
        w.write("b", new float[] {1});
        CheckpointException e = assertThrows(CheckpointException.class, w::close);
        assertEquals("part.safetensors: closed before all tensors were written: tensor b has 1 of 2 values, "
                + "1 more tensors not started; partial file deleted", e.getMessage());
        assertFalse(Files.exists(f));
        assertFalse(Files.exists(tmp.resolve("part.safetensors.tmp")));
    }

    @Test
    void failedWriteKeepsAnOlderCompleteFileAndDiscardsTheNewOne() throws Exception {
        Path f = tmp.resolve("keep.safetensors");
        SafeTensorsWriter.write(f, Map.of("old", new HostTensor("old", new long[] {1}, new float[] {42})));
        RuntimeException boom = assertThrows(RuntimeException.class, () -> {
            try (SafeTensorsWriter w = new SafeTensorsWriter(f, List.of(new SafeTensorsWriter.Spec("new", new long[] {3})))) {
                w.write("new", new float[] {1});
                throw new RuntimeException("source failed");
            }
        });
        assertEquals("source failed", boom.getMessage());
        assertEquals(1, boom.getSuppressed().length, "close reports the incomplete tensor as suppressed");
        assertFalse(Files.exists(tmp.resolve("keep.safetensors.tmp")));
        try (SafeTensorsReader r = SafeTensorsReader.open(f)) {
            assertEquals(List.of("old"), r.names());
        }
    }

    @Test
    void anUnwritableFileNamesItselfAndWhy() {
        Path f = tmp.resolve("missing/out.safetensors");
        java.io.IOException e = assertThrows(java.io.IOException.class,
                () -> new SafeTensorsWriter(f, List.of(new SafeTensorsWriter.Spec("a", new long[] {1}))));
        assertEquals("cannot write " + f + ": no such file or directory (" + f + ".tmp)", e.getMessage());
    }

    @Test
    void writesOutOfOrderOrTooLongAreRejected() throws Exception {
        Path f = tmp.resolve("bad.safetensors");
        List<SafeTensorsWriter.Spec> specs = List.of(new SafeTensorsWriter.Spec("a", new long[] {2}),
                new SafeTensorsWriter.Spec("b", new long[] {2}));
        try (SafeTensorsWriter w = new SafeTensorsWriter(f, specs)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> w.write("b", new float[] {1, 2}));
            assertEquals("bad.safetensors: expected data for tensor a (0 of 2 values written), got tensor b", e.getMessage());
        }
        assertFalse(Files.exists(f));
        assertFalse(Files.exists(tmp.resolve("bad.safetensors.tmp")));
        try (SafeTensorsWriter w = new SafeTensorsWriter(f, specs)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> w.write("a", new float[] {1, 2, 3}));
            assertEquals("bad.safetensors: tensor a holds 2 values ([2]), 0 written, 3 more given", e.getMessage());
        }
        assertFalse(Files.exists(f));
        assertThrows(IllegalArgumentException.class, () -> new SafeTensorsWriter(f,
                List.of(new SafeTensorsWriter.Spec("a", new long[] {1}), new SafeTensorsWriter.Spec("a", new long[] {1}))));
        IllegalArgumentException dt = assertThrows(IllegalArgumentException.class,
                () -> new SafeTensorsWriter.Spec("x", new long[] {1}, SafeTensorsDType.F64));
        assertTrue(dt.getMessage().contains("F32, BF16, F16"), dt.getMessage());
    }

    @Test
    void shardedWriteSplitsAndIndexes() throws Exception {
        Map<String, HostTensor> m = new LinkedHashMap<>();
        for (int i = 0; i < 5; i++) {
            m.put("t" + i, new HostTensor("t" + i, new long[] {10}, awkwardValues(10, i)));
        }
        SafeTensorsWriter.writeSharded(tmp, m, 2, SafeTensorsDType.F32);
        JsonNode idx = new ObjectMapper().readTree(tmp.resolve("model.safetensors.index.json").toFile());
        assertEquals(200, idx.get("metadata").get("total_size").asLong());
        assertEquals("model-00001-of-00002.safetensors", idx.get("weight_map").get("t0").asText());
        assertEquals("model-00002-of-00002.safetensors", idx.get("weight_map").get("t4").asText());
        try (SafeTensorsCheckpoint ck = SafeTensorsCheckpoint.open(tmp)) {
            assertEquals("model.safetensors.index.json", ck.label());
            assertEquals(5, ck.names().size());
            for (HostTensor t : m.values()) {
                assertSameFloats(t.data, ck.read(t.name).data, t.name);
            }
        }
    }
}
