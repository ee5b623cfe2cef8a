package io.jrump.host.sim;

import io.jrump.hypercall.HostConsole;
import java.lang.System.Logger.Level;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A host's console: the {@code io.jrump.console} logger, each line prefixed with the host and the
 * virtual time, and the world trace. Confined to the world's thread.
 */
final class SimConsole implements HostConsole {
    private static final Logger LOG = LoggerFactory.getLogger(HostConsole.LOGGER_NAME);

    private final SimWorld world;
    private final SimHost host;
    private boolean muted;

    SimConsole(SimWorld world, SimHost host) {
        this.world = world;
        this.host = host;
    }

    /** From now on lines go to the world trace only, not to the logger. */
    void mute() {
        muted = true;
    }

    @Override
    public void log(Level level, String message) {
        world.checkThread();
        if (level == Level.OFF) {
            return;
        }
        world.trace(host.name(), "console " + level + " " + message);
        if (muted) {
            return;
        }
        String prefix = "[" + host.name() + " t=" + SimWorld.format(world.now()) + "]";
        switch (level) {
            case ALL, TRACE -> LOG.trace("{} {}", prefix, message);
            case DEBUG -> LOG.debug("{} {}", prefix, message);
            case INFO -> LOG.info("{} {}", prefix, message);
            case WARNING -> LOG.warn("{} {}", prefix, message);
            default -> LOG.error("{} {}", prefix, message);
        }
    }
}
