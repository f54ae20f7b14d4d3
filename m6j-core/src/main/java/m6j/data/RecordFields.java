package m6j.data;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

/**
 * The fields of one user record, whatever its shape (docs/DATA.md): plain text, caption, classification,
 * prompt/completion, or OpenAI-style chat messages; and the image it refers to.
 */
final class RecordFields {
    /** Longest text or prompt kept (characters); longer records are skipped as {@link Skip#TOO_LONG}. */
    static final int MAX_TEXT_CHARS = 100_000;

    /** skipReason non-null means the record is refused; image is a reference (path, data URL or base64) or null. */
    record Fields(String prompt, String text, String label, String split, String image, String skipReason) {
        static Fields skip(String reason) { return new Fields("", "", "", null, null, reason); }
    }

    private RecordFields() {}

    /** labels: the allowed label names (labels.txt), or null for any; an integer label indexes it when present. */
    static Fields of(JsonNode n, List<String> labels) {
        if (n == null || !n.isObject()) return Fields.skip(Skip.UNRECOGNISED_RECORD);
        String prompt = "", text;
        String image = str(n.get("image"));
        if (image == null) image = str(n.get("image_path"));
        JsonNode messages = n.get("messages");
        if (messages != null) {
            if (!messages.isArray()) return Fields.skip(Skip.UNRECOGNISED_RECORD);
            int last = -1;
            for (int i = 0; i < messages.size(); i++) {
                if ("assistant".equals(str(messages.get(i).get("role")))) last = i;
            }
            if (last < 0) return Fields.skip(Skip.MISSING_CAPTION);
            List<ChatTemplate.Message> turns = new ArrayList<>();          // the conversation before the answer
            for (int i = 0; i < last; i++) {
                JsonNode m = messages.get(i);
                String role = str(m.get("role"));
                if (role == null || !ChatTemplate.ROLES.contains(role)) continue;
                StringBuilder t = new StringBuilder();
                String img = content(m.get("content"), t);
                if (image == null) image = img;
                turns.add(new ChatTemplate.Message(role, t.toString()));
            }
            prompt = ChatTemplate.render(turns);
            StringBuilder a = new StringBuilder();
            content(messages.get(last).get("content"), a);
            text = a.toString();
        } else if (n.has("completion")) {
            prompt = str(n.get("prompt"));
            text = str(n.get("completion"));
            if (prompt == null) prompt = "";
        } else {
            text = str(n.get("text"));
            if (text == null) text = str(n.get("caption"));
            if (n.has("prompt")) prompt = str(n.get("prompt"));
        }
        String label = "";
        JsonNode l = n.get("label");
        if (l != null && !l.isNull()) {
            label = label(l, labels);
            if (label == null) return Fields.skip(Skip.UNKNOWN_LABEL);
        }
        if (text == null) text = "";
        if (prompt == null) prompt = "";
        if (text.length() > MAX_TEXT_CHARS || prompt.length() > MAX_TEXT_CHARS) return Fields.skip(Skip.TOO_LONG);
        return new Fields(prompt.strip(), text.strip(), label, str(n.get("split")), image, null);
    }

    /** Appends the text of an OpenAI-style content (a string or parts) to out; returns its first image reference. */
    private static String content(JsonNode c, StringBuilder out) {
        if (c == null || c.isNull()) return null;
        if (c.isTextual()) {
            out.append(c.asText());
            return null;
        }
        String image = null;
        if (c.isArray()) {
            for (JsonNode part : c) {
                String type = str(part.get("type"));
                if (part.isTextual()) out.append(out.length() > 0 ? "\n" : "").append(part.asText());
                else if ("text".equals(type) || "input_text".equals(type)) {
                    out.append(out.length() > 0 ? "\n" : "").append(str(part.get("text")) == null ? "" : str(part.get("text")));
                } else if (type != null && type.contains("image") && image == null) {
                    JsonNode v = part.get("image_url");
                    if (v == null) v = part.get("image");
                    if (v != null && v.isObject()) v = v.get("url");
                    image = str(v);
                }
            }
        }
        return image;
    }

