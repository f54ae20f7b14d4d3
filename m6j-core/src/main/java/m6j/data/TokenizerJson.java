package m6j.data;

import m6j.runtime.FileTrees;
import m6j.runtime.Json;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** Reads and writes the Hugging Face tokenizers JSON format (BPE model, byte-level pipeline). */
final class TokenizerJson {
    private static final ObjectMapper MAPPER = Json.MAPPER;
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private TokenizerJson() {}

    /** The pre-tokenizer this implementation reproduces; load insists on exactly this. */
    static ObjectNode preTokenizer() {
        ObjectNode split = F.objectNode().put("type", "Split");
        split.putObject("pattern").put("Regex", PreTokenizer.ISOLATED_REGEX);
        split.put("behavior", "Isolated").put("invert", false);
        ObjectNode seq = F.objectNode().put("type", "Sequence");
        seq.putArray("pretokenizers").add(split).add(byteLevel());
        return seq;
    }

    private static ObjectNode byteLevel() {
        return F.objectNode().put("type", "ByteLevel").put("add_prefix_space", false)
                .put("trim_offsets", true).put("use_regex", true);
    }

    static void write(Tokenizer tok, Path file) throws IOException {
        List<String> tokens = tok.tokens();
        boolean[] special = tok.specialFlags();
        ObjectNode root = F.objectNode().put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int id = 0; id < tokens.size(); id++) {
            if (!special[id]) continue;
            added.addObject().put("id", id).put("content", tokens.get(id)).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        root.putNull("normalizer");
        root.set("pre_tokenizer", preTokenizer());
        root.putNull("post_processor");
        root.set("decoder", byteLevel());
        ObjectNode model = root.putObject("model").put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false).put("byte_fallback", false).put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int id = 0; id < tokens.size(); id++) vocab.put(tokens.get(id), id);
        ArrayNode merges = model.putArray("merges");
        for (long m : tok.mergePairs()) {
            // "left right" strings: byte-level tokens never contain a space, and every
            // tokenizers version (old and new) reads this form.
            merges.add(tokens.get((int) (m >>> 32)) + " " + tokens.get((int) m));
        }

        // Fixed "\n" line ends so the bytes are identical on every platform.
        DefaultPrettyPrinter pp = new DefaultPrettyPrinter()
                .withObjectIndenter(new DefaultIndenter("  ", "\n"))
                .withArrayIndenter(new DefaultIndenter("  ", "\n"));
        byte[] bytes = MAPPER.writer(pp).writeValueAsBytes(root);

        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir != null) Files.createDirectories(dir);
        // Not Files.createTempFile: that makes the file owner-only (0600); this keeps the umask default.
        Path tmp = abs.resolveSibling(abs.getFileName() + "." + Long.toHexString(System.nanoTime()) + ".tmp");
        try {
            Files.write(tmp, bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            FileTrees.commit(tmp, abs);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    static Tokenizer read(Path file) throws IOException {
        JsonNode root;
        try {
            root = MAPPER.readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw new IOException("tokenizer file not found: " + file, e);
        } catch (JsonProcessingException e) {
            throw new IOException("corrupt tokenizer file " + file + ": " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new IOException("cannot read tokenizer file " + file + ": " + e, e);
        }
        try {
            return parse(root);
        } catch (IllegalArgumentException | ClassCastException e) {
            throw new IOException("unsupported or corrupt tokenizer file " + file + ": " + e.getMessage(), e);
        }
    }

    private static Tokenizer parse(JsonNode root) {
        require(root != null && root.isObject(), "not a JSON object");
        JsonNode model = root.path("model");
        require("BPE".equals(model.path("type").asText()), "model type must be BPE, got " + model.path("type"));
        require(isNull(root.get("normalizer")), "normalizers are not supported");
        require(preTokenizer().equals(root.get("pre_tokenizer")),
                "pre_tokenizer must be Sequence[Split(CJK, Isolated), ByteLevel(add_prefix_space=false)]");
        require("ByteLevel".equals(root.path("decoder").path("type").asText()), "decoder must be ByteLevel");
        for (String f : List.of("dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix")) {
            require(isNull(model.get(f)), "model." + f + " must be null");
        }
        require(!model.path("byte_fallback").asBoolean(false), "byte_fallback is not supported");
        require(!model.path("ignore_merges").asBoolean(false), "ignore_merges is not supported");

        JsonNode vocab = model.get("vocab");
        require(vocab != null && vocab.isObject(), "model.vocab missing");
        String[] byId = new String[vocab.size()];
        for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            require(e.getValue().canConvertToExactIntegral(), "vocab id of '" + e.getKey() + "' is not an integer");
            int id = e.getValue().asInt();
            require(id >= 0 && id < byId.length && byId[id] == null, "vocab ids must be 0.." + (byId.length - 1) + " without gaps");
            byId[id] = e.getKey();
        }
        boolean[] special = new boolean[byId.length];
        for (JsonNode t : root.path("added_tokens")) {
            int id = t.path("id").asInt(-1);
            String content = t.path("content").asText();
            require(id >= 0 && id < byId.length && content.equals(byId[id]),
                    "added token '" + content + "' does not match vocab id " + id);
            require(t.path("special").asBoolean(false), "non-special added token '" + content + "' is not supported");
            special[id] = true;
        }

        Map<String, Integer> ids = new HashMap<>(byId.length * 2);
        for (int i = 0; i < byId.length; i++) ids.put(byId[i], i);
        JsonNode mergesNode = model.get("merges");
        require(mergesNode != null && mergesNode.isArray(), "model.merges missing");
        long[] merges = new long[mergesNode.size()];
        for (int r = 0; r < merges.length; r++) {
            JsonNode m = mergesNode.get(r);
            String left, right;
            if (m.isTextual()) { // "left right"
                String[] parts = m.asText().split(" ", -1);
                require(parts.length == 2, "merge " + r + " is not 'left right': " + m);
                left = parts[0];
                right = parts[1];
            } else { // ["left", "right"] (tokenizers >= 0.20)
                require(m.isArray() && m.size() == 2, "merge " + r + " is not a pair: " + m);
                left = m.get(0).asText();
                right = m.get(1).asText();
            }
            Integer a = ids.get(left), b = ids.get(right);
            require(a != null && b != null, "merge " + r + " uses a token not in the vocab: " + m);
            merges[r] = (long) a << 32 | b;
        }
        return new Tokenizer(Arrays.asList(byId), special, merges);
    }

    private static boolean isNull(JsonNode n) {
        return n == null || n.isNull();
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }
}
