package m6j.data;

import m6j.runtime.Json;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.awt.image.BufferedImage;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.Deflater;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import javax.imageio.ImageIO;

/**
 * Writes data/sample from the installed sources, in the sources' own layouts so the same readers read it.
 * Deterministic (sorted inputs, fixed strides, gzip without timestamps). English fortunes and fortunes-zh are
 * not sampled: the first has mixed third-party copyrights, the second is GPL.
 * Usage: SampleMaker OUT_DIR [NPM_DATA_DIR]
 */
public final class SampleMaker {
    static final int FASHION_TRAIN = 15_000, FASHION_TEST = 2_000;
    static final int OPENCLIPART = 800, OPENCLIPART_SIDE = 64;
    static final int TWEMOJI = 600, TWEMOJI_SIDE = 32;
    static final long BROWN_BYTES = 2_600_000;
    static final List<String> POETRY = List.of("quantangshi/poet.tang.0.json", "quantangshi/poet.tang.1000.json",
            "quantangshi/poet.song.0.json", "quantangshi/poet.song.1000.json", "songci/ci.song.0.json");

    public static void main(String[] args) throws IOException {
        if (args.length < 1) {
            System.err.println("usage: SampleMaker OUT_DIR [NPM_DATA_DIR]");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        DataRoots src = args.length > 1 ? DataRoots.installed(Path.of(args[1])) : DataRoots.installed();
        DataRoots dst = new DataRoots(out.resolve("fashion-mnist"), out.resolve("openclipart/png"),
                out.resolve("openclipart/svg"), out.resolve("twemoji"), out.resolve("brown"), out.resolve("fortunes"),
                out.resolve("chinese-poetry"));
        fashion(src.fashionMnist(), dst.fashionMnist());
        openclipart(src, dst);
        twemoji(src.twemoji(), dst.twemoji());
        brown(src.brown(), dst.brown());
        poetry(src.chinesePoetry(), dst.chinesePoetry());
        System.err.println("sample written to " + out);
    }

    // --- Fashion-MNIST: same IDX format, counts in the headers reduced ---
    static void fashion(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        for (String[] f : new String[][]{{"train", "" + FASHION_TRAIN}, {"t10k", "" + FASHION_TEST}}) {
            int n = Integer.parseInt(f[1]);
            idxPrefix(from.resolve(f[0] + "-images-idx3-ubyte.gz"), to.resolve(f[0] + "-images-idx3-ubyte.gz"), n, 3);
            idxPrefix(from.resolve(f[0] + "-labels-idx1-ubyte.gz"), to.resolve(f[0] + "-labels-idx1-ubyte.gz"), n, 1);
        }
    }

    private static void idxPrefix(Path from, Path to, int n, int dims) throws IOException {
        try (DataInputStream in = new DataInputStream(new GZIPInputStream(Files.newInputStream(from)));
             DataOutputStream out = new DataOutputStream(gzip(Files.newOutputStream(to)))) {
            int magic = in.readInt();
            int count = in.readInt();
            out.writeInt(magic);
            out.writeInt(Math.min(n, count));
            long item = 1;
            for (int d = 1; d < dims; d++) {
                int size = in.readInt();
                out.writeInt(size);
                item *= size;
            }
            byte[] buf = new byte[(int) item];
            for (int i = 0; i < Math.min(n, count); i++) {
                in.readFully(buf);
                out.write(buf);
            }
        }
    }

    private static OutputStream gzip(OutputStream o) throws IOException {
        return new GZIPOutputStream(o, 1 << 16) {{ def.setLevel(Deflater.BEST_COMPRESSION); }};
    }

    // --- Open Clip Art: every k-th PNG (sorted), downscaled; SVG cut down to its metadata ---
    static void openclipart(DataRoots src, DataRoots dst) throws IOException {
        List<Path> all;
        try (Stream<Path> s = Files.walk(src.openclipartPng())) {
            all = s.filter(p -> p.toString().endsWith(".png")).map(src.openclipartPng()::relativize)
                    .sorted((a, b) -> a.toString().compareTo(b.toString())).toList();
        }
        double stride = Math.max(1.0, (double) all.size() / OPENCLIPART);
        int written = 0;
        for (double k = 0; k < all.size() && written < OPENCLIPART; k += stride) {
            Path rel = all.get((int) k);
            BufferedImage img;
            try {
                img = ImageIO.read(src.openclipartPng().resolve(rel).toFile());
            } catch (IOException | RuntimeException e) {
                img = null;
            }
            if (img == null) continue;
            Path png = dst.openclipartPng().resolve(rel.toString());
            Files.createDirectories(png.getParent());
            ImageIO.write(Images.downscaleArgb(img, OPENCLIPART_SIDE), "png", png.toFile());
            String svgRel = rel.toString().replaceFirst("\\.png$", ".svg");
            Path svgIn = src.openclipartSvg().resolve(svgRel);
            if (Files.isRegularFile(svgIn)) {
                Path svgOut = dst.openclipartSvg().resolve(svgRel);
                Files.createDirectories(svgOut.getParent());
                Files.writeString(svgOut, metadataOnly(Files.readString(svgIn, StandardCharsets.UTF_8)));
            }
            written++;
        }
        System.err.println("openclipart: " + written + " images");
    }

    static String metadataOnly(String svg) {
        int a = svg.indexOf("<metadata"), b = svg.indexOf("</metadata>");
        String meta = a >= 0 && b > a ? svg.substring(a, b + "</metadata>".length()) : "<metadata/>";
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                + "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\""
                + " xmlns:cc=\"http://web.resource.org/cc/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n  "
                + meta + "\n</svg>\n";
    }

    // --- Twemoji: all clothing, then every k-th other emoji; 32 px images; emoji.json filtered ---
    static void twemoji(Path from, Path to) throws IOException {
        ObjectMapper json = Json.MAPPER;
        JsonNode all = json.readTree(from.resolve("emoji.json").toFile());
        List<JsonNode> clothing = new ArrayList<>(), rest = new ArrayList<>();
        for (JsonNode e : all) {
            if (!e.path("has_img_twitter").asBoolean(false)) continue;
            ("clothing".equals(e.path("subcategory").asText()) ? clothing : rest).add(e);
        }
        List<JsonNode> chosen = new ArrayList<>(clothing);
        double stride = (double) rest.size() / (TWEMOJI - clothing.size());
        for (double k = 0; k < rest.size() && chosen.size() < TWEMOJI; k += stride) chosen.add(rest.get((int) k));
        chosen.sort((a, b) -> Integer.compare(a.path("sort_order").asInt(), b.path("sort_order").asInt()));
        Path img = to.resolve("img/twitter/64");
        Files.createDirectories(img);
        ArrayNode kept = json.createArrayNode();
        for (JsonNode e : chosen) {
            ObjectNode o = json.createObjectNode();
            for (String f : List.of("name", "unified", "image", "short_name", "short_names", "category", "subcategory",
                    "sort_order", "added_in", "has_img_twitter")) {
                if (e.has(f)) o.set(f, e.get(f));
            }
            kept.add(o);
            BufferedImage im = ImageIO.read(from.resolve("img/twitter/64").resolve(e.path("image").asText()).toFile());
            ImageIO.write(Images.downscaleArgb(im, TWEMOJI_SIDE), "png", img.resolve(e.path("image").asText()).toFile());
        }
        Files.writeString(to.resolve("emoji.json"), json.writerWithDefaultPrettyPrinter().writeValueAsString(kept) + "\n");
        Files.copy(from.resolve("LICENSE"), to.resolve("LICENSE"), StandardCopyOption.REPLACE_EXISTING);
        System.err.println("twemoji: " + chosen.size() + " (" + clothing.size() + " clothing)");
    }

    // --- Brown: whole files, round-robin over genres, until the byte budget; full cats.txt ---
    static void brown(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        Map<String, List<Path>> byGenre = new TreeMap<>();
        try (Stream<Path> s = Files.list(from)) {
            s.filter(p -> p.getFileName().toString().matches("c[a-r]\\d\\d")).sorted()
                    .forEach(p -> byGenre.computeIfAbsent(p.getFileName().toString().substring(0, 2), g -> new ArrayList<>()).add(p));
        }
        long total = 0;
        int files = 0;
        Map<String, Integer> next = new LinkedHashMap<>();
        byGenre.keySet().forEach(g -> next.put(g, 0));
        boolean added = true;
        outer:
        while (added) {
            added = false;
            for (var e : byGenre.entrySet()) {
                int i = next.get(e.getKey());
                if (i >= e.getValue().size()) continue;
                Path f = e.getValue().get(i);
                long size = Files.size(f);
                if (total + size > BROWN_BYTES) break outer;
                Files.copy(f, to.resolve(f.getFileName().toString()), StandardCopyOption.REPLACE_EXISTING);
                total += size;
                files++;
                next.put(e.getKey(), i + 1);
                added = true;
            }
        }
        for (String keep : List.of("cats.txt", "README")) {
            Files.copy(from.resolve(keep), to.resolve(keep), StandardCopyOption.REPLACE_EXISTING);
        }
        System.err.println("brown: " + files + " files, " + total + " bytes");
    }

    // --- chinese-poetry: a few whole MIT JSON files ---
    static void poetry(Path from, Path to) throws IOException {
        for (String f : POETRY) {
            Path out = to.resolve("dist").resolve(f);
            Files.createDirectories(out.getParent());
            Files.copy(from.resolve("dist").resolve(f), out, StandardCopyOption.REPLACE_EXISTING);
        }
        Files.copy(from.resolve("LICENSE"), to.resolve("LICENSE"), StandardCopyOption.REPLACE_EXISTING);
    }

}
