package dev.mamba.pipeline.batch;

import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.InputFormatException;
import org.apache.arrow.memory.ArrowBuf;

/** Turns a chunk's payload into model inputs, written straight into Arrow buffers. */
public interface StepEncoder {

    /** True for token models (ints), false for continuous models (floats). */
    boolean tokens();

    /** Features per step (continuous models). */
    default int features() {
        return 0;
    }

    /**
     * Writes the chunk's {@code length()} token ids as little-endian ints at {@code buf[byteOffset..]}.
     *
     * @throws InputFormatException naming the sequence and position of a symbol that cannot be encoded
     */
    default void encodeTokens(Chunk c, SequenceSlot s, ArrowBuf buf, long byteOffset) throws InputFormatException {
        throw new UnsupportedOperationException("not a token encoder");
    }

    /** The id of the chunk's first step, or −1 if it cannot be encoded (used as the previous chunk's last target). */
    default int firstToken(Chunk c) {
        return -1;
    }

    /** Writes {@code length() × features()} floats at {@code buf[byteOffset..]} (may normalise using {@code s}). */
    default void encodeFeatures(Chunk c, SequenceSlot s, ArrowBuf buf, long byteOffset) throws InputFormatException {
        throw new UnsupportedOperationException("not a feature encoder");
    }
}
