package dev.mamba.jobs.report;

import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.awt.geom.Ellipse2D;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** The report's charts (JFreeChart), drawn headless and written as PNG files of one size. */
public final class Plots {
    /** Every PNG of a report has this size. */
    public static final int WIDTH = 960;
    public static final int HEIGHT = 540;
    /** Distinct colours for categories (files, sequences), colour-blind safe (Okabe–Ito, then Tol). */
    static final Color[] PALETTE = {new Color(0x0072B2), new Color(0xE69F00), new Color(0x009E73),
            new Color(0xCC79A7), new Color(0x56B4E9), new Color(0xD55E00), new Color(0xF0E442), new Color(0x332288),
            new Color(0x882255), new Color(0x44AA99), new Color(0x999933), new Color(0xAA4499)};
    static final Color FLAG = new Color(0xD62728);

    private Plots() {
    }

    /**
     * Sets {@code java.awt.headless} unless the JVM was started with a setting; must run before AWT loads
     * (the driver of a job has no display).
     */
    public static void headless() {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    /** One x/y series: label and points. */
    public static final class Line {
        final String label;
        final double[] x;
        final double[] y;

        public Line(String label, double[] x, double[] y) {
            this.label = label;
            this.x = x;
            this.y = y;
        }
    }

    /** A scatter plot, one colour per group (groups in the map's order). */
    public static JFreeChart scatter(String title, String xLabel, String yLabel, Map<String, double[][]> groups) {
        XYSeriesCollection data = new XYSeriesCollection();
        for (Map.Entry<String, double[][]> g : groups.entrySet()) {
            XYSeries s = new XYSeries(g.getKey(), false, true);
            for (double[] p : g.getValue()) {
                s.add(p[0], p[1]);
            }
            data.addSeries(s);
        }
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(false, true);
        for (int i = 0; i < groups.size(); i++) {
            r.setSeriesPaint(i, PALETTE[i % PALETTE.length]);
            r.setSeriesShape(i, new Ellipse2D.Double(-4, -4, 8, 8));
        }
        XYPlot plot = new XYPlot(data, axis(xLabel), axis(yLabel), r);
        return chart(title, plot, true);
    }

    /** Lines over a shared x axis. */
    public static JFreeChart lines(String title, String xLabel, String yLabel, List<Line> lines) {
        XYPlot plot = new XYPlot(collection(lines), axis(xLabel), axis(yLabel), lineRenderer(lines.size()));
        return chart(title, plot, lines.size() > 1);
    }

    /** Vertical bars, one per label, in the map's order; an optional horizontal marker line. */
    public static JFreeChart bars(String title, String categoryLabel, String valueLabel, Map<String, Double> values,
                                  Double marker, String markerLabel) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        values.forEach((k, v) -> data.addValue(v, valueLabel, k));
        CategoryAxis cat = new CategoryAxis(categoryLabel);
        cat.setCategoryLabelPositions(values.size() > 8 ? CategoryLabelPositions.UP_45 : CategoryLabelPositions.STANDARD);
        cat.setMaximumCategoryLabelWidthRatio(0.9f);
        cat.setMaximumCategoryLabelLines(2);
        BarRenderer r = new BarRenderer();
        r.setBarPainter(new StandardBarPainter());
        r.setShadowVisible(false);
        r.setSeriesPaint(0, PALETTE[0]);
        CategoryPlot plot = new CategoryPlot(data, cat, axis(valueLabel), r);
        plot.setOrientation(PlotOrientation.VERTICAL);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        if (marker != null) {
            plot.addRangeMarker(marker(marker, markerLabel));
        }
        return chart(title, plot, false);
    }

