#!/usr/bin/env python3
"""Renders the audio model's speech data with espeak-ng (already run; outputs committed):

  models/data/audio/train.npz  training utterances: the 'train' lines of sentences.txt, each in 1-3 random
                               voices (several English accents, other languages' voices for their lines, espeak
                               variants m1-m7 / f1-f5 / klatt*), speeds 120-190 wpm, pitch 25-75
  models/data/audio/eval.npz   the 'eval' lines (texts never trained on), each in 4 fixed renditions:
                               A = en-us+m3 at 150 wpm, A_noise = A plus white noise at 15 dB SNR,
                               A_fast = en-us+m3 at 185 wpm, B = en-gb+f3 at 150 wpm
  samples/audio/*.wav          demo WAVs (16 kHz, 16-bit mono): eval sentences 0 and 1 as A, A_noise and B

Audio is resampled from espeak's 22,050 Hz to 16,000 Hz (FFT band-limited resampling), trimmed of leading and
trailing silence, and stored as 8-bit mu-law (mu = 255) in compressed npz: keys mulaw (uint8, all utterances
concatenated), offsets, lengths (samples), meta (JSON per utterance: text, lang, voice, speed, pitch, variant).

    apt-get install -y espeak-ng && python3 models/training/render_audio.py
"""
import argparse
import io
import json
import os
import random
import subprocess
import tempfile
import wave

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RATE = 16000
MU = 255.0
EN_VOICES = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029",
             "en-us-nyc"]
LANG_VOICES = {"de": ["de"], "fr": ["fr-fr", "fr-be"], "es": ["es", "es-419"], "it": ["it"], "nl": ["nl"],
               "pt": ["pt", "pt-br"], "pl": ["pl"], "sv": ["sv"]}
VARIANTS = [f"m{i}" for i in range(1, 8)] + [f"f{i}" for i in range(1, 6)] + ["klatt", "klatt2", "klatt3", None]
EVAL_RENDITIONS = [("A", "en-us+m3", 150, 50, None), ("A_noise", "en-us+m3", 150, 50, 15.0),
                   ("A_fast", "en-us+m3", 185, 50, None), ("B", "en-gb+f3", 150, 50, None)]


def mulaw_encode(x):
    x = np.clip(x, -1, 1)
    y = np.sign(x) * np.log1p(MU * np.abs(x)) / np.log1p(MU)
    return np.round((y + 1) / 2 * 255).astype(np.uint8)


def mulaw_decode(q):
    y = q.astype(np.float32) / 255 * 2 - 1
    return (np.sign(y) * np.expm1(np.abs(y) * np.log1p(MU)) / MU).astype(np.float32)


def resample(x, src, dst):
    """Band-limited resampling through the real FFT (the whole utterance at once)."""
    n = int(round(len(x) * dst / src))
    X = np.fft.rfft(x)
    m = n // 2 + 1
    Y = np.zeros(m, dtype=complex)
    k = min(m, len(X))
    Y[:k] = X[:k]
    return np.fft.irfft(Y, n) * (n / len(x))


def speak(text, voice, speed, pitch):
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        subprocess.run(["espeak-ng", "-w", f.name, "-v", voice, "-s", str(speed), "-p", str(pitch), text],
                       check=True, capture_output=True)
        with wave.open(f.name) as w:
            sr, n = w.getframerate(), w.getnframes()
            assert w.getnchannels() == 1 and w.getsampwidth() == 2, "espeak-ng wrote an unexpected WAV"
            x = np.frombuffer(w.readframes(n), dtype="<i2").astype(np.float64) / 32768.0
    x = resample(x, sr, RATE)
    nz = np.nonzero(np.abs(x) > 2e-3)[0]
    if len(nz):
        x = x[max(0, nz[0] - 800):nz[-1] + 800]  # keep 50 ms around the speech
    return x.astype(np.float32)


def read_sentences(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            lang, split, text = line.rstrip("\n").split("\t")
            out.append((lang, split, text))
    return out


def save(path, clips, meta):
    lengths = np.array([len(c) for c in clips], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    np.savez_compressed(path, mulaw=mulaw_encode(np.concatenate(clips)), offsets=offsets, lengths=lengths,
                        meta=np.array(json.dumps(meta)))


def load(path):
    """[(float32 audio in [-1, 1], meta dict)]."""
    d = np.load(path)
    audio = mulaw_decode(d["mulaw"])
    meta = json.loads(str(d["meta"]))
    return [(audio[o:o + n], m) for o, n, m in zip(d["offsets"], d["lengths"], meta)]


def write_wav(path, x):
    q = np.clip(np.round(x * 32767), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(q.tobytes())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", default=os.path.join(REPO, "models", "data", "audio", "sentences.txt"))
    ap.add_argument("--out", default=os.path.join(REPO, "models", "data", "audio"))
    ap.add_argument("--samples", default=os.path.join(REPO, "samples", "audio"))
    ap.add_argument("--max-seconds", type=float, default=400.0, help="cap on the training audio")
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    sents = read_sentences(a.sentences)
    train = [s for s in sents if s[1] == "train"]
    evals = [s for s in sents if s[1] == "eval"]
    # renditions: every sentence once, then further random renditions while the budget lasts
    plan = []
    for rep in range(3):
        for i, (lang, _, text) in enumerate(train):
            if rep > 0 and lang != "en" and rep > 1:
                continue
            base = rnd.choice(EN_VOICES if lang == "en" else LANG_VOICES[lang])
            var = rnd.choice(VARIANTS)
            plan.append((i, lang, text, base + (f"+{var}" if var else ""), rnd.randint(120, 190), rnd.randint(25, 75)))
    clips, meta, total = [], [], 0.0
    for i, lang, text, voice, speed, pitch in plan:
        x = speak(text, voice, speed, pitch)
        if total + len(x) / RATE > a.max_seconds:
            break
        clips.append(x)
        meta.append({"text": i, "lang": lang, "voice": voice, "speed": speed, "pitch": pitch})
        total += len(x) / RATE
    os.makedirs(a.out, exist_ok=True)
    save(os.path.join(a.out, "train.npz"), clips, meta)
    print(f"train: {len(clips)} utterances, {total:.1f} s, from {len(set(m['text'] for m in meta))} texts")
    rng = np.random.default_rng(a.seed)
    eclips, emeta = [], []
    os.makedirs(a.samples, exist_ok=True)
    for j, (lang, _, text) in enumerate(evals):
        for name, voice, speed, pitch, snr in EVAL_RENDITIONS:
            x = speak(text, voice, speed, pitch)
            if snr is not None:
                p = float(np.mean(x ** 2))
                x = (x + rng.normal(0, np.sqrt(p / 10 ** (snr / 10)), len(x))).astype(np.float32)
            eclips.append(x)
            emeta.append({"text": j, "utterance": text, "rendition": name, "voice": voice, "speed": speed,
                          "snr_db": snr})
            if j < 2 and name in ("A", "A_noise", "B"):
                write_wav(os.path.join(a.samples, f"utt{j + 1}_{name}.wav"), x)
    save(os.path.join(a.out, "eval.npz"), eclips, emeta)
    print(f"eval: {len(eclips)} clips, {sum(len(c) for c in eclips) / RATE:.1f} s")


if __name__ == "__main__":
    main()
