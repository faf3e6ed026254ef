"""Helpers the notebooks share: run bin/mamba-pipeline, read a job's Parquet parts into pandas.

Parquet is read with pandas + pyarrow when pyarrow is importable; otherwise (Debian 12 has no
python3-pyarrow) through `bin/mamba-pipeline show DIR/PART`, which prints the rows as JSON lines.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
CLI = REPO / "bin" / "mamba-pipeline"

try:
    import pyarrow  # noqa: F401
    HAVE_PYARROW = True
except ImportError:
    HAVE_PYARROW = False


def work_dir(name):
    """A fresh scratch directory for one notebook's inputs and outputs (under $MAMBA_NOTEBOOK_WORK or /tmp)."""
    root = Path(os.environ.get("MAMBA_NOTEBOOK_WORK", Path(tempfile.gettempdir()) / "mamba-notebooks"))
    d = root / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return d


def run(*args, timeout=300, quiet=True):
    """Runs bin/mamba-pipeline ARGS; returns stderr's summary lines; raises with the output tail on failure."""
    env = dict(os.environ)
    env.setdefault("MAMBA_JAVA_OPTS", "-Xmx2g")
    t0 = time.time()
    p = subprocess.run([str(CLI), *map(str, args)], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=timeout)
    lines = [l for l in p.stderr.splitlines() if l.startswith("[mamba]") or l.startswith("error")]
    if p.returncode != 0:
        raise RuntimeError(f"mamba-pipeline {args[0]} exited with {p.returncode}:\n" + "\n".join(p.stderr.splitlines()[-30:]))
    # the live progress line repeats: keep the first and the last few
    shown = lines if len(lines) <= 4 else [lines[0], "..."] + lines[-3:]
    if not quiet:
        print("\n".join(shown))
    print(f"{args[0]} finished in {time.time() - t0:.0f} s")
    return p.stdout


def read_part(out, part):
    """A part of a job's output (e.g. 'embeddings', 'steps') as a DataFrame."""
    path = Path(out) / part
    if HAVE_PYARROW:
        return pd.read_parquet(path)
    text = run("show", path)
    rows = [json.loads(l) for l in text.splitlines() if l.strip()]
    return pd.DataFrame(rows)


def summary(out):
    """summary.json of a job output."""
    return json.loads((Path(out) / "summary.json").read_text())


def cut_fasta(src, dst, length, pieces):
    """Writes up to `pieces` fragments of `length` bases per record of FASTA `src`, spread along each record."""
    records, name, seq = [], None, []
    for line in Path(src).read_text().splitlines():
        if line.startswith(">"):
            if name is not None:
                records.append((name, "".join(seq)))
            name, seq = line[1:].split()[0], []
        else:
            seq.append(line.strip())
    if name is not None:
        records.append((name, "".join(seq)))
    per_record = max(1, pieces // len(records))
    with open(dst, "w") as f:
        for rid, s in records:
            step = max(length, (len(s) - length) // per_record)
            for k in range(per_record):
                start = k * step
                frag = s[start:start + length]
                if len(frag) < length:
                    break
                f.write(f">{rid}:{start}-{start + length}\n")
                for i in range(0, length, 80):
                    f.write(frag[i:i + 80] + "\n")
