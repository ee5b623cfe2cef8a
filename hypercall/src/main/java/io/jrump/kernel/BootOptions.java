package io.jrump.kernel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * How to boot a kernel: its name, which components, and properties the components read.
 * Immutable; each {@code with…} returns a copy.
 */
public final class BootOptions {
    private final String name;
    private final Set<String> componentNames;
    private final List<Component> componentInstances;
    private final ClassLoader classLoader;
    private final Map<String, String> properties;

    private BootOptions(String name, Set<String> componentNames, List<Component> componentInstances,
            ClassLoader classLoader, Map<String, String> properties) {
        this.name = name;
        this.componentNames = Set.copyOf(componentNames);
        this.componentInstances = componentInstances == null ? null : List.copyOf(componentInstances);
        this.classLoader = classLoader;
        this.properties = Map.copyOf(properties);
    }

    /** Kernel named {@code "rump"}, every component the class path offers. */
    public static BootOptions defaults() {
        return new BootOptions("rump", Set.of(), null, null, Map.of());
    }

    /** The kernel's name, used in logs and traces. */
    public BootOptions withName(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isBlank()) {
            throw new IllegalArgumentException("kernel name is blank");
        }
        return new BootOptions(name, componentNames, componentInstances, classLoader, properties);
    }

    /** Start only these components and what they depend on, instead of all that are found. */
    public BootOptions withComponents(String... names) {
        return new BootOptions(name, new LinkedHashSet<>(List.of(names)), componentInstances, classLoader,
                properties);
    }

    /**
     * Use these component instances instead of looking them up with {@link java.util.ServiceLoader};
     * for tests and for programs that assemble a kernel by hand. The instances must not be shared
     * with another kernel.
     */
    public BootOptions withComponentInstances(List<? extends Component> components) {
        return new BootOptions(name, componentNames, new ArrayList<>(components), classLoader, properties);
    }

    /** The class loader {@link java.util.ServiceLoader} searches; the default is the context loader. */
    public BootOptions withClassLoader(ClassLoader loader) {
        return new BootOptions(name, componentNames, componentInstances, loader, properties);
    }

    /** A property components can read with {@link RumpKernel#property(String)}. */
    public BootOptions withProperty(String key, String value) {
        Map<String, String> p = new LinkedHashMap<>(properties);
        p.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
        return new BootOptions(name, componentNames, componentInstances, classLoader, p);
    }

    public String name() {
        return name;
    }

    /** The components asked for; empty means all. */
    public Set<String> componentNames() {
        return componentNames;
    }

    /** Explicit instances, or empty when components come from the service loader. */
    public Optional<List<Component>> componentInstances() {
        return Optional.ofNullable(componentInstances);
    }

    public Optional<ClassLoader> classLoader() {
        return Optional.ofNullable(classLoader);
    }

    public Map<String, String> properties() {
        return properties;
    }
}
