package dev.mamba.pipeline.io;

import java.io.IOException;

/**
 * Bad input: the message names the place ({@code file:line: what} or {@code file:record <id>: what})
 * and says what was expected and what was found.
 */
public class InputFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    public InputFormatException(String message) {
        super(message);
    }

    public InputFormatException(String message, Throwable cause) {
        super(message, cause);
    }

    /** {@code file:line: what}. */
    public static InputFormatException atLine(String file, long line, String what) {
        return new InputFormatException(file + ":" + line + ": " + what);
    }

    /** {@code file:record <id>: what}. */
    public static InputFormatException atRecord(String file, String recordId, String what) {
        return new InputFormatException(file + ":record " + recordId + ": " + what);
    }

    /** A byte as a reader sees it: {@code 'x' (0x78)} when printable ASCII, else {@code 0x00 (NUL)} style. */
    public static String describeByte(int b) {
        b &= 0xFF;
        String hex = String.format("0x%02x", b);
        if (b >= 0x20 && b < 0x7F) {
            return "'" + (char) b + "' (" + hex + ")";
        }
        switch (b) {
            case 0x00: return hex + " (NUL)";
            case 0x09: return hex + " (TAB)";
            case 0x0A: return hex + " (LF)";
            case 0x0D: return hex + " (CR)";
            case 0x7F: return hex + " (DEL)";
            default: return b < 0x20 ? hex + " (control)" : hex + " (non-ASCII)";
        }
    }
}
