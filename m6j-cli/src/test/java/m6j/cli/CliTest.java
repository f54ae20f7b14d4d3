package m6j.cli;

import m6j.train.TrainOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

import static org.assertj.core.api.Assertions.assertThat;

class CliTest {
    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        var cl = Main.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    /** The options record's builder defaults are the train command's: one set of defaults, two spellings. */
    @Test void trainCommandDefaultsAreTheOptionsDefaults() {
        TrainCommand cmd = new TrainCommand();
        new CommandLine(cmd).parseArgs("--corpus", "c", "--run", "r");
        assertThat(cmd.options()).isEqualTo(TrainOptions.builder(Path.of("c"), Path.of("r")).build());
        new CommandLine(cmd).parseArgs("--corpus", "c", "--run", "r", "--steps", "7", "--lr", "0.5", "--mixture", "lm=1");
        assertThat(cmd.options()).isEqualTo(TrainOptions.builder(Path.of("c"), Path.of("r")).steps(7).lr(0.5).minLr(1e-4)
                .mixture("lm=1").build());
    }

    @Test void plotJoinsContinuedRunsAndDrawsChosenObjectives(@TempDir Path dir) throws Exception {
        Path a = dir.resolve("pseudo"), b = dir.resolve("delinked"), png = dir.resolve("p.png");
        Files.createDirectories(a);
        Files.createDirectories(b);
        String rec = "{\"step\":%d,\"objective\":\"%s\",\"loss\":%f,\"ms\":1000}";
        Files.writeString(a.resolve("metrics.jsonl"), rec.formatted(0, "lm", 8.0) + "\n" + rec.formatted(1, "itt", 5.0) + "\n");
        Files.writeString(b.resolve("metrics.jsonl"), rec.formatted(2, "lm", 7.0) + "\n");
        Run r = run("plot", a + "+" + b, "--objective", "lm", "--out", png.toString());
        assertThat(r.code()).as(r.err()).isZero();
        BufferedImage img = ImageIO.read(png.toFile());
        assertThat(img.getWidth()).isEqualTo(900);
        assertThat(run("plot", a.toString(), "--x", "hours", "--out", png.toString()).code()).isEqualTo(2);
        assertThat(run("plot", dir.resolve("missing").toString(), "--out", png.toString()).err()).contains("no metrics.jsonl");
        assertThat(run("plot", a.toString(), "--objective", "t2i", "--out", png.toString()).err()).contains("nothing to draw");
    }

    @Test void unknownSubcommandOrOptionIsAUsageError() {
        assertThat(run("frobnicate").code()).isEqualTo(2);
        Run r = run("train", "--no-such-option");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("Usage:");
    }

    @Test void benchDecodeBadValuesAreUsageErrorsBeforeAnyModelIsRead() {
        Run r = run("bench", "decode", "-m", "no/such/run", "--rows", "1,0");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--rows values must be in 1..128").contains("Usage:");
        assertThat(run("bench", "decode", "-m", "no/such/run", "--new-tokens", "0").code()).isEqualTo(2);
        assertThat(run("bench", "decode", "--rows", "x").code()).isEqualTo(2);
    }

    @Test void badValuesAreUsageErrors() {
        assertThat(run("train", "--steps", "many").code()).isEqualTo(2);
        Run r = run("train", "--steps", "0");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--steps must be >= 1").contains("Usage:");
        assertThat(run("train", "--mixture", "itt=x").code()).isEqualTo(2);
        assertThat(run("train", "--preset", "huge").err()).contains("unknown preset 'huge'");
        assertThat(run("generate", "-m", "x", "--top-p", "0", "hi").code()).isEqualTo(2);
        assertThat(run("quickstart", "--from", "elsewhere").code()).isEqualTo(2);
    }

    @Test void missingCheckpointIsOneLineNamingThePath(@TempDir Path dir) {
        Run r = run("generate", "-m", dir.resolve("nope").toString(), "hello");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().trim()).startsWith("m6j: error: no checkpoint at " + dir.resolve("nope")).doesNotContain("\n");
    }

    @Test void helpEverywhere() {
        for (String c : new String[]{"quickstart", "train", "caption", "generate", "eval", "bench", "imagine", "vqgan"}) {
            StringWriter out = new StringWriter();
            var cl = Main.commandLine();
            cl.setOut(new PrintWriter(out));
            assertThat(cl.execute(c, "--help")).as(c).isEqualTo(0);
            assertThat(out.toString()).as(c).contains("Usage: m6j " + c);
        }
    }

    @Test void imagineRefusesBadArgumentsWithUsage(@TempDir Path dir) {
        Run empty = run("imagine", "-m", dir.toString(), "  ");
        assertThat(empty.code()).isEqualTo(2);
        assertThat(empty.err()).contains("empty prompt").contains("Usage: m6j imagine");
        assertThat(run("imagine").code()).isEqualTo(2);                               // no prompt
        assertThat(run("imagine", "-n", "0", "a coat").err()).contains("-n must be in");
        assertThat(run("imagine", "--guidance", "-1", "a coat").code()).isEqualTo(2);
        Run notDrawing = run("imagine", "-m", dir.resolve("none").toString(), "a coat");
        assertThat(notDrawing.code()).isEqualTo(1);
        assertThat(notDrawing.err()).contains("no checkpoint at");
        assertThat(run("vqgan", "train", "--preset", "nope").err()).contains("unknown VQGAN preset 'nope'");
        assertThat(run("train", "--mixture", "t2i=1,itt=x").code()).isEqualTo(2);
        Run noVq = run("train", "--mixture", "itt=1,t2i=1", "--run", dir.resolve("r").toString(), "--corpus", dir.toString());
        assertThat(noVq.code()).isEqualTo(2);
        assertThat(noVq.err()).contains("--mixture t2i needs --vqgan");
    }
}
