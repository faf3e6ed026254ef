package dev.mamba.pipeline.batch;

import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.InputFormatException;
import dev.mamba.pipeline.io.vocab.Vocab;
import org.apache.arrow.memory.ArrowBuf;

import java.util.stream.Collectors;

/** Text chunks → token ids through a {@link Vocab}, written straight into the Arrow input buffer. */
public final class VocabEncoder implements StepEncoder {
    private final Vocab vocab;
    private final int modelVocab;

    /** {@code modelVocab}: rows of the model's embedding; every id the vocabulary yields must be below it. */
    public VocabEncoder(Vocab vocab, int modelVocab) {
        if (vocab.size() > modelVocab) {
            // name the keys to fix, not just the largest id
            String keys = vocab.entries().entrySet().stream().filter(e -> e.getValue() >= modelVocab)
                    .map(e -> "\"" + e.getKey() + "\": " + e.getValue()).collect(Collectors.joining(", "));
            throw new IllegalArgumentException(vocab.source() + ": " + keys + " out of range: the model's embedding has "
                    + modelVocab + " rows, so ids must be 0.." + (modelVocab - 1) + " (vocab_size in config.json)");
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
