package dev.mamba.jobs.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A self-contained HTML page: sections of tables, notes and figures (PNG files beside it, linked relatively). */
public final class ReportPage {
    private final String title;
    private final StringBuilder body = new StringBuilder();
    private final List<String> figures = new ArrayList<>();

    public ReportPage(String title) {
        this.title = title;
    }

    /** A section heading. */
    public ReportPage heading(String text) {
        body.append("<h2>").append(escape(text)).append("</h2>\n");
        return this;
    }

    /** A paragraph of text. */
    public ReportPage note(String text) {
        body.append("<p>").append(escape(text)).append("</p>\n");
        return this;
    }

    /** A table; the first column of each row is set as a header cell when {@code keyed}. */
    public ReportPage table(List<String> header, List<List<String>> rows, boolean keyed) {
        body.append("<table>\n");
        if (header != null) {
            body.append("<tr>");
            header.forEach(h -> body.append("<th>").append(escape(h)).append("</th>"));
            body.append("</tr>\n");
        }
        for (List<String> r : rows) {
            body.append("<tr>");
            for (int i = 0; i < r.size(); i++) {
                String tag = keyed && i == 0 ? "th" : "td";
                body.append('<').append(tag).append('>').append(escape(r.get(i))).append("</").append(tag).append('>');
            }
            body.append("</tr>\n");
        }
        body.append("</table>\n");
        return this;
    }

    /** A figure: a PNG file in the page's directory, by its file name, with a caption. */
    public ReportPage figure(String pngName, String caption) {
        if (pngName.contains("/") || pngName.contains("\\")) {
            throw new IllegalArgumentException("figure " + pngName + ": expected a file name beside the page");
        }
        figures.add(pngName);
        body.append("<figure><img src=\"").append(escape(pngName)).append("\" alt=\"").append(escape(caption))
                .append("\" width=\"").append(Plots.WIDTH).append("\" height=\"").append(Plots.HEIGHT)
                .append("\"><figcaption>").append(escape(caption)).append("</figcaption></figure>\n");
        return this;
    }

    /** File names of the figures added so far. */
    public List<String> figures() {
        return List.copyOf(figures);
    }

    /** The page as HTML. */
    public String html() {
        return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + escape(title)
                + "</title>\n<style>\n"
                + "body{font-family:sans-serif;margin:2em;max-width:1000px;color:#222}\n"
                + "table{border-collapse:collapse;margin:0.5em 0 1.5em}\n"
                + "th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}\n"
                + "th{background:#f3f3f3}\nfigure{margin:1em 0}\nimg{max-width:100%;height:auto;border:1px solid #eee}\n"
                + "figcaption{color:#555;font-size:90%}\n"
                + "</style>\n</head>\n<body>\n<h1>" + escape(title) + "</h1>\n" + body + "</body>\n</html>\n";
    }

    /** Writes the page as {@code index.html} in the directory. */
    public Path write(Path dir) throws IOException {
        Path f = dir.resolve("index.html");
        Files.writeString(f, html(), StandardCharsets.UTF_8);
        return f;
    }

    /** Text for HTML element content and attribute values. */
    public static String escape(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&': b.append("&amp;"); break;
                case '<': b.append("&lt;"); break;
                case '>': b.append("&gt;"); break;
                case '"': b.append("&quot;"); break;
                case '\'': b.append("&#39;"); break;
                default:
                    // control characters (binary junk in a record header) would make the page invalid
                    if (c < 0x20 && c != '\n' && c != '\t') {
                        b.append("&#xFFFD;");
                    } else {
                        b.append(c);
                    }
            }
        }
        return b.toString();
    }
}
