package m6j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.checkpoint.Checkpoint;
import m6j.cli.Main;
import m6j.data.Corpus;
import m6j.data.Split;
import m6j.infer.Captioner;
import m6j.infer.Engine;
import m6j.infer.Event;
import m6j.infer.Request;
import m6j.infer.Sampling;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One engine behind every door: `m6j generate` (in process, through the CLI), the engine called directly, and
 * /v1/completions over HTTP give the same text for the same prompt and seed, alone and batched, greedy and
 * sampled; `m6j caption` gives what a chat message carrying only the image gets back.
 */
class GenerationEquivalenceTest {
    static final String[] PROMPTS = {"The jury said", "床前明月光，", "A pair of", "It was"};
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static Checkpoint.Loaded l;
    static Server server;

    @BeforeAll static void start() throws Exception {
        l = ServeFixture.model();
        server = ServeFixture.plain();
    }

    /** Settings a test runs under: greedy, plain temperature, temperature with top-k and top-p. */
    static final Sampling[] SETTINGS = {Sampling.greedy(), new Sampling(1.0, 0, 1.0, 11), new Sampling(0.8, 20, 0.9, 23)};

    static String cli(String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        int rc;
        try {
            rc = Main.commandLine().execute(args);
        } finally {
            System.setOut(old);
        }
        assertThat(rc).as("m6j %s", String.join(" ", args)).isZero();
        return buf.toString(StandardCharsets.UTF_8);
    }

    static JsonNode post(String path, ObjectNode body) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return RequestJson.MAPPER.readTree(r.body());
    }

    static ObjectNode completion(Sampling s, int maxTokens) {
        return RequestJson.MAPPER.createObjectNode().put("model", ServeFixture.MODEL).put("max_tokens", maxTokens)
                .put("temperature", s.temperature()).put("top_k", s.topK()).put("top_p", s.topP()).put("seed", s.seed());
    }

    static Sampling seeded(Sampling s, long seed) { return new Sampling(s.temperature(), s.topK(), s.topP(), seed); }

    @Test void generateEngineAndCompletionsAgreeAloneAndBatched() throws Exception {
        int max = 12;
        try (Engine engine = Engine.local(l.model(), l.tokenizer())) {
            for (Sampling s : SETTINGS) {
                // the engine, all prompts in one batch; prompt j samples with seed + j (as the server numbers choices)
                List<Request> batch = new ArrayList<>();
                for (int j = 0; j < PROMPTS.length; j++) batch.add(Request.text(j, engine.prompt(PROMPTS[j]), null, max, seeded(s, s.seed() + j)));
                List<String> direct = engine.run(batch).stream().map(Event.Done::text).toList();
                // /v1/completions with all prompts in one request (batched on the server) ...
                ObjectNode req = completion(s, max);
                ArrayNode ps = req.putArray("prompt");
                for (String p : PROMPTS) ps.add(p);
                JsonNode batched = post("/v1/completions", req).get("choices");
                for (int j = 0; j < PROMPTS.length; j++) {
                    String what = "prompt %d, %s".formatted(j, s);
                    assertThat(batched.get(j).get("text").asText()).as("HTTP batched, " + what).isEqualTo(direct.get(j));
                    // ... one request alone per prompt, and `m6j generate` in this process
                    JsonNode alone = post("/v1/completions", completion(seeded(s, s.seed() + j), max).put("prompt", PROMPTS[j])).get("choices");
                    assertThat(alone.get(0).get("text").asText()).as("HTTP alone, " + what).isEqualTo(direct.get(j));
                    String out = cli("generate", "--model", l.dir().toString(), "--max-tokens", "" + max, "--temperature", "" + s.temperature(),
                            "--top-k", "" + s.topK(), "--top-p", "" + s.topP(), "--seed", "" + (s.seed() + j), PROMPTS[j]);
                    assertThat(out).as("m6j generate, " + what).isEqualTo(PROMPTS[j] + direct.get(j) + System.lineSeparator());
                }
            }
        }
    }

    @Test void captionIsWhatAChatWithOnlyTheImageAnswers(@TempDir Path dir) throws Exception {
        List<byte[]> images = Corpus.open(ServeFixture.corpus).examples(Split.TEST).stream().filter(e -> e.image() != null)
                .map(e -> e.image()).limit(3).toList();
        assertThat(images).isNotEmpty();
        int size = l.model().config.imageSize();
        List<String> files = new ArrayList<>(List.of("caption", "--model", l.dir().toString()));
        for (int i = 0; i < images.size(); i++) {
            Path f = dir.resolve("img" + i + ".png");
            Files.write(f, ImageInput.png(images.get(i), size));
            files.add(f.toString());
        }
        String[] lines = cli(files.toArray(String[]::new)).split("\\R");
        List<String> direct;
        try (Engine engine = Engine.local(l.model(), l.tokenizer())) {
            direct = new Captioner(engine).caption(images, Sampling.greedy());
        }
        for (int i = 0; i < images.size(); i++) {
            String url = "data:image/png;base64," + Base64.getEncoder().encodeToString(ImageInput.png(images.get(i), size));
            ObjectNode req = RequestJson.MAPPER.createObjectNode().put("model", ServeFixture.MODEL).put("max_tokens", 32).put("temperature", 0);
            req.putArray("messages").addObject().put("role", "user").putArray("content").addObject().put("type", "image_url")
                    .putObject("image_url").put("url", url);
            String chat = post("/v1/chat/completions", req).get("choices").get(0).get("message").get("content").asText();
            assertThat(lines[i]).as("m6j caption of image %d", i).isEqualTo(files.get(3 + i) + "\t" + direct.get(i));
            assertThat(chat.trim()).as("chat with image %d", i).isEqualTo(direct.get(i));
        }
    }

    @Test void stopSequencesEndTheTextEverywhereAndNeverStream() throws Exception {
        String prompt = "The jury said";
        try (Engine engine = Engine.local(l.model(), l.tokenizer())) {
            String full = engine.run(List.of(Request.text(0, engine.prompt(prompt), null, 24, Sampling.greedy()))).get(0).text();
            assertThat(full.length()).as("a text to cut").isGreaterThan(8);
            String stop = full.substring(4, 7);                  // its first occurrence may be earlier than 4
            String want = full.substring(0, full.indexOf(stop));
            LinkedBlockingQueue<Event> q = new LinkedBlockingQueue<>();
            engine.submit(List.of(Request.text(0, engine.prompt(prompt), null, 24, Sampling.greedy()).stop(List.of("\u0001never", stop)).to(q, true)));
            StringBuilder streamed = new StringBuilder();
            Event.Done done = null;
            while (done == null) {
                Event e = q.poll(30, TimeUnit.SECONDS);
                assertThat(e).isNotNull();
                if (e instanceof Event.Token t) streamed.append(t.text());
                if (e instanceof Event.Done d) done = d;
            }
            assertThat(done.finish()).isEqualTo("stop");
            assertThat(done.text()).isEqualTo(want);
            assertThat(streamed.toString()).as("no part of the stop sequence was streamed").isEqualTo(want);
            ObjectNode req = completion(Sampling.greedy(), 24).put("prompt", prompt);
            req.putArray("stop").add(stop);
            JsonNode c = post("/v1/completions", req).get("choices").get(0);
            assertThat(c.get("text").asText()).isEqualTo(want);
            assertThat(c.get("finish_reason").asText()).isEqualTo("stop");
            assertThat(cli("generate", "--model", l.dir().toString(), "--max-tokens", "24", "--stop", stop, prompt))
                    .isEqualTo(prompt + want + System.lineSeparator());
        }
    }
}
