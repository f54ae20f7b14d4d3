package m6j.serve;

import m6j.infer.Embedder;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import m6j.checkpoint.Checkpoint;
import m6j.data.Tokenizer;
import m6j.infer.Engine;
import m6j.infer.EngineException;
import m6j.infer.Imaginer;
import m6j.model.Lora;
import m6j.model.M6Model;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The OpenAI-compatible HTTP server (JDK com.sun.net.httpserver): routes, Bearer-key check, body limit, and one
 * rule at the edge: whatever a handler throws becomes an OpenAI-style error, 4xx for the client's mistakes.
 */
public final class Server implements AutoCloseable {
    /**
     * The JDK server's own limits against slow clients (read once per process, so set before the first server
     * starts; a -D on the command line wins): a request must arrive whole, headers and body, within 30 s; a reply
     * (an SSE stream included) must be taken within 600 s, else the connection is closed and its handler freed;
     * at most 512 connections at once.
     */
    static final Map<String, String> LIMITS = Map.of("sun.net.httpserver.maxReqTime", "30", "sun.net.httpserver.maxRspTime", "600",
            "jdk.httpserver.maxConnections", "512");

    static {
        LIMITS.forEach((k, v) -> { if (System.getProperty(k) == null) System.setProperty(k, v); });
    }

    final M6Model model;
    final Tokenizer tok;
    final ServeOptions opt;
    final Engine engine;
    final Metrics metrics = new Metrics();
    /** Heap that request bodies and parsed requests may hold at once. */
    final Admission admission = Admission.forHeap();
    final Embedder embedder;
    /** Text -> image on the server's engine, or null when the run does not draw (or drawing is off). */
    final Imaginer images;
    final VectorIndex index;
    private final Map<String, Lora> adapters;
    /** Per model id, the labels /v1/classify chooses from when a request names none (a classify fine-tune's). */
    final Map<String, List<String>> labels = new ConcurrentHashMap<>();
    final long created = System.currentTimeMillis() / 1000;
    private final HttpServer http;
    private final ExecutorService pool;
    private final AtomicInteger threads = new AtomicInteger();
    private final GenerationApi generation = new GenerationApi(this);
    private final ResponsesApi responses = new ResponsesApi(this, generation);
    private final MediaApi media = new MediaApi(this);

    /**
     * Serves a loaded checkpoint; draw: answer /v1/images/generations when the run was trained with --vqgan. index may
     * be null. Without either, those endpoints answer a clear 400.
     */
    public Server(Checkpoint.Loaded l, boolean draw, VectorIndex index, ServeOptions opt) throws IOException {
        this(l, draw, index, opt, Map.of());
    }

