package dev.mamba.pipeline.model;

/** Host copies of what a forward call was asked for (null where not asked). Row {@code b·steps + t}. */
public final class ForwardResult {
    public final int lanes;
    public final int steps;
    public final int[] lens;
    public float[] hidden;
    public float[] logits;
    public float[] summary;
    public float[] nll;
    public float[] prediction;

    ForwardResult(int lanes, int steps, int[] lens) {
        this.lanes = lanes;
        this.steps = steps;
        this.lens = lens;
    }
}
