package m6j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.data.Tokenizer;
import m6j.infer.Classifier;
import m6j.infer.Imaginer;
import m6j.model.Lora;
import m6j.infer.Sampling;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Arrays;

/** /v1/embeddings (text, and images as an extension), /v1/images/generations and /v1/search. */
final class MediaApi {
    static final int MAX_INPUTS = 256;
    private final Server s;

    MediaApi(Server s) { this.s = s; }

    /** One embedding input: token ids of a text, or an image's RGB bytes. */
    private record Input(int[] ids, byte[] image) {}

    void embeddings(Exchange ex, ObjectNode req) throws Exception {
        s.checkModel(GenerationApi.modelOf(req));
        List<Input> inputs = inputs(RequestJson.required(req, "input"));
        String format = RequestJson.string(req, "encoding_format", "float");
        if (!format.equals("float") && !format.equals("base64"))
            throw ApiError.invalid("encoding_format", "'encoding_format' must be 'float' or 'base64'.");
        int dims = RequestJson.integer(req, "dimensions", s.embedder.dimensions(), 1, Integer.MAX_VALUE);
        if (dims != s.embedder.dimensions())
            throw ApiError.invalid("dimensions", "This model's embeddings have " + s.embedder.dimensions() + " dimensions; other sizes are not supported.");
        List<float[]> vecs = new ArrayList<>();
        for (int from = 0; from < inputs.size(); from += 32) {  // one engine task per 32: decode steps run between them
            List<Input> part = inputs.subList(from, Math.min(inputs.size(), from + 32));
            vecs.addAll(s.engine.call(() -> {
                List<int[]> texts = new ArrayList<>();
                List<byte[]> imgs = new ArrayList<>();
                for (Input in : part) if (in.image() != null) imgs.add(in.image()); else texts.add(in.ids());
                Iterator<float[]> t = texts.isEmpty() ? null : s.embedder.texts(texts).iterator();
                Iterator<float[]> im = imgs.isEmpty() ? null : s.embedder.images(imgs).iterator();
                List<float[]> out = new ArrayList<>();
                for (Input in : part) out.add(in.image() != null ? im.next() : t.next());
                return out;
            }, ex::clientGone));
        }
        ObjectNode root = RequestJson.MAPPER.createObjectNode().put("object", "list");
        ArrayNode data = root.putArray("data");
        int tokens = 0;
        for (int i = 0; i < vecs.size(); i++) {
            ObjectNode d = data.addObject().put("object", "embedding").put("index", i);
            if (format.equals("base64")) d.put("embedding", base64(vecs.get(i)));
            else { ArrayNode a = d.putArray("embedding"); for (float f : vecs.get(i)) a.add(f); }
            tokens += inputs.get(i).ids() != null ? inputs.get(i).ids().length : s.embedder.imagePositions();
        }
        root.put("model", s.opt.modelId());
        root.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
        ex.json(200, root);
    }

    /** string | [string] | [int] | [[int]] | (extension) [{"type":"image_url","image_url":{"url":"data:..."}}] mixed with strings. */
    private List<Input> inputs(JsonNode n) {
        List<Input> out = new ArrayList<>();
        if (n.isTextual()) out.add(text(n.asText(), "input"));
        else if (n.isArray()) {
            if (n.isEmpty()) throw ApiError.invalid("input", "empty_array", "'input' must not be empty.");
            if (n.size() > MAX_INPUTS) throw ApiError.invalid("input", "At most " + MAX_INPUTS + " inputs per request.");
            if (n.get(0).isIntegralNumber()) out.add(new Input(tokens(n, "input"), null));
            else for (int i = 0; i < n.size(); i++) {
                JsonNode e = n.get(i);
                String at = "input[" + i + "]";
                if (e.isTextual()) out.add(text(e.asText(), at));
                else if (e.isArray()) out.add(new Input(tokens(e, at), null));
                else if (e.isObject() && e.has("image_url"))
                    out.add(new Input(null, ImageInput.fromUrl(ChatPrompt.url(e.get("image_url"), at + ".image_url"), s.model.config.imageSize(), at + ".image_url", s.opt.imageFetch())));
                else throw RequestJson.wrongType(at, "a string, token ids or an image_url object", e);
            }
        } else throw RequestJson.wrongType("input", "a string or an array", n);
        return out;
    }

