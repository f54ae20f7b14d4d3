package m6j.serve;

import m6j.infer.Engine;

import java.util.List;

/** How the server listens and what it accepts; validated here so the CLI and tests share the rules. */
public record ServeOptions(String host, int port, String apiKey, String modelId, long maxBodyBytes, int maxN,
                           Engine.Options engine, List<String> aliases, ImageFetch imageFetch) {
    /**
     * aliases: more names the base model answers to (a client's default model name, say); listed by /v1/models.
     * imageFetch: whether and how http(s) image URLs are fetched ({@link ImageFetch#OFF} by default).
     */
    public ServeOptions {
        if (imageFetch == null) throw new IllegalArgumentException("imageFetch must not be null (ImageFetch.OFF for none)");
        aliases = List.copyOf(aliases);
        for (String a : aliases)
            if (a == null || a.isBlank() || a.equals(modelId)) throw new IllegalArgumentException("--served-model-name: names must be distinct and not empty");
        if (aliases.stream().distinct().count() != aliases.size()) throw new IllegalArgumentException("--served-model-name: names must be distinct");
        if (host == null || host.isBlank()) throw new IllegalArgumentException("--host must not be empty");
        if (port < 0 || port > 65535) throw new IllegalArgumentException("--port must be in 0..65535 (0 = any free port)");
        if (apiKey != null && apiKey.isBlank()) throw new IllegalArgumentException("--api-key must not be blank");
        if (modelId == null || modelId.isBlank()) throw new IllegalArgumentException("--model-id must not be empty");
        if (maxBodyBytes < 1024 || maxBodyBytes > (1L << 30)) throw new IllegalArgumentException("--max-body must be in 1024..1073741824 bytes");
        if (maxN < 1 || maxN > 64) throw new IllegalArgumentException("--max-n must be in 1..64");
    }

    /** Without remote image fetching. */
    public ServeOptions(String host, int port, String apiKey, String modelId, long maxBodyBytes, int maxN, Engine.Options engine, List<String> aliases) {
        this(host, port, apiKey, modelId, maxBodyBytes, maxN, engine, aliases, ImageFetch.OFF);
    }

    public static ServeOptions defaults(String modelId) {
        return new ServeOptions("127.0.0.1", 8080, null, modelId, 8L << 20, 8, new Engine.Options(32, 256, 60_000), List.of());
    }

    public ServeOptions withPort(int p) { return new ServeOptions(host, p, apiKey, modelId, maxBodyBytes, maxN, engine, aliases, imageFetch); }

    public ServeOptions withApiKey(String k) { return new ServeOptions(host, port, k, modelId, maxBodyBytes, maxN, engine, aliases, imageFetch); }

    public ServeOptions withEngine(Engine.Options s) { return new ServeOptions(host, port, apiKey, modelId, maxBodyBytes, maxN, s, aliases, imageFetch); }

    public ServeOptions withAliases(List<String> a) { return new ServeOptions(host, port, apiKey, modelId, maxBodyBytes, maxN, engine, a, imageFetch); }

    public ServeOptions withImageFetch(ImageFetch f) { return new ServeOptions(host, port, apiKey, modelId, maxBodyBytes, maxN, engine, aliases, f); }
}
