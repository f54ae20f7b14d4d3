package m6j.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A fresh memory cgroup (v1 or v2, whichever the machine mounts) that a child process runs in, so everything it
 * makes resident, page cache included, counts against one limit: the kernel reclaims (or writes back) the child's
 * cache instead of letting files it reads stay in spare RAM. Made under the hierarchy's root, removed by close().
 * Needs root (or a delegated, writable cgroup tree); otherwise create() fails with an IOException saying so.
 */
public final class MemoryCgroup implements AutoCloseable {
    public enum Version { V1, V2 }

    private final Path dir;
    private final Version version;
    private final long limit;

    private MemoryCgroup(Path dir, Version version, long limit) {
        this.dir = dir;
        this.version = version;
        this.limit = limit;
    }

    /**
     * Which memory controller the cgroup filesystem at root (normally /sys/fs/cgroup) offers: v1 when it has a
     * memory/ hierarchy with memory.limit_in_bytes, v2 when root lists memory in cgroup.controllers; null: none.
     */
    public static Version detect(Path root) {
        if (Files.isRegularFile(root.resolve("memory").resolve("memory.limit_in_bytes"))) return Version.V1;
        try {
            Path c = root.resolve("cgroup.controllers");
            if (Files.isRegularFile(c) && List.of(Files.readString(c).trim().split("\\s+")).contains("memory")) return Version.V2;
        } catch (IOException ignored) {
            // unreadable: no usable controller
        }
        return null;
    }

    /** A new cgroup called name under root's memory hierarchy whose limit is limit bytes (page cache included). */
    public static MemoryCgroup create(Path root, String name, long limit) throws IOException {
        if (limit <= 0) throw new IllegalArgumentException("a cgroup memory limit must be positive");
        Version v = detect(root);
        if (v == null) throw new IOException("no cgroup memory controller under " + root + " (neither v1 memory/ nor v2 cgroup.controllers with memory)");
        Path parent = v == Version.V1 ? root.resolve("memory") : root;
        Path dir = parent.resolve(name);
        try {
            if (v == Version.V2) {                      // the root must hand the memory controller to its children
                Path sub = root.resolve("cgroup.subtree_control");
                if (!Files.readString(sub).contains("memory")) Files.writeString(sub, "+memory");
            }
            Files.createDirectory(dir);
        } catch (IOException | SecurityException e) {
            throw new IOException("cannot create memory cgroup " + dir + " (needs root or a delegated, writable cgroup tree): " + e, e);
        }
        MemoryCgroup g = new MemoryCgroup(dir, v, limit);
        try {
            Files.writeString(dir.resolve(v == Version.V1 ? "memory.limit_in_bytes" : "memory.max"), Long.toString(limit));
        } catch (IOException e) {
            g.close();
            throw new IOException("cannot set the memory limit of cgroup " + dir + ": " + e, e);
        }
        return g;
    }

    /** cmd as started inside this cgroup: a shell joins it, then execs cmd (so the process is in it from its start). */
    public List<String> wrap(List<String> cmd) {
        List<String> out = new ArrayList<>(List.of("sh", "-c", "echo $$ > \"$0\" && exec \"$@\"", dir.resolve("cgroup.procs").toString()));
        out.addAll(cmd);
        return out;
    }

    public Path dir() { return dir; }

    public Version version() { return version; }

    public long limit() { return limit; }

    /** Most bytes charged at once (v1 memory.max_usage_in_bytes, v2 memory.peak), -1 where the kernel has no such file. */
    public long peak() { return number(version == Version.V1 ? "memory.max_usage_in_bytes" : "memory.peak"); }

    /** Times the limit was hit (v1 memory.failcnt, v2 memory.events max), -1 if unknown. */
    public long failures() { return version == Version.V1 ? number("memory.failcnt") : field("memory.events", "max"); }

    /** Processes the kernel's OOM killer ended in this cgroup (oom_kill in v1 memory.oom_control, v2 memory.events), -1 if unknown. */
    public long oomKills() { return field(version == Version.V1 ? "memory.oom_control" : "memory.events", "oom_kill"); }

    private long number(String file) {
        try {
            return Long.parseLong(Files.readString(dir.resolve(file)).trim());
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    private long field(String file, String key) {
        try {
            return parseField(Files.readString(dir.resolve(file)), key);
        } catch (IOException e) {
            return -1;
        }
    }

    /** The value of "key N" in a flat-keyed cgroup file (memory.events, memory.oom_control), -1 if absent. */
    static long parseField(String text, String key) {
        for (String line : text.split("\n")) {
            String[] kv = line.trim().split("\\s+");
            if (kv.length == 2 && kv[0].equals(key)) return Long.parseLong(kv[1]);
        }
        return -1;
    }

    /** Removes the cgroup (its processes must have ended; v1 moves leftover page-cache charges to the parent). */
    @Override public void close() throws IOException {
        IOException last = null;
        for (int i = 0; i < 20; i++) {                  // a just-ended child can keep the group busy for a moment
            try {
                Files.deleteIfExists(dir);
                return;
            } catch (IOException e) {
                last = e;
                try {
                    Thread.sleep(100);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        throw new IOException("cannot remove cgroup " + dir + ": " + last, last);
    }
}
