package dev.mamba.kernels;

/** The relative error ‖got − want‖ / ‖want‖ that the GPU checks, benchmarks and tests report. */
public final class RelativeError {
    private RelativeError() {
    }

    /** ‖got − want‖ / ‖want‖ in double; ‖got − want‖ when want is all zeros. */
    public static double of(float[] got, float[] want) {
        if (got.length != want.length) {
            throw new IllegalArgumentException("lengths differ: " + got.length + " != " + want.length);
        }
        double num = 0, den = 0;
        for (int i = 0; i < got.length; i++) {
            double d = (double) got[i] - want[i];
            num += d * d;
            den += (double) want[i] * want[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }
}
