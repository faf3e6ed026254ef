package dev.mamba.pipeline.io.wav;

import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.ChunkReader;
import dev.mamba.pipeline.io.InputFormatException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Streams a RIFF/WAVE file as numeric {@link Chunk}s; one file is one sequence and one split.
 *
 * <p>Decodes PCM 8-bit unsigned, 16/24/32-bit signed little-endian, 32-bit IEEE float, and
 * WAVE_FORMAT_EXTENSIBLE with the PCM or IEEE-float sub-format, any channel count and sample rate, to floats
 * in [-1, 1] ({@link WavEncoding} gives each mapping). Chunks other than fmt and data (LIST, fact, cue …)
 * are skipped, with the pad byte after an odd-sized chunk. A data chunk whose size is a streaming writer's
 * placeholder (0xFFFFFFFF; 0 with samples after it in a RIFF chunk that ends at the data header; or any
 * size past the end of the file when the RIFF size is 0 or 0xFFFFFFFF) is read to the end of the file.
 * Any other data chunk that runs past the end of the file, or a file that does not end on a whole sample
 * frame, is a truncation error, raised when the reader is opened.
 *
 * <p>Steps: {@code frameSize} consecutive sample frames form one step with
 * {@code features = frameSize × channels} values, interleaved per sample as in the file
 * ({@code [s0c0, s0c1, …, s1c0, s1c1, …]}), or {@code features = frameSize} with {@code mixToMono}
 * (mean of the channels). {@link Chunk#start()} and {@link Chunk#length()} count steps. The last step is
 * zero-padded to a whole frame; {@link #paddedSamples()} says by how many sample frames. A file without
 * samples yields one chunk of length 0.
 */
public final class WavReader implements ChunkReader {
    private static final int WAVE_FORMAT_PCM = 1;
    private static final int WAVE_FORMAT_IEEE_FLOAT = 3;
    private static final int WAVE_FORMAT_EXTENSIBLE = 0xFFFE;
    /** Bytes 4..15 of KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT ({xxxxxxxx-0000-0010-8000-00aa00389b71}). */
    private static final byte[] GUID_TAIL = {0x00, 0x00, 0x10, 0x00, (byte) 0x80, 0x00, 0x00, (byte) 0xAA, 0x00, 0x38,
        (byte) 0x9B, 0x71};
    static final String SUPPORTED = "supported: PCM 8/16/24/32-bit, IEEE float 32-bit";

    private final String file;
    private final FileChannel ch;
    private final WavHeader header;
    private final WavOptions options;
    private final String sequenceId;
    private final int features;
    private final long steps;
    private final long paddedSamples;
    private final ByteBuffer io;
    private long framesRead;
    private long stepsDone;
    private long chunkIndex;
    private boolean done;
    private boolean closed;

    /** Opens with {@link WavOptions#defaults()}. */
    public WavReader(Path file) throws IOException {
        this(file, WavOptions.defaults());
    }

    /** Opens the file and parses its header; the samples are read chunk by chunk by {@link #next()}. */
    public WavReader(Path path, WavOptions options) throws IOException {
        this.file = path.toString();
        this.options = options;
        this.ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            this.header = parseHeader();
            ch.position(header.dataOffset());
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        String name = path.getFileName().toString();
        int dot = name.lastIndexOf('.');
        this.sequenceId = options.sequenceId() != null ? options.sequenceId() : dot > 0 ? name.substring(0, dot) : name;
        this.features = options.mixToMono() ? options.frameSize() : options.frameSize() * header.channels();
        long fs = options.frameSize();
        this.steps = (header.frames() + fs - 1) / fs;
        this.paddedSamples = steps * fs - header.frames();
        int block = header.blockAlign();
        this.io = ByteBuffer.allocate(Math.max(1, (1 << 16) / block) * block).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The parsed fmt/data header. */
    public WavHeader header() {
        return header;
    }

    /** Values per step: frameSize × channels, or frameSize when mixing to mono. */
    public int features() {
        return features;
    }

    /** Steps in the file: ceil(frames / frameSize). */
    public long steps() {
        return steps;
    }

    /** Zero sample frames appended to complete the last step (0 when frameSize divides the frame count). */
    public long paddedSamples() {
        return paddedSamples;
    }

    /** The sequence id every chunk carries. */
    public String sequenceId() {
        return sequenceId;
    }

    @Override
    public Chunk next() throws IOException {
        if (done) {
            return null; // also after close()
        }
        int n = (int) Math.min(options.chunkLen(), steps - stepsDone);
        long frameSize = options.frameSize();
        long framesWanted = Math.min((long) n * frameSize, header.frames() - framesRead);
        float[] values = new float[Math.multiplyExact(n, features)];
        decode(values, framesWanted);
        boolean last = stepsDone + n == steps;
        Chunk c = Chunk.numeric(sequenceId, file, chunkIndex, stepsDone, n, last, values, features);
        chunkIndex++;
        stepsDone += n;
        done = last;
        return c;
    }

    /** Reads {@code frames} sample frames into {@code out} from its start; the rest stays zero (padding). */
    private void decode(float[] out, long frames) throws IOException {
        int channels = header.channels();
        boolean mix = options.mixToMono();
        float mixScale = 1f / channels;
        int block = header.blockAlign();
        WavEncoding enc = header.encoding();
        int o = 0;
        long left = frames;
        while (left > 0) {
            io.clear();
            io.limit((int) Math.min(io.capacity(), left * block));
            while (io.hasRemaining()) {
                if (ch.read(io) < 0) {
                    long got = header.dataOffset() + (framesRead + (frames - left)) * block + io.position();
                    throw new InputFormatException(file + ": truncated: the file ended at byte " + got
                            + " inside the data chunk, which should end at byte " + (header.dataOffset()
                            + header.dataBytes()));
                }
            }
            io.flip();
            int got = io.limit() / block;
            for (int f = 0; f < got; f++) {
                float acc = 0;
                for (int c = 0; c < channels; c++) {
                    float v;
                    switch (enc) {
                        case PCM_U8:
                            v = ((io.get() & 0xFF) - 128) / 128f;
                            break;
                        case PCM_S16:
                            v = io.getShort() / 32768f;
                            break;
                        case PCM_S24: {
                            int s = (io.get() & 0xFF) | (io.get() & 0xFF) << 8 | io.get() << 16;
                            v = s / 8388608f;
                            break;
                        }
                        case PCM_S32:
                            v = (float) (io.getInt() / 2147483648.0);
                            break;
                        case FLOAT32:
                            v = io.getFloat();
                            if (!Float.isFinite(v)) {
                                throw new InputFormatException(file + ": sample frame "
                                        + (framesRead + frames - left + f) + ", channel " + c + " is " + v);
                            }
                            break;
                        default:
                            throw new AssertionError(enc);
                    }
                    if (mix) {
                        acc += v;
                    } else {
                        out[o++] = v;
                    }
                }
                if (mix) {
                    out[o++] = acc * mixScale;
                }
            }
            left -= got;
        }
        framesRead += frames;
    }

    // ---- header ----

    private WavHeader parseHeader() throws IOException {
        long size = ch.size();
        ByteBuffer riff = readAt(0, 12);
        if (riff.remaining() < 4) {
            throw new InputFormatException(file + ": not a WAV file: only " + size + " bytes");
        }
        String magic = fourCc(riff, 0);
        if (!magic.equals("RIFF")) {
            String what = magic.equals("RF64") ? "RF64 (64-bit WAV) is not supported"
                    : magic.equals("RIFX") ? "big-endian RIFX is not supported"
                    : "not a RIFF/WAVE file: starts with " + quote(riff, 0);
            throw new InputFormatException(file + ": " + what);
        }
        if (riff.remaining() < 12) {
            throw new InputFormatException(file + ": truncated: RIFF header needs 12 bytes, file has " + size);
        }
        long riffSize = riff.getInt(4) & 0xFFFFFFFFL;
        if (!fourCc(riff, 8).equals("WAVE")) {
            throw new InputFormatException(file + ": not a RIFF/WAVE file: RIFF form type is " + quote(riff, 8));
        }
        List<String> seen = new ArrayList<>();
        Fmt fmt = null;
        long off = 12;
        while (true) {
            ByteBuffer h = readAt(off, 8);
            if (h.remaining() == 0) {
                break;
            }
            if (h.remaining() < 8) {
                throw new InputFormatException(file + ": truncated: the file ends inside a chunk header at byte " + off);
            }
            String id = fourCc(h, 0);
            long chunkSize = h.getInt(4) & 0xFFFFFFFFL;
            long body = off + 8;
            seen.add(id.trim());
            if (id.equals("fmt ")) {
                if (chunkSize < 16) {
                    throw new InputFormatException(file + ": fmt chunk has " + chunkSize + " bytes, needs at least 16");
                }
                ByteBuffer f = readAt(body, (int) Math.min(chunkSize, 1024));
                if (f.remaining() < Math.min(chunkSize, 1024)) {
                    throw new InputFormatException(file + ": truncated: the file ends inside the fmt chunk");
                }
                fmt = parseFmt(f, (int) Math.min(chunkSize, 1024));
            } else if (id.equals("data")) {
                if (fmt == null) {
                    throw new InputFormatException(file + ": data chunk at byte " + off + " comes before any fmt chunk");
                }
                return dataHeader(fmt, body, chunkSize, size, riffSize);
            }
            off = body + chunkSize + (chunkSize & 1);
            if (off > size) {
                throw new InputFormatException(file + ": truncated: chunk '" + id + "' at byte " + (body - 8)
                        + " declares " + chunkSize + " bytes, the file ends " + (off - size) + " bytes short");
            }
        }
        String missing = fmt == null ? "no fmt chunk and no data chunk" : "no data chunk";
        throw new InputFormatException(file + ": " + missing + " (chunks found: " + seen + ")");
    }

    private WavHeader dataHeader(Fmt fmt, long dataOffset, long declared, long fileSize, long riffSize)
            throws IOException {
        long available = fileSize - dataOffset;
        // A writer that cannot seek back (ffmpeg/sox to a pipe, Python's wave on a stream) leaves a placeholder:
        // data size 0xFFFFFFFF, or 0 with the RIFF size also counting no samples, or RIFF size 0/0xFFFFFFFF.
        // Only those mean "read to the end of the file": a real size past the end means the file was cut short
        // (on a frame boundary that would otherwise pass unnoticed).
        boolean riffPlaceholder = riffSize == 0 || riffSize == 0xFFFFFFFFL;
        boolean fromFile = declared == 0xFFFFFFFFL
                || declared == 0 && available > 0 && (riffPlaceholder || riffSize + 8 <= dataOffset)
                || declared > available && riffPlaceholder;
        if (!fromFile && declared > available) {
            throw new InputFormatException(file + ": truncated: data chunk at byte " + (dataOffset - 8) + " declares "
                    + declared + " bytes, the file holds " + available + " of them");
        }
        long bytes = fromFile ? available : declared;
        if (bytes % fmt.blockAlign != 0) {
            String frame = fmt.blockAlign + "-byte sample frames (" + fmt.channels + " channels × "
                    + fmt.encoding.bytes + " bytes)";
            if (fromFile) {
                throw new InputFormatException(file + ": truncated: the file ends mid-frame: " + bytes
                        + " data bytes is not a whole number of " + frame);
            }
            throw new InputFormatException(file + ": data chunk size " + bytes + " is not a whole number of " + frame);
        }
        return new WavHeader(fmt.tag, fmt.sub, fmt.encoding, fmt.channels, fmt.sampleRate, fmt.bits, fmt.validBits,
                fmt.blockAlign, dataOffset, bytes, bytes / fmt.blockAlign, fromFile);
    }

    private record Fmt(int tag, int sub, WavEncoding encoding, int channels, int sampleRate, int bits, int validBits,
                       int blockAlign) {
    }

    private Fmt parseFmt(ByteBuffer f, int len) throws InputFormatException {
        int tag = f.getShort(0) & 0xFFFF;
        int channels = f.getShort(2) & 0xFFFF;
        long sampleRate = f.getInt(4) & 0xFFFFFFFFL;
        int blockAlign = f.getShort(12) & 0xFFFF;
        int bits = f.getShort(14) & 0xFFFF;
        int sub = tag;
        int validBits = bits;
        if (tag == WAVE_FORMAT_EXTENSIBLE) {
            int cbSize = len >= 18 ? f.getShort(16) & 0xFFFF : 0;
            if (len < 40 || cbSize < 22) {
                throw new InputFormatException(file + ": WAVE_FORMAT_EXTENSIBLE fmt chunk has " + len
                        + " bytes (cbSize " + cbSize + "), needs 40 (cbSize 22)");
            }
            validBits = f.getShort(18) & 0xFFFF;
            sub = f.getInt(24);
            for (int i = 0; i < GUID_TAIL.length; i++) {
                if (f.get(28 + i) != GUID_TAIL[i]) {
                    throw new InputFormatException(file + ": WAVE_FORMAT_EXTENSIBLE sub-format " + guid(f, 24)
                            + " is not supported; " + SUPPORTED);
                }
            }
            if (validBits == 0) {
                validBits = bits;
            }
            if (validBits > bits) {
                throw new InputFormatException(file + ": valid bits per sample " + validBits + " > container bits "
                        + bits);
            }
        }
        WavEncoding enc;
        if (sub == WAVE_FORMAT_PCM) {
            switch (bits) {
                case 8: enc = WavEncoding.PCM_U8; break;
                case 16: enc = WavEncoding.PCM_S16; break;
                case 24: enc = WavEncoding.PCM_S24; break;
                case 32: enc = WavEncoding.PCM_S32; break;
                default:
                    throw new InputFormatException(file + ": PCM " + bits + "-bit is not supported; " + SUPPORTED);
            }
        } else if (sub == WAVE_FORMAT_IEEE_FLOAT) {
            if (bits != 32) {
                throw new InputFormatException(file + ": IEEE float " + bits + "-bit is not supported; " + SUPPORTED);
            }
            enc = WavEncoding.FLOAT32;
        } else {
            throw new InputFormatException(file + ": " + formatName(sub)
                    + (tag == WAVE_FORMAT_EXTENSIBLE ? " (in WAVE_FORMAT_EXTENSIBLE)" : "") + " is not supported; "
                    + SUPPORTED);
        }
        if (channels == 0) {
            throw new InputFormatException(file + ": fmt chunk says 0 channels");
        }
        if (sampleRate == 0 || sampleRate > Integer.MAX_VALUE) {
            throw new InputFormatException(file + ": fmt chunk says sample rate " + sampleRate);
        }
        if (blockAlign != channels * enc.bytes) {
            throw new InputFormatException(file + ": block align " + blockAlign + " != " + channels + " channels × "
                    + enc.bytes + " bytes per sample");
        }
        return new Fmt(tag, sub, enc, channels, (int) sampleRate, bits, validBits, blockAlign);
    }

    /** A format code's usual name with its number, e.g. "A-law (6)". */
    static String formatName(int code) {
        String name;
        switch (code) {
            case 0x0002: name = "Microsoft ADPCM"; break;
            case 0x0006: name = "A-law"; break;
            case 0x0007: name = "mu-law"; break;
            case 0x0011: name = "IMA ADPCM"; break;
            case 0x0031: name = "GSM 6.10"; break;
            case 0x0050: name = "MPEG"; break;
            case 0x0055: name = "MPEG Layer 3"; break;
            case 0x00FF: name = "AAC"; break;
            case 0xF1AC: name = "FLAC"; break;
            default: name = "format code";
        }
        return name + " (" + (code & 0xFFFFFFFFL) + ")";
    }

    private ByteBuffer readAt(long off, int len) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, off + b.position()) < 0) {
                break;
            }
        }
        b.flip();
        return b;
    }

    private static String fourCc(ByteBuffer b, int at) {
        byte[] a = new byte[4];
        for (int i = 0; i < 4; i++) {
            a[i] = at + i < b.limit() ? b.get(at + i) : 0;
        }
        return new String(a, StandardCharsets.ISO_8859_1);
    }

    private static String quote(ByteBuffer b, int at) {
        StringBuilder sb = new StringBuilder("'");
        StringBuilder hex = new StringBuilder();
        for (int i = at; i < Math.min(b.limit(), at + 4); i++) {
            int v = b.get(i) & 0xFF;
            sb.append(v >= 0x20 && v < 0x7F ? (char) v : '.');
            hex.append(String.format("%s%02x", hex.length() == 0 ? "" : " ", v));
        }
        return sb.append("' (").append(hex).append(')').toString();
    }

    private static String guid(ByteBuffer b, int at) {
        return String.format("{%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x}", b.getInt(at),
                b.getShort(at + 4) & 0xFFFF, b.getShort(at + 6) & 0xFFFF, b.get(at + 8), b.get(at + 9),
                b.get(at + 10), b.get(at + 11), b.get(at + 12), b.get(at + 13), b.get(at + 14), b.get(at + 15));
    }

    @Override
    public void close() throws IOException {
        if (!closed) {
            closed = true;
            done = true;
            ch.close();
        }
    }
}
