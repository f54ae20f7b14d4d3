package m6j.cli;

import m6j.model.M6Config;
import m6j.model.Presets;
import m6j.parallel.DistEnv;
import m6j.parallel.Groups;
import m6j.parallel.Launcher;
import m6j.parallel.ParallelBench;
import m6j.parallel.Strategy;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "parallel", mixinStandardHelpOptions = true,
        description = "Time data- and expert-parallel training steps on N local processes: step time, time in all-reduce and "
                + "all-to-all and their share of the step, bytes sent per step, all-to-all bandwidth.")
public final class BenchParallelCommand implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "small") String preset;
    @Option(names = "--nproc", defaultValue = "2") int nproc;
    @Option(names = "--batch-size", defaultValue = "8", description = "Per rank.") int batchSize;
    @Option(names = "--text-len", defaultValue = "32") int textLen;
    @Option(names = "--steps", defaultValue = "8") int steps;
    @Option(names = "--warmup-steps", defaultValue = "2") int warmup;
    @Option(names = "--port", defaultValue = "29512") int port;
    @Option(names = "--mode", description = "dp or ep (default: both, one after the other).") String mode;

    @Override public Integer call() throws Exception {
        if (nproc < 2 || steps < 1 || batchSize < 1) throw new IllegalArgumentException("need --nproc >= 2, --steps >= 1, --batch-size >= 1");
        M6Config c = Presets.get(preset);
        DistEnv env = DistEnv.fromEnv(System.getenv());
        if (env != null) {                                         // a worker started by the launcher below
            Strategy s = "ep".equals(mode) ? new Strategy(1, env.world()) : new Strategy(env.world(), 1);
            String line = ParallelBench.run(new Groups(env, s), c, batchSize, textLen, warmup, steps);
            if (env.rank() == 0) System.out.println(line);
            return 0;
        }
        int rc = 0, next = port;
        for (String m : mode == null ? List.of("dp", "ep") : List.of(mode)) {
            List<String> args = new ArrayList<>(List.of("bench", "parallel", "--preset", preset, "--batch-size", Integer.toString(batchSize),
                    "--text-len", Integer.toString(textLen), "--steps", Integer.toString(steps), "--warmup-steps", Integer.toString(warmup),
                    "--mode", m, "--nproc", Integer.toString(nproc)));
            int threads = Math.max(1, Runtime.getRuntime().availableProcessors() / nproc);
            rc |= new Launcher("127.0.0.1", next++, nproc, 1, 0, threads).run(args);
        }
        return rc;
    }
}
