import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;

import org.apache.kafka.common.config.ConfigDef;

/**
 * Prints, as JSON, every setting a Kafka release defines at each level (broker, topic) with its type,
 * and the broker settings that stand for a topic setting as its cluster-wide default. Aftershock runs
 * it once per release (java's source launcher, the release's jars on the class path) and checks a
 * scenario's settings against what it prints. Class and member names moved between releases: each
 * is looked up among the places it has lived.
 */
public class ConfigDefs {
    private static Object member(String... places) throws Exception {
        for (String place : places) {
            String[] parts = place.split("#");
            Class<?> owner;
            try {
                owner = Class.forName(parts[0]);
            } catch (ClassNotFoundException e) {
                continue;
            }
            try {
                Field field = owner.getField(parts[1]);
                return field.get(null);
            } catch (NoSuchFieldException e) {
                try {
                    Method method = owner.getMethod(parts[1]);
                    return method.invoke(null);
                } catch (NoSuchMethodException e2) {
                    // not here in this release: the next place
                }
            }
        }
        throw new IllegalStateException("none of these exists in this release: " + String.join(", ", places));
    }

    private static String keys(ConfigDef def) {
        StringBuilder out = new StringBuilder("{");
        Map<String, ConfigDef.ConfigKey> sorted = new TreeMap<>(def.configKeys());
        for (Map.Entry<String, ConfigDef.ConfigKey> entry : sorted.entrySet()) {
            if (out.length() > 1) out.append(", ");
            out.append('"').append(entry.getKey()).append("\": \"").append(entry.getValue().type).append('"');
        }
        return out.append('}').toString();
    }

    public static void main(String[] args) throws Exception {
        ConfigDef broker = (ConfigDef) member("org.apache.kafka.server.config.AbstractKafkaConfig#CONFIG_DEF",
                                              "kafka.server.KafkaConfig#configDef");
        ConfigDef topic = (ConfigDef) member("org.apache.kafka.storage.internals.log.LogConfig#configDefCopy",
                                             "org.apache.kafka.storage.internals.log.LogConfig#CONFIG");
        Map<?, ?> synonyms = (Map<?, ?>) member(
            "org.apache.kafka.server.config.ServerTopicConfigSynonyms#ALL_TOPIC_CONFIG_SYNONYMS");
        StringBuilder out = new StringBuilder("{\"synonyms\": {");
        for (Map.Entry<?, ?> entry : new TreeMap<>(synonyms).entrySet()) {
            if (out.charAt(out.length() - 1) != '{') out.append(", ");
            out.append('"').append(entry.getKey()).append("\": [");
            String sep = "";
            for (Object synonym : (Collection<?>) entry.getValue()) {
                out.append(sep).append('"').append(synonym.getClass().getMethod("name").invoke(synonym)).append('"');
                sep = ", ";
            }
            out.append(']');
        }
        out.append("},\n \"broker\": ").append(keys(broker)).append(",\n \"topic\": ").append(keys(topic)).append("}");
        System.out.println(out);
    }
}
