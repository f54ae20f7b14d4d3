package m6j.data;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The chat template: a lone question is its own text; turns of a conversation one per line, marked by role. */
class ChatTemplateTest {
    static ChatTemplate.Message m(String role, String content) { return new ChatTemplate.Message(role, content); }

    @Test void renders() {
        assertThat(ChatTemplate.render(List.of(m("user", "  What is in this picture? ")))).isEqualTo("What is in this picture?");
        assertThat(ChatTemplate.render(List.of(m("system", "Be brief."), m("user", "Hi"), m("assistant", "Hello."), m("user", ""),
                m("tool", "42"), m("user", "And now?")))).isEqualTo("System: Be brief.\nHi\nAssistant: Hello.\nTool: 42\nAnd now?");
        assertThat(ChatTemplate.render(List.of())).isEmpty();
        assertThat(ChatTemplate.JINJA).contains("bos_token").contains("Assistant: ");
    }
}
