package dev.mamba.jobs.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/** Sessions for the jobs: Spark's own settings win; without a master the job runs in local mode. */
public final class SparkSessions {
    private SparkSessions() {
    }

    /** {@code master} null: spark.master from the environment (spark-submit), else local[*]. */
    public static SparkSession get(String appName, String master) {
        return SparkSession.builder().config(conf(appName, master)).getOrCreate();
    }

    /**
     * A session for {@code job}. In local mode this JVM runs the tasks, so the job's backend and model start
     * loading first and Spark starts meanwhile (H200, run 103: opening the CUDA backend took 1.6 s, loading
     * the model 0.6 s; Spark's start-up and the job's planning take longer).
     */
    public static SparkSession forJob(String appName, String master, SequenceJob job) {
        SparkConf conf = conf(appName, master);
        if (conf.get("spark.master").startsWith("local")) {
            ExecutorRuntime.prewarm(job.settings);
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
