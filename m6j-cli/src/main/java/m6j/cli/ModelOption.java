package m6j.cli;

import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The checkpoint a command reads: a checkpoint directory or a run directory (its latest checkpoint). */
public final class ModelOption {
    @Option(names = {"-m", "--model"}, defaultValue = "work/run", description = "Checkpoint or run directory (default: ${DEFAULT-VALUE}).")
    Path model;
}
