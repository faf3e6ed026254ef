package dev.mamba.jobs.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/** Sessions for the jobs: Spark's own settings win; without a master the job runs in local mode. */
public final class SparkSessions {
    private SparkSessions() {
    }

    /** {@code master} null: spark.master from the environment (spark-submit), else local[*]. */
    public static SparkSession get(String appName, String master) {
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
        return SparkSession.builder().config(conf).getOrCreate();
    }
}
