package dev.mamba.pipeline.score;

/**
 * Causal per-feature standardisation: step t is scaled with the mean and variance of steps before t
 * only, so a score never looks ahead. The moments are exponentially weighted with the given
 * half-life; over the first steps (while 1/(n+1) exceeds the EWM weight) they are the plain running
 * mean and variance. The continuous models' training script applies exactly this transform.
 * <pre>
 *   z_t = clip((x_t − m_{t−1}) / sqrt(v_{t−1} + eps), ±clip)       (z_0 = 0)
 *   w = max(α, 1/(n+1)),  d = x_t − m,  m += w·d,  v = (1 − w)·(v + w·d²)
 * </pre>
 */
public final class CausalNormalizer {
    public static final double EPS = 1e-8;
    public static final double CLIP = 20;
    private final double alpha;
    private final double[] mean;
    private final double[] var;
    private long n;

    /** {@code halfLife} in steps (> 0). */
    public CausalNormalizer(int features, double halfLife) {
        if (halfLife <= 0) {
            throw new IllegalArgumentException("half-life must be > 0, is " + halfLife);
        }
        this.alpha = 1 - Math.pow(0.5, 1 / halfLife);
        this.mean = new double[features];
        this.var = new double[features];
    }

    /** Restores from saved moments (resume). */
    public CausalNormalizer(double halfLife, double[] mean, double[] var, long n) {
        this(mean.length, halfLife);
        System.arraycopy(mean, 0, this.mean, 0, mean.length);
        System.arraycopy(var, 0, this.var, 0, var.length);
        this.n = n;
    }

    /** Steps seen. */
    public long count() {
        return n;
    }

    public double mean(int f) {
        return mean[f];
    }

    /** Scale used for the next step: sqrt(v + eps). */
    public double scale(int f) {
        return Math.sqrt(var[f] + EPS);
    }

    /** Normalises one step's features (x[off..off+k)) into z[zOff..] and then updates the moments. */
    public void step(float[] x, int off, float[] z, int zOff) {
        double w = Math.max(alpha, 1.0 / (n + 1));
        for (int f = 0; f < mean.length; f++) {
            double v = x[off + f];
            double zz = n == 0 ? 0 : (v - mean[f]) / Math.sqrt(var[f] + EPS);
            z[zOff + f] = (float) Math.max(-CLIP, Math.min(CLIP, zz));
            double d = v - mean[f];
            mean[f] += w * d;
            var[f] = (1 - w) * (var[f] + w * d * d);
        }
        n++;
    }
}
