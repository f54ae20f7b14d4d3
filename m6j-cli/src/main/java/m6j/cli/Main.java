package m6j.cli;

import m6j.runtime.Torch;
import picocli.CommandLine.Command;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;

@Command(name = "m6j", mixinStandardHelpOptions = true, version = "m6j 0.1.0",
        description = "M6-style multimodal Mixture-of-Experts foundation models on the JVM.",
        subcommands = {QuickstartCommand.class, CorpusCommand.class, TrainCommand.class, FinetuneCommand.class, MergeCommand.class, CaptionCommand.class,
                GenerateCommand.class, ImagineCommand.class, EvalCommand.class, ServeCommand.class, IndexCommand.class, LaunchCommand.class, DelinkCommand.class, VqganCommand.class, PlanCommand.class, PlotCommand.class, BenchCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override public void run() {
        spec.commandLine().usage(System.err);
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler(Main::onError);
        cl.getSubcommands().get("launch").setStopAtPositional(true).setUnmatchedOptionsArePositionalParams(true);
        return cl;
    }

    /**
     * Invalid values found while running (record validation) are usage errors: message + usage, exit 2.
     * Anything else (bad files, engine errors) is one line naming the problem, exit 1.
     */
    static int onError(Exception ex, CommandLine cl, CommandLine.ParseResult pr) {
        PrintWriter err = cl.getErr();
        if (ex instanceof IllegalArgumentException) {
            err.println("m6j: " + ex.getMessage());
            cl.usage(err);
            return CommandLine.ExitCode.USAGE;
        }
        String msg = ex instanceof IOException || ex.getMessage() != null ? ex.getMessage() : ex.toString();
        err.println("m6j: error: " + msg);
        if (System.getenv("M6J_DEBUG") != null) ex.printStackTrace(err);
        return 1;
    }

    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        if (!Torch.ompPassive())
            System.err.println("m6j: warning: OMP_WAIT_POLICY is not PASSIVE; on few cores training may run several times slower (use ./m6j)");
        System.exit(commandLine().execute(args));
    }
}
