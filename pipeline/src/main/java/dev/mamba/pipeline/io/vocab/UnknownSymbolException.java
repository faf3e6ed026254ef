package dev.mamba.pipeline.io.vocab;

import dev.mamba.pipeline.io.InputFormatException;

/** A symbol absent from the vocabulary under {@link UnknownPolicy#FAIL}; says which, where, in which sequence. */
public final class UnknownSymbolException extends InputFormatException {
    private static final long serialVersionUID = 1L;
    private final String sequenceId;
    private final long position;
    private final int symbol;

    UnknownSymbolException(String message, String sequenceId, long position, int symbol) {
        super(message);
        this.sequenceId = sequenceId;
        this.position = position;
        this.symbol = symbol;
    }

    /** The sequence holding the symbol. */
    public String sequenceId() {
        return sequenceId;
    }

    /** 0-based position of the symbol within its sequence. */
    public long position() {
        return position;
    }

    /** The symbol byte, 0..255. */
    public int symbol() {
        return symbol;
    }
}
