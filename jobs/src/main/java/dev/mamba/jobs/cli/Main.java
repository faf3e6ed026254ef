package dev.mamba.jobs.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code mamba-pipeline}: the command-line entry point. */
@Command(name = "mamba-pipeline", mixinStandardHelpOptions = true, version = "mamba-pipeline 0.1.0",
        description = "Runs Mamba state-space models over very long sequences, chunk by chunk with the recurrent "
                + "state carried, on the CPU or a CUDA GPU, in-process or as Spark jobs.",
        subcommands = {EmbedCommand.class, ScoreCommand.class, ForwardCommand.class, BenchCommand.class,
                InfoCommand.class, ShowCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    /** Runs the command line and returns the exit code (tests call this instead of main). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            // Expected failures (bad input, bad model) print one clear line; anything else a stack trace.
            if (ex instanceof UserError || ex instanceof java.io.IOException || ex instanceof IllegalArgumentException
                    || ex instanceof IllegalStateException) {
                cmd.getErr().println("error: " + ex.getMessage());
                if (Boolean.getBoolean("mamba.debug")) {
                    ex.printStackTrace(cmd.getErr());
                }
                return 2;
            }
            throw ex;
        });
        return cl.execute(args);
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }
}
