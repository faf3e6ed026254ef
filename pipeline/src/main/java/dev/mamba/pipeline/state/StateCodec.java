package dev.mamba.pipeline.state;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32;

/**
 * Versioned byte layout of a {@link SequenceState}, so a job can checkpoint and resume. All numbers
 * little-endian:
 * <pre>
 *   offset  size  field
 *   0       8     magic "MAMBAST1"
 *   8       4     u32 layout version (= 1)
 *   12      4     u32 num_layers
 *   16      4     u32 d_inner
 *   20      4     u32 conv_width (= conv_kernel − 1)
 *   24      4     u32 d_state
 *   28      8     i64 position (steps consumed)
 *   36      4     u32 extras count E
 *   40      ...   per layer l: conv[l] (d_inner·conv_width f32), then ssm[l] (d_inner·d_state f32)
 *   ...     8·E   extras (f64)
 *   end−4   4     u32 CRC-32 of every byte before it
 * </pre>
 */
public final class StateCodec {
    public static final int VERSION = 1;
    private static final byte[] MAGIC = {'M', 'A', 'M', 'B', 'A', 'S', 'T', '1'};
    private static final int HEADER = 40;
    /** Refuse absurd dimensions before allocating (a corrupt header must not cause an OOM). */
    private static final long MAX_FLOATS = 1L << 31;

    private StateCodec() {
    }

    /** Serialised size in bytes. */
    public static long size(SequenceState s) {
        return HEADER + s.stateBytes() + 8L * s.extras.length + 4;
    }

    public static byte[] encode(SequenceState s) {
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) size(s));
        try {
            write(s, out);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toByteArray();
    }

    public static void write(SequenceState s, OutputStream out) throws IOException {
        CRC32 crc = new CRC32();
        ByteBuffer head = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
        head.put(MAGIC).putInt(VERSION).putInt(s.numLayers).putInt(s.dInner).putInt(s.convWidth).putInt(s.dState)
                .putLong(s.position).putInt(s.extras.length);
        emit(out, crc, head.array(), HEADER);
        ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        for (int l = 0; l < s.numLayers; l++) {
            for (float[] part : new float[][]{s.conv[l], s.ssm[l]}) {
                for (float v : part) {
                    if (buf.remaining() < 4) {
                        emit(out, crc, buf.array(), buf.position());
                        buf.clear();
                    }
                    buf.putFloat(v);
                }
            }
        }
        for (double v : s.extras) {
            if (buf.remaining() < 8) {
                emit(out, crc, buf.array(), buf.position());
                buf.clear();
            }
            buf.putDouble(v);
        }
        emit(out, crc, buf.array(), buf.position());
        ByteBuffer tail = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) crc.getValue());
        out.write(tail.array());
    }

    private static void emit(OutputStream out, CRC32 crc, byte[] b, int n) throws IOException {
        crc.update(b, 0, n);
        out.write(b, 0, n);
    }

    /** Decodes and checks magic, version, sizes and checksum; {@code source} names the input in errors. */
    public static SequenceState decode(byte[] bytes, String source) {
        try {
            return read(new java.io.ByteArrayInputStream(bytes), source, bytes.length);
        } catch (IOException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** Reads one state; {@code available} is the byte count if known (else −1) for a truncation check. */
    public static SequenceState read(InputStream in, String source, long available) throws IOException {
        CRC32 crc = new CRC32();
        DataInputStream din = new DataInputStream(in);
        byte[] head = readFully(din, HEADER, source, "header");
        crc.update(head);
        ByteBuffer h = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[8];
        h.get(magic);
        if (!java.util.Arrays.equals(magic, MAGIC)) {
            throw new IOException(source + ": not a Mamba state (magic " + printable(magic) + ", expected MAMBAST1)");
        }
        int version = h.getInt();
        if (version != VERSION) {
            throw new IOException(source + ": state layout version " + version + " is not supported (this build reads "
                    + VERSION + ")");
        }
        int layers = h.getInt(), dInner = h.getInt(), convWidth = h.getInt(), dState = h.getInt();
        long position = h.getLong();
        int extras = h.getInt();
        long floats = (long) layers * dInner * ((long) convWidth + dState);
        if (layers <= 0 || dInner <= 0 || convWidth < 0 || dState <= 0 || extras < 0 || floats > MAX_FLOATS
                || extras > (1 << 20) || position < 0) {
            throw new IOException(source + ": corrupt state header (layers=" + layers + ", d_inner=" + dInner
                    + ", conv_width=" + convWidth + ", d_state=" + dState + ", extras=" + extras + ", position="
                    + position + ")");
        }
        long expected = HEADER + 4 * floats + 8L * extras + 4;
        if (available >= 0 && available != expected) {
            throw new IOException(source + ": state is " + available + " bytes, its header implies " + expected);
        }
        SequenceState s = new SequenceState(layers, dInner, convWidth, dState, extras);
        s.position = position;
        for (int l = 0; l < layers; l++) {
            readFloats(din, crc, s.conv[l], source, "conv state of layer " + l);
            readFloats(din, crc, s.ssm[l], source, "ssm state of layer " + l);
        }
        byte[] ex = readFully(din, 8 * extras, source, "extras");
        crc.update(ex);
        ByteBuffer eb = ByteBuffer.wrap(ex).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < extras; i++) {
            s.extras[i] = eb.getDouble();
        }
        int stored = ByteBuffer.wrap(readFully(din, 4, source, "checksum")).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if (stored != (int) crc.getValue()) {
            throw new IOException(source + ": state checksum mismatch (stored " + Integer.toHexString(stored)
                    + ", computed " + Long.toHexString(crc.getValue()) + "): the state is corrupt");
        }
        return s;
    }

    private static void readFloats(DataInputStream in, CRC32 crc, float[] dst, String source, String what)
            throws IOException {
        byte[] b = readFully(in, 4 * dst.length, source, what);
        crc.update(b);
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(dst);
    }

    private static byte[] readFully(DataInputStream in, int n, String source, String what) throws IOException {
        byte[] b = new byte[n];
        try {
            in.readFully(b);
        } catch (EOFException e) {
            throw new IOException(source + ": state truncated while reading the " + what, e);
        }
        return b;
    }

    private static String printable(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) {
            sb.append(x >= 32 && x < 127 ? String.valueOf((char) x) : String.format("\\x%02x", x & 0xff));
        }
        return sb.toString();
    }
}
