package io.jrump.netty;

import io.netty.channel.ChannelOption;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The {@link ChannelOption}s one of this package's configs answers itself, each with the getter and
 * setter behind it, which {@link AbstractRumpChannelConfig}'s {@code getOption}, {@code setOption}
 * and {@code getOptions} read; options it does not hold are left to
 * {@link io.netty.channel.DefaultChannelConfig}. Filled in the config's constructor, read-only
 * after: thread-safe as the accessors it calls.
 */
final class ConfigOptions {
    private record Accessors(Supplier<?> getter, Consumer<Object> setter) {}

    private final Map<ChannelOption<?>, Accessors> accessors = new IdentityHashMap<>();
    private final List<ChannelOption<?>> listed = new ArrayList<>();

    /** Adds an option that {@code getOptions()} reports. */
    <T> ConfigOptions add(ChannelOption<T> option, Supplier<T> getter, Consumer<T> setter) {
        addUnlisted(option, getter, setter);
        listed.add(option);
        return this;
    }

    /** Adds an option that {@code getOptions()} leaves out (Netty's NIO configs leave it out too). */
    @SuppressWarnings("unchecked")
    <T> ConfigOptions addUnlisted(ChannelOption<T> option, Supplier<T> getter, Consumer<T> setter) {
        accessors.put(option, new Accessors(getter, (Consumer<Object>) setter));
        return this;
    }

    boolean holds(ChannelOption<?> option) {
        return accessors.containsKey(option);
    }

    @SuppressWarnings("unchecked")
    <T> T get(ChannelOption<T> option) {
        return (T) accessors.get(option).getter().get();
    }

    /** Sets the option if this table holds it; false leaves it to the caller's superclass. */
    boolean set(ChannelOption<?> option, Object value) {
        Accessors a = accessors.get(option);
        if (a == null) {
            return false;
        }
        a.setter().accept(value);
        return true;
    }

    ChannelOption<?>[] listed() {
        return listed.toArray(new ChannelOption<?>[0]);
    }
}
