package dev.mamba.pipeline.batch;

import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.InputFormatException;
import dev.mamba.pipeline.io.vocab.Vocab;
import org.apache.arrow.memory.ArrowBuf;

/** Text chunks → token ids through a {@link Vocab}, written straight into the Arrow input buffer. */
public final class VocabEncoder implements StepEncoder {
    private final Vocab vocab;
    private final int modelVocab;

    /** {@code modelVocab}: rows of the model's embedding; every id the vocabulary yields must be below it. */
    public VocabEncoder(Vocab vocab, int modelVocab) {
        if (vocab.size() > modelVocab) {
            throw new IllegalArgumentException("vocabulary has ids up to " + (vocab.size() - 1)
                    + " but the model's embedding has only " + modelVocab + " rows");
        }
        this.vocab = vocab;
        this.modelVocab = modelVocab;
    }

    @Override
    public boolean tokens() {
        return true;
    }

    @Override
    public void encodeTokens(Chunk c, SequenceSlot s, ArrowBuf buf, long byteOffset) throws InputFormatException {
        if (!c.isText()) {
            throw InputFormatException.atRecord(c.file(), c.sequenceId(),
                    "numeric input given to a token model (use a continuous model for audio and time series)");
        }
        byte[] sym = c.symbols();
        for (int t = 0; t < c.length(); t++) {
            int id = vocab.id(sym[t]);
            if (id < 0) {
                // Let the vocabulary build its full message (names symbol, sequence, position, keys).
                vocab.encode(sym, t, 1, new int[1], 0, c.sequenceId(), c.start() + t);
                throw new IllegalStateException("unreachable");
            }
            buf.setInt(byteOffset + 4L * t, id);
        }
    }

    @Override
    public int firstToken(Chunk c) {
        if (!c.isText() || c.length() == 0) {
            return -1;
        }
        return vocab.id(c.symbols()[0]);
    }

    public int modelVocab() {
        return modelVocab;
    }
}
