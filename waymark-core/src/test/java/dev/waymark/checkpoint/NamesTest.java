package dev.waymark.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class NamesTest {
  @Test
  void showsInvisibleAndControlCharactersAsEscapes() {
    assertThat(Names.shown("\u202eevil")).isEqualTo("\\u202eevil");
    assertThat(Names.shown("a\u200bb\0c\nd")).isEqualTo("a\\u200bb\\u0000c\\u000ad");
    assertThat(Names.shown("ジョブ")).isEqualTo("ジョブ");
    assertThat(Names.shown("x".repeat(61))).isEqualTo("x".repeat(60) + "...");
  }

  @Test
  void refusesTraversalAndHidesNothingInTheMessage() {
    assertThatThrownBy(() -> Names.requireValid("job", "../\u202ex"))
        .hasMessage(
            "job name '../\\u202ex' is not allowed: use letters, digits, '.', '_' and '-', not"
                + " starting with '.' and without '..'");
  }
}
