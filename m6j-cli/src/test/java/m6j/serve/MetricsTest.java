package m6j.serve;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * /health and /metrics after real requests to the test server. The scrape is read by a parser that is not ours,
 * Debian's python3-prometheus-client (prometheus_client.parser), and linted by Debian's promtool (package
 * prometheus); without them the parser tests are skipped, with CI set they fail (.ci/run installs both).
 */
class MetricsTest {
    static final String PYTHON = "/usr/bin/python3";

    @Test void metricsCountRequestsLatencyBatchesQueueAndTokens() throws Exception {
        Server s = ServeFixture.server();
        assertThat(BadInputTest.post("/v1/completions", "{\"model\":\"m6j-test\",\"prompt\":\"The\",\"max_tokens\":4,\"n\":3}", ServeFixture.KEY).statusCode()).isEqualTo(200);
        assertThat(BadInputTest.post("/v1/completions", "{\"model\":\"nope\",\"prompt\":\"The\"}", ServeFixture.KEY).statusCode()).isEqualTo(404);
        HttpResponse<String> h = BadInputTest.HTTP.send(HttpRequest.newBuilder(URI.create(s.baseUrl() + "/health")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(h.statusCode()).isEqualTo(200);
        assertThat(h.body()).contains("\"status\":\"ok\"");
        HttpResponse<String> m = scrapeHttp(s);
        assertThat(m.statusCode()).isEqualTo(200);
        assertThat(m.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain; version=0.0.4");
        assertThat(m.body()).contains("m6j_requests_total{path=\"/v1/completions\",status=\"200\"}", "m6j_requests_total{path=\"/v1/completions\",status=\"404\"}",
                "# TYPE m6j_request_duration_seconds histogram", "m6j_request_duration_seconds_bucket{path=\"/v1/completions\",le=\"+Inf\"}",
                "# TYPE m6j_batch_size histogram", "m6j_queue_depth ", "m6j_active_sequences ", "m6j_resident_bytes ");
        assertThat(m.body()).doesNotContain("per_second");           // rates are the dashboard's: rate() over the counters
        long tokens = m.body().lines().filter(l -> l.startsWith("m6j_generated_tokens_total ")).mapToLong(l -> (long) Double.parseDouble(l.split(" ")[1])).sum();
        assertThat(tokens).isGreaterThanOrEqualTo(3);
    }

    /**
     * Two plain chats and a streamed one, held in the queue for 300 ms by a task that occupies the engine thread:
     * the scrape while they wait shows them as waiting, the one after counts them in every histogram, queue time
     * and time to first token all over 0.25 s, tokens, finish reasons and routes exactly as the replies say.
     */
    @Test void aPrometheusParserReadsTheCountsOfTheRequestsMade() throws Exception {
        requireTools();
        Server s = ServeFixture.server();
        Scrape before = Scrape.of(s);
        CountDownLatch started = new CountDownLatch(1), hold = new CountDownLatch(1);
        Thread holder = holdEngine(s, started, hold);
        List<CompletableFuture<HttpResponse<String>>> replies = new ArrayList<>();
        Scrape waiting;
        try {
            replies.add(chat("The jury said", false));
            replies.add(chat("床前明月光，", false));
            replies.add(chat("It was a dark and stormy night", true));
            assertThat(DisconnectTest.within(20_000, () -> s.engine.queued() == 3)).as("three generations queued").isTrue();
            waiting = Scrape.of(s);
            Thread.sleep(300);
        } finally {
            hold.countDown();
        }
        holder.join(10_000);
        assertThat(waiting.value("m6j_queue_depth")).isEqualTo(3);
        assertThat(waiting.value("m6j_active_sequences")).isZero();
        assertThat(waiting.value("m6j_kv_slots_used")).isZero();

        Map<String, Integer> finishes = new HashMap<>();
        int completion = 0, prompt = 0;
        for (int i = 0; i < replies.size(); i++) {
            HttpResponse<String> r = replies.get(i).get(60, TimeUnit.SECONDS);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode done = i < 2 ? RequestJson.MAPPER.readTree(r.body()) : streamed(r.body());
            finishes.merge(done.at("/choices/0/finish_reason").asText(), 1, Integer::sum);
            completion += done.at("/usage/completion_tokens").asInt();
            prompt += done.at("/usage/prompt_tokens").asInt();
        }
        assertThat(BadInputTest.post("/v1/chat/completions", "{\"model\":\"nope\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                ServeFixture.KEY).statusCode()).isEqualTo(404);
        // a request is counted just after its reply is sent
        assertThat(DisconnectTest.within(5_000, () -> DisconnectTest.metric(s, "m6j_requests_total\\{path=\"/v1/chat/completions\",status=\"404\"\\}")
                == before.value("m6j_requests_total", "path", "/v1/chat/completions", "status", "404") + 1
                && DisconnectTest.metric(s, "m6j_requests_total\\{path=\"/v1/chat/completions\",status=\"200\"\\}")
                == before.value("m6j_requests_total", "path", "/v1/chat/completions", "status", "200") + 3)).isTrue();
        Scrape after = Scrape.of(s);

        // every generation in each per-generation histogram; all waited the 300 ms the engine was held
        for (String h : List.of("m6j_queue_time_seconds", "m6j_time_to_first_token_seconds", "m6j_e2e_request_latency_seconds")) {
            assertThat(after.type(h)).isEqualTo("histogram");
            assertThat(after.delta(before, h + "_count")).as(h).isEqualTo(3);
            assertThat(after.delta(before, h + "_bucket", "le", "0.25")).as(h + " under 0.25 s").isZero();
            assertThat(after.delta(before, h + "_sum")).as(h).isGreaterThanOrEqualTo(0.9);
        }
        int stops = finishes.getOrDefault("stop", 0), lengths = finishes.getOrDefault("length", 0);
        assertThat(stops + lengths).isEqualTo(3);
        // a generation ended by EOS drew one token more than it returns; the first token of each came from its prefill
        assertThat(after.delta(before, "m6j_generated_tokens_total")).isEqualTo(completion + stops);
        assertThat(after.delta(before, "m6j_inter_token_latency_seconds_count")).isEqualTo(completion + stops - 3);
        assertThat(after.delta(before, "m6j_batch_size_sum")).isEqualTo(completion + stops - 3);
        assertThat(after.delta(before, "m6j_prompt_tokens_total")).isEqualTo(prompt);
        for (String reason : Metrics.FINISH_REASONS)
            assertThat(after.delta(before, "m6j_generations_total", "finish_reason", reason)).as(reason).isEqualTo((double) finishes.getOrDefault(reason, 0));
        assertThat(after.delta(before, "m6j_requests_total", "path", "/v1/chat/completions", "status", "200")).isEqualTo(3);
        assertThat(after.delta(before, "m6j_request_duration_seconds_count", "path", "/v1/chat/completions")).isEqualTo(4);
        assertThat(after.type("m6j_requests")).isEqualTo("counter");

        assertThat(after.value("m6j_kv_slots")).isEqualTo(16);                     // the fixture's --max-batch
        assertThat(DisconnectTest.within(5_000, () -> s.engine.slotsUsed() == 0)).isTrue();
        Scrape idle = Scrape.of(s);
        for (String g : List.of("m6j_kv_slots_used", "m6j_active_sequences", "m6j_queue_depth", "m6j_tasks_waiting"))
            assertThat(idle.value(g)).as(g).isZero();
        assertThat(idle.value("m6j_resident_bytes")).isGreaterThan(1 << 20);

        Map<String, String> build = after.only("m6j_build_info").labels();
        assertThat(build).containsEntry("model", "m6j-test").containsEntry("served_model_names", "m6j-test,gpt-4o-mini").containsEntry("adapters", "");
        assertThat(build.get("version")).matches("\\d+\\.\\d+\\.\\d+.*");
        assertThat(after.value("jvm_memory_used_bytes", "area", "heap")).isPositive();
        assertThat(after.value("jvm_threads_current")).isPositive();
        assertThat(after.value("process_cpu_seconds_total")).isPositive();
        assertThat(after.only("jvm_runtime_info").labels()).containsKey("version");
        assertThat(after.families.stream().map(f -> f.name)).noneMatch(n -> n.contains("per_second"));
        after.checkHistograms();
        lint(after.text);
    }

    /** While a guided image (two KV rows) is held mid-decode, the gauges show one running generation on two slots. */
    @Test void kvSlotAndRunningGaugesWhileAGuidedImageDecodes() throws Exception {
        Server s = ServeFixture.server();
        double lengths = DisconnectTest.metric(s, "m6j_generations_total\\{finish_reason=\"length\"\\}");
        CompletableFuture<HttpResponse<String>> image = BadInputTest.HTTP.sendAsync(HttpRequest.newBuilder(URI.create(s.baseUrl() + "/v1/images/generations"))
                .header("Authorization", "Bearer " + ServeFixture.KEY).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"a shirt\",\"n\":1,\"seed\":3}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(DisconnectTest.within(30_000, () -> s.engine.slotsUsed() >= 2)).as("the image took its slots").isTrue();
        CountDownLatch started = new CountDownLatch(1), hold = new CountDownLatch(1);
        Thread holder = holdEngine(s, started, hold);       // runs after the current decode step: the image stays mid-way
        String held;
        try {
            held = scrapeHttp(s).body();
        } finally {
            hold.countDown();
        }
        holder.join(10_000);
        assertThat(metric(held, "m6j_active_sequences")).isEqualTo(1);
        assertThat(metric(held, "m6j_kv_slots_used")).isEqualTo(2);
        assertThat(metric(held, "m6j_kv_slots")).isEqualTo(16);
        assertThat(image.get(60, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertThat(DisconnectTest.within(5_000, () -> DisconnectTest.metric(s, "m6j_kv_slots_used") == 0)).isTrue();
        assertThat(DisconnectTest.metric(s, "m6j_generations_total\\{finish_reason=\"length\"\\}")).isEqualTo(lengths + 1);  // image codes end by length
    }

    /** A thread whose engine task occupies the engine thread until hold opens; returns once the task has started. */
    static Thread holdEngine(Server s, CountDownLatch started, CountDownLatch hold) throws InterruptedException {
        Thread t = new Thread(() -> {
            try {
                s.engine.call(() -> { started.countDown(); return hold.await(30, TimeUnit.SECONDS); });
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        }, "metrics-test-hold");
        t.setDaemon(true);
        t.start();
        assertThat(started.await(30, TimeUnit.SECONDS)).as("the engine ran the holding task").isTrue();
        return t;
    }

    private static CompletableFuture<HttpResponse<String>> chat(String text, boolean stream) throws Exception {
        String body = "{\"model\":\"m6j-test\",\"messages\":[{\"role\":\"user\",\"content\":\"" + text + "\"}],\"max_tokens\":6,\"temperature\":0"
                + (stream ? ",\"stream\":true,\"stream_options\":{\"include_usage\":true}" : "") + "}";
        return BadInputTest.HTTP.sendAsync(HttpRequest.newBuilder(URI.create(ServeFixture.server().baseUrl() + "/v1/chat/completions"))
                .header("Authorization", "Bearer " + ServeFixture.KEY).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A streamed chat's events folded into {choices: [{finish_reason}], usage}. */
    private static JsonNode streamed(String sse) throws IOException {
        var out = RequestJson.MAPPER.createObjectNode();
        for (String line : sse.split("\n")) {
            if (!line.startsWith("data: ") || line.equals("data: [DONE]")) continue;
            JsonNode e = RequestJson.MAPPER.readTree(line.substring(6));
            assertThat(e.has("error")).as(line).isFalse();
            JsonNode f = e.at("/choices/0/finish_reason");
            if (f.isTextual()) out.putArray("choices").addObject().put("finish_reason", f.asText());
            if (e.hasNonNull("usage")) out.set("usage", e.get("usage"));
        }
        assertThat(out.has("choices") && out.has("usage")).as(sse).isTrue();
        return out;
    }

    static HttpResponse<String> scrapeHttp(Server s) throws Exception {
        return BadInputTest.HTTP.send(HttpRequest.newBuilder(URI.create(s.baseUrl() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The value of the sample matching the regex in a scrape's text (0 when absent). */
    static double metric(String text, String regex) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^" + regex + " (\\S+)$").matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    /** The parser and the linter, or a skip (a failure with CI set: .ci/run installs them). */
    private static void requireTools() throws Exception {
        boolean parser = Files.isExecutable(Path.of(PYTHON)) && run(List.of(PYTHON, "-c", "import prometheus_client.parser"), "").exit == 0;
        boolean promtool = Files.isExecutable(Path.of("/usr/bin/promtool"));
        if ((!parser || !promtool) && System.getenv("CI") == null)
            Assumptions.abort("python3-prometheus-client or prometheus (promtool) is not installed (apt-get install -y python3-prometheus-client prometheus); skipping");
        assertThat(parser).as("CI must have python3-prometheus-client (.ci/run installs it)").isTrue();
        assertThat(promtool).as("CI must have promtool, package prometheus (.ci/run installs it)").isTrue();
    }

    /** promtool's lint of the exposition: names, units, suffixes and help as the Prometheus project checks them. */
    private static void lint(String text) throws Exception {
        Run r = run(List.of("/usr/bin/promtool", "check", "metrics"), text);
        assertThat(r.exit).as(r.out).isZero();
        assertThat(r.out.strip()).isEmpty();
    }

    record Run(int exit, String out) {}

    static Run run(List<String> cmd, String stdin) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        try (var in = p.getOutputStream()) {
            in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as(String.join(" ", cmd)).isTrue();
        return new Run(p.exitValue(), out.get());
    }

    record Sample(String name, Map<String, String> labels, String value) {
        double number() { return Double.parseDouble(value); }
    }

    record Family(String name, String type, String help, List<Sample> samples) {}

    /** One scrape of /metrics as prometheus_client's parser read it. */
    static final class Scrape {
        final String text;
        final List<Family> families;

        private Scrape(String text, List<Family> families) {
            this.text = text;
            this.families = families;
        }

        static Scrape of(Server s) throws Exception {
            HttpResponse<String> r = scrapeHttp(s);
            assertThat(r.statusCode()).isEqualTo(200);
            Path script = Path.of(MetricsTest.class.getResource("parse_metrics.py").toURI());
            Run p = run(List.of(PYTHON, script.toString()), r.body());
            assertThat(p.exit).as("prometheus_client could not parse /metrics: " + p.out).isZero();
            return new Scrape(r.body(), RequestJson.MAPPER.readValue(p.out, new TypeReference<List<Family>>() {}));
        }

        /** Samples of that name whose labels include the given name/value pairs. */
        List<Sample> samples(String name, String... labels) {
            List<Sample> out = new ArrayList<>();
            for (Family f : families)
                for (Sample x : f.samples) {
                    if (!x.name.equals(name)) continue;
                    boolean all = true;
                    for (int i = 0; i < labels.length; i += 2) all &= labels[i + 1].equals(x.labels.get(labels[i]));
                    if (all) out.add(x);
                }
            return out;
        }

        /** The one sample of that name and labels, or 0 when there is none yet. */
        double value(String name, String... labels) {
            List<Sample> l = samples(name, labels);
            assertThat(l.size()).as(name + " " + List.of(labels)).isLessThanOrEqualTo(1);
            return l.isEmpty() ? 0 : l.get(0).number();
        }

        double delta(Scrape before, String name, String... labels) {
            assertThat(samples(name, labels)).as(name + " " + List.of(labels) + " in the scrape").hasSize(1);
            return value(name, labels) - before.value(name, labels);
        }

        Sample only(String name) {
            List<Sample> l = samples(name);
            assertThat(l).as(name).hasSize(1);
            return l.get(0);
        }

        String type(String family) {
            return families.stream().filter(f -> f.name.equals(family)).map(f -> f.type).findFirst().orElse("absent");
        }

        /** Every histogram's buckets (per label set) are cumulative and its +Inf bucket equals its count. */
        void checkHistograms() {
            for (Family f : families) {
                if (!f.type.equals("histogram")) continue;
                Map<Map<String, String>, List<Sample>> series = new HashMap<>();
                for (Sample x : f.samples)
                    if (x.name.endsWith("_bucket")) {
                        Map<String, String> key = new HashMap<>(x.labels);
                        key.remove("le");
                        series.computeIfAbsent(key, k -> new ArrayList<>()).add(x);
                    }
                assertThat(series).as(f.name).isNotEmpty();
                series.forEach((labels, buckets) -> {
                    double last = 0;
                    for (Sample b : buckets) {
                        assertThat(b.number()).as(f.name + labels + " le=" + b.labels.get("le")).isGreaterThanOrEqualTo(last);
                        last = b.number();
                    }
                    assertThat(buckets.get(buckets.size() - 1).labels.get("le")).isEqualTo("+Inf");
                    String[] kv = labels.entrySet().stream().flatMap(e -> java.util.stream.Stream.of(e.getKey(), e.getValue())).toArray(String[]::new);
                    assertThat(value(f.name + "_count", kv)).as(f.name + labels).isEqualTo(last);
                });
            }
        }
    }
}
