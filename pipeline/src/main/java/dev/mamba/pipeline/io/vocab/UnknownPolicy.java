package dev.mamba.pipeline.io.vocab;

/** What {@link Vocab} does with a symbol that is not in the vocabulary (after case folding). */
public enum UnknownPolicy {
    /** Map it to the id of the key {@code "<unk>"}; loading fails if the vocabulary has no such key. */
    MAP_TO_UNKNOWN,
    /** Throw {@link UnknownSymbolException} naming the symbol, the sequence and the position. */
    FAIL
}
