package dev.mamba.pipeline.io.fasta;

/** The two text sequence formats read by this package. */
public enum SequenceFormat {
    FASTA,
    FASTQ
}
