package m6j.parallel;

import m6j.runtime.Tensors;
import m6j.runtime.Torch;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.AllreduceOptions;
import org.bytedeco.pytorch.LongVector;
import org.bytedeco.pytorch.PrefixStore;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.Store;
import org.bytedeco.pytorch.StringVector;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.Work;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Rendezvous through libtorch's TCPStore and collectives through ProcessGroupGloo: the world group plus the
 * expert-parallel and data-parallel subgroups of this rank. A rank that never arrives is named; a collective
 * that fails (a peer died or hung past the timeout) becomes a {@link CollectiveFailure}.
 */
public final class Groups implements AutoCloseable {
    public static final long RENDEZVOUS_MS = Long.getLong("m6j.rendezvousMs", 60_000);
    public static final long COLLECTIVE_MS = Long.getLong("m6j.collectiveMs", 30_000);
    /**
     * How long a rank waits at a barrier for the others: the leader may be training the tokenizer or writing a
     * checkpoint meanwhile, which takes far longer than any collective should, so barriers are not collectives.
     */
    public static final long BARRIER_MS = Long.getLong("m6j.barrierMs", 3_600_000);
    /**
     * How often each rank tells the store it is alive (a thread of its own, on a store connection of its own), so
     * that a barrier can tell a rank that is busy from one that is dead: a rank killed while the others waited at a
     * checkpoint's barrier kept them waiting the whole BARRIER_MS.
     */
    static final long ALIVE_EVERY_MS = 500;

    /** The three waits, kept apart: ranks arriving, one collective, a barrier around leader-only work. */
    public record Timeouts(long rendezvousMs, long collectiveMs, long barrierMs) {
        public static final Timeouts DEFAULT = new Timeouts(RENDEZVOUS_MS, COLLECTIVE_MS, BARRIER_MS);

        public Timeouts {
            if (rendezvousMs < 1 || collectiveMs < 1 || barrierMs < 1) throw new IllegalArgumentException("timeouts must be >= 1 ms");
        }
    }

    public final DistEnv env;
    public final Timeouts timeouts;
    public final Strategy strategy;
    public final Store store;
    public final ProcessGroupGloo world, ep, dp;
    public volatile int step;
    /**
     * Every native object handed to a native owner (a TCPStore wrapped by a PrefixStore, a PrefixStore and the
     * options given to a ProcessGroupGloo). JavaCPP frees what Java no longer references, whatever libtorch still
     * points to: a dropped TCPStore under a live PrefixStore was a SIGSEGV in PrefixStore::set (docs/ENGINE.md, note 13).
     * Held for as long as the groups live.
     */
    private final List<Object> owned = new ArrayList<>();
    /**
     * Groups not yet closed, reachable from here whatever their callers drop: if the GC found a Groups unreachable,
     * JavaCPP would free its stores, devices and process groups in whatever order it finds them, a store under a
     * live process group included (a free() abort seen later in the same JVM). Only {@link #close} frees them.
     */
    private static final Set<Groups> OPEN = ConcurrentHashMap.newKeySet();
    private boolean closed;
    private volatile boolean stopping;
    private final Thread alive;

    public static final class CollectiveFailure extends RuntimeException {
        CollectiveFailure(String msg, Throwable cause) { super(msg, cause); }
    }

    public Groups(DistEnv env, Strategy strategy) { this(env, strategy, Timeouts.DEFAULT); }

    public Groups(DistEnv env, Strategy strategy, Timeouts timeouts) {
        Torch.init();
        this.env = env;
        this.timeouts = timeouts;
        this.strategy = strategy;
        if (strategy.world() != env.world())
            throw new IllegalArgumentException("--dp x --ep = " + strategy.world() + " but WORLD_SIZE is " + env.world());
        OPEN.add(this);
        store = own(connect(env.masterAddr(), env.masterPort(), env.rank() == 0 && !env.storeHosted(), env.world()));
        gcHook();
        join();
        TCPStore aliveStore = own(connect(env.masterAddr(), env.masterPort(), false, env.world()));
        alive = new Thread(() -> beat(aliveStore), "m6j-alive-" + env.rank());
        alive.setDaemon(true);
        alive.start();
        String host = localAddress(env.masterAddr());
        world = group(prefixed("world"), env.rank(), env.world(), host);
        int di = strategy.dpIndex(env.rank()), ei = strategy.epIndex(env.rank());
        ep = strategy.ep() == 1 ? null : group(prefixed("ep" + di), ei, strategy.ep(), host);
        dp = strategy.dp() == 1 ? null : group(prefixed("dp" + ei), di, strategy.dp(), host);
    }

