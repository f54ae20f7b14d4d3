package m6j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import m6j.runtime.Json;
import m6j.train.LossPlot;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "plot", mixinStandardHelpOptions = true,
        description = {"Training-loss curves of several runs in one PNG, against wall-clock time (summed step times) or steps.",
                "A run continued in another directory is joined with '+' (pseudo-to-real: PSEUDO+DELINKED), its time and "
                        + "steps adding up.",
                "Example: ./m6j plot work/real work/pseudo+work/delinked --objective itt,lm --out compare.png"})
public final class PlotCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "RUN[+RUN...]", description = "Run directories (with metrics.jsonl).")
    List<String> runs;

    @Option(names = "--out", required = true, description = "PNG to write.")
    Path out;

    @Option(names = "--objective", split = ",", description = "Objectives to draw (default: every one found).")
    List<String> objectives;

    @Option(names = "--x", defaultValue = "seconds", description = "seconds or steps (default: ${DEFAULT-VALUE}).")
    String x;

    @Override public Integer call() throws Exception {
        if (!x.equals("seconds") && !x.equals("steps")) throw new IllegalArgumentException("--x must be 'seconds' or 'steps', not '" + x + "'");
        Map<String, List<double[]>> series = new LinkedHashMap<>();
        for (String spec : runs) {
            List<String> parts = List.of(spec.split("\\+")), names = new ArrayList<>();
            for (String part : parts) names.add(Path.of(part).getFileName().toString());
            String label = String.join("+", names);
            double seconds = 0;
            long steps = 0;
            for (String part : parts) {
                Path metrics = Path.of(part).resolve("metrics.jsonl");
                if (!Files.isRegularFile(metrics)) throw new IllegalArgumentException("no metrics.jsonl in " + part);
                for (String line : Files.readAllLines(metrics)) {
                    if (line.isBlank()) continue;
                    JsonNode r = Json.MAPPER.readTree(line);
                    seconds += r.path("ms").asDouble() / 1000;
                    steps++;
                    String ob = r.path("objective").asText();
                    if (objectives != null && !objectives.contains(ob)) continue;
                    series.computeIfAbsent(label + " " + ob, k -> new ArrayList<>())
                            .add(new double[]{x.equals("seconds") ? seconds : steps, r.path("loss").asDouble()});
                }
            }
        }
        if (series.isEmpty()) throw new IllegalArgumentException("nothing to draw: no steps of " + (objectives == null ? "any objective" : objectives));
        LossPlot.write(out, "training loss (smoothed)", x, series);
        System.out.println("m6j: wrote " + out);
        return 0;
    }
}
