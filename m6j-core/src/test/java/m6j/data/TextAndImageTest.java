package m6j.data;

import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.nio.charset.CharacterCodingException;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TextAndImageTest {
    @Test
    void cleanNormalisesWhitespaceNfcAndControls() {
        assertThat(TextClean.clean("  a\t\tb \u0007c\r\n\n\n\n  d  ")).isEqualTo("a b c\n\nd");
        assertThat(TextClean.clean("e\u0301")).isEqualTo("\u00e9");
        assertThat(TextClean.stripAnsi("\u001B[1;33mhi\u001B[m")).isEqualTo("hi");
        assertThat(TextClean.oneLine("a\nb")).isEqualTo("a b");
    }

    @Test
    void strictDecodingRejectsMalformedUtf8() {
        assertThatThrownBy(() -> TextClean.decodeStrict(new byte[]{'a', (byte) 0xC3, 0x28}))
                .isInstanceOf(CharacterCodingException.class);
    }

    @Test
    void brownDetokenises() {
        assertThat(BrownReader.detokenise(
                "The/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ,/, and/cc it's/pps+bez (/( 1/2/cd )/) ./."))
                .isEqualTo("The jury said \"no evidence\", and it's (1/2).");
        List<String> p = BrownReader.passages("a/at b/nn ./.\n\n" + "word/nn ".repeat(200) + "\n");
        assertThat(p).allSatisfy(s -> assertThat(s.length()).isLessThanOrEqualTo(BrownReader.MAX_PASSAGE));
        assertThat(p.get(0)).startsWith("a b.");
    }

    @Test
    void openClipArtCaptionSkipsAgentTitles() {
        String svg = "<svg><metadata><rdf:RDF><cc:Work rdf:about=\"\"><dc:title>Red &amp; blue fish</dc:title>"
                + "<dc:publisher><cc:Agent><dc:title>Open Clip Art Library</dc:title></cc:Agent></dc:publisher>"
                + "</cc:Work></rdf:RDF></metadata></svg>";
        assertThat(OpenClipArtReader.caption(svg)).isEqualTo("Red & blue fish");
        String noTitle = "<svg><metadata><cc:Work><dc:title></dc:title><dc:description>a cat</dc:description>"
                + "<dc:publisher><cc:Agent><dc:title>Open Clip Art Library</dc:title></cc:Agent></dc:publisher></cc:Work></metadata></svg>";
        assertThat(OpenClipArtReader.caption(noTitle)).isEqualTo("a cat");
        assertThat(OpenClipArtReader.fromFileName("animals/sleeping_cat_01")).isEqualTo("sleeping cat");
    }

    @Test
    void transparentWideImageIsFlattenedAndPaddedWithWhite() {
        BufferedImage img = new BufferedImage(40, 20, BufferedImage.TYPE_INT_ARGB);
        for (int y = 0; y < 20; y++) for (int x = 0; x < 40; x++) img.setRGB(x, y, x < 20 ? 0xFF000000 : 0x00000000);
        byte[] rgb = Images.toSquareRgb(img, 8);
        assertThat(rgb).hasSize(8 * 8 * 3);
        assertThat(rgb[0] & 0xff).isEqualTo(255);                       // top padding is white
        assertThat(rgb[(4 * 8 + 0) * 3] & 0xff).isEqualTo(0);          // left half opaque black
        assertThat(rgb[(4 * 8 + 7) * 3] & 0xff).isEqualTo(255);        // right half transparent -> white
        byte[] grey = Images.greyToRgb(new byte[]{0, (byte) 255, 0, (byte) 255}, 2, 2, 4);
        assertThat(grey).hasSize(4 * 4 * 3);
    }
}
