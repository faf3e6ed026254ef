package dev.mamba.pipeline.io;

import java.io.IOException;

/**
 * Bad input: the message names the place ({@code file:line: what} or {@code file:record <id>: what})
 * and says what was expected and what was found.
 */
public class InputFormatException extends IOException {
    private static final long serialVersionUID = 1L;
    /** The record the error is in, when one had begun; null for errors between records or of the whole file. */
    private String recordId;

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
        return new InputFormatException(file + ":record " + recordId + ": " + what).inRecord(recordId);
    }

    /** Names the record the error is in (a reader whose messages give the line says which record that was). */
    public InputFormatException inRecord(String id) {
        this.recordId = id;
        return this;
    }

    /** The record the error is in, or null (an error between records, or of the whole file). */
    public String recordId() {
        return recordId;
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
