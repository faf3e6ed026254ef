package dev.mamba.pipeline.io.timeseries;

import dev.mamba.pipeline.io.InputFormatException;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * RFC 4180 basics: fields separated by one delimiter character, a field may be enclosed in double quotes
 * (then it may hold delimiters, line breaks and {@code ""} for one quote), records end with LF or CRLF.
 * Stricter than many readers on purpose: a quote inside an unquoted field or text after a closing quote is
 * an error rather than a guess. Empty lines are skipped.
 */
final class CsvParser implements Closeable {
    /**
     * What the reader's decoder puts for bytes that are not UTF-8 ({@link TimeSeriesCsvReader}): a noncharacter,
     * so that the parser fails at their line (a U+FFFF in the file is taken for one, and named in the message). A decoder that throws instead fails a whole buffer (64 KiB) ahead,
     * at another line, or before an earlier fault of the file.
     */
    static final char NOT_UTF8 = '\uFFFF';

    private final BufferedReader in;
    private final String file;
    private final char delimiter;
    /** 1-based number of the physical line the next character belongs to. */
    private long line = 1;
    private long recordLine;
    private int pushedBack = -2;

    CsvParser(BufferedReader in, String file, char delimiter) {
        this(in, file, delimiter, 1);
    }

    /** A parser whose input starts at line {@code firstLine} of the file (a range of it: {@link CsvSplits}). */
    CsvParser(BufferedReader in, String file, char delimiter, long firstLine) {
        this.in = in;
        this.file = file;
        this.delimiter = delimiter;
        this.line = firstLine;
    }

    /** Line on which the last returned record started. */
    long recordLine() {
        return recordLine;
    }

    private int read() throws IOException {
        if (pushedBack != -2) {
            int c = pushedBack;
            pushedBack = -2;
            return c;
        }
        int c = in.read();
        if (c == NOT_UTF8) {
            throw InputFormatException.atLine(file, line, "bytes that are not UTF-8 text, or the character U+FFFF "
                    + "(the file must be UTF-8)");
        }
        return c;
    }

    /** The next record's fields, or null at end of input. */
    List<String> next() throws IOException {
        while (true) {
            int c = read();
            if (c < 0) {
                return null;
            }
            if (c == '\n') {
                line++;
                continue; // empty line
            }
            if (c == '\r') {
                int d = read();
                if (d == '\n') {
                    line++;
                    continue;
                }
                if (d >= 0) {
                    pushedBack = d;
                }
            }
            return record(c);
        }
    }

    /** Parses one record whose first character {@code first} has already been read. */
    private List<String> record(int first) throws IOException {
        recordLine = line;
        List<String> fields = new ArrayList<>();
        StringBuilder sb = new StringBuilder();
        int c = first;
        while (true) {
            // at a field start
            sb.setLength(0);
            if (c == '"') {
                long quoteLine = line;
                while (true) {
                    c = read();
                    if (c < 0) {
                        throw InputFormatException.atLine(file, quoteLine, "unterminated quoted field " + (fields.size() + 1));
                    }
                    if (c == '"') {
                        c = read();
                        if (c == '"') {
                            sb.append('"');
                            continue;
                        }
                        break;
                    }
                    if (c == '\n') {
                        line++;
                    }
                    sb.append((char) c);
                }
                while (c == ' ' || (c == '\t' && delimiter != '\t')) {
                    c = read();
                }
                if (c != delimiter && c != '\n' && c != '\r' && c >= 0) {
                    throw InputFormatException.atLine(file, line, "text after the closing quote of field "
                            + (fields.size() + 1) + " (\"" + sb + "\" then '" + (char) c + "')");
                }
            } else {
                while (c != delimiter && c != '\n' && c >= 0) {
                    if (c == '"') {
                        throw InputFormatException.atLine(file, line, "quote inside unquoted field "
                                + (fields.size() + 1) + " ('" + sb + "\"…'); quote the whole field and double the quote");
                    }
                    sb.append((char) c);
                    c = read();
                }
                if (c == '\n' && sb.length() > 0 && sb.charAt(sb.length() - 1) == '\r') {
                    sb.setLength(sb.length() - 1);
                }
            }
            fields.add(sb.toString());
            if (c == delimiter) {
                c = read();
                continue;
            }
            if (c == '\r') {
                c = read();
                if (c != '\n' && c >= 0) {
                    pushedBack = c;
                }
            }
            if (c == '\n') {
                line++;
            }
            return fields;
        }
    }

    /** Picks ',', '\t' or ';' (in that order on ties), whichever occurs most outside quotes in {@code header}. */
    static char detectDelimiter(String header) {
        int comma = 0;
        int tab = 0;
        int semi = 0;
        boolean quoted = false;
        for (int i = 0; i < header.length(); i++) {
            char c = header.charAt(i);
            if (c == '"') {
                quoted = !quoted;
            } else if (!quoted) {
                if (c == ',') {
                    comma++;
                } else if (c == '\t') {
                    tab++;
                } else if (c == ';') {
                    semi++;
                }
            }
        }
        if (tab > comma && tab >= semi) {
            return '\t';
        }
        if (semi > comma && semi > tab) {
            return ';';
        }
        return ',';
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
