package m6j.task;

import m6j.data.Tokenizer;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The VQA objective's sequences: [BOS question] read bidirectionally, then the answer, as a chat turn gives them. */
class VisualQuestionsTest {
    static final Tokenizer TOK = Tokenizer.train(List.of("What is in this picture? an ankle boot", "Is this a sandal? yes, it is a sandal.",
            "no, it is an ankle boot. Describe the image. What do you see? What is this? 这张图片里是什么？ 描述这张图片。"), 400, Tokenizer.defaultSpecials(2));

    @Test void openQuestionsAreAnsweredByTheCaptionAndYesNoByTheTruth() {
        VisualQuestions q = new VisualQuestions(TOK);
        Sequences seqs = new Sequences(TOK, 64, 2);
        int[] caption = TOK.encode("an ankle boot");
        Random rng = new Random(3);
        int open = 0, yes = 0, no = 0;
        for (int i = 0; i < 400; i++) {
            VisualQuestions.Pair p = q.ask("an ankle boot", caption, "a sandal", rng);
            String question = TOK.decode(p.question()), answer = TOK.decode(p.answer());
            if (VisualQuestions.OPEN.contains(question)) { open++; assertThat(answer).isEqualTo("an ankle boot"); }
            else if (question.equals("Is this an ankle boot?")) { yes++; assertThat(answer).isEqualTo("yes, it is an ankle boot."); }
            else { no++; assertThat(question).isEqualTo("Is this a sandal?"); assertThat(answer).isEqualTo("no, it is an ankle boot."); }
            Sequence s = seqs.answer(p.question(), p.answer());
            int[] prefix = Arrays.copyOf(s.input(), s.prefixText());
            assertThat(prefix[0]).isEqualTo(TOK.id(Tokenizer.BOS));
            assertThat(Arrays.copyOfRange(prefix, 1, prefix.length)).as("the question, as a chat prompt encodes it").isEqualTo(TOK.encode(question));
            int[] predicted = Arrays.stream(s.target()).filter(t -> t >= 0).toArray();
            assertThat(predicted).as("the answer then EOS").isEqualTo(concat(p.answer(), TOK.id(Tokenizer.EOS)));
        }
        assertThat(open).isGreaterThan(250);
        assertThat(yes).isPositive();
        assertThat(no).isPositive();
    }

    private static int[] concat(int[] a, int b) {
        int[] out = Arrays.copyOf(a, a.length + 1);
        out[a.length] = b;
        return out;
    }
}
