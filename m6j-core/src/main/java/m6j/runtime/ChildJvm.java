package m6j.runtime;


import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of a child JVM running Main with this JVM's class path and java binary. The m6j.*
 * system properties of this JVM are passed on (timeouts, thread counts, test hooks), and a JVM crash log goes to
 * errorDir instead of the working directory, where it would be seen only by chance (and once got committed).
 */
public final class ChildJvm {
    /** Named, not imported: the command sits in the top module, and runtime below everything. */
    public static final String MAIN = "m6j.cli.Main";

    private ChildJvm() {}

    /**
     * inherit: also pass this JVM's own options (heap, GC, agents excluded), as the launcher does for its workers;
     * jvmOptions come after them and so win.
     */
    public static List<String> command(boolean inherit, List<String> jvmOptions, Path errorDir, List<String> args) {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java")));
        if (inherit)
            for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments())
                if (!a.startsWith("-agentlib") && !a.startsWith("-javaagent") && !a.startsWith("-XX:ErrorFile")) cmd.add(a);
        System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith("m6j.")).sorted()
                .forEach(k -> cmd.add("-D" + k + "=" + System.getProperty(k)));
        cmd.addAll(jvmOptions);
        cmd.add("-XX:ErrorFile=" + errorDir.toAbsolutePath().resolve("hs_err_pid%p.log"));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(MAIN);
        cmd.addAll(args);
        return cmd;
    }

    /** The value after flag in args (e.g. --run DIR), or null. */
    public static String option(List<String> args, String flag) {
        for (int i = 0; i < args.size(); i++) {
            if (args.get(i).equals(flag) && i + 1 < args.size()) return args.get(i + 1);
            if (args.get(i).startsWith(flag + "=")) return args.get(i).substring(flag.length() + 1);
        }
        return null;
    }
}
