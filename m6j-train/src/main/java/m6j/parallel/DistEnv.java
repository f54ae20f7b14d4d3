package m6j.parallel;

import java.util.Map;

/**
 * Where this process sits in a job, read from the torchrun variables that Kubeflow PyTorchJob, Slurm recipes
 * and our own launcher set: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK.
 * storeHosted: the launcher already serves the TCPStore, so rank 0 only connects to it.
 */
public record DistEnv(String masterAddr, int masterPort, int rank, int world, int localRank, boolean storeHosted) {
    public DistEnv {
        if (world < 1 || rank < 0 || rank >= world) throw new IllegalArgumentException("RANK " + rank + " is not in 0..WORLD_SIZE-1 (" + world + ")");
        if (masterPort < 1 || masterPort > 65535) throw new IllegalArgumentException("MASTER_PORT must be 1..65535, not " + masterPort);
        if (masterAddr == null || masterAddr.isBlank()) throw new IllegalArgumentException("MASTER_ADDR is empty");
    }

    /** The job described by the environment, or null when WORLD_SIZE is unset (a single process). */
    public static DistEnv fromEnv(Map<String, String> env) {
        String ws = env.get("WORLD_SIZE");
        if (ws == null || ws.isBlank()) return null;
        try {
            return new DistEnv(env.getOrDefault("MASTER_ADDR", "127.0.0.1"), Integer.parseInt(env.getOrDefault("MASTER_PORT", "29500")),
                    Integer.parseInt(env.getOrDefault("RANK", "0")), Integer.parseInt(ws),
                    Integer.parseInt(env.getOrDefault("LOCAL_RANK", env.getOrDefault("RANK", "0"))),
                    "1".equals(env.get("M6J_STORE_HOSTED")));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad torchrun variable: " + e.getMessage());
        }
    }
}
