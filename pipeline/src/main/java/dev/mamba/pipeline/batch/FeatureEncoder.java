package dev.mamba.pipeline.batch;

import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.InputFormatException;
import dev.mamba.pipeline.score.SeriesState;
import org.apache.arrow.memory.ArrowBuf;

/**
 * Numeric chunks (audio frames, time-series values) → model input features, written straight into the
 * Arrow input buffer: as they are (embedding), or causally standardised per sequence (scoring; see
 * {@link dev.mamba.pipeline.score.CausalNormalizer}) with the normaliser carried in the sequence's
 * {@link SeriesState}, the slot's attachment.
 */
public final class FeatureEncoder implements StepEncoder {
    private final int features;
    private final boolean normalize;

    public FeatureEncoder(int features, boolean normalize) {
        this.features = features;
        this.normalize = normalize;
    }

    @Override
    public boolean tokens() {
        return false;
    }

    @Override
    public int features() {
        return features;
    }

    @Override
    public void encodeFeatures(Chunk c, SequenceSlot s, ArrowBuf buf, long byteOffset) throws InputFormatException {
        if (c.isText()) {
            throw InputFormatException.atRecord(c.file(), c.sequenceId(),
                    "text input given to a continuous model (use a token model with a vocab.json)");
        }
        if (c.features() != features) {
            throw InputFormatException.atRecord(c.file(), c.sequenceId(), c.features()
                    + " features per step, the model expects " + features);
        }
        float[] v = c.values();
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                throw InputFormatException.atRecord(c.file(), c.sequenceId(), "step " + (c.start() + i / features)
                        + ": value " + v[i] + " is not finite");
            }
        }
        float[] in = normalize ? ((SeriesState) s.attachment).normalize(v, c.length()) : v;
        for (int i = 0; i < c.length() * features; i++) {
            buf.setFloat(byteOffset + 4L * i, in[i]);
        }
    }
}
