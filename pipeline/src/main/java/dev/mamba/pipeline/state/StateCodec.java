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
    /** Longest float array the JVM allocates (a little under Integer.MAX_VALUE). */
    private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;
    /** Floats read per block: a header's sizes are believed only as far as the stream backs them with bytes. */
    private static final int BLOCK_FLOATS = 1 << 16;

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
                || (long) dInner * Math.max(convWidth, dState) > MAX_ARRAY || extras > (1 << 20) || position < 0) {
            throw new IOException(source + ": corrupt state header (layers=" + layers + ", d_inner=" + dInner
                    + ", conv_width=" + convWidth + ", d_state=" + dState + ", extras=" + extras + ", position="
                    + position + ")");
        }
        long expected = HEADER + 4 * floats + 8L * extras + 4;
        if (available >= 0 && available != expected) {
            throw new IOException(source + ": state is " + available + " bytes, its header implies " + expected);
        }
        // The arrays are allocated as their bytes arrive, not from the header's sizes: a corrupt header on a
        // stream of unknown length then fails as truncated after reading what is there, instead of an OOM.
        java.util.List<float[]> conv = new java.util.ArrayList<>(), ssm = new java.util.ArrayList<>();
        for (int l = 0; l < layers; l++) {
            conv.add(readFloats(din, crc, (long) dInner * convWidth, source, "conv state of layer " + l));
            ssm.add(readFloats(din, crc, (long) dInner * dState, source, "ssm state of layer " + l));
        }
        byte[] ex = readFully(din, 8 * extras, source, "extras");
        crc.update(ex);
        double[] exValues = new double[extras];
        ByteBuffer.wrap(ex).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(exValues);
        int stored = ByteBuffer.wrap(readFully(din, 4, source, "checksum")).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if (stored != (int) crc.getValue()) {
            throw new IOException(source + ": state checksum mismatch (stored " + Integer.toHexString(stored)
                    + ", computed " + Long.toHexString(crc.getValue()) + "): the state is corrupt");
        }
        SequenceState s = new SequenceState(layers, dInner, convWidth, dState, conv.toArray(new float[0][]),
                ssm.toArray(new float[0][]), exValues);
        s.position = position;
        return s;
    }

    /**
     * Reads {@code n} floats in blocks of {@link #BLOCK_FLOATS}; the array of {@code n} is allocated only once
     * they have all been read, so memory stays within twice the bytes actually present plus one block.
     */
    private static float[] readFloats(DataInputStream in, CRC32 crc, long n, String source, String what)
            throws IOException {
        java.util.List<float[]> blocks = new java.util.ArrayList<>();
        for (long left = n; left > 0; left -= BLOCK_FLOATS) {
            int k = (int) Math.min(BLOCK_FLOATS, left);
            byte[] b = readFully(in, 4 * k, source, what);
            crc.update(b);
            float[] block = new float[k];
            ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(block);
            blocks.add(block);
        }
        float[] dst = new float[(int) n];
        int at = 0;
        for (int i = 0; i < blocks.size(); i++) {
            float[] block = blocks.set(i, null);
            System.arraycopy(block, 0, dst, at, block.length);
            at += block.length;
        }
        return dst;
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
