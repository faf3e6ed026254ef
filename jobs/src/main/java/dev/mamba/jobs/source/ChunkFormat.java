package dev.mamba.jobs.source;

import dev.mamba.pipeline.io.ChunkReader;
import dev.mamba.pipeline.io.fasta.FastaReader;
import dev.mamba.pipeline.io.fasta.FastqReader;
import dev.mamba.pipeline.io.fasta.Fastx;
import dev.mamba.pipeline.io.wav.WavOptions;
import dev.mamba.pipeline.io.wav.WavReader;

import java.io.IOException;
import java.nio.file.Path;

/** The formats the chunk data sources read. */
public enum ChunkFormat {
    FASTA, FASTQ, WAV;

    /** Whether plain files of this format can be read in byte-range splits. */
    boolean splittable() {
        return this != WAV;
    }

    ChunkReader open(InputStreamSpec s, SourceOptions o) throws IOException {
        Path p = Path.of(s.path());
        switch (this) {
            case FASTA:
                return new FastaReader(p, s.start(), s.end(), o.chunkLength);
            case FASTQ:
                return new FastqReader(p, s.start(), s.end(), o.chunkLength);
            default:
                return new WavReader(p, WavOptions.defaults().frameSize(o.frameSize).chunkLen(o.chunkLength)
                        .mixToMono(o.mixToMono));
        }
    }

    boolean isSplittableFile(Path p) throws IOException {
        return splittable() && Fastx.isSplittable(p);
    }
}
