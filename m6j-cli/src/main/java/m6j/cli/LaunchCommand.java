package m6j.cli;

import m6j.parallel.Launcher;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "launch", mixinStandardHelpOptions = true,
        description = {"Run a subcommand (usually train) as several worker processes, torchrun-style.",
                "Workers rendezvous through a TCPStore served by this launcher (node 0) at --master, and get MASTER_ADDR, "
                        + "MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK. If a worker dies, the others are stopped and the rank is named.",
                "Example: ./m6j launch --nproc 2 train --ep 2 --corpus work/corpus --run work/run-ep2"})
public final class LaunchCommand implements Callable<Integer> {
    @Option(names = "--nproc", defaultValue = "2", description = "Workers on this machine (default: ${DEFAULT-VALUE}).")
    int nproc;

    @Option(names = "--nnodes", defaultValue = "1", description = "Machines in the job.")
    int nnodes;

    @Option(names = "--node-rank", defaultValue = "0", description = "This machine's index, 0..nnodes-1.")
    int nodeRank;

    @Option(names = "--master", defaultValue = "127.0.0.1:29500", description = "HOST:PORT of node 0's rendezvous store.")
    String master;

    @Option(names = "--threads-per-proc", description = "Intra-op threads per worker (default: cores / nproc).")
    Integer threads;

    @Parameters(arity = "1..*", paramLabel = "COMMAND", description = "The m6j subcommand and its arguments.")
    List<String> command;

    @Override public Integer call() throws Exception {
        int colon = master.lastIndexOf(':');
        if (colon <= 0) throw new IllegalArgumentException("--master must be HOST:PORT");
        int port;
        try {
            port = Integer.parseInt(master.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--master must be HOST:PORT");
        }
        if (nproc < 1 || nnodes < 1 || nodeRank < 0 || nodeRank >= nnodes)
            throw new IllegalArgumentException("need --nproc >= 1, --nnodes >= 1 and 0 <= --node-rank < --nnodes");
        int t = threads != null ? threads : Math.max(1, Runtime.getRuntime().availableProcessors() / nproc);
        return new Launcher(master.substring(0, colon), port, nproc, nnodes, nodeRank, t).run(command);
    }
}
