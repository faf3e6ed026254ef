package dev.mamba.pipeline.io.wav;

/**
 * What the fmt and data chunks of a WAV file say. A "sample frame" here is one sample per channel
 * (WAV's meaning of frame), not a model step; see {@link WavReader} for steps.
 *
 * @param formatTag          the fmt chunk's format code (1 PCM, 3 IEEE float, 0xFFFE extensible)
 * @param subFormat          for 0xFFFE the sub-format code from the GUID (1 or 3), else equal to formatTag
 * @param encoding           how samples are stored
 * @param channels           channels per sample frame
 * @param sampleRate         sample frames per second
 * @param bitsPerSample      container bits per sample (8, 16, 24, 32)
 * @param validBitsPerSample significant bits (extensible; else = bitsPerSample)
 * @param blockAlign         bytes per sample frame
 * @param dataOffset         file offset of the first sample byte
 * @param dataBytes          sample bytes that will be read
 * @param frames             sample frames in the file ({@code dataBytes / blockAlign})
 * @param sizeFromFile       true when the data chunk's size was a streaming writer's placeholder (see
 *                           {@link WavReader}) and the data was taken to run to the end of the file
 */
public record WavHeader(int formatTag, int subFormat, WavEncoding encoding, int channels, int sampleRate,
                        int bitsPerSample, int validBitsPerSample, int blockAlign, long dataOffset, long dataBytes,
                        long frames, boolean sizeFromFile) {

    /** Duration in seconds. */
    public double seconds() {
        return (double) frames / sampleRate;
    }
}
