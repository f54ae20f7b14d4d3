package m6j.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Open Clip Art: each PNG is paired by relative path with an SVG whose RDF metadata describes it.
 * Text = dc:title of the work (fallback dc:description, then the file name); label = top category directory.
 */
public final class OpenClipArtReader implements SourceReader {
    private static final Pattern TITLE = Pattern.compile("<dc:title>(.*?)</dc:title>", Pattern.DOTALL);
    private static final Pattern DESCRIPTION = Pattern.compile("<dc:description>(.*?)</dc:description>", Pattern.DOTALL);
    private static final Pattern TAGS = Pattern.compile("<[^>]*>");
    private static final Pattern TRAILING_NUMBER = Pattern.compile("[_\\s-]*\\d*$");
    private static final int BATCH = 256;

    @Override public Source source() { return Source.OPENCLIPART; }

    @Override public void read(DataRoots roots, SourceSink sink) throws IOException {
        Path pngRoot = roots.openclipartPng();
        if (!Files.isDirectory(pngRoot)) {
            sink.notInstalled();
            return;
        }
        List<Path> files;
        try (Stream<Path> s = Files.walk(pngRoot)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".png") && Files.isRegularFile(p))
                    .map(pngRoot::relativize).sorted((a, b) -> a.toString().compareTo(b.toString())).toList();
        }
        sink.progress("png", files.size());
        // Decode in parallel batches (order kept) so a cap stops the work early.
        for (int from = 0; from < files.size() && !sink.full(); from += BATCH) {
            List<Path> batch = files.subList(from, Math.min(files.size(), from + BATCH));
            List<ImageFiles.Decoded> decoded = batch.parallelStream()
                    .map(rel -> ImageFiles.decode(pngRoot.resolve(rel), sink.imageSize())).toList();
            for (int i = 0; i < batch.size(); i++) {
                Path rel = batch.get(i);
                ImageFiles.Decoded d = decoded.get(i);
                if (d.skipReason() != null) {
                    sink.tick();
                    sink.skip(d.skipReason());
                    continue;
                }
                String id = rel.toString().replace('\\', '/').replaceFirst("\\.png$", "");
                String label = rel.getNameCount() > 1 ? rel.getName(0).toString() : "";
                sink.add(id, null, text(roots.openclipartSvg().resolve(id + ".svg"), id), label, d.rgb());
            }
        }
    }

    /** Caption from the SVG metadata; a missing or unreadable SVG falls back to the file name. */
    static String text(Path svg, String id) {
        String fromSvg = "";
        try {
            String xml = TextClean.decodeStrict(Files.readAllBytes(svg));
            fromSvg = caption(xml);
        } catch (IOException e) { // includes bad UTF-8 (CharacterCodingException)
            // fall through to the file name
        }
        return fromSvg.isEmpty() ? fromFileName(id) : fromSvg;
    }

    /** Title of the work itself: only the part of the RDF before the publisher/creator agents, whose titles are names. */
    static String caption(String xml) {
        int work = xml.indexOf("<cc:Work");
        if (work < 0) work = xml.indexOf("<metadata");
        if (work < 0) return "";
        int end = xml.length();
        for (String stop : new String[]{"<dc:publisher", "<dc:creator", "<dc:rights", "</cc:Work>"}) {
            int i = xml.indexOf(stop, work);
            if (i >= 0) end = Math.min(end, i);
        }
        String part = xml.substring(work, end);
        for (Pattern p : new Pattern[]{TITLE, DESCRIPTION}) {
            Matcher m = p.matcher(part);
            if (m.find()) {
                String t = TextClean.oneLine(unescape(TAGS.matcher(m.group(1)).replaceAll(" ")));
                if (!t.isEmpty()) return t;
            }
        }
        return "";
    }

    static String fromFileName(String id) {
        String name = id.substring(id.lastIndexOf('/') + 1);
        name = TRAILING_NUMBER.matcher(name).replaceFirst("");
        return TextClean.oneLine(name.replace('_', ' ').replace('-', ' '));
    }

    static String unescape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            int semi = c == '&' ? s.indexOf(';', i) : -1;
            if (semi < 0 || semi - i > 10) {
                b.append(c);
                continue;
            }
            String ent = s.substring(i + 1, semi);
            String rep = switch (ent) {
                case "amp" -> "&";
                case "lt" -> "<";
                case "gt" -> ">";
                case "quot" -> "\"";
                case "apos" -> "'";
                default -> numeric(ent);
            };
            if (rep == null) {
                b.append(c);
            } else {
                b.append(rep);
                i = semi;
            }
        }
        return b.toString();
    }

    private static String numeric(String ent) {
        try {
            if (ent.startsWith("#x") || ent.startsWith("#X")) return Character.toString(Integer.parseInt(ent.substring(2), 16));
            if (ent.startsWith("#")) return Character.toString(Integer.parseInt(ent.substring(1)));
        } catch (IllegalArgumentException e) {
            return null;
        }
        return null;
    }
}
