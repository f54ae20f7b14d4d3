package m6j.data;

import m6j.cli.Main;
import picocli.CommandLine;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** Small datasets of every user format, written by the tests themselves, and the CLI call that builds them. */
final class DataFixtures {
    /** A 24x12 lossless WebP, left half red, right half blue (made with cwebp; ImageIO has no WebP writer). */
    static final byte[] WEBP_RED_BLUE = Base64.getDecoder().decode(
            "UklGRiYAAABXRUJQVlA4TBoAAAAvF8ACAA8Q87//8x8OhASEB/6v1S2I6H8kAw==");

    private DataFixtures() {}

    static BufferedImage solid(int w, int h, Color c) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(c);
        g.fillRect(0, 0, w, h);
        g.dispose();
        return img;
    }

    static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (!ImageIO.write(img, format, out)) throw new IllegalStateException("no writer for " + format);
        return out.toByteArray();
    }

    static byte[] png(int w, int h, Color c) throws IOException { return encode(solid(w, h, c), "png"); }

    /** A valid 1x1 PNG whose IHDR then declares w x h (CRC fixed): only a header check can refuse it cheaply. */
    static byte[] pngDeclaring(int w, int h) throws IOException {
        byte[] b = png(1, 1, Color.RED);
        ByteBuffer buf = ByteBuffer.wrap(b);
        buf.putInt(16, w).putInt(20, h); // IHDR data starts at 16: width, height
        CRC32 crc = new CRC32();
        crc.update(b, 12, 17);            // "IHDR" + 13 data bytes
        buf.putInt(29, (int) crc.getValue());
        return b;
    }

    /** The first bytes of a real JPEG: a recognisable header with its data cut off. */
    static byte[] truncatedJpeg() throws IOException {
        byte[] full = encode(solid(64, 64, Color.ORANGE), "jpeg");
        return Arrays.copyOf(full, full.length / 3);
    }

    static String dataUrl(byte[] png) { return "data:image/png;base64," + Base64.getEncoder().encodeToString(png); }

    /** Pseudo-English prose: n sentences of 12 words from a fixed vocabulary, seeded. */
    static List<String> prose(long seed, int sentences) {
        String[] words = ("river mountain garden window morning evening quiet bright market street harbour bridge "
                + "library teacher student painter farmer kitchen bread apple orange forest meadow village city "
                + "winter summer autumn spring cloud rain wind stone wooden silver golden small large ancient modern "
                + "walks reads paints builds carries watches finds keeps opens closes follows remembers").split(" ");
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < sentences; i++) {
            StringBuilder s = new StringBuilder("The");
            for (int j = 0; j < 11; j++) s.append(' ').append(words[r.nextInt(words.length)]);
            out.add(s.append('.').toString());
        }
        return out;
    }

    record Run(int exit, String out, String err) {}

    /** m6j corpus build, as the command line runs it. */
    static Run corpusBuild(String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        String[] all = new String[args.length + 2];
        all[0] = "corpus";
        all[1] = "build";
        System.arraycopy(args, 0, all, 2, args.length);
        int rc = cl.execute(all);
        return new Run(rc, out.toString(), err.toString());
    }

    static Corpus build(Path out, String from, String... more) throws IOException {
        List<String> args = new ArrayList<>(List.of("--from", from, "--out", out.toString(), "--image-size", "16"));
        args.addAll(List.of(more));
        Run r = corpusBuild(args.toArray(new String[0]));
        assertThat(r.exit()).as(r.err() + r.out()).isZero();
        return Corpus.open(out);
    }

    static void write(Path p, String text) throws IOException {
        Files.createDirectories(p.toAbsolutePath().getParent());
        Files.writeString(p, text, StandardCharsets.UTF_8);
    }

    static void write(Path p, byte[] bytes) throws IOException {
        Files.createDirectories(p.toAbsolutePath().getParent());
        Files.write(p, bytes);
    }

    /** Every record of one source, both splits. */
    static List<Example> all(Corpus c, String sourceId) {
        Source s = c.report().source(sourceId);
        List<Example> out = new ArrayList<>(c.examples(Split.TRAIN, s));
        out.addAll(c.examples(Split.TEST, s));
        return out;
    }

    static Example byText(Corpus c, String sourceId, String text) {
        return all(c, sourceId).stream().filter(e -> e.text().equals(text)).findFirst()
                .orElseThrow(() -> new AssertionError("no record '" + text + "' in " + all(c, sourceId)));
    }

    /** RGB of pixel (x, y) of a size x size corpus image. */
    static int[] rgb(byte[] img, int size, int x, int y) {
        int o = (y * size + x) * 3;
        return new int[]{img[o] & 0xff, img[o + 1] & 0xff, img[o + 2] & 0xff};
    }
}
