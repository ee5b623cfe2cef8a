package io.jrump.cli;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.Hypercalls;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The {@code rump} command. Errors print one line on stderr and exit 1 (2 for usage errors); the
 * stack trace only with {@code --debug}.
 */
@Command(name = "rump",
        mixinStandardHelpOptions = true,
        versionProvider = Rump.Version.class,
        description = "Kernel components for the JVM: block devices, filesystems and a TCP/IP stack, "
                + "run in userspace, in a simulator or on Linux devices.",
        subcommands = {HostsCommand.class, DemoCommand.class, NetCommand.class, ImageCommand.class, PartCommand.class, FsCommand.class,
            MountCommand.Mount.class, MountCommand.Umount.class, FuzzCommand.class,
            CommandLine.HelpCommand.class},
        commandListHeading = "%nCommands:%n",
        footer = {"", "Run 'rump help COMMAND' for a command's options."})
public final class Rump implements Runnable {

    @Option(names = "--debug", scope = ScopeType.INHERIT, description = "Print stack traces of errors.")
    boolean debug;

    @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT,
            description = "Show kernel console messages (INFO and above) on stderr.")
    void verbose(boolean on) {
        if (on) {
            System.setProperty("org.slf4j.simpleLogger.log.io.jrump.console", "info");
        }
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command line and returns its exit code; for tests as for {@link #main}. */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        Rump rump = new Rump();
        CommandLine cl = new CommandLine(rump);
        withHelp(cl);
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            boolean debug = commandLine.getCommandSpec().root().userObject() instanceof Rump r && r.debug;
            commandLine.getErr().println("rump: " + describe(e));
            if (debug) {
                e.printStackTrace(commandLine.getErr());
            }
            commandLine.getErr().flush();
            return 1;
        });
        cl.setParameterExceptionHandler((e, ignoredArgs) -> {
            // One line and a pointer to help, as coreutils does, rather than the whole usage.
            CommandLine failed = e.getCommandLine();
            failed.getErr().println("rump: " + e.getMessage());
            failed.getErr().println("Try '" + failed.getCommandSpec().qualifiedName() + " --help' for more.");
            failed.getErr().flush();
            return 2;
        });
        return cl.execute(args);
    }

    /** -h/--help and -V/--version on every command, as the parameter-error hint promises ("Try 'rump fs ls --help'"). */
    private static void withHelp(CommandLine cl) {
        if (!cl.getCommandSpec().mixinStandardHelpOptions()) {
            cl.getCommandSpec().mixinStandardHelpOptions(true);
        }
        cl.getSubcommands().values().forEach(Rump::withHelp);
    }

    private static String describe(Throwable e) {
        if (e instanceof ErrnoException || e instanceof IOException) {
            return e.getMessage();
        }
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m;
    }

    /** {@code rump --version}: the build's version and the hypercall version. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws IOException {
            Properties p = new Properties();
            try (InputStream in = Rump.class.getResourceAsStream("/jrump-version.properties")) {
                if (in != null) {
                    p.load(in);
                }
            }
            return new String[] {
                "rump " + p.getProperty("version", "unknown") + " (hypercall version " + Hypercalls.VERSION + ")",
                "Java " + System.getProperty("java.version") + " on " + System.getProperty("os.name") + " "
                        + System.getProperty("os.arch")
            };
        }
    }
}
