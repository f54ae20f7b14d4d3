package m6j.cli;

import picocli.CommandLine.Command;

@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks (results go in docs/BENCHMARKS.md).",
        subcommands = {BenchTrainCommand.class, BenchParallelCommand.class, BenchOffloadCommand.class, BenchImagineCommand.class, BenchServeCommand.class, BenchTokenizerCommand.class, BenchMachineCommand.class, BenchMoeCommand.class, BenchGrammarCommand.class, BenchSoakCommand.class, BenchDecodeCommand.class})
public final class BenchCommand implements Runnable {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "choose a benchmark: train, parallel, offload, imagine, serve, soak, tokenizer, machine, moe or grammar");
    }
}
