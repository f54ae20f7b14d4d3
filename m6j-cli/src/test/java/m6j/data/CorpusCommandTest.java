package m6j.data;

import m6j.cli.CorpusCommand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class CorpusCommandTest {
    @TempDir Path tmp;

    private static int run(StringWriter out, StringWriter err, String... args) {
        CommandLine cl = new CommandLine(new CorpusCommand());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        return cl.execute(args);
    }

    @Test
    void badArgumentsAreUsageErrors() {
        String[][] bad = {
                {"build", "--image-size", "-3"},
                {"build", "--image-size", "many"},
                {"build", "--from", "nowhere"},
                {"build", "--test-fraction", "0.9"},
                {"build", "--max-per-source", "-1"},
                {"build", "--bogus"},
                {"frobnicate"},
                {},
        };
        for (String[] args : bad) {
            StringWriter out = new StringWriter(), err = new StringWriter();
            assertThat(run(out, err, args)).as(String.join(" ", args)).isEqualTo(2);
            assertThat(err.toString()).as(String.join(" ", args)).isNotBlank();
        }
    }

    @Test
    void buildPrintsTableAndWritesReport() {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int rc = run(out, err, "build", "--from", "sample", "--out", tmp.toString(), "--max-per-source", "20",
                "--image-size", "8", "--seed", "5");
        assertThat(rc).as(err.toString()).isZero();
        assertThat(out.toString()).contains("fashion-mnist", "chinese-poetry", "total", "not installed");
        assertThat(tmp.resolve("corpus.json")).exists();
    }
}
