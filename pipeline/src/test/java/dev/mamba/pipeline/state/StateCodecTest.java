package dev.mamba.pipeline.state;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class StateCodecTest {

    /** A 40-byte header with the given sizes, then {@code tail} bytes of zeros. */
    private static byte[] header(int layers, int dInner, int convWidth, int dState, int tail) {
        ByteBuffer b = ByteBuffer.allocate(40 + tail).order(ByteOrder.LITTLE_ENDIAN);
        b.put("MAMBAST1".getBytes(StandardCharsets.US_ASCII)).putInt(StateCodec.VERSION).putInt(layers).putInt(dInner)
                .putInt(convWidth).putInt(dState).putLong(0).putInt(0);
        return b.array();
    }

    @Test
    void roundTripsArraysLongerThanOneReadBlock() throws IOException {
        SequenceState s = new SequenceState(2, 300, 3, 301, 2);
        Random rnd = new Random(5);
        for (int l = 0; l < 2; l++) {
            for (int i = 0; i < s.conv[l].length; i++) {
                s.conv[l][i] = rnd.nextFloat();
            }
            for (int i = 0; i < s.ssm[l].length; i++) {
                s.ssm[l][i] = rnd.nextFloat();
            }
        }
        s.extras[0] = 1.5;
        s.extras[1] = -2;
        s.position = 12345;
        byte[] bytes = StateCodec.encode(s);
        SequenceState t = StateCodec.read(new ByteArrayInputStream(bytes), "mem", -1);
        assertEquals(12345, t.position);
        for (int l = 0; l < 2; l++) {
            assertArrayEquals(s.conv[l], t.conv[l]);
            assertArrayEquals(s.ssm[l], t.ssm[l]);
        }
        assertArrayEquals(s.extras, t.extras);
        assertArrayEquals(bytes, StateCodec.encode(StateCodec.decode(bytes, "mem")));
    }

    @Test
    void corruptHeaderOnAStreamFailsAsTruncatedWithoutAllocatingItsSizes() {
        // d_inner 32768 × d_state 65535 is 8 GiB of floats; the stream holds 4 bytes of them
        byte[] b = header(1, 32768, 0, 65535, 4);
        IOException e = assertThrows(IOException.class, () -> StateCodec.read(new ByteArrayInputStream(b), "s.bin", -1));
        assertEquals("s.bin: state truncated while reading the ssm state of layer 0", e.getMessage());
        // 2^29 floats: 4 × length overflowed int
        byte[] c = header(1, 1 << 15, 0, 1 << 14, 0);
        e = assertThrows(IOException.class, () -> StateCodec.read(new ByteArrayInputStream(c), "c.bin", -1));
        assertEquals("c.bin: state truncated while reading the ssm state of layer 0", e.getMessage());
    }

    @Test
    void anArrayLongerThanTheJvmAllowsIsACorruptHeader() {
        // one layer, d_inner × d_state = 2^31: within the total limit but not one Java array
        byte[] b = header(1, 1 << 16, 0, 1 << 15, 0);
        IOException e = assertThrows(IOException.class, () -> StateCodec.read(new ByteArrayInputStream(b), "s.bin", -1));
        assertEquals("s.bin: corrupt state header (layers=1, d_inner=65536, conv_width=0, d_state=32768, extras=0, "
                + "position=0)", e.getMessage());
    }
}