    /** A TCPStore client (or the server, for rank 0 when no launcher hosts it). */
    public static TCPStore connect(String addr, int port, boolean server, int world) {
        TCPStoreOptions o = new TCPStoreOptions();
        o.port((short) port);
        o.isServer(server);
        o.waitWorkers(false);
        o.timeout(new Milliseconds(RENDEZVOUS_MS));
        try {
            return new TCPStore(addr, o);
        } catch (RuntimeException e) {
            throw new IllegalStateException("cannot reach the rendezvous store at " + addr + ":" + port
                    + (server ? " (could not listen)" : " (is rank 0 / the launcher running?)") + ": " + firstLine(e), e);
        }
    }

    /**
     * A namespaced store for one process group. Each gets its own client connection: a JavaCPP Store can be
     * handed to one owner (PrefixStore / ProcessGroupGloo) only; wrapping the same object twice aborts in libtorch.
     */
    private Store prefixed(String prefix) {
        TCPStore client = own(connect(env.masterAddr(), env.masterPort(), false, env.world()));
        gcHook();
        return own(new PrefixStore(prefix, client));
    }

    private <T> T own(T nativeObject) {
        owned.add(nativeObject);
        return nativeObject;
    }

    /**
     * Test hook (-Dm6j.gcDuringRendezvous=true): full collections between handing a native object over and its use,
     * so that anything only native code still references is freed before it is used (GroupsGcTest).
     */
    private static void gcHook() {
        if (!Boolean.getBoolean("m6j.gcDuringRendezvous")) return;
        for (int i = 0; i < 3; i++) {
            System.gc();
            try { Thread.sleep(20); } catch (InterruptedException e) { Thread.currentThread().interrupt(); return; }
        }
    }

    /** Every rank checks in; after the rendezvous timeout the missing ranks are named. */
    private void join() {
        arrive("joined", timeouts.rendezvousMs(), "rendezvous at " + env.masterAddr() + ":" + env.masterPort(), false);
    }

    /** The alive thread: alive/RANK counts up every ALIVE_EVERY_MS until close (or until the store is gone). */
    private void beat(TCPStore s) {
        while (!stopping) {
            try {
                s.add("alive/" + env.rank(), 1);
                Thread.sleep(ALIVE_EVERY_MS);
            } catch (InterruptedException | RuntimeException e) {
                return;                        // closing, or the store went away: barriers and collectives fail on their own
            }
        }
    }

    /** A missing rank is dead once its alive count has not moved for this long (at least 10 beats). */
    private long deadAfterMs() { return Math.max(timeouts.collectiveMs(), 10 * ALIVE_EVERY_MS); }

    private int barriers;

    /**
     * Waits until every rank has arrived here, through the store, not a Gloo collective: a rank may wait up to
     * the barrier timeout for the leader's tokenizer training or checkpoint writing while collectives keep their short timeout.
     */
    public void barrier() {
        arrive("barrier/" + barriers++, timeouts.barrierMs(), "barrier at step " + step, true);
    }

    /**
     * Sets key/RANK and polls until key/r exists for every rank r; after ms the missing ranks are named. With
     * liveness, a missing rank whose alive count stood still for deadAfterMs is named at once: it died.
     */
    private void arrive(String key, long ms, String what, boolean liveness) {
        try {
            arriveOrThrow(key, ms, what, liveness);
        } catch (CollectiveFailure e) {
            throw e;
        } catch (RuntimeException e) {             // the store's server is gone: rank 0 (or the launcher) died
            throw new CollectiveFailure("rank " + env.rank() + ": " + what + ": the rendezvous store at " + env.masterAddr() + ":"
                    + env.masterPort() + " stopped answering (rank 0 or the launcher died?): " + firstLine(e), e);
        }
    }

