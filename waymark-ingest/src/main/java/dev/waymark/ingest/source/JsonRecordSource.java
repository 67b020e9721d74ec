package dev.waymark.ingest.source;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import dev.waymark.ingest.BadInputException;
import dev.waymark.ingest.BadInputException.Reason;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON-array and NDJSON sources: one Jackson streaming parser over {@link CheckedInput}, and a
 * small tree builder that turns one record's tokens into maps and lists.
 *
 * <p>Design notes. The tree is built here rather than by jackson-databind so that every rule is
 * ours and positioned: duplicate keys are caught with the key's own location, depth is checked on
 * the way down, numbers become {@code Long}, {@code BigInteger} or {@code BigDecimal} from their
 * text (never through a double). NDJSON reuses the same parser over the whole file (Jackson reads a
 * sequence of root values) and enforces one record per line by comparing the lines of each record's
 * first and last tokens with the previous record's. Jackson does not see the BOM, so its byte
 * offsets (and columns on line 1) are shifted by {@link CheckedInput#bomLength()}.
 */
final class JsonRecordSource implements RecordSource {

  private static final JsonFactory FACTORY =
      JsonFactory.builder()
          .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
          .streamReadConstraints(
              StreamReadConstraints.builder()
                  .maxNumberLength(1000)
                  .maxStringLength(MAX_VALUE_LENGTH)
                  .maxNestingDepth(1000)
                  .build())
          .build();

  private enum State {
    READING,
    DONE,
    FAILED,
    CLOSED
  }

  private final Path file;
  private final Format format;
  private final CheckedInput input;
  private final JsonParser parser;
  private final int bom;
  private State state = State.READING;
  private long records;
  private long lastLine;

  JsonRecordSource(Path file, InputStream in, Format format) {
    this.file = file;
    this.format = format;
    this.input = new CheckedInput(in);
    try {
      this.bom = input.bomLength();
      this.parser = FACTORY.createParser(input);
    } catch (CheckedInput.Malformed e) {
      throw malformed(e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read input file " + file + ": " + e.getMessage(), e);
    }
    if (format == Format.JSON_ARRAY) {
      guard(this::openArray);
    }
  }

  @Override
  public SourceRecord next() {
    if (state == State.DONE) {
      return null;
    }
    if (state != State.READING) {
      throw new IllegalStateException("source " + file + " is " + state.name().toLowerCase());
    }
    return guard(format == Format.JSON_ARRAY ? this::nextInArray : this::nextLine);
  }

  @Override
  public Path file() {
    return file;
  }

  @Override
  public Format format() {
    return format;
  }

  @Override
  public long recordsRead() {
    return records;
  }

  @Override
  public void close() {
    if (state == State.CLOSED) {
      return;
    }
    state = State.CLOSED;
    try {
      parser.close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot close input file " + file, e);
    }
  }

  // ---------------------------------------------------------------- the two layouts

  private SourceRecord openArray() throws IOException {
    JsonToken t = parser.nextToken();
    if (t == null) {
      throw bad(
          Reason.EMPTY_FILE,
          parser.currentLocation(),
          0,
          input.consumed() == 0
              ? "the file is empty (0 bytes); a JSON-array file needs at least [] (an empty"
                  + " array)"
              : "the file holds no JSON value, only whitespace; a JSON-array file needs at least"
                  + " []",
          null);
    }
    if (t != JsonToken.START_ARRAY) {
      throw bad(
          Reason.WRONG_TOP_LEVEL,
          parser.currentTokenLocation(),
          0,
          "the top-level value is "
              + describe(t)
              + ", but a JSON-array file must hold one array of records"
              + (t == JsonToken.START_OBJECT
                  ? " (for one object per line use --format ndjson)"
                  : ""),
          null);
    }
    return null;
  }

  private SourceRecord nextInArray() throws IOException {
    JsonToken t = parser.nextToken();
    if (t == JsonToken.END_ARRAY) {
      JsonLocation end = parser.currentTokenLocation();
      JsonToken after;
      try {
        after = parser.nextToken();
      } catch (JsonParseException e) {
        throw bad(
            Reason.TRAILING_DATA,
            location(e),
            records + 1,
            "data after the end of the array, which closed at line "
                + end.getLineNr()
                + " ("
                + e.getOriginalMessage()
                + ")",
            e);
      }
      if (after != null) {
        throw bad(
            Reason.TRAILING_DATA,
            parser.currentTokenLocation(),
            records + 1,
            "data after the end of the array, which closed at line "
                + end.getLineNr()
                + ": "
                + describe(after)
                + "; a JSON-array file holds exactly one array",
            null);
      }
      state = State.DONE;
      return null;
    }
    if (t != JsonToken.START_OBJECT) {
      throw bad(
          Reason.NOT_AN_OBJECT,
          parser.currentTokenLocation(),
          records + 1,
          "the record is " + describe(t) + ", not an object",
          null);
    }
    return record(parser.currentTokenLocation());
  }

  private SourceRecord nextLine() throws IOException {
    JsonToken t = parser.nextToken();
    if (t == null) {
      if (records == 0 && input.consumed() > bom) {
        throw bad(
            Reason.BLANK_LINE,
            parser.currentLocation(),
            0,
            "the file has no records, only blank lines (a file of no records must be empty)",
            null);
      }
      state = State.DONE;
      return null;
    }
    JsonLocation start = parser.currentTokenLocation();
    long line = start.getLineNr();
    if (line == lastLine) {
      throw bad(
          Reason.NOT_ONE_RECORD_PER_LINE,
          start,
          records + 1,
          "a second JSON value on line " + line + "; NDJSON holds one record per line",
          null);
    }
    if (line > lastLine + 1) {
      throw new BadInputException(
          file,
          lastLine + 1,
          0,
          -1,
          records + 1,
          Reason.BLANK_LINE,
          "line "
              + (lastLine + 1)
              + " is blank; in NDJSON blank lines are allowed only at the end of the file",
          null);
    }
    if (t != JsonToken.START_OBJECT) {
      throw bad(
          Reason.NOT_AN_OBJECT,
          start,
          records + 1,
          "the record is "
              + describe(t)
              + ", not an object"
              + (t == JsonToken.START_ARRAY && records == 0
                  ? " (for a file holding one array of records use --format json-array)"
                  : ""),
          null);
    }
    SourceRecord r = record(start);
    long endLine = parser.currentTokenLocation().getLineNr();
    if (endLine != line) {
      throw bad(
          Reason.NOT_ONE_RECORD_PER_LINE,
          parser.currentTokenLocation(),
          r.number(),
          "the record spans lines "
              + line
              + " to "
              + endLine
              + "; NDJSON needs each record on one line (is this pretty-printed JSON?)",
          null);
    }
    lastLine = line;
    return r;
  }

  // ---------------------------------------------------------------- one record

  private SourceRecord record(JsonLocation start) throws IOException {
    Map<String, Object> fields = readObject(1);
    records++;
    return new SourceRecord(file, records, start.getLineNr(), column(start), offset(start), fields);
  }

  private Map<String, Object> readObject(int depth) throws IOException {
    checkDepth(depth);
    LinkedHashMap<String, Object> map = new LinkedHashMap<>();
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String name = parser.currentName();
      checkSurrogates(name);
      if (map.containsKey(name)) {
        throw bad(
            Reason.DUPLICATE_KEY,
            parser.currentTokenLocation(),
            records + 1,
            "duplicate key \"" + name + "\" in one object",
            null);
      }
      map.put(name, readValue(parser.nextToken(), depth));
    }
    return Collections.unmodifiableMap(map);
  }

  private List<Object> readArray(int depth) throws IOException {
    checkDepth(depth);
    ArrayList<Object> list = new ArrayList<>();
    JsonToken t;
    while ((t = parser.nextToken()) != JsonToken.END_ARRAY) {
      list.add(readValue(t, depth));
    }
    return Collections.unmodifiableList(list);
  }

  private Object readValue(JsonToken t, int depth) throws IOException {
    return switch (t) {
      case START_OBJECT -> readObject(depth + 1);
      case START_ARRAY -> readArray(depth + 1);
      case VALUE_STRING -> {
        String s = parser.getText();
        checkSurrogates(s);
        yield s;
      }
      case VALUE_NUMBER_INT ->
          parser.getNumberType() == JsonParser.NumberType.BIG_INTEGER
              ? parser.getBigIntegerValue()
              : (Object) parser.getLongValue();
      case VALUE_NUMBER_FLOAT -> parser.getDecimalValue();
      case VALUE_TRUE -> Boolean.TRUE;
      case VALUE_FALSE -> Boolean.FALSE;
      case VALUE_NULL -> null;
      default -> throw new IllegalStateException("unexpected token " + t + " in " + file);
    };
  }

  private void checkDepth(int depth) {
    if (depth > MAX_DEPTH) {
      throw bad(
          Reason.TOO_DEEP,
          parser.currentTokenLocation(),
          records + 1,
          "objects and arrays nested deeper than " + MAX_DEPTH + " levels",
          null);
    }
  }

  private void checkSurrogates(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isSurrogate(c)) {
        boolean paired =
            Character.isHighSurrogate(c)
                && i + 1 < s.length()
                && Character.isLowSurrogate(s.charAt(i + 1));
        if (!paired) {
          throw bad(
              Reason.LONE_SURROGATE,
              parser.currentTokenLocation(),
              records + 1,
              String.format(
                  "a string holds the escape \\u%04x, half of a UTF-16 surrogate pair without"
                      + " its other half; no Unicode text can hold it",
                  (int) c),
              null);
        }
        i++;
      }
    }
  }

  // ---------------------------------------------------------------- errors

  @FunctionalInterface
  private interface Step {
    SourceRecord run() throws IOException;
  }

  /** Runs a parsing step, turning every failure into a positioned {@link BadInputException}. */
  private SourceRecord guard(Step step) {
    try {
      return step.run();
    } catch (BadInputException e) {
      state = State.FAILED;
      throw e;
    } catch (CheckedInput.Malformed e) {
      state = State.FAILED;
      throw malformed(e);
    } catch (StreamConstraintsException e) {
      state = State.FAILED;
      // Jackson names its own setting ("from `StreamReadConstraints...`"), which users cannot set.
      String m = String.valueOf(e.getOriginalMessage()).replaceAll(", from `[^`]*`\\)", ")");
      Reason reason =
          m.startsWith("Number")
              ? Reason.NUMBER_OUT_OF_RANGE
              : m.contains("nesting") ? Reason.TOO_DEEP : Reason.VALUE_TOO_LONG;
      throw bad(reason, location(e), records + 1, "a value exceeds a limit: " + m, e);
    } catch (JsonProcessingException e) {
      state = State.FAILED;
      if (e instanceof JsonEOFException
          || String.valueOf(e.getOriginalMessage()).contains("end-of-input")) {
        throw bad(
            Reason.TRUNCATED,
            location(e),
            records + 1,
            "the file ends in the middle of "
                + (format == Format.JSON_ARRAY ? "the array" : "a record")
                + " (truncated file?)",
            e);
      }
      // Jackson checks escaped surrogates in keys itself.
      boolean surrogate = String.valueOf(e.getOriginalMessage()).contains("surrogate");
      throw bad(
          surrogate ? Reason.LONE_SURROGATE : Reason.INVALID_JSON,
          location(e),
          records + 1,
          "invalid JSON: " + e.getOriginalMessage(),
          e);
    } catch (NumberFormatException | ArithmeticException e) {
      state = State.FAILED;
      throw bad(
          Reason.NUMBER_OUT_OF_RANGE,
          parser.currentTokenLocation(),
          records + 1,
          "a number that cannot be held exactly (" + e.getMessage() + ")",
          e);
    } catch (IOException e) {
      state = State.FAILED;
      throw new UncheckedIOException("cannot read input file " + file + ": " + e.getMessage(), e);
    }
  }

  private JsonLocation location(JsonProcessingException e) {
    return e.getLocation() != null ? e.getLocation() : parser.currentLocation();
  }

  private BadInputException malformed(CheckedInput.Malformed e) {
    state = State.FAILED;
    // A foreign encoding is a property of the whole file, found before any record.
    long record = e.reason == Reason.UNSUPPORTED_ENCODING ? 0 : records + 1;
    return new BadInputException(
        file, e.line, e.column, e.offset, record, e.reason, e.detail, e, e.changedWhileRead());
  }

  private BadInputException bad(
      Reason reason, JsonLocation at, long record, String detail, Throwable cause) {
    return new BadInputException(
        file, at.getLineNr(), column(at), offset(at), record, reason, detail, cause);
  }

  private long column(JsonLocation at) {
    return at.getLineNr() == 1 && at.getColumnNr() > 0 ? at.getColumnNr() + bom : at.getColumnNr();
  }

  private long offset(JsonLocation at) {
    return at.getByteOffset() >= 0 ? at.getByteOffset() + bom : -1;
  }

  private static String describe(JsonToken t) {
    return switch (t) {
      case START_OBJECT -> "an object";
      case START_ARRAY -> "an array";
      case VALUE_STRING -> "a string";
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
      case VALUE_TRUE -> "true";
      case VALUE_FALSE -> "false";
      case VALUE_NULL -> "null";
      default -> t.toString();
    };
  }
}