    /** The label's name, or null when it is not one of labels (or not a string or integer). */
    static String label(JsonNode l, List<String> labels) {
        if (l.isIntegralNumber()) {
            if (labels == null) return l.asText();
            int i = l.asInt();
            return i >= 0 && i < labels.size() ? labels.get(i) : null;
        }
        if (!l.isTextual()) return null;
        String s = l.asText().strip();
        if (labels == null || s.isEmpty()) return s;
        return labels.contains(s) ? s : null;
    }

    static String label(String s, List<String> labels) {
        if (s == null) return "";
        s = s.strip();
        if (s.isEmpty()) return "";
        if (labels == null) return s;
        if (labels.contains(s)) return s;
        if (s.matches("\\d{1,9}")) {
            int i = Integer.parseInt(s);
            return i < labels.size() ? labels.get(i) : null;
        }
        return null;
    }

    private static String str(JsonNode n) {
        if (n == null || n.isNull()) return null;
        return n.isValueNode() ? n.asText() : null;
    }

    /** "train" -> TRAIN; "test", "validation", "valid", "val", "dev", "eval" -> TEST; null -> null; else unknown. */
    static Split split(String s) {
        if (s == null || s.isBlank()) return null;
        return switch (s.strip().toLowerCase(Locale.ROOT)) {
            case "train", "training" -> Split.TRAIN;
            case "test", "testing", "validation", "valid", "val", "dev", "eval" -> Split.TEST;
            default -> throw new IllegalArgumentException(s);
        };
    }

    /** labels.txt (one name per line) in dir or the dataset root, else null. */
    static List<String> labels(Path dir, Path root) throws IOException {
        for (Path d : new Path[]{dir, root}) {
            Path f = d.resolve("labels.txt");
            if (Files.isRegularFile(f)) {
                return Files.readAllLines(f, StandardCharsets.UTF_8).stream().map(String::strip).filter(x -> !x.isEmpty()).toList();
            }
        }
        return null;
    }

    /** Decodes an image reference: a data URL or base64 inline, else a path under root relative to baseDir. */
    static ImageFiles.Decoded image(String ref, DatasetRoot root, Path baseDir, int size) {
        String r = ref.strip();
        String lower = r.toLowerCase(Locale.ROOT);
        if (lower.startsWith("http://") || lower.startsWith("https://")) return new ImageFiles.Decoded(null, Skip.REMOTE_IMAGE);
        byte[] inline = null;
        if (lower.startsWith("data:")) {
            int comma = r.indexOf(',');
            if (comma < 0 || !lower.substring(0, comma).contains(";base64")) return new ImageFiles.Decoded(null, Skip.BAD_BASE64);
            inline = base64(r.substring(comma + 1));
            if (inline == null) return new ImageFiles.Decoded(null, Skip.BAD_BASE64);
        } else if (r.length() >= 64 && !lower.matches(".*\\.(png|jpe?g|gif|bmp|webp|tiff?)$") && r.matches("[A-Za-z0-9+/=\\s_-]+")
                && !isFile(baseDir, r)) {
            // long, base64-looking and not an existing file under the root: bare base64
            inline = base64(r);
            if (inline == null) return new ImageFiles.Decoded(null, Skip.BAD_BASE64);
        }
        if (inline != null) return ImageFiles.decode(inline, size, 1);
        DatasetRoot.Resolved p = root.resolve(baseDir, r);
        if (p.skipReason() != null) return new ImageFiles.Decoded(null, p.skipReason());
        return ImageFiles.decode(p.path(), size);
    }

    /** Whether rel names an existing file relative to dir (no safety check: only to tell paths from base64). */
    private static boolean isFile(Path dir, String rel) {
        if (rel.startsWith("/")) return false; // absolute paths are refused anyway; JPEG base64 starts with "/9j/"
        try {
            return Files.isRegularFile(dir.resolve(rel));
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static byte[] base64(String s) {
        String t = s.replaceAll("\\s", "");
        try {
            return t.contains("-") || t.contains("_") ? Base64.getUrlDecoder().decode(t) : Base64.getDecoder().decode(t);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
