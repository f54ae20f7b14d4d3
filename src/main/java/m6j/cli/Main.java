package m6j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "m6j", mixinStandardHelpOptions = true, version = "m6j 0.1.0",
        description = "M6-style multimodal Mixture-of-Experts foundation models on the JVM.",
        subcommands = {CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override public void run() { spec.commandLine().usage(System.err); }

    public static CommandLine commandLine() {
        return new CommandLine(new Main());
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }
}
