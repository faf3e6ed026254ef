package dev.mamba.pipeline.config;

/** What the model reads and writes. */
public enum ModelFamily {
    /** Token ids in, embedding table, optional LM head (Hugging Face {@code MambaForCausalLM}). */
    TOKENS,
    /** k continuous features per step in through a linear projection, a linear output head out. */
    CONTINUOUS
}