    /** adapters: low-rank adapters of the loaded model, each served under its name (a model id) next to the base. */
    public Server(Checkpoint.Loaded l, boolean draw, VectorIndex index, ServeOptions opt, Map<String, Lora> adapters) throws IOException {
        for (String name : adapters.keySet())
            if (name.equals(opt.modelId()) || opt.aliases().contains(name))
                throw new IllegalArgumentException("--adapter name '" + name + "' is one of the base model's names");
        this.adapters = new LinkedHashMap<>(adapters);
        this.model = l.model();
        this.tok = l.tokenizer();
        this.opt = opt;
        this.index = index;
        this.embedder = Embedder.of(model, tok);
        this.engine = new Engine(model, tok, opt.engine(), metrics);
        this.images = draw ? Imaginer.of(l, engine).orElse(null) : null;
        metrics.gauge("m6j_queue_depth", "Generations (one per choice) waiting for KV slots.", engine::queued);
        metrics.gauge("m6j_tasks_waiting", "Embedding, search and classification tasks waiting for the engine thread.", engine::tasksWaiting);
        metrics.gauge("m6j_active_sequences", "Generations (one per choice) in the running batch.", engine::running);
        metrics.gauge("m6j_kv_slots_used", "KV-cache slots held by running generations (two for a guided image).", engine::slotsUsed);
        metrics.gauge("m6j_kv_slots", "KV-cache slots in the pool (--max-batch).", engine::slots);
        metrics.served(opt.modelId(), modelIds().subList(0, 1 + opt.aliases().size()), this.adapters.keySet());
        http = HttpServer.create(new InetSocketAddress(opt.host(), opt.port()), 256);
        // Enough handlers for every request the engine can hold (running + queued) and a few quick ones; more
        // connections wait unread in the JDK's queue (bounded by jdk.httpserver.maxConnections, see LIMITS).
        int handlers = Math.min(1024, opt.engine().maxBatch() + opt.engine().maxQueue() + 16);
        pool = Executors.newFixedThreadPool(handlers, r -> {
            Thread t = new Thread(r, "m6j-http-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        http.setExecutor(pool);
        http.createContext("/", h -> handle(new Exchange(h)));
        http.start();
    }

    public int port() { return http.getAddress().getPort(); }

    public String baseUrl() { return "http://" + opt.host() + ":" + port(); }

    public Metrics metrics() { return metrics; }

    /** The labels /v1/classify uses for model id when a request gives none. */
    public void labels(String id, List<String> l) {
        checkModel(id);
        labels.put(id, List.copyOf(l));
    }

    /** Whether /v1/images/generations draws (the run was trained with --vqgan and drawing is on). */
    public boolean draws() { return images != null; }

    /** "SxS" of the images it draws. */
    public String imageSize() {
        int side = images == null ? 0 : images.vq.config.imageSize();
        return side + "x" + side;
    }

    /** The routes, as metrics label them: a request's own path never becomes a label (its cardinality is the client's). */
    static final List<String> ROUTES = List.of("/", "/index.html", "/health", "/metrics", "/v1/models", "/v1/models/{id}",
            "/v1/completions", "/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/images/generations", "/v1/search", "/v1/classify");

    static String route(String path) {
        if (path.startsWith("/v1/models/")) return "/v1/models/{id}";
        return ROUTES.contains(path) ? path : "other";
    }

    private void handle(Exchange ex) {
        long t0 = System.nanoTime();
        boolean gone = false;
        String path = ex.path(), method = ex.http.getRequestMethod();
        String route = route(path);
        try {
            if (draining) {
                ex.discardBody();
                ex.http.getResponseHeaders().set("Connection", "close");
                throw new ApiError(503, "server_error", "shutting_down", null, "The server is shutting down.", 1);
            }
            if (path.startsWith("/v1/") && opt.apiKey() != null) {
                String auth = ex.http.getRequestHeaders().getFirst("Authorization");
                if (auth == null || !auth.equals("Bearer " + opt.apiKey())) { ex.discardBody(); throw ApiError.auth(); }
            }
            switch (path) {
                case "/", "/index.html" -> { get(method); page(ex); }
                case "/health" -> { get(method); health(ex); }
                case "/metrics" -> { get(method); ex.send(200, metrics.contentType(), metrics.render().getBytes(StandardCharsets.UTF_8)); }
                case "/v1/models" -> { get(method); ex.json(200, models()); }
                case "/v1/completions" -> generation.completions(ex, post(ex, method));
                case "/v1/chat/completions" -> generation.chat(ex, post(ex, method));
                case "/v1/responses" -> responses.create(ex, post(ex, method));
                case "/v1/embeddings" -> media.embeddings(ex, post(ex, method));
                case "/v1/images/generations" -> media.images(ex, post(ex, method));
                case "/v1/search" -> media.search(ex, post(ex, method));
                case "/v1/classify" -> media.classify(ex, post(ex, method));
                default -> {
                    if (path.startsWith("/v1/models/")) { get(method); ex.json(200, model(path.substring(11))); }
                    else throw ApiError.notFound("Unknown path " + path + ".");
                }
            }
        } catch (ApiError e) {
            reply(ex, e);
        } catch (EngineException e) {
            reply(ex, ApiError.of(e));
        } catch (CancellationException | IOException e) {
            gone = true;                                            // client gone mid-reply: nothing to answer
        } catch (Exception | Error e) {
            String m = e.getMessage() == null ? e.toString() : e.getMessage().split("\n")[0];
            reply(ex, ApiError.internal("internal error: " + m));
            if (System.getenv("M6J_DEBUG") != null) e.printStackTrace();
        } finally {
            // 499: the client left before its whole answer (a stream's 200 header does not make it a 200)
            metrics.request(route, gone || ex.status() == 0 ? 499 : ex.status(), (System.nanoTime() - t0) / 1e9);
            ex.close();
        }
    }

    /** 200 while the engine runs, 503 with the reason once it has stopped. */
    private void health(Exchange ex) throws IOException {
        String down = engine.failure();
        ObjectNode h = RequestJson.MAPPER.createObjectNode().put("status", down == null ? "ok" : "unavailable").put("model", opt.modelId());
        if (down != null) h.put("reason", down);
        ex.json(down == null ? 200 : 503, h);
    }

    private void reply(Exchange ex, ApiError e) {
        try {
            ex.error(e);
        } catch (IOException | RuntimeException ignored) {
            // client gone
        }
    }

    private static void get(String method) {
        if (!method.equals("GET") && !method.equals("HEAD"))
            throw new ApiError(405, "invalid_request_error", "method_not_allowed", null, "Use GET for this path.", 0);
    }

    private ObjectNode post(Exchange ex, String method) throws IOException {
        if (!method.equals("POST")) {
            ex.discardBody();
            throw new ApiError(405, "invalid_request_error", "method_not_allowed", null, "Use POST for this path.", 0);
        }
        RequestJson.Parsed p = RequestJson.parseObject(ex.body(opt.maxBodyBytes(), admission));
        ex.reserve((long) p.tokens() * Admission.TREE_BYTES_PER_TOKEN);   // the tree lives as long as the request
        return p.json();
    }

    /**
     * The adapter a request's model id selects: null for the base model, the adapter for one of --adapter's names;
     * 404 for any other id (OpenAI's model_not_found).
     */
    Lora checkModel(String id) {
        if (opt.modelId().equals(id) || opt.aliases().contains(id)) return null;
        Lora a = id == null ? null : adapters.get(id);
        if (a == null)
            throw new ApiError(404, "invalid_request_error", "model_not_found", "model",
                    "The model '" + id + "' does not exist; this server serves " + String.join(", ", modelIds().stream().map(m -> "'" + m + "'").toList()) + ".", 0);
        return a;
    }

    /** The base model's id, then the adapters' names. */
    List<String> modelIds() {
        List<String> ids = new ArrayList<>(List.of(opt.modelId()));
        ids.addAll(opt.aliases());
        ids.addAll(adapters.keySet());
        return ids;
    }

    private ObjectNode model(String id) {
        checkModel(id);
        ObjectNode m = RequestJson.MAPPER.createObjectNode().put("id", id).put("object", "model").put("created", created).put("owned_by", "m6j");
        if (!id.equals(opt.modelId()) && !opt.aliases().contains(id)) m.put("parent", opt.modelId());
        return m;
    }

    private ObjectNode models() {
        ObjectNode root = RequestJson.MAPPER.createObjectNode().put("object", "list");
        ArrayNode data = root.putArray("data");
        for (String id : modelIds()) data.add(model(id));
        return root;
    }

    private void page(Exchange ex) throws IOException {
        try (InputStream in = Server.class.getResourceAsStream("/m6j/serve/index.html")) {
            if (in == null) throw ApiError.notFound("page not packaged");
            ex.send(200, "text/html; charset=utf-8", in.readAllBytes());
        }
    }

    /** Set once close() begins: requests that arrive while in-flight ones finish are refused with 503. */
    private volatile boolean draining;

    /**
     * Drains, then stops (what SIGTERM does through `m6j serve`'s shutdown hook): new requests get 503, requests in
     * flight run to their end (at most the engine's request timeout), then the engine and the handlers stop.
     */
    @Override public void close() throws Exception {
        draining = true;
        http.stop((int) Math.min(120, Math.max(1, opt.engine().timeoutMs() / 1000)));
        engine.close();
        pool.shutdownNow();
        if (index != null) index.close();
    }
}
