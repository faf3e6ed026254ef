package dev.mamba.pipeline.checkpoint;

import dev.mamba.pipeline.config.MambaConfig;
import dev.mamba.pipeline.config.ModelFamily;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Fixtures for checkpoint tests: random model directories and hand-built safetensors files. */
public final class TestCheckpoints {
    private TestCheckpoints() {
    }

    /** A random HF MambaForCausalLM directory (config.json + model.safetensors in {@code dtype}); returns {@code dir}. */
    public static Path writeRandom(Path dir, MambaConfig cfg, long seed, boolean tied, String dtype) throws IOException {
        return RandomCheckpoint.writeRandom(dir, cfg, seed, tied, dtype);
    }

    /** A small token model: hidden 16, 2 layers, vocab 37, state 4, conv 4, inner 32, dt rank 3. */
    public static MambaConfig tiny() {
        return tokens(16, 2, 37, 4, 4, 32, 3, true, false, true);
    }

    /** A token model with the given sizes (eps 1e-5, residual in fp32). */
    public static MambaConfig tokens(int hidden, int layers, int vocab, int state, int conv, int inner, int rank,
                                     boolean convBias, boolean bias, boolean tied) {
        return new MambaConfig(ModelFamily.TOKENS, hidden, layers, vocab, state, conv, inner, rank, convBias, bias,
                1e-5f, true, tied, 0, 0);
    }

    /** A small continuous model: hidden 16, 2 layers, 3 features in, 2 out. */
    public static MambaConfig tinyContinuous() {
        return new MambaConfig(ModelFamily.CONTINUOUS, 16, 2, 0, 4, 4, 32, 3, true, false, 1e-5f, true, false, 3, 2);
    }

    /** Writes a raw safetensors file: length, {@code header} verbatim, then {@code data}. */
    public static Path rawFile(Path file, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Files.write(file, b.array());
        return file;
    }

    /** Little-endian bytes of 16-bit values. */
    public static byte[] le16(int... v) {
        ByteBuffer b = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : v) {
            b.putShort((short) x);
        }
        return b.array();
    }

    /** Little-endian bytes of floats. */
    public static byte[] le32(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putFloat(x);
        }
        return b.array();
    }
}
