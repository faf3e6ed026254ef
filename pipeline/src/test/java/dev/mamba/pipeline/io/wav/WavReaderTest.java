package dev.mamba.pipeline.io.wav;

import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.InputFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WavReaderTest {
    @TempDir
    Path dir;

    // ---- a tiny RIFF writer, independent of the reader ----

    static byte[] chunk(String id, byte[] body) {
        ByteBuffer b = ByteBuffer.allocate(8 + body.length + (body.length & 1)).order(ByteOrder.LITTLE_ENDIAN);
        b.put(id.getBytes(StandardCharsets.US_ASCII)).putInt(body.length).put(body);
        return b.array(); // the pad byte (if any) stays 0
    }

    static byte[] fmt(int tag, int channels, int rate, int bits) {
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        int block = channels * bits / 8;
        b.putShort((short) tag).putShort((short) channels).putInt(rate).putInt(rate * block).putShort((short) block)
                .putShort((short) bits);
        return chunk("fmt ", b.array());
    }

    static byte[] fmtExtensible(int subFormat, int channels, int rate, int bits, int validBits) {
        ByteBuffer b = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN);
        int block = channels * bits / 8;
        b.putShort((short) 0xFFFE).putShort((short) channels).putInt(rate).putInt(rate * block).putShort((short) block)
                .putShort((short) bits).putShort((short) 22).putShort((short) validBits).putInt(channels == 2 ? 3 : 4)
                .putInt(subFormat).put(new byte[] {0x00, 0x00, 0x10, 0x00, (byte) 0x80, 0x00, 0x00, (byte) 0xAA, 0x00,
                    0x38, (byte) 0x9B, 0x71});
        return chunk("fmt ", b.array());
    }

    static byte[] riff(byte[]... chunks) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes("WAVE".getBytes(StandardCharsets.US_ASCII));
        for (byte[] c : chunks) {
            body.writeBytes(c);
        }
        ByteBuffer b = ByteBuffer.allocate(8 + body.size()).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(body.size()).put(body.toByteArray());
        return b.array();
    }

    static byte[] s16(int... v) {
        ByteBuffer b = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : v) {
            b.putShort((short) x);
        }
        return b.array();
    }

    static byte[] s24(int... v) {
        byte[] a = new byte[3 * v.length];
        for (int i = 0; i < v.length; i++) {
            a[3 * i] = (byte) v[i];
            a[3 * i + 1] = (byte) (v[i] >> 8);
            a[3 * i + 2] = (byte) (v[i] >> 16);
        }
        return a;
    }

    static byte[] s32(int... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : v) {
            b.putInt(x);
        }
        return b.array();
    }

    static byte[] f32(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putFloat(x);
        }
        return b.array();
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    /** All values of all chunks, checking chunk order and flags. */
    static float[] readAll(Path p, WavOptions o) throws IOException {
        List<Chunk> chunks = new ArrayList<>();
        try (WavReader r = new WavReader(p, o)) {
            Chunk c;
            while ((c = r.next()) != null) {
                chunks.add(c);
            }
            assertNull(r.next());
        }
        int total = 0;
        long start = 0;
        for (int i = 0; i < chunks.size(); i++) {
            Chunk c = chunks.get(i);
            assertFalse(c.isText());
            assertEquals(i, c.chunkIndex());
            assertEquals(start, c.start());
            assertEquals(i == chunks.size() - 1, c.last());
            assertTrue(c.length() <= o.chunkLen());
            assertEquals(c.length() * c.features(), c.values().length);
            start += c.length();
            total += c.values().length;
        }
        float[] all = new float[total];
        int o2 = 0;
        for (Chunk c : chunks) {
            System.arraycopy(c.values(), 0, all, o2, c.values().length);
            o2 += c.values().length;
        }
        return all;
    }

    static WavOptions perSample() {
        return WavOptions.defaults().frameSize(1);
    }

    // ---- decoding ----

    @Test
    void pcm16DecodesExactly() throws IOException {
        Path p = write("s16.wav", riff(fmt(1, 1, 16000, 16), chunk("data", s16(-32768, 0, 16384, 32767, -1))));
        assertArrayEquals(new float[] {-1f, 0f, 0.5f, 32767f / 32768f, -1f / 32768f}, readAll(p, perSample()));
        try (WavReader r = new WavReader(p)) {
            WavHeader h = r.header();
            assertEquals(16000, h.sampleRate());
            assertEquals(1, h.channels());
            assertEquals(16, h.bitsPerSample());
            assertEquals(1, h.formatTag());
            assertEquals(WavEncoding.PCM_S16, h.encoding());
            assertEquals(5, h.frames());
            assertEquals(44, h.dataOffset());
            assertFalse(h.sizeFromFile());
            assertEquals("s16", r.sequenceId());
            assertEquals(400, r.features());
            assertEquals(1, r.steps());
            assertEquals(395, r.paddedSamples());
        }
    }

    @Test
    void pcm8UnsignedDecodesExactly() throws IOException {
        Path p = write("u8.wav", riff(fmt(1, 1, 8000, 8), chunk("data", new byte[] {0, (byte) 128, (byte) 255, 64, 127})));
        assertArrayEquals(new float[] {-1f, 0f, 127f / 128f, -0.5f, -1f / 128f}, readAll(p, perSample()));
    }

    @Test
    void pcm24DecodesExactly() throws IOException {
        Path p = write("s24.wav", riff(fmt(1, 1, 48000, 24),
                chunk("data", s24(-8388608, 8388607, 1, -1, 4194304, -4194304))));
        assertArrayEquals(new float[] {-1f, 8388607f / 8388608f, 1f / 8388608f, -1f / 8388608f, 0.5f, -0.5f},
                readAll(p, perSample()));
    }

    @Test
    void pcm32DecodesExactly() throws IOException {
        Path p = write("s32.wav", riff(fmt(1, 1, 44100, 32),
                chunk("data", s32(Integer.MIN_VALUE, 1 << 30, 0, -(1 << 29), Integer.MAX_VALUE))));
        assertArrayEquals(new float[] {-1f, 0.5f, 0f, -0.25f, 1f}, readAll(p, perSample()));
    }

    @Test
    void float32PassesThroughAndRejectsNaN() throws IOException {
        Path p = write("f32.wav", riff(fmt(3, 1, 22050, 32), chunk("data", f32(0.25f, -1f, 0.75f, 1.5f))));
        assertArrayEquals(new float[] {0.25f, -1f, 0.75f, 1.5f}, readAll(p, perSample()));
        Path nan = write("nan.wav", riff(fmt(3, 2, 22050, 32), chunk("data", f32(0f, 0f, 0.5f, Float.NaN))));
        InputFormatException e = assertThrows(InputFormatException.class, () -> readAll(nan, perSample()));
        assertEquals(nan + ": sample frame 1, channel 1 is NaN", e.getMessage());
    }

    @Test
    void extensiblePcmAndFloat() throws IOException {
        // 20 valid bits in a 24-bit container are left-justified: the container scale applies
        Path pcm = write("ext24.wav", riff(fmtExtensible(1, 2, 96000, 24, 20),
                chunk("data", s24(-8388608, 4194304, 16, -16))));
        assertArrayEquals(new float[] {-1f, 0.5f, 16f / 8388608f, -16f / 8388608f}, readAll(pcm, perSample()));
        try (WavReader r = new WavReader(pcm, perSample())) {
            assertEquals(0xFFFE, r.header().formatTag());
            assertEquals(1, r.header().subFormat());
            assertEquals(20, r.header().validBitsPerSample());
            assertEquals(2, r.header().frames());
            assertEquals(2, r.features());
        }
        Path flt = write("extf.wav", riff(fmtExtensible(3, 1, 8000, 32, 32), chunk("data", f32(-0.125f, 0.5f))));
        assertArrayEquals(new float[] {-0.125f, 0.5f}, readAll(flt, perSample()));
        Path alaw = write("ext6.wav", riff(fmtExtensible(6, 1, 8000, 8, 8), chunk("data", new byte[2])));
        InputFormatException e = assertThrows(InputFormatException.class, () -> new WavReader(alaw));
        assertEquals(alaw + ": A-law (6) (in WAVE_FORMAT_EXTENSIBLE) is not supported; supported: PCM 8/16/24/32-bit, "
                + "IEEE float 32-bit", e.getMessage());
        byte[] badGuid = riff(fmtExtensible(1, 1, 8000, 16, 16), chunk("data", s16(1)));
        badGuid[12 + 8 + 24 + 15] = 0x42; // last GUID byte (fmt body starts at 20; GUID at +24)
        Path g = write("guid.wav", badGuid);
        e = assertThrows(InputFormatException.class, () -> new WavReader(g));
        assertEquals(g + ": WAVE_FORMAT_EXTENSIBLE sub-format {00000001-0000-0010-8000-00aa00389b42} is not supported; "
                + "supported: PCM 8/16/24/32-bit, IEEE float 32-bit", e.getMessage());
    }

    @Test
    void multiChannelFramingInterleavesAndZeroPads() throws IOException {
        // 3 channels, 7 sample frames: sample frame f, channel c = f * 10 + c
        int[] v = new int[21];
        for (int f = 0; f < 7; f++) {
            for (int c = 0; c < 3; c++) {
                v[3 * f + c] = (f * 10 + c) * 256;
            }
        }
        Path p = write("three.wav", riff(fmt(1, 3, 16000, 16), chunk("data", s16(v))));
        WavOptions o = WavOptions.defaults().frameSize(2).chunkLen(3);
        List<Chunk> chunks = new ArrayList<>();
        try (WavReader r = new WavReader(p, o)) {
            assertEquals(6, r.features());
            assertEquals(4, r.steps());
            assertEquals(1, r.paddedSamples());
            Chunk c;
            while ((c = r.next()) != null) {
                chunks.add(c);
            }
        }
        assertEquals(2, chunks.size());
        assertEquals(3, chunks.get(0).length());
        assertEquals(1, chunks.get(1).length());
        assertEquals(3, chunks.get(1).start());
        assertTrue(chunks.get(1).last());
        // step 3 = sample frames 6 and (padding) 7: [60, 61, 62, 0, 0, 0] / 128
        float[] s = new float[6];
        for (int c = 0; c < 3; c++) {
            s[c] = (60 + c) * 256 / 32768f;
        }
        assertArrayEquals(s, chunks.get(1).values());
        // step 1 = sample frames 2, 3 of chunk 0: values[6..12)
        float[] step1 = Arrays.copyOfRange(chunks.get(0).values(), 6, 12);
        assertArrayEquals(new float[] {20 * 256 / 32768f, 21 * 256 / 32768f, 22 * 256 / 32768f, 30 * 256 / 32768f,
            31 * 256 / 32768f, 32 * 256 / 32768f}, step1);
        // mixed to mono: mean of the three channels = (10 f + 1) * 256 / 32768
        float[] mono = readAll(p, o.mixToMono(true));
        assertEquals(8, mono.length);
        for (int f = 0; f < 7; f++) {
            float expect = ((f * 10) * 256 / 32768f + (f * 10 + 1) * 256 / 32768f + (f * 10 + 2) * 256 / 32768f) / 3f;
            assertEquals(expect, mono[f], 1e-7f, "frame " + f);
        }
        assertEquals(0f, mono[7]);
    }

    @Test
    void skipsUnknownChunksWithOddSizePadding() throws IOException {
        byte[] list = chunk("LIST", "INFOISFT\u0003\0\0\0ab\0".getBytes(StandardCharsets.ISO_8859_1)); // 15 bytes + pad
        byte[] fact = chunk("fact", s32(3));
        byte[] junk = chunk("junk", new byte[] {1, 2, 3});
        // 8-bit mono data of odd size (3) gets a pad byte; a LIST after the data must not be read as samples
        Path p = write("odd.wav", riff(list, fmt(1, 1, 8000, 8), junk, fact, chunk("data", new byte[] {0, (byte) 128,
            (byte) 192}), list));
        assertArrayEquals(new float[] {-1f, 0f, 0.5f}, readAll(p, perSample()));
        try (WavReader r = new WavReader(p, perSample())) {
            assertEquals(3, r.header().frames());
        }
    }

    @Test
    void streamingDataSizeReadsToEndOfFile() throws IOException {
        byte[] unknown = riff(fmt(1, 2, 8000, 16), chunk("data", s16(1, 2, 3, 4, 5, 6)));
        ByteBuffer.wrap(unknown).order(ByteOrder.LITTLE_ENDIAN).putInt(40, 0xFFFFFFFF);
        Path p = write("stream.wav", unknown);
        assertArrayEquals(new float[] {1 / 32768f, 2 / 32768f, 3 / 32768f, 4 / 32768f, 5 / 32768f, 6 / 32768f},
                readAll(p, perSample()));
        try (WavReader r = new WavReader(p, perSample())) {
            assertTrue(r.header().sizeFromFile());
            assertEquals(3, r.header().frames());
        }
        // a size past the end of the file is a placeholder only when the RIFF size is one too (0 or 0xFFFFFFFF)
        byte[] tooBig = unknown.clone();
        ByteBuffer.wrap(tooBig).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 0xFFFFFFFF).putInt(40, 1000);
        assertArrayEquals(readAll(p, perSample()), readAll(write("big.wav", tooBig), perSample()));
        byte[] riffZero = tooBig.clone();
        ByteBuffer.wrap(riffZero).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 0);
        assertArrayEquals(readAll(p, perSample()), readAll(write("riff0.wav", riffZero), perSample()));
        // data size 0 and a RIFF size that counts no samples (header written before any sample): read to the end
        byte[] zero = unknown.clone();
        ByteBuffer.wrap(zero).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 36).putInt(40, 0);
        Path z = write("zero.wav", zero);
        assertArrayEquals(readAll(p, perSample()), readAll(z, perSample()));
        try (WavReader r = new WavReader(z, perSample())) {
            assertTrue(r.header().sizeFromFile());
        }
        // the file ends mid-frame: 3 of the 4 bytes of the last stereo frame
        Path cut = write("cut.wav", Arrays.copyOf(tooBig, tooBig.length - 1));
        InputFormatException e = assertThrows(InputFormatException.class, () -> new WavReader(cut));
        assertEquals(cut + ": truncated: the file ends mid-frame: 11 data bytes is not a whole number of 4-byte sample "
                + "frames (2 channels × 2 bytes)", e.getMessage());
    }

    @Test
    void dataChunkCutOnAFrameBoundaryIsTruncation() throws IOException {
        // 1000 mono 16-bit frames (data 2000 bytes, RIFF size 2036) cut to 1044 bytes: 500 whole frames remain,
        // which must not pass for a 500-frame file
        byte[] full = riff(fmt(1, 1, 8000, 16), chunk("data", s16(new int[1000])));
        assertEquals(2036, ByteBuffer.wrap(full).order(ByteOrder.LITTLE_ENDIAN).getInt(4));
        Path cut = write("cut.wav", Arrays.copyOf(full, 1044));
        InputFormatException e = assertThrows(InputFormatException.class, () -> new WavReader(cut));
        assertEquals(cut + ": truncated: data chunk at byte 36 declares 2000 bytes, the file holds 1000 of them",
                e.getMessage());
        // an empty data chunk of a finished file (the RIFF size counts what follows) is not a placeholder
        Path empty = write("empty-then-list.wav", riff(fmt(1, 1, 8000, 16), chunk("data", new byte[0]),
                chunk("LIST", new byte[4])));
        try (WavReader r = new WavReader(empty, perSample())) {
            assertFalse(r.header().sizeFromFile());
            assertEquals(0, r.header().frames());
        }
    }

    @Test
    void manyChunksConcatenateToTheSignal() throws IOException {
        Random rnd = new Random(13);
        int frames = 10_007;
        int[] v = new int[frames * 2];
        for (int i = 0; i < v.length; i++) {
            v[i] = rnd.nextInt(65536) - 32768;
        }
        Path p = write("long.wav", riff(fmt(1, 2, 16000, 16), chunk("data", s16(v))));
        WavOptions o = WavOptions.defaults().frameSize(160).chunkLen(7).sequenceId("utt-1");
        float[] all = readAll(p, o);
        long steps = (frames + 159) / 160;
        assertEquals(steps * 320, all.length);
        for (int i = 0; i < v.length; i++) {
            assertEquals(v[i] / 32768f, all[i], "sample " + i);
        }
        for (int i = v.length; i < all.length; i++) {
            assertEquals(0f, all[i]);
        }
        try (WavReader r = new WavReader(p, o)) {
            assertEquals("utt-1", r.next().sequenceId());
            assertEquals(steps * 160 - frames, r.paddedSamples());
        }
    }

    @Test
    void emptyDataYieldsOneEmptyChunk() throws IOException {
        Path p = write("empty.wav", riff(fmt(1, 1, 8000, 16), chunk("data", new byte[0])));
        try (WavReader r = new WavReader(p)) {
            Chunk c = r.next();
            assertEquals(0, c.length());
            assertTrue(c.last());
            assertEquals(400, c.features());
            assertNull(r.next());
        }
    }

    // ---- errors ----

    @Test
    void rejectsUnsupportedFormatsWithNames() throws IOException {
        Path alaw = write("alaw.wav", riff(fmt(6, 1, 8000, 8), chunk("data", new byte[4])));
        InputFormatException e = assertThrows(InputFormatException.class, () -> new WavReader(alaw));
        assertEquals(alaw + ": A-law (6) is not supported; supported: PCM 8/16/24/32-bit, IEEE float 32-bit",
                e.getMessage());
        Path mp3 = write("mp3.wav", riff(fmt(0x55, 1, 8000, 8), chunk("data", new byte[4])));
        e = assertThrows(InputFormatException.class, () -> new WavReader(mp3));
        assertTrue(e.getMessage().startsWith(mp3 + ": MPEG Layer 3 (85) is not supported"), e.getMessage());
        byte[] twelve = riff(fmt(1, 1, 8000, 16), chunk("data", new byte[4]));
        ByteBuffer.wrap(twelve).order(ByteOrder.LITTLE_ENDIAN).putShort(34, (short) 12);
        Path p12 = write("pcm12.wav", twelve);
        e = assertThrows(InputFormatException.class, () -> new WavReader(p12));
        assertEquals(p12 + ": PCM 12-bit is not supported; supported: PCM 8/16/24/32-bit, IEEE float 32-bit",
                e.getMessage());
        Path f64 = write("f64.wav", riff(fmt(3, 1, 8000, 64), chunk("data", new byte[16])));
        e = assertThrows(InputFormatException.class, () -> new WavReader(f64));
        assertEquals(f64 + ": IEEE float 64-bit is not supported; supported: PCM 8/16/24/32-bit, IEEE float 32-bit",
                e.getMessage());
    }

    @Test
    void rejectsNonWaveFiles() throws IOException {
        Path ogg = write("a.ogg", "OggS\0\2\0\0\0\0\0\0\0\0".getBytes(StandardCharsets.ISO_8859_1));
        InputFormatException e = assertThrows(InputFormatException.class, () -> new WavReader(ogg));
        assertEquals(ogg + ": not a RIFF/WAVE file: starts with 'OggS' (4f 67 67 53)", e.getMessage());
        byte[] avi = riff(chunk("data", new byte[2]));
        System.arraycopy("AVI ".getBytes(StandardCharsets.US_ASCII), 0, avi, 8, 4);
        Path a = write("a.avi", avi);
        e = assertThrows(InputFormatException.class, () -> new WavReader(a));
        assertEquals(a + ": not a RIFF/WAVE file: RIFF form type is 'AVI ' (41 56 49 20)", e.getMessage());
        byte[] rf64 = riff(fmt(1, 1, 8000, 16));
        System.arraycopy("RF64".getBytes(StandardCharsets.US_ASCII), 0, rf64, 0, 4);
        Path r = write("r.wav", rf64);
        e = assertThrows(InputFormatException.class, () -> new WavReader(r));
        assertEquals(r + ": RF64 (64-bit WAV) is not supported", e.getMessage());
        Path tiny = write("tiny.wav", new byte[] {'R', 'I'});
        e = assertThrows(InputFormatException.class, () -> new WavReader(tiny));
        assertEquals(tiny + ": not a WAV file: only 2 bytes", e.getMessage());
    }

    @Test
    void missingChunksAndTruncation() throws IOException {
        Path noData = write("nodata.wav", riff(fmt(1, 1, 8000, 16), chunk("LIST", new byte[4])));
        InputFormatException e = assertThrows(InputFormatException.class, () -> new WavReader(noData));
        assertEquals(noData + ": no data chunk (chunks found: [fmt, LIST])", e.getMessage());
        Path noFmt = write("nofmt.wav", riff(chunk("LIST", new byte[4])));
        e = assertThrows(InputFormatException.class, () -> new WavReader(noFmt));
        assertEquals(noFmt + ": no fmt chunk and no data chunk (chunks found: [LIST])", e.getMessage());
        Path dataFirst = write("datafirst.wav", riff(chunk("data", s16(1)), fmt(1, 1, 8000, 16)));
        e = assertThrows(InputFormatException.class, () -> new WavReader(dataFirst));
        assertEquals(dataFirst + ": data chunk at byte 12 comes before any fmt chunk", e.getMessage());
        byte[] full = riff(fmt(1, 1, 8000, 16), chunk("LIST", new byte[100]), chunk("data", s16(1, 2)));
        Path inList = write("inlist.wav", Arrays.copyOf(full, 60));
        e = assertThrows(InputFormatException.class, () -> new WavReader(inList));
        assertEquals(inList + ": truncated: chunk 'LIST' at byte 36 declares 100 bytes, the file ends 84 bytes short",
                e.getMessage());
        Path inHeader = write("inheader.wav", Arrays.copyOf(full, 40));
        e = assertThrows(InputFormatException.class, () -> new WavReader(inHeader));
        assertEquals(inHeader + ": truncated: the file ends inside a chunk header at byte 36", e.getMessage());
        Path inFmt = write("infmt.wav", Arrays.copyOf(full, 30));
        e = assertThrows(InputFormatException.class, () -> new WavReader(inFmt));
        assertEquals(inFmt + ": truncated: the file ends inside the fmt chunk", e.getMessage());
        byte[] ragged = riff(fmt(1, 2, 8000, 16), chunk("data", new byte[6]));
        Path rg = write("ragged.wav", ragged);
        e = assertThrows(InputFormatException.class, () -> new WavReader(rg));
        assertEquals(rg + ": data chunk size 6 is not a whole number of 4-byte sample frames (2 channels × 2 bytes)",
                e.getMessage());
    }
}
