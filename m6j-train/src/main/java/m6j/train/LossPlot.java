package m6j.train;

import m6j.runtime.FileTrees;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

/** Draws loss curves (one smoothed line per series) to a PNG with Java2D; no charting dependency needed for this. */
public final class LossPlot {
    private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
            new Color(0xff7f0e), new Color(0x9467bd), new Color(0x8c564b)};

    private LossPlot() {}

    /** series: name -> list of (x, y) points; xLabel names the x axis ("step", "seconds"). */
    public static void write(Path png, String title, String xLabel, Map<String, List<double[]>> series) throws IOException {
        System.setProperty("java.awt.headless", "true");
        int w = 900, h = 540, left = 70, right = 230, top = 40, bottom = 50;
        double minX = Double.MAX_VALUE, maxX = -Double.MAX_VALUE, minY = Double.MAX_VALUE, maxY = -Double.MAX_VALUE;
        Map<String, List<double[]>> smooth = new LinkedHashMap<>();
        for (var e : series.entrySet()) {
            List<double[]> pts = new ArrayList<>();
            double ema = Double.NaN;
            for (double[] p : e.getValue()) {
                if (!Double.isFinite(p[1])) continue;
                ema = Double.isNaN(ema) ? p[1] : 0.9 * ema + 0.1 * p[1];
                pts.add(new double[]{p[0], ema});
                minX = Math.min(minX, p[0]); maxX = Math.max(maxX, p[0]);
                minY = Math.min(minY, ema); maxY = Math.max(maxY, ema);
            }
            if (!pts.isEmpty()) smooth.put(e.getKey(), pts);
        }
        if (smooth.isEmpty()) return;
        if (maxX == minX) maxX = minX + 1;
        if (maxY == minY) maxY = minY + 1;
        double padY = (maxY - minY) * 0.05;
        minY -= padY; maxY += padY;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        int pw = w - left - right, ph = h - top - bottom;
        g.setColor(new Color(0xeeeeee));
        for (int i = 0; i <= 5; i++) {
            int y = top + ph * i / 5;
            g.drawLine(left, y, left + pw, y);
        }
        g.setColor(Color.DARK_GRAY);
        g.drawRect(left, top, pw, ph);
        for (int i = 0; i <= 5; i++) {
            double vy = maxY - (maxY - minY) * i / 5;
            g.drawString(String.format("%.2f", vy), 8, top + ph * i / 5 + 4);
            double vx = minX + (maxX - minX) * i / 5;
            g.drawString(String.format("%.0f", vx), left + pw * i / 5 - 10, top + ph + 18);
        }
        g.drawString(xLabel, left + pw / 2 - 10, h - 12);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString(title, left, 24);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        int ci = 0;
        for (var e : smooth.entrySet()) {
            g.setColor(COLORS[ci % COLORS.length]);
            g.setStroke(new BasicStroke(1.8f));
            int px = -1, py = -1;
            for (double[] p : e.getValue()) {
                int x = left + (int) ((p[0] - minX) / (maxX - minX) * pw);
                int y = top + (int) ((maxY - p[1]) / (maxY - minY) * ph);
                if (px >= 0) g.drawLine(px, py, x, y);
                px = x; py = y;
            }
            g.fillRect(left + pw + 15, top + 10 + ci * 20, 14, 4);
            g.setColor(Color.BLACK);
            g.drawString(e.getKey(), left + pw + 35, top + 16 + ci * 20);
            ci++;
        }
        g.dispose();
        Path tmp = png.resolveSibling(png.getFileName() + ".tmp");
        ImageIO.write(img, "png", tmp.toFile());
        FileTrees.commit(tmp, png);
    }
}
