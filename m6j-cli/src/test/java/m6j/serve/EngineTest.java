package m6j.serve;

import m6j.checkpoint.Checkpoint;
import m6j.data.Tokenizer;
import m6j.infer.Engine;
import m6j.infer.EngineException;
import m6j.infer.Event;
import m6j.infer.Request;
import m6j.infer.Sampling;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The engine's continuous batching: same text as one-at-a-time generation, cancellation, queue bound, timeouts. */
class EngineTest {
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
        try (Engine s = new Engine(l.model(), l.tokenizer(), new Engine.Options(8, 64, 60_000), new Metrics())) {
            LinkedBlockingQueue<Event> q = new LinkedBlockingQueue<>();
            List<Request> seqs = new ArrayList<>();
            for (int i = 0; i < prompts.length; i++)
                seqs.add(Request.text(i, prefix(l.tokenizer(), prompts[i]), null, 12, Sampling.greedy()).to(q, true));
            s.submit(seqs);
            String[] got = new String[prompts.length];
            for (int done = 0; done < prompts.length; ) {
                Event e = next(q);
                if (e instanceof Event.Failed f) throw f.error();
                if (e instanceof Event.Done d) { got[d.index()] = d.text(); done++; }
            }
            for (int i = 0; i < prompts.length; i++) {        // each alone, through the engine's blocking entry
                String alone = s.run(List.of(Request.text(0, prefix(l.tokenizer(), prompts[i]), null, 12, Sampling.greedy()))).get(0).text();
                assertThat(got[i]).as("prompt %d", i).isEqualTo(alone);
            }
        }
    }

    @Test void cancelledSequenceStopsAtTheNextStep() throws Exception {
        try (Engine s = new Engine(l.model(), l.tokenizer(), new Engine.Options(4, 16, 60_000), new Metrics())) {
            LinkedBlockingQueue<Event> q = new LinkedBlockingQueue<>();
            Request[] seq = new Request[1];
            // Cancel as the first token arrives (what the server does when a streaming client has gone).
            LinkedBlockingQueue<Event> cancelling = new LinkedBlockingQueue<>() {
                @Override public boolean add(Event e) { seq[0].cancel(); return q.add(e); }
            };
            seq[0] = Request.text(0, prefix(l.tokenizer(), "The"), null, 30, new Sampling(1.0, 0, 1.0, 1)).to(cancelling, true);
            s.submit(List.of(seq[0]));
            Event first = next(q);
            assertThat(first).isInstanceOf(Event.Token.class);
            // then the slot is free again: a new request completes, and the cancelled one never reports Done
            LinkedBlockingQueue<Event> q2 = new LinkedBlockingQueue<>();
            s.submit(List.of(Request.text(0, prefix(l.tokenizer(), "It"), null, 3, Sampling.greedy()).to(q2, true)));
            while (!(next(q2) instanceof Event.Done)) { }
            assertThat(q.stream().filter(e -> e instanceof Event.Done)).isEmpty();
            assertThat(q.stream().filter(e -> e instanceof Event.Token).count()).isLessThanOrEqualTo(1);
        }
    }

    @Test void fullQueueAnswers429WithRetryAfter() throws Exception {
        try (Engine s = new Engine(l.model(), l.tokenizer(), new Engine.Options(1, 2, 60_000), new Metrics())) {
            // hold the model thread so nothing leaves the queue
            CountDownLatch hold = new CountDownLatch(1);
            Thread t = new Thread(() -> { try { s.call(() -> { hold.await(); return null; }); } catch (Exception ignored) { } });
            t.start();
            Thread.sleep(200);
            LinkedBlockingQueue<Event> q = new LinkedBlockingQueue<>();
            s.submit(List.of(Request.text(0, prefix(l.tokenizer(), "a"), null, 2, Sampling.greedy()).to(q, true),
                    Request.text(1, prefix(l.tokenizer(), "b"), null, 2, Sampling.greedy()).to(q, true)));
            assertThatThrownBy(() -> s.submit(List.of(Request.text(0, prefix(l.tokenizer(), "c"), null, 2, Sampling.greedy()).to(q, true))))
                    .isInstanceOfSatisfying(EngineException.class, e -> {
                        assertThat(ApiError.of(e).status).isEqualTo(429);
                        assertThat(ApiError.of(e).retryAfter).isPositive();
                    });
            hold.countDown();
            t.join();
            int done = 0;
            while (done < 2) if (next(q) instanceof Event.Done) done++;
        }
    }

    @Test void requestPastItsTimeoutFailsWith408() throws Exception {
        try (Engine s = new Engine(l.model(), l.tokenizer(), new Engine.Options(2, 8, 1), new Metrics())) {
            LinkedBlockingQueue<Event> q = new LinkedBlockingQueue<>();
            Thread.sleep(5);
            s.submit(List.of(Request.text(0, prefix(l.tokenizer(), "The"), null, 30, Sampling.greedy()).to(q, true)));
            Event e;
            do e = next(q); while (e instanceof Event.Token);
            assertThat(e).isInstanceOfSatisfying(Event.Failed.class, f -> assertThat(ApiError.of(f.error()).status).isEqualTo(408));
        }
    }

    @Test void aBatchThatFailsFailsAloneAndTheEngineGoesOn() throws Exception {
        try (Engine s = new Engine(l.model(), l.tokenizer(), new Engine.Options(4, 16, 60_000), new Metrics())) {
            LinkedBlockingQueue<Event> q = new LinkedBlockingQueue<>();
            s.submit(List.of(Request.text(0, prefix(l.tokenizer(), "The"), new byte[7], 5, Sampling.greedy()).to(q, false)));   // not an image of the model's size
            assertThat(next(q)).isInstanceOfSatisfying(Event.Failed.class, f -> assertThat(ApiError.of(f.error()).status).isBetween(400, 599));
            assertThat(s.failure()).as("still running").isNull();
            assertThat(s.run(List.of(Request.text(0, prefix(l.tokenizer(), "It"), null, 3, Sampling.greedy())))).hasSize(1);
        }
    }

    @Test void aClosedEngineRefusesWorkAsUnavailable() throws Exception {
        Engine s = new Engine(l.model(), l.tokenizer(), new Engine.Options(2, 8, 60_000), new Metrics());
        s.close();
        assertThat(s.failure()).isNotNull();
        assertThatThrownBy(() -> s.run(List.of(Request.text(0, prefix(l.tokenizer(), "It"), null, 3, Sampling.greedy()))))
                .isInstanceOfSatisfying(EngineException.class, e -> assertThat(ApiError.of(e).status).isEqualTo(503));
    }
}