    /**
     * Two panels over one x axis: values (and predictions) on top, the score below with the threshold;
     * flagged steps marked in red on both.
     */
    public static JFreeChart valueAndScore(String title, String xLabel, Line value, Line prediction, Line score,
                                           double threshold, double[] flaggedX, double[] flaggedValue,
                                           double[] flaggedScore) {
        XYSeriesCollection top = new XYSeriesCollection();
        top.addSeries(series(value));
        if (prediction != null) {
            top.addSeries(series(prediction));
        }
        XYLineAndShapeRenderer topR = lineRenderer(top.getSeriesCount());
        XYPlot upper = new XYPlot(top, null, axis(value.label), topR);
        addFlags(upper, 1, flaggedX, flaggedValue, true);

        XYSeriesCollection bottom = new XYSeriesCollection(series(score));
        XYLineAndShapeRenderer botR = lineRenderer(1);
        botR.setSeriesPaint(0, new Color(0x555555));
        XYPlot lower = new XYPlot(bottom, null, axis(score.label), botR);
        lower.addRangeMarker(marker(threshold, "threshold " + fmt(threshold)));
        addFlags(lower, 1, flaggedX, flaggedScore, false);

        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(axis(xLabel));
        plot.setGap(8);
        plot.add(upper, 3);
        plot.add(lower, 2);
        for (XYPlot p : List.of(upper, lower)) {
            style(p);
        }
        return chart(title, plot, true);
    }

    /** Writes the chart as a PNG of the report size. */
    public static void png(JFreeChart chart, Path file) throws IOException {
        ChartUtils.saveChartAsPNG(file.toFile(), chart, WIDTH, HEIGHT);
    }

    private static void addFlags(XYPlot plot, int index, double[] x, double[] y, boolean legend) {
        if (x == null || x.length == 0) {
            return;
        }
        XYSeries s = new XYSeries("flagged (" + x.length + ")", false, true);
        for (int i = 0; i < x.length; i++) {
            s.add(x[i], y[i]);
        }
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(false, true);
        r.setSeriesPaint(0, FLAG);
        r.setSeriesShape(0, new Ellipse2D.Double(-4, -4, 8, 8));
        r.setSeriesVisibleInLegend(0, legend);
        plot.setDataset(index, new XYSeriesCollection(s));
        plot.setRenderer(index, r);
        // flags on top of the lines
        plot.setDatasetRenderingOrder(org.jfree.chart.plot.DatasetRenderingOrder.FORWARD);
    }

    private static XYSeriesCollection collection(List<Line> lines) {
        XYSeriesCollection c = new XYSeriesCollection();
        for (Line l : lines) {
            c.addSeries(series(l));
        }
        return c;
    }

    private static XYSeries series(Line l) {
        XYSeries s = new XYSeries(l.label, false, true);
        for (int i = 0; i < l.x.length; i++) {
            // NaN breaks the line there (e.g. no prediction at step 0)
            s.add(l.x[i], Double.isNaN(l.y[i]) ? null : l.y[i]);
        }
        return s;
    }

    private static XYLineAndShapeRenderer lineRenderer(int n) {
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, false);
        for (int i = 0; i < n; i++) {
            r.setSeriesPaint(i, PALETTE[i % PALETTE.length]);
            r.setSeriesStroke(i, new BasicStroke(i == 0 ? 1.4f : 1.0f));
        }
        return r;
    }

    private static NumberAxis axis(String label) {
        NumberAxis a = new NumberAxis(label);
        a.setAutoRangeIncludesZero(false);
        return a;
    }

    private static ValueMarker marker(double v, String label) {
        ValueMarker m = new ValueMarker(v, FLAG, new BasicStroke(1.2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER,
                1f, new float[]{6f, 4f}, 0f));
        m.setLabel(label);
        m.setLabelPaint(FLAG);
        m.setLabelAnchor(org.jfree.chart.ui.RectangleAnchor.TOP_RIGHT);
        m.setLabelTextAnchor(org.jfree.chart.ui.TextAnchor.BOTTOM_RIGHT);
        return m;
    }

    private static void style(XYPlot p) {
        p.setBackgroundPaint(Color.WHITE);
        Paint grid = new Color(0xDDDDDD);
        p.setDomainGridlinePaint(grid);
        p.setRangeGridlinePaint(grid);
    }

    private static JFreeChart chart(String title, org.jfree.chart.plot.Plot plot, boolean legend) {
        if (plot instanceof XYPlot) {
            style((XYPlot) plot);
        }
        JFreeChart c = new JFreeChart(null, JFreeChart.DEFAULT_TITLE_FONT, plot, legend);
        c.setTitle(new TextTitle(title, new Font(Font.SANS_SERIF, Font.BOLD, 15)));
        c.setBackgroundPaint(Color.WHITE);
        c.setAntiAlias(true);
        c.setTextAntiAlias(true);
        return c;
    }

    static String fmt(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e9 ? String.valueOf((long) v) : String.format(java.util.Locale.ROOT, "%.3g", v);
    }
}
