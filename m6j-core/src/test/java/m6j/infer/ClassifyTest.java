package m6j.infer;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The scores of classification and its bag-of-words baseline. */
class ClassifyTest {
    @Test void accuracyAndMacroF1() {
        // truth 0 0 1 1 2, predicted 0 1 1 1 0: class 0 F1 = 2/(2+1+1)=0.5, class 1 = 4/(4+1)=0.8, class 2 = 0
        Classifier.Score s = Classifier.Score.of(new int[]{0, 1, 1, 1, 0}, new int[]{0, 0, 1, 1, 2}, 4);
        assertThat(s.accuracy()).isEqualTo(0.6);
        assertThat(s.macroF1()).isCloseTo((0.5 + 0.8 + 0) / 3, within(1e-12));
        assertThat(Classifier.argmax(new double[][]{{-3, -1, -2}, {0, -5, -1}})).containsExactly(1, 0);
    }

    @Test void bagOfWordsLearnsWordsOfEachClassInBothScripts() {
        List<String> texts = List.of("red apple", "green apple pie", "banana bread", "fast car", "blue truck", "old car engine",
                "苹果 香蕉", "汽车 卡车");
        int[] labels = {0, 0, 0, 1, 1, 1, 0, 1};
        BagOfWords b = new BagOfWords(2).fit(texts, labels, 30, 1);
        assertThat(b.predict(List.of("an apple", "a car", "unknown words", "香蕉", "卡车"))).startsWith(0, 1).endsWith(0, 1);
        assertThat(BagOfWords.words("Hello, World 42 苹果")).containsExactly("hello", "world", "42", "苹", "果");
    }
}
