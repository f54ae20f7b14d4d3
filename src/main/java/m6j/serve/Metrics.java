package m6j.serve;

import m6j.infer.Engine;

import m6j.runtime.Memory;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Supplier;

/** Counters, gauges and histograms in the Prometheus text format (version 0.0.4), no library needed. */
public final class Metrics implements Engine.Stats {
    private static final double[] LATENCY = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    private static final double[] BATCH = {1, 2, 4, 8, 16, 32, 64, 128, 256};
    private static final double[] STEP = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};

    private final Map<String, AtomicLong> requests = new ConcurrentHashMap<>();
    private final Map<String, Histogram> latency = new ConcurrentHashMap<>();
    private final Histogram batch = new Histogram(BATCH), step = new Histogram(STEP);
    private final AtomicLong generated = new AtomicLong(), prompt = new AtomicLong(), cancelled = new AtomicLong();
    private final Map<String, String[]> gauges = new ConcurrentHashMap<>();
    private final Map<String, Supplier<Number>> gaugeValues = new ConcurrentHashMap<>();
    // tokens per second over the last 10 whole seconds: one bucket per second
    private final AtomicLongArray perSecond = new AtomicLongArray(11), secondOf = new AtomicLongArray(11);

    public void request(String path, int status, double seconds) {
        requests.computeIfAbsent(path + "\u0000" + status, k -> new AtomicLong()).incrementAndGet();
        latency.computeIfAbsent(path, k -> new Histogram(LATENCY)).observe(seconds);
    }

    @Override public void decodeStep(int batchSize, long nanos) {
        batch.observe(batchSize);
        step.observe(nanos / 1e9);
    }

    @Override public void generatedTokens(int n) {
        generated.addAndGet(n);
        long sec = System.currentTimeMillis() / 1000;
        int i = (int) (sec % perSecond.length());
        if (secondOf.get(i) != sec) { secondOf.set(i, sec); perSecond.set(i, 0); }
        perSecond.addAndGet(i, n);
    }

    public double meanBatch() { return batch.mean(); }

    public double meanStepMs() { return step.mean() * 1000; }

    @Override public void promptTokens(int n) { prompt.addAndGet(n); }

    /** Model work dropped unfinished: a sequence or task whose request was cancelled (client gone, sibling failed). */
    @Override public void cancelled(int n) { cancelled.addAndGet(n); }

    public void gauge(String name, String help, Supplier<Number> value) {
        gauges.put(name, new String[]{help});
        gaugeValues.put(name, value);
    }

    public double tokensPerSecond() {
        long now = System.currentTimeMillis() / 1000, sum = 0;
        for (int i = 0; i < perSecond.length(); i++) {
            long s = secondOf.get(i);
            if (s < now && s >= now - 10) sum += perSecond.get(i);
        }
        return sum / 10.0;
    }

    /** A label value as the text format requires it: backslash, quote and newline escaped. */
    static String label(String v) {
        return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    public String render() {
        StringBuilder b = new StringBuilder();
        b.append("# HELP m6j_requests_total HTTP requests by path and status.\n# TYPE m6j_requests_total counter\n");
        requests.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            String[] k = e.getKey().split("\u0000");
            b.append("m6j_requests_total{path=\"").append(label(k[0])).append("\",status=\"").append(k[1]).append("\"} ").append(e.getValue().get()).append('\n');
        });
        b.append("# HELP m6j_request_duration_seconds HTTP request latency by path.\n# TYPE m6j_request_duration_seconds histogram\n");
        latency.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> e.getValue().render(b, "m6j_request_duration_seconds", "path=\"" + label(e.getKey()) + "\","));
        b.append("# HELP m6j_batch_size Sequences per batched decode step.\n# TYPE m6j_batch_size histogram\n");
        batch.render(b, "m6j_batch_size", "");
        b.append("# HELP m6j_decode_step_seconds Time of one batched decode step.\n# TYPE m6j_decode_step_seconds histogram\n");
        step.render(b, "m6j_decode_step_seconds", "");
        b.append("# HELP m6j_generated_tokens_total Tokens generated.\n# TYPE m6j_generated_tokens_total counter\n")
                .append("m6j_generated_tokens_total ").append(generated.get()).append('\n');
        b.append("# HELP m6j_prompt_tokens_total Prompt tokens (and image patches) prefilled.\n# TYPE m6j_prompt_tokens_total counter\n")
                .append("m6j_prompt_tokens_total ").append(prompt.get()).append('\n');
        b.append("# HELP m6j_cancelled_total Sequences and model tasks dropped unfinished because their request was cancelled.\n# TYPE m6j_cancelled_total counter\n")
                .append("m6j_cancelled_total ").append(cancelled.get()).append('\n');
        b.append("# HELP m6j_tokens_per_second Generated tokens per second over the last 10 s.\n# TYPE m6j_tokens_per_second gauge\n")
                .append("m6j_tokens_per_second ").append(tokensPerSecond()).append('\n');
        gauges.keySet().stream().sorted().forEach(name -> b.append("# HELP ").append(name).append(' ').append(gauges.get(name)[0])
                .append("\n# TYPE ").append(name).append(" gauge\n").append(name).append(' ').append(gaugeValues.get(name).get()).append('\n'));
        b.append("# HELP m6j_resident_bytes Resident memory of the server process.\n# TYPE m6j_resident_bytes gauge\n")
                .append("m6j_resident_bytes ").append(Memory.rss()).append('\n');
        return b.toString();
    }

    /** A cumulative-bucket histogram. */
    static final class Histogram {
        private final double[] bounds;
        private final AtomicLongArray counts;
        private final AtomicLong n = new AtomicLong();
        private double sum;

        Histogram(double[] bounds) {
            this.bounds = bounds;
            this.counts = new AtomicLongArray(bounds.length);
        }

        void observe(double v) {
            for (int i = 0; i < bounds.length; i++) if (v <= bounds[i]) counts.incrementAndGet(i);
            n.incrementAndGet();
            synchronized (this) { sum += v; }
        }

        synchronized double mean() { return n.get() == 0 ? Double.NaN : sum / n.get(); }

        void render(StringBuilder b, String name, String labels) {
            for (int i = 0; i < bounds.length; i++)
                b.append(name).append("_bucket{").append(labels).append("le=\"").append(bounds[i]).append("\"} ").append(counts.get(i)).append('\n');
            b.append(name).append("_bucket{").append(labels).append("le=\"+Inf\"} ").append(n.get()).append('\n');
            String l = labels.isEmpty() ? "" : "{" + labels.substring(0, labels.length() - 1) + "}";
            synchronized (this) { b.append(name).append("_sum").append(l).append(' ').append(sum).append('\n'); }
            b.append(name).append("_count").append(l).append(' ').append(n.get()).append('\n');
        }
    }
}
