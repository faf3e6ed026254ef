package dev.mamba.kernels;

import java.util.Locale;

/** Which backend to use: {@code auto} takes CUDA when usable, else CPU with one log line saying why. */
public enum BackendChoice {
    AUTO, CPU, CUDA,
    /** Computes nothing: for measuring the pipeline's feed rate only. */
    NOOP;

    /** System property that selects the backend when no flag or config value does. */
    public static final String PROPERTY = "mamba.backend";
    /** Environment variable consulted after the property. */
    public static final String ENV = "MAMBA_BACKEND";

    /** Parses {@code auto|cpu|cuda}; fails fast on anything else, naming where the value came from. */
    public static BackendChoice parse(String value, String source) {
        switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "auto": return AUTO;
            case "cpu": return CPU;
            case "cuda": case "gpu": return CUDA;
            case "noop": return NOOP;
            default:
                throw new IllegalArgumentException("unknown backend '" + value + "' (from " + source
                        + "): expected auto, cpu or cuda");
        }
    }

    /**
     * The explicit value if given (flag or config key), else the {@value #PROPERTY} property, else the
     * {@value #ENV} variable, else AUTO.
     */
    public static BackendChoice resolve(String explicit, String explicitSource) {
        if (explicit != null && !explicit.isBlank()) {
            return parse(explicit, explicitSource);
        }
        String prop = System.getProperty(PROPERTY);
        if (prop != null && !prop.isBlank()) {
            return parse(prop, "system property " + PROPERTY);
        }
        String env = System.getenv(ENV);
        if (env != null && !env.isBlank()) {
            return parse(env, "environment variable " + ENV);
        }
        return AUTO;
    }

    public String lower() {
        return name().toLowerCase(Locale.ROOT);
    }
}
