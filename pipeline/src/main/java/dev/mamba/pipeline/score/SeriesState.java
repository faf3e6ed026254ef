package dev.mamba.pipeline.score;

/**
 * What a continuous sequence carries for scoring: the input normaliser, the error scorer, the last
 * prediction (normalised units) and, for the chunk in flight, each step's normalised input and the
 * moments it was normalised with (so predictions can be mapped back to the original units).
 */
public final class SeriesState {
    public final int features;
    public final CausalNormalizer normalizer;
    public final AnomalyScorer scorer;
    /** Prediction of the next step's z, from the previous step; null before the first step. */
    public float[] prevPrediction;
    /** For the chunk in flight: z of each step [t·k + f], and the mean/scale used to normalise it. */
    public float[] z = new float[0];
    public double[] mean = new double[0];
    public double[] scale = new double[0];
    /** Scores over the whole sequence so far. */
    public double maxScore;
    public long anomalies;

    public SeriesState(int features, double normHalfLife, double errorHalfLife, double threshold, long warmup) {
        this.features = features;
        this.normalizer = new CausalNormalizer(features, normHalfLife);
        this.scorer = new AnomalyScorer(errorHalfLife, threshold, warmup);
    }

    /** Normalises a chunk's steps, keeping what scoring needs; returns z (length × k). */
    public float[] normalize(float[] values, int length) {
        int k = features;
        if (z.length < length * k) {
            z = new float[length * k];
            mean = new double[length * k];
            scale = new double[length * k];
        }
        for (int t = 0; t < length; t++) {
            for (int f = 0; f < k; f++) {
                mean[t * k + f] = normalizer.mean(f);
                scale[t * k + f] = normalizer.scale(f);
            }
            normalizer.step(values, t * k, z, t * k);
        }
        return z;
    }
}
