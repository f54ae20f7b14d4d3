package m6j.train;

import com.fasterxml.jackson.databind.JsonNode;
import m6j.model.M6Config;
import m6j.model.Presets;
import m6j.runtime.Json;
import m6j.runtime.Torch;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Python mirror of the training step (bench/python/m6_train_step.py, the other side of `m6j bench train`'s
 * comparison) computes what m6j computes: the same batches, initial weights, MoE routing with capacity and dropping,
 * loss, aux loss, double-precision gradient norm and AdamW update, so that 3 steps agree in loss, aux loss and norm.
 */
public class PythonAgreementTest {
    public static final Path PYTHON = Path.of("/usr/bin/python3"), SCRIPT = Path.of("bench/python/m6_train_step.py");

    @Test void threeStepsAgreeInLossAuxLossAndGradientNorm() throws Exception {
        assumePython("torch, numpy", "python3-torch");
        Torch.init();
        M6Config c = Presets.get("tiny");
        List<double[]> java = TrainBench.run(c, 4, 8, 0, 3).trace();
        List<String> cmd = new ArrayList<>(List.of(PYTHON.toString(), SCRIPT.toString(), "--preset", "tiny", "--batch-size", "4",
                "--text-len", "8", "--steps", "3", "--warmup-steps", "0", "--json"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        JsonNode r = Json.MAPPER.readTree(out.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElseThrow());
        JsonNode py = r.get("trace");
        assertThat(py.size()).isEqualTo(3);
        StringBuilder report = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            double[] j = java.get(i);
            double loss = py.get(i).get(0).asDouble(), aux = py.get(i).get(1).asDouble(), norm = py.get(i).get(2).asDouble();
            report.append(String.format("step %d: loss %.7f/%.7f aux %.7f/%.7f norm %.7f/%.7f; ", i, j[0], loss, j[1], aux, j[2], norm));
            assertThat(j[0]).as("loss at step %d (%s)", i, report).isCloseTo(loss, org.assertj.core.data.Percentage.withPercentage(1e-3));
            assertThat(j[1]).as("aux loss at step %d (%s)", i, report).isCloseTo(aux, org.assertj.core.data.Percentage.withPercentage(1e-3));
            assertThat(j[2]).as("gradient norm at step %d (%s)", i, report).isCloseTo(norm, org.assertj.core.data.Percentage.withPercentage(1e-3));
        }
        System.out.println("PythonAgreementTest: " + report);
    }

    /**
     * Debian's python3 with these modules (e.g. "torch, numpy"), or: outside CI the test is skipped, in CI it fails
     * (.ci/run installs the packages).
     */
    public static void assumePython(String modules, String packages) throws Exception {
        boolean present = false;
        if (Files.isExecutable(PYTHON)) {
            Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import " + modules).redirectErrorStream(true).start();
            p.getOutputStream().close();
            p.getInputStream().readAllBytes();
            present = p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        }
        if (!present && System.getenv("CI") == null)
            Assumptions.abort(PYTHON + " lacks " + modules + " (apt-get install -y " + packages + "); skipping");
        assertThat(present).as("CI must have " + PYTHON + " with " + modules + " (.ci/run installs " + packages + ")").isTrue();
    }
}
