package dev.mamba.pipeline.batch;

import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.InputFormatException;
import org.apache.arrow.memory.ArrowBuf;

/** Numeric chunks (audio frames, time-series values) → model input features, as they are. */
public final class FeatureEncoder implements StepEncoder {
    private final int features;

    public FeatureEncoder(int features) {
        this.features = features;
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
            buf.setFloat(byteOffset + 4L * i, v[i]);
        }
    }
}