    private Input text(String t, String param) {
        if (t.isEmpty()) throw ApiError.invalid(param, "'" + param + "' must not be an empty string.");
        return new Input(ids(t, param), null);
    }

    /** [BOS text] ids for the embedder; 400 when the text does not fit the context. */
    private int[] ids(String text, String param) {
        try {
            return s.embedder.ids(text);
        } catch (IllegalArgumentException e) {
            throw ApiError.invalid(param, "context_length_exceeded", e.getMessage());
        }
    }

    private int[] tokens(JsonNode arr, String param) {
        int v = s.model.config.vocabSize();
        if (arr.size() + 1 > s.model.config.maxTextLen())
            throw ApiError.invalid(param, "context_length_exceeded", "Input exceeds the model's context of " + s.model.config.maxTextLen() + " tokens.");
        int[] ids = new int[arr.size() + 1];
        ids[0] = s.tok.id(Tokenizer.BOS);
        for (int i = 0; i < arr.size(); i++) {
            JsonNode e = arr.get(i);
            if (!e.isIntegralNumber() || e.asLong() < 0 || e.asLong() >= v)
                throw ApiError.invalid(param, "Token ids must be integers in 0.." + (v - 1) + ".");
            ids[i + 1] = e.asInt();
        }
        return ids;
    }

    static String base64(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return Base64.getEncoder().encodeToString(b.array());
    }

    void images(Exchange ex, ObjectNode req) throws Exception {
        String prompt = RequestJson.string((ObjectNode) req, "prompt", null);
        if (prompt == null) RequestJson.required(req, "prompt");
        if (prompt.isBlank()) throw ApiError.invalid("prompt", "'prompt' must not be empty.");
        if (req.hasNonNull("model")) s.checkModel(RequestJson.string(req, "model", null));
        int n = RequestJson.integer(req, "n", 1, 1, 4);
        String format = RequestJson.string(req, "response_format", "b64_json");
        if (!format.equals("b64_json") && !format.equals("url"))
            throw ApiError.invalid("response_format", "response_format must be 'b64_json' or 'url' (a data: URL: this server keeps no images).");
        int[] wh = size(RequestJson.string(req, "size", null));
        long seed = req.hasNonNull("seed") ? RequestJson.integer(req, "seed", 0, Integer.MIN_VALUE, Integer.MAX_VALUE) : System.nanoTime();
        if (s.images == null)
            throw ApiError.invalid("model", "image_generation_unavailable", "The model '" + s.opt.modelId()
                    + "' has no image generator (it needs the VQGAN and stage-two image codes).");
        try {
            s.images.promptIds(prompt);
        } catch (IllegalArgumentException e) {
            throw ApiError.invalid("prompt", "context_length_exceeded", e.getMessage());
        }
        // The engine draws the codes between (and together with) text decode steps; the VQGAN decodes them here.
        long[][] codes = s.images.codes(prompt, n, new Imaginer.Options(new Sampling(1.0, 0, 1.0, seed), 3.0), ex::clientGone);
        List<byte[]> pngs = new ArrayList<>();
        int side = s.images.vq.config.imageSize();
        for (byte[] rgb : s.images.vq.images(codes)) pngs.add(ImageInput.png(rgb, side, wh == null ? side : wh[0], wh == null ? side : wh[1]));
        ObjectNode root = RequestJson.MAPPER.createObjectNode().put("created", System.currentTimeMillis() / 1000);
        ArrayNode data = root.putArray("data");
        for (byte[] png : pngs) {
            String b64 = Base64.getEncoder().encodeToString(png);
            data.addObject().put(format, format.equals("url") ? "data:image/png;base64," + b64 : b64).put("revised_prompt", prompt);
        }
        ex.json(200, root);
    }

