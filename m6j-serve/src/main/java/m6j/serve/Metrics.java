package m6j.serve;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import m6j.infer.Engine;
import m6j.runtime.Memory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.function.Supplier;

/**
 * The server's metrics, kept by the Prometheus Java client in a registry of their own (one per server) and written
 * in the Prometheus text format (0.0.4) by the client's writer, which also escapes label values. HTTP requests by
 * route template and status; per generation (one per choice of a request) the queue time, time to first token,
 * inter-token latency, end-to-end latency and finish reason, from the engine ({@link Engine.Stats}); decode-step
 * batch sizes and times; the engine's running and waiting requests and KV slots; tokens; the JVM's own metrics;
 * and a build-info metric. Only counters, gauges and histograms: rates are the dashboard's (rate() over a counter).
 */
public final class Metrics implements Engine.Stats {
    /** HTTP request latency: a model listing takes milliseconds, a long stream minutes. */
    static final double[] LATENCY = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
    static final double[] BATCH = {1, 2, 4, 8, 16, 32, 64, 128, 256};
    static final double[] STEP = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
    /** Time to first token on a CPU: one prefill of a small model is milliseconds, a full queue tens of seconds. */
    static final double[] TTFT = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80};
    /** Inter-token latency: one batched decode step, 1 ms (tiny model) to a second (large batch of a large one). */
    static final double[] ITL = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5};
    /** End-to-end latency of one generation: up to the request timeout (60 s by default) and past it. */
    static final double[] E2E = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120, 300};
    /** Time queued for a KV slot: none while slots are free, seconds when the batch is full. */
    static final double[] QUEUE = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    /** Every finish reason of {@link Engine.Stats#finished}: each series exists (at 0) from the start. */
    public static final List<String> FINISH_REASONS = List.of("stop", "length", "cancelled", "timeout", "error");

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
    private final Counter requests = Counter.builder().name("m6j_requests_total")
            .help("HTTP requests by route template and status (499: the client went away).").labelNames("path", "status").register(registry);
    private final Histogram latency = histogram("m6j_request_duration_seconds", "HTTP request latency by route template.", LATENCY, "path");
    private final Histogram batch = histogram("m6j_batch_size", "Sequences per batched decode step.", BATCH);
    private final Histogram step = histogram("m6j_decode_step_seconds", "Time of one batched decode step.", STEP);
    private final Histogram queueTime = histogram("m6j_queue_time_seconds",
            "Time a generation (one per choice) waited for its KV slots, from submission to admission.", QUEUE);
    private final Histogram ttft = histogram("m6j_time_to_first_token_seconds",
            "Time from a generation's submission to its first token (queue time and prefill).", TTFT);
    private final Histogram itl = histogram("m6j_inter_token_latency_seconds", "Time between consecutive tokens of a generation.", ITL);
    private final Histogram e2e = histogram("m6j_e2e_request_latency_seconds",
            "Time from a generation's submission to its end, whatever the finish reason.", E2E);
    private final Counter finished = Counter.builder().name("m6j_generations_total")
            .help("Generations (one per choice of a completion or chat request, one per image) that ended, by finish reason: "
                    + "stop, length, cancelled (client gone), timeout, error.")
            .labelNames("finish_reason").register(registry);
    private final Counter generated = counter("m6j_generated_tokens_total", "Tokens generated (text tokens and image codes).");
    private final Counter prompt = counter("m6j_prompt_tokens_total", "Prompt tokens (and image patches) prefilled.");
    private final Counter cancelled = counter("m6j_cancelled_total",
            "Sequences and model tasks dropped unfinished because their request was cancelled.");
    private final Info build = Info.builder().name("m6j_build_info")
            .help("The m6j version and the served model: its id, all its names (--served-model-name) and its adapters (--adapter).")
            .labelNames("version", "model", "served_model_names", "adapters").register(registry);

    public Metrics() {
        FINISH_REASONS.forEach(finished::initLabelValues);
        gauge("m6j_resident_bytes", "Resident memory of the server process.", Memory::rss);
        JvmMetrics.builder().register(registry);
    }

    private Histogram histogram(String name, String help, double[] bounds, String... labels) {
        return Histogram.builder().name(name).help(help).classicOnly().classicUpperBounds(bounds).labelNames(labels).register(registry);
    }

    private Counter counter(String name, String help) { return Counter.builder().name(name).help(help).register(registry); }

    /** A gauge read at every scrape. */
    public void gauge(String name, String help, Supplier<Number> value) {
        GaugeWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.get().doubleValue())).register(registry);
    }

    /** The build-info metric's labels: this m6j's version and the served model's names and adapters. */
    public void served(String modelId, Collection<String> names, Collection<String> adapters) {
        build.setLabelValues(version(), modelId, String.join(",", names), String.join(",", adapters));
    }

    /** This build's version (the Maven project version, written into a resource at build time). */
    public static String version() {
        try (InputStream in = Metrics.class.getResourceAsStream("/m6j/version.properties")) {
            if (in == null) return "unknown";
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public void request(String path, int status, double seconds) {
        requests.labelValues(path, Integer.toString(status)).inc();
        latency.labelValues(path).observe(seconds);
    }

    @Override public void decodeStep(int batchSize, long nanos) {
        batch.observe(batchSize);
        step.observe(nanos / 1e9);
    }

    @Override public void generatedTokens(int n) { generated.inc(n); }

    @Override public void promptTokens(int n) { prompt.inc(n); }

    /** Model work dropped unfinished: a sequence or task whose request was cancelled (client gone, sibling failed). */
    @Override public void cancelled(int n) { cancelled.inc(n); }

    @Override public void queued(long nanos) { queueTime.observe(nanos / 1e9); }

    @Override public void firstToken(long nanos) { ttft.observe(nanos / 1e9); }

    @Override public void interToken(long nanos) { itl.observe(nanos / 1e9); }

    @Override public void finished(String finish, long nanos) {
        finished.labelValues(finish).inc();
        e2e.observe(nanos / 1e9);
    }

    public double meanBatch() { return batch.getCount() == 0 ? Double.NaN : batch.getSum() / batch.getCount(); }

    public double meanStepMs() { return step.getCount() == 0 ? Double.NaN : step.getSum() / step.getCount() * 1000; }

    /** The Content-Type of {@link #render()}. */
    public String contentType() { return writer.getContentType(); }

    /** Everything, in the Prometheus text format. */
    public String render() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(64 << 10);
        try {
            writer.write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }
}
