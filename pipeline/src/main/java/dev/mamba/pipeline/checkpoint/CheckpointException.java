package dev.mamba.pipeline.checkpoint;

import java.io.IOException;

/** A checkpoint file or directory that cannot be used; the message names the file and, where relevant, the tensor. */
public class CheckpointException extends IOException {
    private static final long serialVersionUID = 1L;

    /** A problem stated in full by {@code message}. */
    public CheckpointException(String message) {
        super(message);
    }

    /** A problem stated by {@code message}, caused by {@code cause}. */
    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
