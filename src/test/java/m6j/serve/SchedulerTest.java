package m6j.serve;

import m6j.checkpoint.Checkpoint;
import m6j.data.Tokenizer;
import m6j.infer.Generator;
import m6j.infer.Sampling;
import m6j.model.ForwardContext;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Continuous batching: same text as one-at-a-time generation, cancellation, queue bound, timeouts. */
class SchedulerTest {
    static Checkpoint.Loaded l;

    @BeforeAll static void load() throws Exception { l = ServeFixture.model(); }

    static int[] prefix(Tokenizer tok, String text) {
        int[] ids = tok.encode(text), out = new int[ids.length + 1];
        out[0] = tok.id(Tokenizer.BOS);
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    static Event next(LinkedBlockingQueue<Event> q) throws InterruptedException {
        Event e = q.poll(30, TimeUnit.SECONDS);
        assertThat(e).as("an event within 30 s").isNotNull();
        return e;
    }

    @Test void batchedRequestsOfDifferentLengthsGiveTheSameTextAsOneAtATime() throws Exception {
        String[] prompts = {"The", "The jury said that", "It was", "A pair of trousers and a", "Once upon a time there", "She", "床前明月光，", "In the"};
        try (Scheduler s = new Scheduler(l.model(), l.tokenizer(), new Scheduler.Options(8, 64, 60_000), new Metrics())) {
            LinkedBlockingQueue<Event> q = new LinkedBlockingQueue<>();
            List<Sequence> seqs = new ArrayList<>();
            for (int i = 0; i < prompts.length; i++)
                seqs.add(new Sequence(i, prefix(l.tokenizer(), prompts[i]), null, 12, Sampling.greedy(), 60_000, q));
            s.submit(seqs);
            String[] got = new String[prompts.length];
            for (int done = 0; done < prompts.length; ) {
                Event e = next(q);
                if (e instanceof Event.Failed f) throw f.error();
                if (e instanceof Event.Done d) { got[d.index()] = d.text(); done++; }
            }
            Generator g = new Generator(l.model(), l.tokenizer());
            for (int i = 0; i < prompts.length; i++) {
                int[] ids = g.generate(null, new int[][]{prefix(l.tokenizer(), prompts[i])}, 12, Sampling.greedy(), ForwardContext.eval())[0];
                assertThat(got[i]).as("prompt %d", i).isEqualTo(l.tokenizer().decode(ids));
            }
        }
    }

    @Test void cancelledSequenceStopsAtTheNextStep() throws Exception {
        try (Scheduler s = new Scheduler(l.model(), l.tokenizer(), new Scheduler.Options(4, 16, 60_000), new Metrics())) {
            LinkedBlockingQueue<Event> q = new LinkedBlockingQueue<>();
            Sequence[] seq = new Sequence[1];
            // Cancel as the first token arrives (what the server does when a streaming client has gone).
            LinkedBlockingQueue<Event> cancelling = new LinkedBlockingQueue<>() {
                @Override public boolean add(Event e) { seq[0].cancel(); return q.add(e); }
            };
            seq[0] = new Sequence(0, prefix(l.tokenizer(), "The"), null, 30, new Sampling(1.0, 0, 1.0, 1), 60_000, cancelling);
            s.submit(List.of(seq[0]));
            Event first = next(q);
            assertThat(first).isInstanceOf(Event.Token.class);
            // then the slot is free again: a new request completes, and the cancelled one never reports Done
            LinkedBlockingQueue<Event> q2 = new LinkedBlockingQueue<>();
            s.submit(List.of(new Sequence(0, prefix(l.tokenizer(), "It"), null, 3, Sampling.greedy(), 60_000, q2)));
            while (!(next(q2) instanceof Event.Done)) { }
            assertThat(q.stream().filter(e -> e instanceof Event.Done)).isEmpty();
            assertThat(q.stream().filter(e -> e instanceof Event.Token).count()).isLessThanOrEqualTo(1);
        }
    }

    @Test void fullQueueAnswers429WithRetryAfter() throws Exception {
        try (Scheduler s = new Scheduler(l.model(), l.tokenizer(), new Scheduler.Options(1, 2, 60_000), new Metrics())) {
            // hold the model thread so nothing leaves the queue
            CountDownLatch hold = new CountDownLatch(1);
            Thread t = new Thread(() -> { try { s.call(() -> { hold.await(); return null; }); } catch (Exception ignored) { } });
            t.start();
            Thread.sleep(200);
            LinkedBlockingQueue<Event> q = new LinkedBlockingQueue<>();
            s.submit(List.of(new Sequence(0, prefix(l.tokenizer(), "a"), null, 2, Sampling.greedy(), 60_000, q),
                    new Sequence(1, prefix(l.tokenizer(), "b"), null, 2, Sampling.greedy(), 60_000, q)));
            assertThatThrownBy(() -> s.submit(List.of(new Sequence(0, prefix(l.tokenizer(), "c"), null, 2, Sampling.greedy(), 60_000, q))))
                    .isInstanceOfSatisfying(ApiError.class, e -> {
                        assertThat(e.status).isEqualTo(429);
                        assertThat(e.retryAfter).isPositive();
                    });
            hold.countDown();
            t.join();
            int done = 0;
            while (done < 2) if (next(q) instanceof Event.Done) done++;
        }
    }

    @Test void requestPastItsTimeoutFailsWith408() throws Exception {
        try (Scheduler s = new Scheduler(l.model(), l.tokenizer(), new Scheduler.Options(2, 8, 1), new Metrics())) {
            LinkedBlockingQueue<Event> q = new LinkedBlockingQueue<>();
            Thread.sleep(5);
            s.submit(List.of(new Sequence(0, prefix(l.tokenizer(), "The"), null, 30, Sampling.greedy(), 1, q)));
            Event e;
            do e = next(q); while (e instanceof Event.Token);
            assertThat(e).isInstanceOfSatisfying(Event.Failed.class, f -> assertThat(f.error().status).isEqualTo(408));
        }
    }
}
