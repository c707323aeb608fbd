package io.cmon.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.stream.Collectors;

/**
 * Reads a YAML config file into a record and validates it. Every failure becomes a {@link ConfigException} naming
 * the file, the key (dotted path) and the problem, so that a process can exit before it listens.
 */
public final class ConfigLoader {

    /** A config record that checks its own values after binding. */
    public interface Validated {
        /** @throws ConfigException from {@link ConfigException#key} for the first bad value */
        void validate();
    }

    public static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .findAndRegisterModules();

    private ConfigLoader() {}

    public static <T> T load(Path file, Class<T> type) {
        String name = file.toString();
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException(name, null, "file not found");
        } catch (IOException e) {
            throw new ConfigException(name, null, "cannot read: " + e.getMessage());
        }
        return parse(name, text, type);
    }

    public static <T> T parse(String name, String text, Class<T> type) {
        T value;
        try {
            value = text.isBlank() ? YAML.readValue("{}", type) : YAML.readValue(text, type);
        } catch (UnrecognizedPropertyException e) {
            String known = e.getKnownPropertyIds() == null ? "" : e.getKnownPropertyIds().stream()
                    .map(String::valueOf).sorted().collect(Collectors.joining(", "));
            throw new ConfigException(name, path(e), "unknown key" + (known.isEmpty() ? "" : " (known: " + known + ")"));
        } catch (InvalidFormatException e) {
            throw new ConfigException(name, path(e), "'" + e.getValue() + "' is not a valid "
                    + e.getTargetType().getSimpleName().toLowerCase());
        } catch (MismatchedInputException e) {
            throw new ConfigException(name, path(e), "wrong kind of value (expected "
                    + (e.getTargetType() == null ? "another type" : describe(e.getTargetType())) + ")");
        } catch (JsonMappingException e) {
            Throwable cause = e.getCause();
            if (cause instanceof ConfigException ce) throw ce.inFile(name);
            String msg = cause != null && cause.getMessage() != null ? cause.getMessage() : e.getOriginalMessage();
            throw new ConfigException(name, path(e), msg);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr();
            throw new ConfigException(name, null, "not valid YAML" + where + ": " + e.getOriginalMessage());
        }
        if (value == null) {
            throw new ConfigException(name, null, "empty document");
        }
        if (value instanceof Validated v) {
            try {
                v.validate();
            } catch (ConfigException e) {
                throw e.inFile(name);
            }
        }
        return value;
    }

    private static String describe(Class<?> type) {
        if (type == String.class) return "a string";
        if (java.util.List.class.isAssignableFrom(type)) return "a list";
        if (type.isRecord() || java.util.Map.class.isAssignableFrom(type)) return "a mapping";
        if (type == Boolean.class || type == boolean.class) return "true or false";
        if (Number.class.isAssignableFrom(type) || type.isPrimitive()) return "a number";
        return type.getSimpleName();
    }

    private static String path(JsonMappingException e) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) {
                if (sb.length() > 0) sb.append('.');
                sb.append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                sb.append('[').append(r.getIndex()).append(']');
            }
        }
        return sb.toString();
    }
}
