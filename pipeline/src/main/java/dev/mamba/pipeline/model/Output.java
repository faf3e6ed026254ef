package dev.mamba.pipeline.model;

/** What a forward call returns to the host. */
public enum Output {
    /** Final hidden states after norm_f, [lanes·T, H]. */
    HIDDEN,
    /** LM head logits, [lanes·T, V] (token models with a head). */
    LOGITS,
    /** Per lane: sum of final hidden states over valid steps, then the last valid one: [lanes, 2H]. */
    SUMMARY,
    /** Per step: −log p(target) under the LM head; NaN where the target is −1: [lanes·T]. */
    NLL,
    /** Output head of a continuous model, [lanes·T, out]. */
    PREDICTION
}
