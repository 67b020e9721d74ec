package dev.waymark.checkpoint.file.crashstate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.file.crashstate.FsOp.Kind;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The persistence model itself, on small hand-written call sequences. */
class CrashStateModelTest {
  @TempDir Path root;

  private FsOp op(Kind kind, String path, String other, int handle, String bytes) {
    return new FsOp(
        kind,
        root.resolve(path),
        other == null ? null : root.resolve(other),
        handle,
        bytes.getBytes(StandardCharsets.UTF_8));
  }

  /** Each state as one line: directories ending in "/", then files as name=content. */
  private static Set<String> render(List<CrashState> states) {
    return states.stream()
        .map(
            s ->
                Stream.concat(
                        s.directories().stream().map(d -> d + "/"),
                        s.files().entrySet().stream()
                            .map(
                                e ->
                                    e.getKey()
                                        + "="
                                        + new String(e.getValue(), StandardCharsets.UTF_8)))
                    .collect(Collectors.joining(" ")))
        .collect(Collectors.toSet());
  }

  @Test
  void anUnsyncedNewFileMayBeAbsentEmptyTornZeroFilledOrWhole() throws Exception {
    CrashStateModel model = CrashStateModel.snapshot(root);
    model.apply(op(Kind.CREATE, "a", null, 1, ""));
    model.apply(op(Kind.WRITE, "a", null, 1, "abcd"));

    assertThat(render(model.crashStates()))
        .containsExactlyInAnyOrder("", "a=", "a=ab", "a=abcd", "a=\0\0\0\0");
  }

  @Test
  void aFileAndItsDirectoryBothSyncedSurviveWhole() throws Exception {
    CrashStateModel model = CrashStateModel.snapshot(root);
    model.apply(op(Kind.CREATE, "a", null, 1, ""));
    model.apply(op(Kind.WRITE, "a", null, 1, "abcd"));
    model.apply(op(Kind.FSYNC, "a", null, 1, ""));
    assertThat(render(model.crashStates())).containsExactlyInAnyOrder("", "a=abcd");

    model.apply(op(Kind.FSYNC_DIR, "", null, 0, ""));
    assertThat(render(model.crashStates())).containsExactly("a=abcd");
  }

  @Test
  void anUnsyncedRenameLeavesTheOldTargetOrTheNewNeverNone() throws Exception {
    Files.writeString(root.resolve("target"), "old");
    CrashStateModel model = CrashStateModel.snapshot(root);
    model.apply(op(Kind.CREATE, ".t.tmp", null, 1, ""));
    model.apply(op(Kind.WRITE, ".t.tmp", null, 1, "new"));
    model.apply(op(Kind.FSYNC, ".t.tmp", null, 1, ""));
    model.apply(op(Kind.RENAME, ".t.tmp", "target", 0, ""));

    assertThat(render(model.crashStates()))
        .containsExactlyInAnyOrder("target=old", ".t.tmp=new target=old", "target=new");
  }

  @Test
  void anUnsyncedTruncateInPlaceCanLoseTheOldContent() throws Exception {
    Files.writeString(root.resolve("checkpoint"), "old");
    CrashStateModel model = CrashStateModel.snapshot(root);
    model.apply(op(Kind.OPEN_TRUNCATE, "checkpoint", null, 1, ""));
    model.apply(op(Kind.WRITE, "checkpoint", null, 1, "newer"));

    assertThat(render(model.crashStates()))
        .containsExactlyInAnyOrder(
            "checkpoint=old",
            "checkpoint=",
            "checkpoint=ne",
            "checkpoint=newer",
            "checkpoint=\0\0\0\0\0");
  }

  @Test
  void aNewDirectoryWhoseEntryIsLostTakesItsFilesWithIt() throws Exception {
    CrashStateModel model = CrashStateModel.snapshot(root);
    model.apply(op(Kind.MKDIR, "d", null, 0, ""));
    model.apply(op(Kind.CREATE, "d/f", null, 1, ""));
    model.apply(op(Kind.WRITE, "d/f", null, 1, "x"));
    model.apply(op(Kind.FSYNC, "d/f", null, 1, ""));
    model.apply(op(Kind.FSYNC_DIR, "d", null, 0, ""));

    assertThat(render(model.crashStates())).containsExactlyInAnyOrder("", "d/ d/f=x");
  }

  @Test
  void aHardLinkIsASecondNameForTheSameBytes() throws Exception {
    CrashStateModel model = CrashStateModel.snapshot(root);
    model.apply(op(Kind.CREATE, "a", null, 1, ""));
    model.apply(op(Kind.WRITE, "a", null, 1, "xy"));
    model.apply(op(Kind.LINK, "b", "a", 0, ""));

    List<CrashState> states = model.crashStates();
    assertThat(states)
        .filteredOn(s -> s.files().size() == 2)
        .allSatisfy(
            s -> {
              assertThat(s.files().get("a")).isEqualTo(s.files().get("b"));
              assertThat(s.links()).containsExactly(List.of("a", "b"));
            })
        .hasSize(4);
  }
}
