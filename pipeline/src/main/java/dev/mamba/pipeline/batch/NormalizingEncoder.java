package dev.mamba.pipeline.batch;

import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.InputFormatException;
import dev.mamba.pipeline.score.SeriesState;
import org.apache.arrow.memory.ArrowBuf;

/**
 * Numeric chunks → causally standardised features (see {@link dev.mamba.pipeline.score.CausalNormalizer}),
 * with the normaliser carried per sequence in its {@link SeriesState} (the slot's attachment).
 */
public final class NormalizingEncoder implements StepEncoder {
    private final int features;

    public NormalizingEncoder(int features) {
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
        if (c.isText() || c.features() != features) {
            throw InputFormatException.atRecord(c.file(), c.sequenceId(), (c.isText() ? "text" : c.features()
                    + " features per step") + " given to a continuous model that takes " + features);
        }
        float[] v = c.values();
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                throw InputFormatException.atRecord(c.file(), c.sequenceId(), "step " + (c.start() + i / features)
                        + ": value " + v[i] + " is not finite");
            }
        }
        float[] z = ((SeriesState) s.attachment).normalize(v, c.length());
        for (int i = 0; i < c.length() * features; i++) {
            buf.setFloat(byteOffset + 4L * i, z[i]);
        }
    }
}
