/**
 * Streaming parsers for the pipeline's inputs, with no Spark dependency: each reader is built for one input
 * split, pulls records lazily and never holds a whole record, and emits {@link dev.mamba.pipeline.io.Chunk}s
 * through {@link dev.mamba.pipeline.io.ChunkReader} ({@code next()} returns null at the end). Bad input
 * throws {@link dev.mamba.pipeline.io.InputFormatException} naming file and line or record.
 *
 * <ul>
 *   <li>{@code io.fasta}: FASTA and FASTQ, plain or gzip, byte-range splits, .fai indexes;</li>
 *   <li>{@code io.wav}: RIFF/WAVE PCM and float audio, framed into steps;</li>
 *   <li>{@code io.timeseries}: CSV time series (in memory, for tests and small inputs);</li>
 *   <li>{@code io.vocab}: symbol bytes to token ids.</li>
 * </ul>
 */
package dev.mamba.pipeline.io;
