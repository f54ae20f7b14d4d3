package m6j.cli;

import m6j.checkpoint.Checkpoint;
import m6j.infer.Engine;
import m6j.model.Lora;
import m6j.serve.ImageFetch;
import m6j.serve.ServeOptions;
import m6j.serve.Server;
import m6j.serve.VectorIndex;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "OpenAI-compatible HTTP API (chat, completions, embeddings, images, search) with continuous batching, and a web page at /.")
public final class ServeCommand implements Callable<Integer> {
    @Mixin Common common;
    @Mixin ModelOption model;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to bind (default: ${DEFAULT-VALUE}).") String host;
    @Option(names = "--port", defaultValue = "8080", description = "Port (default: ${DEFAULT-VALUE}; 0 = any free port).") int port;
    @Option(names = "--api-key", description = "Require 'Authorization: Bearer KEY' on /v1/* (default: $M6J_API_KEY, else none).") String apiKey;
    @Option(names = {"--served-model-name", "--model-id"}, split = ",", paramLabel = "NAME[,NAME...]",
            description = "Model names clients may send, the first reported as its id (default: m6j-PRESET); e.g. m6j-tiny,gpt-4o-mini for a client's default.")
    List<String> modelNames;
    @Option(names = "--index", description = "Vector index directory from 'm6j index build' for /v1/search.") Path index;
    @Option(names = "--max-batch", defaultValue = "32", description = "Sequences decoded together per step (default: ${DEFAULT-VALUE}).") int maxBatch;
    @Option(names = "--max-queue", defaultValue = "256", description = "Waiting sequences before 429 (default: ${DEFAULT-VALUE}).") int maxQueue;
    @Option(names = "--timeout", defaultValue = "60", description = "Per-request timeout in seconds (default: ${DEFAULT-VALUE}).") double timeout;
    @Option(names = "--adapter", description = "NAME=DIR: also serve this LoRA adapter (a finetune --lora run or checkpoint of this model) as model NAME; repeatable.")
    Map<String, Path> adapters = new LinkedHashMap<>();
    @Option(names = "--max-body", defaultValue = "8388608", description = "Largest request body in bytes (default: ${DEFAULT-VALUE}).") long maxBody;
    @Option(names = "--fetch-images", description = "Fetch http(s) image URLs in requests (off: only data: URLs); public addresses only unless --fetch-allow-private.")
    boolean fetchImages;
    @Option(names = "--fetch-max-bytes", defaultValue = "8388608", description = "Largest remote image in bytes (default: ${DEFAULT-VALUE}).") long fetchMaxBytes;
    @Option(names = "--fetch-timeout", defaultValue = "5", description = "Seconds a remote image fetch may take in all (default: ${DEFAULT-VALUE}).") double fetchTimeout;
    @Option(names = "--fetch-allow-private", description = "Also fetch from loopback, private, link-local (cloud metadata!) and CGNAT addresses.")
    boolean fetchAllowPrivate;

    /** A classify fine-tune's labels (trainer.json) become the model's default labels of /v1/classify. */
    private static void labels(Server s, String id, JsonNode trainer) {
        if (trainer == null || !trainer.path("labels").isArray()) return;
        List<String> l = new ArrayList<>();
        trainer.path("labels").forEach(x -> l.add(x.asText()));
        if (!l.isEmpty()) s.labels(id, l);
    }

    @Override public Integer call() throws Exception {
        if (apiKey == null) apiKey = System.getenv("M6J_API_KEY");
        Engine.Options so = new Engine.Options(maxBatch, maxQueue, Math.round(timeout * 1000));
        ImageFetch fetch = new ImageFetch(fetchImages, fetchMaxBytes, Math.round(fetchTimeout * 1000), fetchAllowPrivate);   // checked before loading
        common.init();
        Checkpoint.Loaded l = Checkpoint.load(model.model);
        List<String> names = modelNames == null || modelNames.isEmpty() ? List.of("m6j-" + l.model().config.name()) : modelNames;
        ServeOptions o = new ServeOptions(host, port, apiKey, names.get(0), maxBody, 8, so, names.subList(1, names.size()), fetch);
        VectorIndex vi = index == null ? null : VectorIndex.open(index);
        Map<String, Lora> loaded = new LinkedHashMap<>();
        for (var e : adapters.entrySet()) {
            Path dir = Checkpoint.resolve(e.getValue());
            if (!Lora.in(dir)) throw new IllegalArgumentException("--adapter " + e.getKey() + "=" + e.getValue() + ": no " + Lora.CONFIG + " there");
            loaded.put(e.getKey(), Lora.load(dir, l.model()));
        }
        Server s = new Server(l, true, vi, o, loaded);       // runs trained with --vqgan draw
        labels(s, o.modelId(), l.trainer());
        for (var e : adapters.entrySet()) labels(s, e.getKey(), Checkpoint.describe(Checkpoint.resolve(e.getValue())).trainer());
        System.out.println("m6j: serving " + o.modelId() + " from " + l.dir() + " on " + s.baseUrl()
                + (apiKey != null ? " (API key required)" : "")
                + (fetch.enabled() ? " (fetches image URLs" + (fetch.allowPrivate() ? ", private addresses too)" : ")") : "") + (loaded.isEmpty() ? "" : ", adapters " + loaded.keySet()) + (vi != null ? ", index of " + vi.size() + " items" : "") + (s.draws() ? ", images " + s.imageSize() : ""));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> { try { s.close(); } catch (Exception ignored) { } }));
        Thread.currentThread().join();
        return 0;
    }
}
