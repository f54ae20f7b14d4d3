package m6j.parallel;

import m6j.runtime.ChildJvm;
import m6j.runtime.Torch;
import org.bytedeco.pytorch.TCPStore;

import java.io.IOException;
import java.lang.ref.Reference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Starts this node's workers as child JVMs with the torchrun variables, serves the rendezvous store on node 0
 * (so it outlives any worker), and watches them: the first worker to fail stops the rest, and the launcher
 * reports which rank died and at which step (read from the workers' heartbeats in the store).
 */
public final class Launcher {
    private final String masterAddr;
    private final int port, nproc, nnodes, nodeRank, threads;

    public Launcher(String masterAddr, int port, int nproc, int nnodes, int nodeRank, int threads) {
        this.masterAddr = masterAddr;
        this.port = port;
        this.nproc = nproc;
        this.nnodes = nnodes;
        this.nodeRank = nodeRank;
        this.threads = threads;
    }

    public int run(List<String> args) throws IOException, InterruptedException {
        Torch.init();
        int world = nproc * nnodes;
        TCPStore store = Groups.connect(nodeRank == 0 ? "0.0.0.0".equals(masterAddr) ? "127.0.0.1" : masterAddr : masterAddr, port,
                nodeRank == 0, world);
        List<Process> procs = new ArrayList<>();
        // A worker's JVM crash log goes to the run directory (or the temp directory), where the job's owner looks.
        String run = ChildJvm.option(args, "--run");
        Path errorDir = run != null ? Path.of(run) : Path.of(System.getProperty("java.io.tmpdir"));
        Files.createDirectories(errorDir);
        List<String> jvm = ChildJvm.command(true, List.of("-Dm6j.threads=" + threads), errorDir, args);
        for (int lr = 0; lr < nproc; lr++) {
            int rank = nodeRank * nproc + lr;
            ProcessBuilder pb = new ProcessBuilder(jvm).inheritIO();
            Map<String, String> env = pb.environment();
            env.put("MASTER_ADDR", masterAddr);
            env.put("MASTER_PORT", Integer.toString(port));
            env.put("RANK", Integer.toString(rank));
            env.put("WORLD_SIZE", Integer.toString(world));
            env.put("LOCAL_RANK", Integer.toString(lr));
            env.put("LOCAL_WORLD_SIZE", Integer.toString(nproc));
            // OpenBLAS keeps its own thread pool (torch's set_num_threads does not reach it): without this, N workers
            // each ran cores-many spinning BLAS threads and a data-parallel step took 3.5x longer.
            env.put("OPENBLAS_NUM_THREADS", Integer.toString(threads));
            env.put("OMP_NUM_THREADS", Integer.toString(threads));
            env.put("M6J_STORE_HOSTED", "1");                   // node 0's launcher serves the store
            procs.add(pb.start());
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> procs.forEach(Process::destroyForcibly)));
        while (true) {
            boolean all = true;
            for (int lr = 0; lr < nproc; lr++) {
                Process p = procs.get(lr);
                if (p.isAlive()) { all = false; continue; }
                if (p.exitValue() != 0) {
                    int rank = nodeRank * nproc + lr;
                    long step = store.add("step/" + rank, 0);
                    System.err.printf("m6j launch: rank %d exited with code %d during step %d; stopping the other workers%n",
                            rank, p.exitValue(), Math.max(0, step - 1));
                    for (Process q : procs) q.destroy();
                    for (Process q : procs) if (!q.waitFor(10, TimeUnit.SECONDS)) q.destroyForcibly();
                    Reference.reachabilityFence(store);
                    return 1;
                }
            }
            if (all) break;
            Thread.sleep(100);
        }
        Reference.reachabilityFence(store);          // the workers' store lives until they are all done
        return 0;
    }
}
