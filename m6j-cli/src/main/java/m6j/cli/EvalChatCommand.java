package m6j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.checkpoint.Checkpoint;
import m6j.data.Corpus;
import m6j.data.Example;
import m6j.data.Source;
import m6j.data.Split;
import m6j.infer.Evaluator;
import m6j.runtime.Json;
import m6j.serve.ImageInput;
import m6j.serve.ServeOptions;
import m6j.serve.Server;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * Visual chat as a client sees it: held-out Fashion-MNIST images sent with a question to /v1/chat/completions of a
 * server started in this process (real HTTP, the OpenAI wire format); an answer is right when it names the class.
 */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = "Ask held-out Fashion-MNIST images a question through /v1/chat/completions; share of answers naming the right class.")
public final class EvalChatCommand implements Callable<Integer> {
    @Mixin Common common;
    @Mixin ModelOption model;
    @Option(names = "--corpus", defaultValue = "work/corpus", description = "Corpus directory (default: ${DEFAULT-VALUE}).") Path corpus;
    @Option(names = "-n", defaultValue = "200", description = "Held-out images (default: ${DEFAULT-VALUE}).") int n;
    @Option(names = "--question", defaultValue = Evaluator.QUESTION, description = "What to ask (default: ${DEFAULT-VALUE}).") String question;

    @Override public Integer call() throws Exception {
        if (n < 1) throw new IllegalArgumentException("-n must be >= 1");
        common.init();
        Checkpoint.Loaded l = Checkpoint.load(model.model);
        Corpus c = Corpus.open(corpus);
        List<Example> test = c.examples(Split.TEST, Source.FASHION_MNIST);
        if (test.isEmpty()) throw new IllegalArgumentException(corpus + " has no held-out Fashion-MNIST images");
        test = test.subList(0, Math.min(n, test.size()));
        List<String> labels = c.labels(Split.TRAIN, Source.FASHION_MNIST);
        HttpClient http = HttpClient.newHttpClient();
        int right = 0, empty = 0;
        List<String[]> shown = new ArrayList<>();
        try (Server s = new Server(l, false, null, ServeOptions.defaults("m6j-eval").withPort(0))) {
            for (Example e : test) {
                ObjectNode req = Json.MAPPER.createObjectNode().put("model", "m6j-eval").put("temperature", 0).put("max_tokens", 24);
                var content = req.putArray("messages").addObject().put("role", "user").putArray("content");
                content.addObject().put("type", "image_url").putObject("image_url")
                        .put("url", "data:image/png;base64," + Base64.getEncoder().encodeToString(ImageInput.png(e.image(), c.imageSize())));
                content.addObject().put("type", "text").put("text", question);
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(s.baseUrl() + "/v1/chat/completions"))
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(req.toString())).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200) throw new IllegalStateException("HTTP " + r.statusCode() + ": " + r.body());
                JsonNode answer = Json.MAPPER.readTree(r.body()).path("choices").path(0).path("message").path("content");
                String a = answer.asText("").trim();
                boolean ok = e.label().equals(Evaluator.namedClass(a, labels));
                if (ok) right++;
                if (a.isEmpty()) empty++;
                if (shown.size() < 8) shown.add(new String[]{e.label(), a, ok ? "ok" : "wrong"});
            }
        }
        System.out.printf("m6j eval chat: \"%s\" over %d held-out Fashion-MNIST images via /v1/chat/completions: %.1f%% name the right class, %d empty answers%n",
                question, test.size(), 100.0 * right / test.size(), empty);
        for (String[] s : shown) System.out.printf("   %-12s -> %-40s [%s]%n", s[0], '"' + s[1] + '"', s[2]);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("question", question);
        out.put("images", test.size());
        out.put("accuracy", (double) right / test.size());
        out.put("empty", empty);
        Json.MAPPER.writerWithDefaultPrettyPrinter().writeValue(l.dir().resolve("eval-chat.json").toFile(), out);
        return 0;
    }
}