    /** "WxH" (each 16..2048; the model's own size is drawn and resampled to it), or null for "auto" / none. */
    static int[] size(String size) {
        if (size == null || size.equals("auto")) return null;
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("([1-9][0-9]{1,3})x([1-9][0-9]{1,3})").matcher(size);
        if (!m.matches() || Integer.parseInt(m.group(1)) > 2048 || Integer.parseInt(m.group(2)) > 2048
                || Integer.parseInt(m.group(1)) < 16 || Integer.parseInt(m.group(2)) < 16)
            throw ApiError.invalid("size", "Invalid size '" + size + "': 'auto' or WIDTHxHEIGHT, each 16..2048 (e.g. 256x256).");
        return new int[]{Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))};
    }

    /**
     * {"model", "input": text and/or "image": a data URL, optional "labels": [...]}: every label scored by the model's
     * likelihood of its words (label words, as `finetune --task classify` trains them), best first; "score" is a
     * softmax over the labels of the per-token log-likelihoods (a ranking, not a calibrated probability).
     */
    void classify(Exchange ex, ObjectNode req) throws Exception {
        String id = GenerationApi.modelOf(req);
        Lora adapter = s.checkModel(id);
        String text = RequestJson.string(req, "input", "");
        String url = RequestJson.string(req, "image", null);
        if (text.isEmpty() && url == null) throw ApiError.invalid("input", "missing_required_parameter", "Give 'input' (text), 'image' (a data: URL) or both.");
        if (!text.isEmpty()) ids(text, "input");                           // context check
        byte[] image = url == null ? null : ImageInput.fromUrl(url, s.model.config.imageSize(), "image", s.opt.imageFetch());
        List<String> labels = req.hasNonNull("labels") ? RequestJson.strings(req.get("labels"), "labels") : s.labels.get(id);
        if (labels == null || labels.isEmpty())
            throw ApiError.invalid("labels", "missing_required_parameter", "The model '" + id + "' has no labels of its own (fine-tune it with --task classify) : give 'labels'.");
        if (labels.size() > MAX_INPUTS) throw ApiError.invalid("labels", "At most " + MAX_INPUTS + " labels.");
        if (labels.stream().anyMatch(String::isBlank)) throw ApiError.invalid("labels", "Labels must not be empty.");
        List<String> ls = labels;
        List<Classifier.Ranked> ranked = s.engine.call(() -> {
            Classifier c = new Classifier(s.model, adapter, s.tok, ls);
            return c.ranked(c.scores(List.of(text), image == null ? null : List.of(image))[0]);
        }, ex::clientGone);
        ObjectNode root = RequestJson.MAPPER.createObjectNode().put("object", "list").put("model", id);
        ArrayNode data = root.putArray("data");
        for (Classifier.Ranked r : ranked) data.addObject().put("label", r.label()).put("score", r.score()).put("logprob_per_token", r.logprobPerToken());
        ex.json(200, root);
    }

    /** {"query": "text"} or {"image": "data:..."}, optional "k" (1..100) and "kind" ("image" or "text"). */
    void search(Exchange ex, ObjectNode req) throws Exception {
        if (req.hasNonNull("model")) s.checkModel(RequestJson.string(req, "model", null));
        String query = RequestJson.string(req, "query", null), image = RequestJson.string(req, "image", null);
        if ((query == null) == (image == null))
            throw ApiError.invalid("query", "missing_required_parameter", "Give exactly one of 'query' (text) and 'image' (a data: URL).");
        int k = RequestJson.integer(req, "k", 10, 1, 100);
        String kind = RequestJson.string(req, "kind", null);
        if (kind != null && !kind.equals("image") && !kind.equals("text"))
            throw ApiError.invalid("kind", "'kind' must be 'image' or 'text'.");
        if (s.index == null)
            throw ApiError.invalid(null, "no_index", "This server has no vector index (build one with 'm6j index build' and start with --index DIR).");
        Input in = query != null ? text(query, "query") : new Input(null, ImageInput.fromUrl(image, s.model.config.imageSize(), "image", s.opt.imageFetch()));
        float[] v = s.engine.call(() -> in.image() != null ? s.embedder.image(in.image()) : s.embedder.text(in.ids()));
        ObjectNode root = RequestJson.MAPPER.createObjectNode().put("object", "list").put("model", s.opt.modelId());
        ArrayNode data = root.putArray("data");
        for (VectorIndex.Hit h : s.index.search(s.index.prepare(v, in.image() != null ? "image" : "text"), k, kind)) {
            ObjectNode d = data.addObject().put("id", h.id()).put("kind", h.kind()).put("source", h.source()).put("score", h.score());
            if (h.text() == null) d.putNull("text"); else d.put("text", h.text());
            if (h.png() == null) d.putNull("image"); else d.put("image", "data:image/png;base64," + Base64.getEncoder().encodeToString(h.png()));
        }
        ex.json(200, root);
    }
}