    private void arriveOrThrow(String key, long ms, String what, boolean liveness) {
        store.add(key + "/" + env.rank(), 1);
        long start = System.currentTimeMillis(), deadline = start + ms, pause = 1;
        long[] count = new long[env.world()], since = new long[env.world()];
        Arrays.fill(count, -1);
        Arrays.fill(since, start);
        while (true) {
            List<Integer> missing = new ArrayList<>(), dead = new ArrayList<>();
            long now = System.currentTimeMillis();
            for (int r = 0; r < env.world(); r++) {
                StringVector k = new StringVector(1);
                k.put(0, key + "/" + r);
                if (store.check(k)) continue;
                missing.add(r);
                if (!liveness) continue;
                long c = store.add("alive/" + r, 0);
                if (c != count[r]) { count[r] = c; since[r] = now; }
                else if (now - since[r] > deadAfterMs()) dead.add(r);
            }
            if (missing.isEmpty()) return;
            if (!dead.isEmpty())
                throw new CollectiveFailure("rank " + env.rank() + ": " + what + ": rank(s) " + dead + " gave no sign of life for "
                        + deadAfterMs() / 1000 + " s (exited or killed)", null);
            if (System.currentTimeMillis() > deadline)
                throw new CollectiveFailure("rank " + env.rank() + ": " + what + " timed out after " + ms / 1000 + " s: rank(s) "
                        + missing + " never arrived", null);
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CollectiveFailure("rank " + env.rank() + ": interrupted at " + what, e);
            }
            pause = Math.min(50, pause * 2);
        }
    }

    private ProcessGroupGloo group(Store s, int rank, int size, String host) {
        ProcessGroupGloo.Options o = own(ProcessGroupGloo.Options.create(new Milliseconds(timeouts.collectiveMs())));
        o.devices().push_back(own(ProcessGroupGloo.createDeviceForHostname(host)));
        gcHook();
        return own(new ProcessGroupGloo(s, rank, size, o));
    }

    /** The address of the interface that reaches the master (loopback for local jobs). */
    static String localAddress(String master) {
        try {
            InetAddress m = InetAddress.getByName(master);
            if (m.isLoopbackAddress()) return "127.0.0.1";
            try (DatagramSocket s = new DatagramSocket()) {
                s.connect(new InetSocketAddress(m, 9));
                return s.getLocalAddress().getHostAddress();
            }
        } catch (Exception e) {
            return "127.0.0.1";
        }
    }

    /** Marks that this rank started step s (read by the launcher to say where a job died). */
    public void heartbeat(int s) {
        step = s;
        store.add("step/" + env.rank(), 1);
    }

    public void allreduce(ProcessGroupGloo g, Tensor t, ReduceOp.RedOpType op) {
        if (g == null) return;
        AllreduceOptions o = new AllreduceOptions();
        o.reduceOp(new ReduceOp(op));
        run(g.allreduce(Tensors.vector(t), o), "all-reduce");
    }

    public void alltoall(ProcessGroupGloo g, Tensor out, Tensor in) {
        run(g.alltoall_base(out, in, new LongVector(), new LongVector()), "all-to-all");
    }


    private void run(Work w, String what) {
        try {
            w._wait();
        } catch (RuntimeException e) {
            throw new CollectiveFailure("rank " + env.rank() + " at step " + step + ": " + what
                    + " failed (a peer rank died or stopped answering): " + firstLine(e), e);
        }
    }

    static String firstLine(Throwable e) {
        String m = String.valueOf(e.getMessage());
        int i = m.indexOf('\n');
        return i < 0 ? m : m.substring(0, i);
    }

    /**
     * Frees the native objects, owners before what they hold: each process group (its destructor joins its
     * threads), then its device and options, its PrefixStore, its store connection, and the rendezvous store last
     * (for rank 0, the store's server). Call it once no collective is running; after a collective failed, leave the
     * groups open and exit (they stay reachable, see OPEN).
     */
    @Override public synchronized void close() {
        if (closed) return;
        closed = true;
        stopping = true;                             // the alive thread leaves its store before the store is freed
        alive.interrupt();
        try {
            alive.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (int i = owned.size() - 1; i >= 0; i--) if (owned.get(i) instanceof Pointer p) p.close();
        owned.clear();
        OPEN.remove(this);
    }
}
