#!/usr/bin/env python3
"""Builds the DNA training data (models/data/dna/) and the demo genomes (samples/genomes/) from real genomes
shipped in Debian packages. Already run; the outputs are committed. To reproduce:

    apt-get install -y bowtie2-examples
    mkdir -p /tmp/debs && cd /tmp/debs && apt-get download kleborate-examples unicycler-data \
        artfastqgenerator-examples gasic-examples && for f in *.deb; do dpkg -x "$f" x; done
    python3 models/training/prepare_dna_data.py --root / --root /tmp/debs/x

Records are split at runs of >= 10 N; in each piece of >= 5 kb the last 10 % is the validation (held-out) split,
the rest training; shorter pieces go to training. Sequences are upper-cased; IUPAC codes other than ACGT stay
(the vocabulary maps them to N). Pure Python (no numpy), deterministic.
"""
import argparse
import gzip
import lzma
import os
import re

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# (family, source name, Debian package, path inside the package, records to keep: accession prefixes or None=all)
SOURCES = [
    ("phage", "lambda", "bowtie2-examples", "usr/share/doc/bowtie2/examples/reference/lambda_virus.fa.gz", None),
    ("bacterium", "klebsiella_HS11286", "kleborate-examples",
     "usr/share/doc/kleborate/examples/data/Klebs_HS11286.fna.xz", None),
    ("plasmid", "shigella_53G_plasmids", "unicycler-data", "usr/share/unicycler-data/sample_data/reference.fasta",
     None),
    ("human", "human_GRCh37_chr1_chr2", "artfastqgenerator-examples",
     "usr/share/doc/artfastqgenerator/examples/miniReference.fasta.gz", ["1 ", "2 "]),
    ("rna_virus", "dwv", "gasic-examples", "usr/share/doc/gasic/examples/genomes/dwv.fasta.gz", None),
    ("rna_virus", "vdv1", "gasic-examples", "usr/share/doc/gasic/examples/genomes/vdv1.fasta.gz", None),
]
# Demo files for the embed run: (file, [(source name, record index or None=all, max bases)])
SAMPLES = [
    ("lambda_phage.fa", [("lambda", None, None)]),
    ("shigella_plasmids.fa", [("shigella_53G_plasmids", 1, None), ("shigella_53G_plasmids", 2, None)]),
    ("bee_rna_viruses.fa", [("dwv", None, None), ("vdv1", None, None)]),
    ("human_subtelomeric.fa", [("human_GRCh37_chr1_chr2", 0, 30000), ("human_GRCh37_chr1_chr2", 1, 30000)]),
]
VAL_FRACTION = 0.10
MIN_SPLIT = 5000
N_RUN = re.compile(r"N{10,}")


def open_any(path):
    if path.endswith(".gz"):
        return gzip.open(path, "rt")
    if path.endswith(".xz"):
        return lzma.open(path, "rt")
    return open(path)


def read_fasta(path):
    recs, name, seq = [], None, []
    with open_any(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith(">"):
                if name is not None:
                    recs.append((name, "".join(seq).upper()))
                name, seq = line[1:], []
            elif line:
                seq.append(line)
    if name is not None:
        recs.append((name, "".join(seq).upper()))
    return recs


def find(roots, rel):
    for r in roots:
        p = os.path.join(r, rel)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"{rel} not found under {roots} (see the module docstring for the packages)")


def write_fasta(path, recs, width=80):
    text = "".join(">" + name + "\n" + "".join(s[i:i + width] + "\n" for i in range(0, len(s), width))
                   for name, s in recs).encode("ascii")
    with open(path, "wb") as f:
        if path.endswith(".gz"):
            with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=9, mtime=0) as g:  # reproducible bytes
                g.write(text)
        else:
            f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", action="append", default=[], help="where package files are (/ and dpkg -x dirs)")
    ap.add_argument("--out", default=os.path.join(REPO, "models", "data", "dna"))
    ap.add_argument("--samples", default=os.path.join(REPO, "samples", "genomes"))
    a = ap.parse_args()
    roots = a.root or ["/"]
    os.makedirs(a.out, exist_ok=True)
    os.makedirs(a.samples, exist_ok=True)
    train, val, table, by_source = [], [], [], {}
    for family, src, pkg, rel, keep in SOURCES:
        recs = read_fasta(find(roots, rel))
        if keep:
            recs = [r for r in recs if any((r[0] + " ").startswith(k) for k in keep)]
        by_source[src] = recs
        ntr = nva = 0
        for name, s in recs:
            acc = name.split()[0]
            if acc.startswith("gi|"):  # gi|71480055|ref|NC_004830.2| → NC_004830.2
                acc = [x for x in acc.split("|") if x][-1]
            pos = 0
            pieces = []
            for m in N_RUN.finditer(s):
                pieces.append((pos, s[pos:m.start()]))
                pos = m.end()
            pieces.append((pos, s[pos:]))
            for start, p in pieces:
                if not p:
                    continue
                tag = f"{family}|{src}|{acc}|{start}"
                if len(p) >= MIN_SPLIT:
                    cut = len(p) - int(len(p) * VAL_FRACTION)
                    train.append((f"{tag}-{start + cut}", p[:cut]))
                    val.append((f"{tag.rsplit('|', 1)[0]}|{start + cut}-{start + len(p)}", p[cut:]))
                    ntr += cut
                    nva += len(p) - cut
                else:
                    train.append((f"{tag}-{start + len(p)}", p))
                    ntr += len(p)
        table.append((family, src, pkg, len(recs), ntr, nva))
    # headers: family|source|accession|start-end (0-based, end exclusive, in the record as shipped)
    write_fasta(os.path.join(a.out, "train.fa.gz"), train)
    write_fasta(os.path.join(a.out, "val.fa.gz"), val)
    for fn, parts in SAMPLES:
        recs = []
        for src, idx, cap in parts:
            chosen = by_source[src] if idx is None else [by_source[src][idx]]
            for name, s in chosen:
                s = N_RUN.sub("", s)  # drop the telomeric N padding of the human excerpt
                recs.append((name, s[:cap] if cap else s))
        write_fasta(os.path.join(a.samples, fn), recs)
    for row in table:
        print("%-10s %-24s %-28s records %d  train %8d  val %7d" % row)
    print(f"train {sum(len(s) for _, s in train)} bases in {len(train)} records, "
          f"val {sum(len(s) for _, s in val)} in {len(val)}")


if __name__ == "__main__":
    main()
