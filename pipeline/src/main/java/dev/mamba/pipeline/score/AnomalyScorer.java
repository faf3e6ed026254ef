package dev.mamba.pipeline.score;

/**
 * Turns one-step-ahead prediction errors into an anomaly score, causally per series. The error of a
 * step is the RMS over features of (actual − predicted), in the normalised units of the step before;
 * the score is that error divided by the RMS of past errors (exponentially weighted), i.e. "how many
 * times the usual error". The first {@code warmup} errors score 0 and are not remembered: they come
 * from the normaliser's start-up (the second step is always at the ±20 clip) and would hold the
 * running RMS, and so every later score, down for thousands of steps. Measured on 48 labelled series
 * (models/timeseries/MODEL_CARD.md): event F1 0.35 when they are remembered, 0.58 when skipped.
 */
public final class AnomalyScorer {
    private final double alpha;
    private final double threshold;
    private final long warmup;
    private double meanSq;
    private long n;
    private long seen;

    public AnomalyScorer(double halfLife, double threshold, long warmup) {
        this.alpha = 1 - Math.pow(0.5, 1 / halfLife);
        this.threshold = threshold;
        this.warmup = warmup;
    }

    /** Score of this error (then folds it into the history); 0 within the warm-up. */
    public double score(double error) {
        if (seen++ < warmup) {
            return 0;
        }
        double s = n == 0 ? 0 : error / Math.sqrt(meanSq + 1e-12);
        double w = Math.max(alpha, 1.0 / (n + 1));
        meanSq += w * (error * error - meanSq);
        n++;
        return s;
    }

    /** Whether a score flags an anomaly, given how many errors came before it. */
    public boolean flags(double score, long errorsBefore) {
        return errorsBefore >= warmup && score > threshold;
    }

    /** Errors seen, warm-up included (what {@link #flags} compares with the warm-up). */
    public long count() {
        return seen;
    }

    public double threshold() {
        return threshold;
    }
}
