package m6j.api;

import m6j.checkpoint.Checkpoint;
import m6j.infer.Captioner;
import m6j.infer.Classifier;
import m6j.infer.Embedder;
import m6j.infer.Engine;
import m6j.infer.Imaginer;
import m6j.infer.Sampling;
import m6j.train.TextToImageTest;
import m6j.vq.ImageGrid;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The facade as a Java developer uses it: a plain program (no CLI, no server, no setup call) on m6j-core's class path
 * loads a trained checkpoint and captions, chats, embeds, classifies and draws; its answers are the inference
 * classes' own.
 */
class FacadeTest {
    static Path run;
    static final Path IMAGE = Path.of("data/sample/openclipart/png").toAbsolutePath();

    @BeforeAll static void train() throws IOException { run = TextToImageTest.trainedRun(); }

    /** The first PNG of the committed sample. */
    static File anImage() throws IOException {
        try (var s = java.nio.file.Files.walk(IMAGE)) {
            return s.filter(p -> p.toString().endsWith(".png")).sorted().findFirst().orElseThrow().toFile();
        }
    }

    /** What a user's program would print; run in a JVM of its own below. */
    public static final class Program {
        public static void main(String[] args) throws Exception {
            for (String c : List.of("m6j.cli.Main", "m6j.serve.Server", "picocli.CommandLine")) {
                try { Class.forName(c); System.out.println("present=" + c); } catch (ClassNotFoundException e) { System.out.println("absent=" + c); }
            }
            try (M6j m = M6j.load(Path.of(args[0]))) {
                BufferedImage img = ImageIO.read(new File(args[1]));
                System.out.println("caption=" + m.caption(img).replace('\n', ' '));
                System.out.println("chat=" + m.chat("a coat").replace('\n', ' '));
                float[] v = m.embed("a pair of ankle boots");
                double n = 0;
                for (float x : v) n += x * x;
                System.out.println("dims=" + v.length + " norm=" + Math.sqrt(n));
                System.out.println("top=" + m.classify("a warm coat", img, List.of("coat", "boot", "bag")).get(0).label());
                List<BufferedImage> drawn = m.imagine("a coat", 2, M6j.Generation.sampled(1, 5), 3.0);
                System.out.println("images=" + drawn.size() + " " + drawn.get(0).getWidth() + "x" + drawn.get(0).getHeight());
            }
        }
    }

    @Test void aPlainProgramWithoutTheCliLoadsAndUsesACheckpoint() throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-Xmx1g",
                "-cp", System.getProperty("java.class.path"), Program.class.getName(), run.toString(), anImage().toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        Map<String, String> got = new LinkedHashMap<>();
        for (String line : out.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0 && !line.startsWith("SLF4J")) got.merge(line.substring(0, eq), line.substring(eq + 1), (a, b) -> a + "," + b);
        }
        assertThat(got.get("absent")).as("no CLI, server or picocli classes on the program's class path")
                .isEqualTo("m6j.cli.Main,m6j.serve.Server,picocli.CommandLine");
        assertThat(got).doesNotContainKey("present");
        try (M6j m = M6j.load(run)) {                           // the same answers in this JVM
            BufferedImage img = ImageIO.read(anImage());
            assertThat(got.get("caption")).isEqualTo(m.caption(img).replace('\n', ' '));
            assertThat(got.get("chat")).isEqualTo(m.chat("a coat").replace('\n', ' '));
            assertThat(got.get("top")).isEqualTo(m.classify("a warm coat", img, List.of("coat", "boot", "bag")).get(0).label());
            assertThat(got.get("dims")).startsWith(m.dimensions() + " norm=");
            assertThat(Double.parseDouble(got.get("dims").split("norm=")[1])).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));
            assertThat(got.get("images")).isEqualTo("2 32x32");
        }
    }

    @Test void answersAreTheInferenceClassesOwn() throws Exception {
        BufferedImage img = ImageIO.read(anImage());
        Checkpoint.Loaded l = Checkpoint.load(run);
        byte[] rgb = m6j.data.Images.toSquareRgb(img, l.model().config.imageSize());
        List<String> labels = List.of("coat", "boot", "bag");
        try (M6j m = M6j.load(run); Engine e = Engine.local(l.model(), l.tokenizer())) {
            assertThat(m.checkpoint()).isEqualTo(l.dir());
            assertThat(m.caption(img)).isEqualTo(new Captioner(e).caption(List.of(rgb), Sampling.greedy(), l.model().config.maxTextLen() - 1).get(0));
            assertThat(m.answer(img, "what is it", M6j.Generation.GREEDY.withMaxTokens(5)))
                    .isEqualTo(new Captioner(e).answer(List.of(rgb), "what is it", Sampling.greedy(), 5).get(0));
            Embedder emb = Embedder.of(l.model(), l.tokenizer());
            assertThat(m.embed(img)).containsExactly(e.call(() -> emb.image(rgb)));
            assertThat(m.embed("a coat")).containsExactly(e.call(() -> emb.text(emb.ids("a coat"))));
            Classifier c = new Classifier(l.model(), null, l.tokenizer(), labels);
            double[] scores = e.call(() -> c.scores(List.of("a warm coat"), List.of(rgb))[0]);
            List<Classifier.Ranked> ranked = m.classify("a warm coat", img, labels);
            assertThat(ranked).extracting(Classifier.Ranked::label).containsExactlyInAnyOrderElementsOf(labels);
            assertThat(ranked.get(0).label()).isEqualTo(labels.get(Classifier.argmax(new double[][]{scores})[0]));
            assertThat(ranked.stream().mapToDouble(Classifier.Ranked::score).sum()).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-9));
            try (Imaginer im = Imaginer.load(run)) {
                var o = new Imaginer.Options(new Sampling(1, 0, 1, 5), 3.0);
                List<byte[]> direct = im.images("a coat", 2, o);
                List<BufferedImage> viaFacade = m.imagine("a coat", 2, M6j.Generation.sampled(1, 5), 3.0);
                for (int i = 0; i < 2; i++)
                    assertThat(rgbOf(viaFacade.get(i))).isEqualTo(rgbOf(ImageGrid.image(direct.get(i), 32)));
            }
        }
    }

    @Test void badInputIsRefusedWithTheReasonAndTheModelStaysUsable() throws Exception {
        try (M6j m = M6j.load(run)) {
            assertThatThrownBy(() -> m.embed("")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty");
            String tooLong = "coat ".repeat(m.config().maxTextLen() * 2);
            assertThatThrownBy(() -> m.chat(tooLong)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("context");
            assertThatThrownBy(() -> m.embed(tooLong)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("context");
            assertThatThrownBy(() -> m.classify("a coat", List.of())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("labels");
            assertThatThrownBy(() -> m.imagine("  ", 1, M6j.Generation.GREEDY, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty prompt");
            assertThatThrownBy(() -> new M6j.Generation(0, 1, 1, 0, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxTokens");
            assertThatThrownBy(() -> M6j.Message.user(null)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> new M6j.Message("robot", "hi")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("role");
            assertThat(m.chat(List.of(M6j.Message.system("Be brief."), M6j.Message.user("a coat")), M6j.Generation.GREEDY.withMaxTokens(4)))
                    .isNotNull();                                          // still answers
        }
        assertThatThrownBy(() -> M6j.load(run.resolve("nope"))).isInstanceOf(IOException.class);
    }

    private static int[] rgbOf(BufferedImage b) { return b.getRGB(0, 0, b.getWidth(), b.getHeight(), null, 0, b.getWidth()); }
}
