package dev.mamba.jobs.report;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The report page escapes every text it is given and links figures by file name only. */
class ReportPageTest {
    @Test
    void escapesTextTablesAndCaptions() {
        String evil = "<script>alert('x')</script> & \"q\"\u0001";
        String html = new ReportPage("t " + evil).heading(evil).note(evil)
                .table(List.of(evil), List.of(List.of(evil, evil)), true).figure("a.png", evil).html();
        assertFalse(html.contains("<script>"), html);
        assertFalse(html.contains("\u0001"));
        assertTrue(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;&#xFFFD;"), html);
        assertTrue(html.contains("<img src=\"a.png\""), html);
        assertEquals("", ReportPage.escape(null));
    }

    @Test
    void figuresAreFilesBesideThePage() {
        ReportPage p = new ReportPage("t").figure("one.png", "c").figure("two.png", "c");
        assertEquals(List.of("one.png", "two.png"), p.figures());
        assertThrows(IllegalArgumentException.class, () -> p.figure("../x.png", "c"));
        assertThrows(IllegalArgumentException.class, () -> p.figure("/tmp/x.png", "c"));
    }
}
