package dev.mamba.jobs.cli;

import dev.mamba.kernels.Backend;
import dev.mamba.kernels.Backends;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.concurrent.Callable;

/** {@code info}: devices, driver, compute capability and the backend a run would choose. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Prints the JVM, CPU, CUDA devices (driver version, compute capability) and the backend chosen.")
public final class InfoCommand implements Callable<Integer> {
    @Mixin
    BackendOptions backend = new BackendOptions();

    @Override
    public Integer call() {
        System.out.println("java: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.version")
                + ", " + Runtime.getRuntime().availableProcessors() + " cpus, max heap "
                + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB");
        System.out.println("vector api: " + (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
                ? "enabled" : "absent (scalar CPU kernels)"));
        for (String line : Backends.describeCudaDevices()) {
            System.out.println(line);
        }
        System.out.println("backend requested: " + backend.choice().lower());
        try (Backend b = backend.open()) {
            System.out.println("backend chosen: " + b.describe());
        }
        return 0;
    }
}
