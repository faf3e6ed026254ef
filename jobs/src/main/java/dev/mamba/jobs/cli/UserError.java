package dev.mamba.jobs.cli;

/** A failure caused by the user's input or settings: printed as one line, exit code 2. */
public final class UserError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UserError(String message) {
        super(message);
    }

    public UserError(String message, Throwable cause) {
        super(message, cause);
    }
}
