package dev.mamba.jobs.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/** Sessions for the jobs: Spark's own settings win; without a master the job runs in local mode. */
public final class SparkSessions {
    private SparkSessions() {
    }

    /** {@code master} null: spark.master from the environment (spark-submit), else local[*]. */
    public static SparkSession get(String appName, String master) {
        requireSupportedJdk();
        return SparkSession.builder().config(conf(appName, master)).getOrCreate();
    }

    /**
     * Why Spark cannot run on this JVM, or null. Spark 4.1's Hadoop client (3.4.2) calls Subject.getSubject, which
     * throws on JDK 24+ (the Security Manager is gone) and on JDK 23 (reportedly also on JDK 21 updates that
     * backported JDK-8296244) unless the JVM runs with -Djava.security.manager=allow; without this check the job
     * dies with a Hadoop stack trace. The caller probes the call itself, so the version only picks the advice.
     */
    static String unsupportedJdk(int feature, boolean getSubjectWorks) {
        if (getSubjectWorks) {
            return null;
        }
        if (feature >= 24) {
            return "Spark's Hadoop client (3.4.2) does not run on JDK " + feature + " (it calls Subject.getSubject, "
                    + "which JDK 24 removed): run the Spark commands with JDK 17 or 21, e.g. JAVA_HOME=/path/to/jdk-17";
        }
        return "Spark's Hadoop client (3.4.2) calls Subject.getSubject, which this JDK (" + feature + ") allows only with "
                + "-Djava.security.manager=allow: add it to the JVM's options (bin/mamba-pipeline does; under "
                + "spark-submit: --driver-java-options), or use JDK 17";
    }

    /** What Hadoop's UserGroupInformation.getCurrentUser does first. */
    @SuppressWarnings("removal")
    static boolean getSubjectWorks() {
        try {
            javax.security.auth.Subject.getSubject(java.security.AccessController.getContext());
            return true;
        } catch (UnsupportedOperationException e) {
            return false;
        }
    }

    private static void requireSupportedJdk() {
        String why = unsupportedJdk(Runtime.version().feature(), getSubjectWorks());
        if (why != null) {
            throw new IllegalStateException(why);
        }
    }

    /**
     * A session for {@code job}. In local mode this JVM runs the tasks, so the job's backend and model start
     * loading first and Spark starts meanwhile (H200, run 103: opening the CUDA backend took 1.6 s, loading
     * the model 0.6 s; Spark's start-up and the job's planning take longer).
     */
    public static SparkSession forJob(String appName, String master, SequenceJob job) {
        requireSupportedJdk();
        SparkConf conf = conf(appName, master);
        if (conf.get("spark.master").startsWith("local")) {
            ExecutorRuntime.prepareLocal(job.settings);
        }
        return SparkSession.builder().config(conf).getOrCreate();
    }

    private static SparkConf conf(String appName, String master) {
        SparkConf conf = new SparkConf();
        if (master != null) {
            conf.setMaster(master);
        } else if (!conf.contains("spark.master")) {
            conf.setMaster("local[*]");
        }
        conf.setIfMissing("spark.app.name", appName);
        // Parquet inputs: check the CRC that parquet-mr writes per page (reads skip it by default). Hadoop's .crc
        // sidecar files catch damage only where they exist: not in a table copied without them or written by
        // another tool, whose damaged pages were read as other numbers.
        conf.setIfMissing("spark.hadoop.parquet.page.verify-checksum.enabled", "true");
        // Heartbeats carry running tasks' accumulators: frequent ones keep the progress line live.
        conf.setIfMissing("spark.executor.heartbeatInterval", "2s");
        if (conf.get("spark.master").startsWith("local")) {
            conf.setIfMissing("spark.ui.enabled", "false");
            conf.setIfMissing("spark.sql.shuffle.partitions", "8");
            conf.setIfMissing("spark.driver.host", "127.0.0.1");
            conf.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
        }
        return conf;
    }
}
